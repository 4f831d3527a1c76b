// Package pipeline is kiln's one composer: it wires the stages together, and cmd/kiln turns
// flags into its configs and makes one call (Prep, NewStream, Tokenize, ShardsMasker,
// ShardsTokenizer). It reads documents from files (the source stage: lines, text and jsonl
// formats, Parquet and Arrow tables, .gz and .zst, directories and globs in a fixed order),
// runs the CPU-bound stages on pools of workers with ordered reassembly and bounded channels
// (OrderedMap), and feeds the sequential stages (pairing, the shuffle buffer, writing) in a
// deterministic order.
//
// The path of one document from kiln prep to a shard row:
//
//  1. runPrep (cmd/kiln) fills an ExampleConfig; NewExamples finds the inputs, loads the
//     tokenizer and builds the masker once; Prep(ctx, examples, ShardOptions) runs it.
//  2. Source.Run reads the file (fileReader.readLine, the byte order mark check) and emits a
//     Document: its paragraphs or sentences, its file index and index in the file.
//  3. A worker (tokenizeChunk) splits it into sentences and tokenizes them; OrderedMap puts the
//     documents back in input order.
//  4. pairAll hands it DupeFactor times to the pairer with DocRand(seed, docID, pass): NSP/SOP
//     instances of at most MaxSeqLen tokens, NotNext partners from the reservoir.
//  5. A worker masks each instance (maskBatch) with MaskRand(seed, docID, pass, i); with
//     dynamic masking the rows go unmasked (the trainer masks them).
//  6. The seeded shuffle buffer mixes the rows; shards.Writer adds each to a record batch of
//     the current shard; Close writes the manifest last.
//
// The rows of a pass travel in batches (passBatch) that own their storage: the pairer lays
// out a pass's instances in an arena (pairing.AddArena), pairAll copies them into the
// batch's, the workers mask them there, and once the shuffle buffer has copied a batch's rows
// into its slots the batch goes back for pairAll to reuse (putBatch), so that the passes
// allocate little per row.
//
// Every random draw comes from a generator derived from the run seed and the identity of what
// it decides, never from scheduling, so the shards are byte-identical for any number of
// workers. Memory is bounded by the configuration (the ordered windows, the text budget, the
// reservoir, the shuffle buffer, a record batch), not by the corpus.
//
// An Examples value is a run that can be started again: Run makes its own source, pairers
// and counts each time, and WithSeed gives the run of another seed (a pretrain epoch) sharing
// the loaded tokenizer. Stream feeds the same stages to the trainer, masking each row as it
// goes; Tokenize is kiln tokenize's line-by-line pipeline over the same line reader.
//
// Partitioned prep (PrepPartitioned; Partitioner's entry points, which a distributed engine
// calls too) runs the same stages per input file (split and tokenize) and then per partition
// (pairing, masking, shuffle, writing), each on its own and in parallel, with the documents
// waiting on disk in between.
//
// It is the one package that knows every stage. The stages themselves (tokenize, pairing,
// masking, shards, trainer) stay sequential and pure and import nothing upward; pipeline adds
// concurrency, cancellation, progress and counts. It does not tokenize, pair, mask or encode
// shards itself.
package pipeline
