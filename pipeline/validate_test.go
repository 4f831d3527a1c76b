package pipeline

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/kiln-bert/kiln/internal/setting"
	"github.com/kiln-bert/kiln/masking"
	"github.com/kiln-bert/kiln/pairing"
	"github.com/kiln-bert/kiln/shards"
)

// TestExampleConfigValidate: each field out of range is refused by ExampleConfig.Validate
// with an error naming that field (a *setting.Error), the value and what is wanted; the
// default config and values at the bounds are accepted.
func TestExampleConfigValidate(t *testing.T) {
	if err := DefaultExampleConfig().Validate(); err != nil {
		t.Fatalf("the default config: %v", err)
	}
	share := func(x float64) *float64 { return &x }
	for _, tc := range []struct {
		name  string
		edit  func(*ExampleConfig)
		field string // "" for a valid config
		msg   string
	}{
		{"format", func(c *ExampleConfig) { c.Format = Format(9) }, "Format", "Format Format(9): want lines, text, jsonl, parquet or arrow"},
		{"jsonl field", func(c *ExampleConfig) { c.Format, c.JSONField = JSONL, " " }, "JSONField", `JSONField " ": want`},
		{"text field ignored", func(c *ExampleConfig) { c.JSONField = "" }, "", ""},
		{"parquet column", func(c *ExampleConfig) { c.Format, c.TextColumn = Parquet, "" }, "TextColumn", `TextColumn "": want`},
		{"row group", func(c *ExampleConfig) { c.MaxRowGroupBytes = 0 }, "MaxRowGroupBytes", "MaxRowGroupBytes 0: want at least 1"},
		{"masking", func(c *ExampleConfig) { c.Masking = masking.Mode(2) }, "Masking", "Masking Mode(2): want static or dynamic"},
		{"workers 0", func(c *ExampleConfig) { c.Workers = 0 }, "Workers", "Workers 0: want 1 to 4096"},
		{"workers max", func(c *ExampleConfig) { c.Workers = MaxWorkers }, "", ""},
		{"workers above", func(c *ExampleConfig) { c.Workers = MaxWorkers + 1 }, "Workers", "Workers 4097: want 1 to 4096"},
		{"line bytes", func(c *ExampleConfig) { c.MaxLineBytes = MaxInputBytes + 1 }, "MaxLineBytes", "MaxLineBytes 1073741825: want 1 to 1073741824"},
		{"doc bytes", func(c *ExampleConfig) { c.MaxDocBytes = -1 }, "MaxDocBytes", "MaxDocBytes -1: want 1 to 1073741824"},
		{"reservoir 0", func(c *ExampleConfig) { c.ReservoirDocs = 0 }, "ReservoirDocs", "ReservoirDocs 0: want 1 to 1000000"},
		{"reservoir above", func(c *ExampleConfig) { c.ReservoirDocs = pairing.MaxReservoirDocs + 1 }, "ReservoirDocs", "ReservoirDocs 1000001"},
		{"dupe", func(c *ExampleConfig) { c.DupeFactor = 1001 }, "DupeFactor", "DupeFactor 1001: want 1 to 1000"},
		{"shuffle", func(c *ExampleConfig) { c.ShuffleBuffer = -1 }, "ShuffleBuffer", "ShuffleBuffer -1: want 0 to 10000000"},
		{"shuffle off", func(c *ExampleConfig) { c.ShuffleBuffer = 0 }, "", ""},
		{"task", func(c *ExampleConfig) { c.Task = pairing.Task(7) }, "Task", "Task Task(7): want nsp, sop or none"},
		{"seq len nsp", func(c *ExampleConfig) { c.MaxSeqLen = 4 }, "MaxSeqLen", "MaxSeqLen 4: want at least 5 for Task nsp"},
		{"seq len none", func(c *ExampleConfig) { c.Task, c.MaxSeqLen, c.MaxPredictions = pairing.None, 4, 4 }, "", ""},
		{"seq len shard", func(c *ExampleConfig) { c.MaxSeqLen = shards.MaxSeqLen + 1 }, "MaxSeqLen", "MaxSeqLen 65537: want at most 65536"},
		{"short seq", func(c *ExampleConfig) { c.ShortSeqProb = math.NaN() }, "ShortSeqProb", "ShortSeqProb NaN: want a probability in [0, 1]"},
		{"mlm prob", func(c *ExampleConfig) { c.MaskedLMProb = 0 }, "MaskedLMProb", "MaskedLMProb 0: want a share in (0, 1]"},
		{"predictions 0", func(c *ExampleConfig) { c.MaxPredictions = 0 }, "MaxPredictions", "MaxPredictions 0: want at least 1"},
		{"predictions above", func(c *ExampleConfig) { c.MaxPredictions = 129 }, "MaxPredictions", "MaxPredictions 129: want at most MaxSeqLen (128)"},
		{"mask share", func(c *ExampleConfig) { c.MaskTokenProb = share(1.5) }, "MaskTokenProb", "MaskTokenProb 1.5: want a probability in [0, 1]"},
		{"random share", func(c *ExampleConfig) { c.RandomTokenProb = share(-0.1) }, "RandomTokenProb", "RandomTokenProb -0.1"},
		{"shares sum", func(c *ExampleConfig) { c.MaskTokenProb, c.RandomTokenProb = share(0.7), share(0.4) }, "MaskTokenProb",
			"MaskTokenProb 0.7 and RandomTokenProb 0.4: want shares that add up to at most 1"},
		{"shares at 1", func(c *ExampleConfig) { c.MaskTokenProb, c.RandomTokenProb = share(0.7), share(0.3) }, "", ""},
		{"eval 1", func(c *ExampleConfig) { c.EvalFraction = 1 }, "EvalFraction", "EvalFraction 1: want a share in [0, 1)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultExampleConfig()
			tc.edit(&c)
			err := c.Validate()
			if tc.field == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var fe *setting.Error
			if !errors.As(err, &fe) || fe.Field != tc.field || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("error %v (%#v), want one of field %s saying %q", err, fe, tc.field, tc.msg)
			}
		})
	}
}

// TestNewExamplesDefaults: NewExamples fills in the zero values it documents (Workers,
// MaxRowGroupBytes, a table format's TextColumn) before it validates, where Validate alone
// refuses them.
func TestNewExamplesDefaults(t *testing.T) {
	cfg := sampleConfig("parquet", "testdata")
	cfg.Workers, cfg.MaxRowGroupBytes, cfg.TextColumn = 0, 0, ""
	if cfg.Validate() == nil {
		t.Fatal("Validate took Workers 0")
	}
	ex, err := NewExamples(cfg)
	if err != nil {
		t.Fatal(err)
	}
	got := ex.Config()
	if got.Workers != 1 || got.MaxRowGroupBytes != DefaultMaxRowGroupBytes || got.TextColumn != "text" {
		t.Errorf("filled in: workers %d, row group bytes %d, text column %q", got.Workers, got.MaxRowGroupBytes, got.TextColumn)
	}
}

// TestShardOptionsValidate: ShardOptions.Validate names the fields of its shards.Layout.
func TestShardOptionsValidate(t *testing.T) {
	ok := ShardOptions{Layout: shards.Layout{Compression: shards.Zstd, Format: shards.IPCFile, ShardBytes: 1 << 20, RowsPerBatch: 100}}
	if err := ok.Validate(128); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		edit  func(*ShardOptions)
		field string
		msg   string
	}{
		{func(o *ShardOptions) { o.Format = "parquet" }, "Format", `Format "parquet": want file or stream`},
		{func(o *ShardOptions) { o.Compression = "gzip" }, "Compression", `Compression "gzip": want zstd, lz4 or none`},
		{func(o *ShardOptions) { o.RowsPerBatch = shards.MaxRowsPerBatch + 1 }, "RowsPerBatch", "RowsPerBatch 1048577: want 1 to 1048576"},
		{func(o *ShardOptions) { o.Bins = []int{32, 64} }, "Bins", `Bins "32,64": want a last bin that holds the longest rows (MaxSeqLen 128)`},
	} {
		o := ok
		tc.edit(&o)
		err := o.Validate(128)
		var fe *setting.Error
		if !errors.As(err, &fe) || fe.Field != tc.field || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("error %v, want one of field %s saying %q", err, tc.field, tc.msg)
		}
	}
}

// oldConfig is the config a kiln prep of 30fb459 (before the settings were typed) stored in
// its manifest, for "--task sop --masking dynamic --max-seq-len 64".
const oldConfig = `{"inputs":["sample/corpus"],"format":"text","json_field":"text","vocab":"/k/sample/vocab.txt","cased":false,"max_seq_len":64,"max_predictions":20,"masked_lm_prob":0.15,"short_seq_prob":0.1,"dupe_factor":1,"task":"sop","masking":"dynamic","whole_word_mask":false,"reservoir_docs":1000,"shuffle_buffer":10000,"seed":12345,"max_line_bytes":1048576,"max_doc_bytes":67108864}`

// TestExampleConfigJSON: the typed settings read and write the spellings that configs stored
// before they were typed (manifests still load, and their config bytes do not change); an
// unknown name is refused naming the field.
func TestExampleConfigJSON(t *testing.T) {
	var c ExampleConfig
	if err := json.Unmarshal([]byte(oldConfig), &c); err != nil {
		t.Fatal(err)
	}
	if c.Format != Text || c.Task != pairing.SOP || c.Masking != masking.Dynamic {
		t.Errorf("read format %v, task %v, masking %v", c.Format, c.Task, c.Masking)
	}
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != oldConfig {
		t.Errorf("written back:\n%s\nwant\n%s", b, oldConfig)
	}
	for _, f := range []Format{Lines, Text, JSONL, Parquet, Arrow} {
		c.Format = f
		b, _ := json.Marshal(c)
		if !strings.Contains(string(b), `"format":"`+f.String()+`"`) {
			t.Errorf("format %v written as %s", f, b)
		}
	}
	for _, tc := range []struct{ edit, field string }{
		{`"task":"sop"`, "Task"}, {`"format":"text"`, "Format"}, {`"masking":"dynamic"`, "Masking"},
	} {
		bad := strings.Replace(oldConfig, tc.edit, strings.SplitN(tc.edit, ":", 2)[0]+`:"mlm"`, 1)
		var c ExampleConfig
		err := json.Unmarshal([]byte(bad), &c)
		var fe *setting.Error
		if !errors.As(err, &fe) || fe.Field != tc.field {
			t.Errorf("%s: error %v, want one naming %s", bad, err, tc.field)
		}
	}
	if _, err := json.Marshal(ExampleConfig{Task: pairing.Task(5)}); err == nil {
		t.Error("an unknown task was written")
	}
}
