// Package special holds the one type for the ids of BERT's special tokens, which the
// tokenizer finds in a vocabulary (tokenize.Special), pairing lays out around segments
// (pairing.Special) and shards record and verify (shards.Special): each of those names is an
// alias of IDs.
package special

// IDs holds the ids of BERT's special tokens; -1 marks one a vocabulary lacks.
//
// As JSON (a shard's metadata and manifest.json) it is {"pad","cls","sep","mask"}: shards
// store no [UNK] id, since nothing that reads them needs it.
type IDs struct {
	PAD  int32 `json:"pad"`
	UNK  int32 `json:"-"`
	CLS  int32 `json:"cls"`
	SEP  int32 `json:"sep"`
	MASK int32 `json:"mask"`
}
