// Package shards stores BERT pretraining examples in compressed Apache
// Arrow IPC shards and reads, verifies and summarises them.
//
// A Writer takes rows ([CLS] A [SEP] B [SEP] as int32 ids, token types, the
// next-sentence label and, for static masking, the masked positions and
// original ids), groups them into large record batches, and rotates shard
// files (shard-00000.arrow, ...) at a size. Each shard is written under a
// temporary name, fsynced and renamed when complete; DIR/manifest.json lists
// every shard with its rows, tokens, bytes and sha256. An interrupted run
// can be resumed: shards recorded in DIR/.progress.json are kept, and the
// rerun's rows for them are checked against their recorded hash and skipped,
// so the result is byte-identical to an uninterrupted run.
//
// Schema (no padding; one row per example):
//
//	input_ids            list<uint16>  (list<uint32> when the vocabulary exceeds 65,536)
//	token_type_ids       list<uint8>   0 for [CLS], A and the first [SEP]; 1 for B and the last [SEP]
//	next_sentence_label  int8          0 IsNext, 1 NotNext (SOP: 1 swapped), -1 none
//	masked_lm_positions  list<uint16>  static masking only; sorted
//	masked_lm_ids        list<uint16>  static masking only; original ids (uint32 as input_ids)
//
// The schema metadata holds the caller's keys (MetaVersion, MetaConfig,
// MetaVocabSHA256, ...) and, under MetaShards, the JSON Info that Verify and
// Stats need (vocabulary size, max_seq_len, special ids, task, masking).
//
// Reader opens one shard in file or stream format; Verify checks a directory
// against its manifest and every row invariant; Stats and FormatRow back
// `kiln inspect`. The package knows rows and the schema only: it does not
// tokenize, pair or mask, and imports no other kiln package but internal/fileio (every
// file it reads is opened regular-file-only, metadata size-capped).
package shards
