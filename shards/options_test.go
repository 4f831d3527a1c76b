package shards

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kiln-bert/kiln/internal/setting"
)

// TestOptionsValidate: each Options field out of range is refused by Validate, and by
// NewWriter before it makes anything, with an error naming the field; the zero values that
// stand for defaults are refused by Validate and filled in by NewWriter.
func TestOptionsValidate(t *testing.T) {
	ok := baseOptions("", true)
	ok.Compression, ok.Format = Zstd, IPCFile
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		edit  func(*Options)
		field string
		msg   string
	}{
		{"compression", func(o *Options) { o.Compression = "gzip" }, "Compression", `Compression "gzip": want zstd, lz4 or none`},
		{"compression default", func(o *Options) { o.Compression = "" }, "Compression", `Compression ""`},
		{"format", func(o *Options) { o.Format = "parquet" }, "Format", `Format "parquet": want file or stream`},
		{"shard bytes", func(o *Options) { o.ShardBytes = -1 }, "ShardBytes", "ShardBytes -1: want 1 to 1099511627776"},
		{"shard bytes above", func(o *Options) { o.ShardBytes = MaxShardBytes + 1 }, "ShardBytes", "ShardBytes 1099511627777"},
		{"rows per batch", func(o *Options) { o.RowsPerBatch = MaxRowsPerBatch + 1 }, "RowsPerBatch", "RowsPerBatch 1048577: want 1 to 1048576"},
		{"bins order", func(o *Options) { o.Bins = []int{64, 32, 128} }, "Bins", `Bins "64,32,128": want ascending lengths of at least 1`},
		{"bins zero", func(o *Options) { o.Bins = []int{0, 128} }, "Bins", `Bins "0,128": want ascending`},
		{"bins short", func(o *Options) { o.Bins = []int{32, 64} }, "Bins", `Bins "32,64": want a last bin that holds the longest rows (MaxSeqLen 128)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := ok
			tc.edit(&o)
			err := o.Validate()
			var fe *setting.Error
			if !errors.As(err, &fe) || fe.Field != tc.field || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("Validate: %v, want an error of field %s saying %q", err, tc.field, tc.msg)
			}
			if tc.name == "compression default" {
				return
			}
			o.Dir = filepath.Join(t.TempDir(), "out")
			if _, err := NewWriter(o); !errors.As(err, &fe) || fe.Field != tc.field {
				t.Fatalf("NewWriter: %v, want an error of field %s", err, tc.field)
			}
			if _, err := os.Stat(o.Dir); !os.IsNotExist(err) {
				t.Errorf("a refused writer made %s", o.Dir)
			}
		})
	}
	o := baseOptions(t.TempDir(), true)
	o.Compression, o.Format, o.ShardBytes, o.RowsPerBatch = "", "", 0, 0
	w, err := NewWriter(o)
	if err != nil {
		t.Fatalf("NewWriter with the defaults' zero values: %v", err)
	}
	if w.o.Compression != Zstd || w.o.Format != IPCFile || w.o.ShardBytes != DefaultShardBytes || w.info.RowsPerBatch != DefaultRowsPerBatch {
		t.Errorf("defaults filled in: %q %q %d %d", w.o.Compression, w.o.Format, w.o.ShardBytes, w.info.RowsPerBatch)
	}
	if err := w.Abort(); err != nil {
		t.Fatal(err)
	}
}

// oldManifest is the head of a manifest written by kiln prep at 30fb459 (before compression
// and the Arrow format were typed), --compression lz4 --arrow-format stream.
const oldManifest = `{"format":"kiln-shards/1","arrow_format":"stream","compression":"lz4","shard_bytes":134217728,"bins":[32,64],"info":{"vocab_size":30522,"max_seq_len":64,"special":{"pad":0,"cls":101,"sep":102,"mask":103},"task":"sop","static_masking":false,"max_predictions":20,"rows_per_batch":32768},"rows":2860,"tokens":177743,"bytes":380680,"shards":[]}`

// TestManifestSettingsJSON: the typed compression and format read and write the manifest's
// spellings unchanged; an unknown one is refused naming the field.
func TestManifestSettingsJSON(t *testing.T) {
	var m Manifest
	if err := json.Unmarshal([]byte(oldManifest), &m); err != nil {
		t.Fatal(err)
	}
	if m.Compression != LZ4 || m.ArrowFormat != IPCStream {
		t.Errorf("read compression %q, format %q", m.Compression, m.ArrowFormat)
	}
	b, err := json.Marshal(&m)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != oldManifest {
		t.Errorf("written back:\n%s\nwant\n%s", b, oldManifest)
	}
	for _, tc := range []struct{ from, to, field string }{
		{`"compression":"lz4"`, `"compression":"gzip"`, "Compression"},
		{`"arrow_format":"stream"`, `"arrow_format":"parquet"`, "Format"},
	} {
		var m Manifest
		err := json.Unmarshal([]byte(strings.Replace(oldManifest, tc.from, tc.to, 1)), &m)
		var fe *setting.Error
		if !errors.As(err, &fe) || fe.Field != tc.field {
			t.Errorf("%s: %v, want an error naming %s", tc.to, err, tc.field)
		}
	}
}

// TestDefaultsAgree: the library's defaults are kiln prep's documented ones (--rows-per-batch
// 32768, --shuffle-buffer 10000), so that a library run without them writes what kiln prep
// writes; the shards' rows_per_batch was 8192 before.
func TestDefaultsAgree(t *testing.T) {
	if DefaultRowsPerBatch != 32768 || DefaultShuffleBuffer != 10000 || DefaultShardBytes != 128<<20 {
		t.Errorf("defaults: rows per batch %d, shuffle buffer %d, shard bytes %d", DefaultRowsPerBatch, DefaultShuffleBuffer, DefaultShardBytes)
	}
}
