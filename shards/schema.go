package shards

import (
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/apache/arrow/go/v15/arrow"

	"github.com/kiln-bert/kiln/internal/special"
	"github.com/kiln-bert/kiln/pairing"
)

// Column names of a kiln shard.
const (
	ColInputIDs          = "input_ids"
	ColTokenTypeIDs      = "token_type_ids"
	ColNextSentenceLabel = "next_sentence_label"
	ColMaskedPositions   = "masked_lm_positions"
	ColMaskedIDs         = "masked_lm_ids"
)

// Schema metadata keys. The caller's Options.Metadata is stored verbatim
// beside the keys that shards/ writes itself (MetaShards); by convention the
// caller supplies MetaVersion, MetaConfig and MetaVocabSHA256.
const (
	MetaVersion     = "kiln.version"      // kiln version that wrote the shard
	MetaConfig      = "kiln.config"       // full run configuration, JSON
	MetaVocabSHA256 = "kiln.vocab_sha256" // hex sha256 of the vocabulary
	MetaShards      = "kiln.shards"       // JSON of Info, written by shards/
)

// Row is one training example: [CLS] A [SEP] B [SEP], without padding.
type Row struct {
	InputIDs          []int32
	TokenTypeIDs      []int8
	NextSentenceLabel int8    // 0 IsNext, 1 NotNext, -1 none
	MaskedPositions   []int32 // sorted; nil for dynamic masking
	MaskedIDs         []int32 // original ids at MaskedPositions
}

// Special holds the ids of the special tokens that Verify and Stats need: [PAD], [CLS], [SEP]
// and [MASK]. [UNK] is not stored (a Writer records it as 0).
type Special = special.IDs

// Info describes how a shard was written. It is stored as JSON under the
// schema metadata key MetaShards and in the manifest, so that a shard can be
// read and verified on its own.
type Info struct {
	VocabSize      int          `json:"vocab_size"`
	MaxSeqLen      int          `json:"max_seq_len"`
	Special        Special      `json:"special"`
	Task           pairing.Task `json:"task"` // nsp, sop or none (labels -1, one segment)
	Static         bool         `json:"static_masking"`
	MaxPredictions int          `json:"max_predictions,omitempty"` // 0: unchecked
	RowsPerBatch   int          `json:"rows_per_batch"`
}

// MaxSeqLen bounds a shard's max_seq_len: masked positions are stored as uint16.
const MaxSeqLen = 1 << 16

// MaxVocabSize bounds a shard's vocab_size: four times the largest WordPiece vocabularies in
// use (about 250,000 tokens). The trainer sizes its model by vocab_size, and also requires it
// to equal the size of the vocabulary the manifest names.
const MaxVocabSize = 1 << 20

// wide reports whether ids need 32 bits.
func (in Info) wide() bool { return in.VocabSize > 1<<16 }

// singleSegment reports whether rows hold one segment and no label.
func (in Info) singleSegment() bool { return in.Task == pairing.None }

// Validate checks that the info describes rows kiln can write and read: a known task, special
// ids inside the vocabulary, a positive vocabulary size and max_seq_len, and so on.
func (in Info) Validate() error {
	switch {
	case in.VocabSize <= 0:
		return fmt.Errorf("vocab size %d: must be positive", in.VocabSize)
	case in.MaxSeqLen < 3:
		return fmt.Errorf("max_seq_len %d: must be at least 3", in.MaxSeqLen)
	case in.MaxSeqLen > MaxSeqLen:
		return fmt.Errorf("max_seq_len %d: at most %d", in.MaxSeqLen, MaxSeqLen)
	case in.Task != pairing.NSP && in.Task != pairing.SOP && in.Task != pairing.None:
		return fmt.Errorf("task %q: want nsp, sop or none", in.Task.String())
	case in.VocabSize > MaxVocabSize:
		return fmt.Errorf("vocab size %d: at most %d", in.VocabSize, MaxVocabSize)
	case in.RowsPerBatch <= 0:
		return fmt.Errorf("rows per batch %d: must be positive", in.RowsPerBatch)
	case int64(in.RowsPerBatch)*int64(in.MaxSeqLen) > MaxBatchTokens:
		return fmt.Errorf("rows per batch %d × max_seq_len %d: at most %d tokens a record batch", in.RowsPerBatch, in.MaxSeqLen, MaxBatchTokens)
	}
	for name, id := range map[string]int32{"PAD": in.Special.PAD, "CLS": in.Special.CLS, "SEP": in.Special.SEP, "MASK": in.Special.MASK} {
		if id < 0 || int(id) >= in.VocabSize {
			return fmt.Errorf("special %s id %d outside vocabulary of %d", name, id, in.VocabSize)
		}
	}
	return nil
}

// Schema returns the Arrow schema of shards described by in, with metadata
// md (which must include MetaShards).
func schemaFor(in Info, md map[string]string) *arrow.Schema {
	idType := arrow.DataType(arrow.PrimitiveTypes.Uint16)
	if in.wide() {
		idType = arrow.PrimitiveTypes.Uint32
	}
	fields := []arrow.Field{
		{Name: ColInputIDs, Type: arrow.ListOfNonNullable(idType)},
		{Name: ColTokenTypeIDs, Type: arrow.ListOfNonNullable(arrow.PrimitiveTypes.Uint8)},
		{Name: ColNextSentenceLabel, Type: arrow.PrimitiveTypes.Int8},
	}
	if in.Static {
		fields = append(fields,
			arrow.Field{Name: ColMaskedPositions, Type: arrow.ListOfNonNullable(arrow.PrimitiveTypes.Uint16)},
			arrow.Field{Name: ColMaskedIDs, Type: arrow.ListOfNonNullable(idType)},
		)
	}
	keys := make([]string, 0, len(md))
	vals := make([]string, 0, len(md))
	for _, k := range sortedKeys(md) {
		keys = append(keys, k)
		vals = append(vals, md[k])
	}
	meta := arrow.NewMetadata(keys, vals)
	return arrow.NewSchema(fields, &meta)
}

// infoFromSchema reads the Info stored in a shard's schema metadata.
func infoFromSchema(s *arrow.Schema) (Info, error) {
	var in Info
	v, ok := s.Metadata().GetValue(MetaShards)
	if !ok {
		return in, fmt.Errorf("schema metadata has no %q key: not a kiln shard", MetaShards)
	}
	if err := json.Unmarshal([]byte(v), &in); err != nil {
		return in, fmt.Errorf("schema metadata %q: %w", MetaShards, err)
	}
	if err := in.Validate(); err != nil {
		return in, fmt.Errorf("schema metadata %q: %w", MetaShards, err)
	}
	return in, nil
}

// Bin returns the name of the length bin directory for upper bound b.
func binDir(b int) string { return "bin-" + pad3(b) }

func pad3(n int) string {
	s := strconv.Itoa(n)
	for len(s) < 3 {
		s = "0" + s
	}
	return s
}
