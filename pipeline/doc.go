// Package pipeline wires kiln's stages together: it reads documents from files (the source
// stage: lines, text and jsonl formats, .gz and .zst, directories and globs in a fixed
// order), runs the CPU-bound stages on pools of workers with ordered reassembly and bounded
// channels, and feeds the sequential stages (pairing, the shuffle buffer, writing) in a
// deterministic order.
//
// Prep's stages: source -> split and tokenize (workers) -> pairing (one goroutine: its
// reservoir depends on document order) -> static masking (workers) -> shuffle buffer and
// shard writer (the caller's goroutine). Every random draw comes from a generator derived
// from the run seed and the identity of what it decides (DocRand: one document pass's
// pairing; MaskRand: one instance's masks), never from scheduling, so the shards are
// byte-identical for any number of workers. Memory is bounded by the configuration (the
// ordered windows, the reservoir, the shuffle buffer, a record batch), not by the corpus.
//
// Partitioned prep (PrepPartitioned; Partitioner's entry points, which a distributed engine
// calls too) runs the same stages per input file (split and tokenize) and then per partition
// (pairing, masking, shuffle, writing), each on its own and in parallel, with the documents
// waiting on disk in between.
//
// It is the one package that knows every stage. The stages themselves (tokenize, pairing,
// masking, shards, trainer) stay sequential and pure; pipeline adds concurrency,
// cancellation, progress and counts. It does not tokenize, pair, mask or encode shards
// itself.
package pipeline
