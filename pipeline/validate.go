package pipeline

import (
	"cmp"
	"strings"

	"github.com/kiln-bert/kiln/internal/setting"
	"github.com/kiln-bert/kiln/pairing"
	"github.com/kiln-bert/kiln/shards"
)

// Upper bounds of ExampleConfig's fields. Each is far above what a real run uses, and low
// enough that nothing derived from it overflows and that the memory it sets stays within a
// machine's.
const (
	// MaxWorkers: more goroutines than any machine has cores; each worker's buffers and the
	// chunks in flight between the stages (a few per worker) are counted in memory.
	MaxWorkers = 4096
	// MaxInputBytes bounds MaxLineBytes and MaxDocBytes (1 GiB): a line or a document is held
	// in memory whole, a few times over (see the README's memory bound).
	MaxInputBytes = 1 << 30
	// MaxDupeFactor: Google uses 10, RoBERTa-style static masking 40.
	MaxDupeFactor = 1000
	// MaxShuffleBuffer: rows held in memory, a few GB of rows at 1e7.
	MaxShuffleBuffer = 10_000_000
)

// MarshalText returns the format's name, as configs spell it in JSON.
func (f Format) MarshalText() ([]byte, error) {
	if err := f.Validate(); err != nil {
		return nil, err
	}
	return []byte(f.String()), nil
}

// UnmarshalText parses a format's name (ParseFormat).
func (f *Format) UnmarshalText(b []byte) error {
	v, err := ParseFormat(string(b))
	if err != nil {
		return err
	}
	*f = v
	return nil
}

// Validate reports a format that is none of Lines, Text, JSONL, Parquet and Arrow.
func (f Format) Validate() error {
	if f < Lines || f > Arrow {
		return setting.Errorf("Format", f, "lines, text, jsonl, parquet or arrow")
	}
	return nil
}

// Validate reports the first field of c out of range, naming it (a *setting.Error, e.g.
// "MaxSeqLen 3: want at least 5 for Task nsp"). It checks c as a run uses it: NewExamples
// fills in Workers 0, MaxRowGroupBytes 0 and an empty TextColumn of a table format before it
// validates, Validate takes them as they are. The pairing and masking settings are checked by
// pairing.Config.Validate and masking.Config.Validate, with the names of c's fields.
func (c ExampleConfig) Validate() error {
	if err := c.Format.Validate(); err != nil {
		return err
	}
	switch {
	case c.Format == JSONL && strings.TrimSpace(c.JSONField) == "":
		return setting.Errorf("JSONField", c.JSONField, "the name of the field that holds each document's text")
	case (c.Format == Parquet || c.Format == Arrow) && strings.TrimSpace(c.TextColumn) == "":
		return setting.Errorf("TextColumn", c.TextColumn, "the name of the column that holds each document's text")
	case c.MaxRowGroupBytes < 1:
		return setting.Errorf("MaxRowGroupBytes", c.MaxRowGroupBytes, "at least 1")
	}
	if err := c.Masking.Validate(); err != nil {
		return err
	}
	if err := cmp.Or(
		setting.InRange("Workers", c.Workers, 1, MaxWorkers),
		setting.InRange("MaxLineBytes", c.MaxLineBytes, 1, MaxInputBytes),
		setting.InRange("MaxDocBytes", c.MaxDocBytes, 1, MaxInputBytes),
		// A run's config records its reservoir: 0 (pairing's default) is not stored.
		setting.InRange("ReservoirDocs", c.ReservoirDocs, 1, pairing.MaxReservoirDocs),
		setting.InRange("DupeFactor", c.DupeFactor, 1, MaxDupeFactor),
		setting.InRange("ShuffleBuffer", c.ShuffleBuffer, 0, MaxShuffleBuffer),
	); err != nil {
		return err
	}
	if err := c.pairingConfig().Validate(); err != nil {
		return err
	}
	if c.MaxSeqLen > shards.MaxSeqLen {
		return setting.Errorf("MaxSeqLen", c.MaxSeqLen, "at most %d (the most a shard holds)", shards.MaxSeqLen)
	}
	if err := c.MaskingConfig().Validate(); err != nil {
		fe, _ := setting.Rename(err, map[string]string{
			"WholeWord": "WholeWordMask", "Split.Mask": "MaskTokenProb", "Split.Random": "RandomTokenProb"})
		return fe
	}
	if c.MaxPredictions > c.MaxSeqLen {
		return setting.Errorf("MaxPredictions", c.MaxPredictions, "at most MaxSeqLen (%d)", c.MaxSeqLen)
	}
	if !(c.EvalFraction >= 0 && c.EvalFraction < 1) {
		return setting.Errorf("EvalFraction", c.EvalFraction, "a share in [0, 1)")
	}
	return nil
}

// pairingConfig returns the pairing settings of c.
func (c ExampleConfig) pairingConfig() pairing.Config {
	return pairing.Config{MaxSeqLen: c.MaxSeqLen, ShortSeqProb: c.ShortSeqProb, Task: c.Task, ReservoirDocs: c.ReservoirDocs}
}

// withDefaults returns c with the zero values that NewExamples documents filled in: Workers 1,
// MaxRowGroupBytes DefaultMaxRowGroupBytes and, for the table formats, TextColumn "text"; the
// other formats have no column (TextColumn "").
func (c ExampleConfig) withDefaults() ExampleConfig {
	if c.Workers == 0 {
		c.Workers = 1
	}
	if c.MaxRowGroupBytes == 0 {
		c.MaxRowGroupBytes = DefaultMaxRowGroupBytes
	}
	if c.Format == Parquet || c.Format == Arrow {
		if c.TextColumn == "" {
			c.TextColumn = "text"
		}
	} else {
		c.TextColumn = ""
	}
	return c
}

// Validate reports the first field of o's layout out of range, naming it
// (shards.Layout.Validate), for shards of rows of at most maxSeqLen tokens. As
// shards.Options.Validate, it takes the zero values that Prep passes on as defaults
// (Compression, Format, ShardBytes, RowsPerBatch) as they are.
func (o ShardOptions) Validate(maxSeqLen int) error { return o.Layout.Validate(maxSeqLen) }
