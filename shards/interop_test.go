package shards

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kiln-bert/kiln/internal/testenv"
)

// interopPeers are the npm packages the readers in testdata/ load.
var interopPeers = []string{"nodejs-polars", "apache-arrow", "fzstd"}

// peerResult is what the node scripts in testdata/ print.
type peerResult struct {
	Reader   string                 `json:"reader"`
	Format   string                 `json:"format"`
	Rows     int64                  `json:"rows"`
	Columns  map[string]*peerColumn `json:"columns"`
	Metadata map[string]string      `json:"metadata"`
}

// peerColumn is one column as a reader found it: its type and, per row, the
// value (a list column: the row's array of values; null: no value).
type peerColumn struct {
	Type   string            `json:"type"`
	Values []json.RawMessage `json:"values"`
}

// rowValues returns, per column of a static-masked NSP shard, what each row
// must hold, as JSON.
func rowValues(r *Row) map[string]string {
	list := func(v any) string {
		b, _ := json.Marshal(v)
		if string(b) == "null" {
			return "[]"
		}
		return string(b)
	}
	types := make([]int, len(r.TokenTypeIDs))
	for i, v := range r.TokenTypeIDs {
		types[i] = int(v)
	}
	return map[string]string{
		ColInputIDs:          list(r.InputIDs),
		ColTokenTypeIDs:      list(types),
		ColNextSentenceLabel: fmt.Sprint(r.NextSentenceLabel),
		ColMaskedPositions:   list(r.MaskedPositions),
		ColMaskedIDs:         list(r.MaskedIDs),
	}
}

// compareRows fails the test unless got holds exactly rows, in order: every
// value of every row of every column.
func compareRows(t *testing.T, script string, got *peerResult, rows []Row) {
	t.Helper()
	if got.Rows != int64(len(rows)) {
		t.Errorf("%s: %d rows, wrote %d", script, got.Rows, len(rows))
	}
	want := rowValues(&rows[0])
	if len(got.Columns) != len(want) {
		t.Errorf("%s: %d columns, want %d", script, len(got.Columns), len(want))
	}
	for name := range want {
		c := got.Columns[name]
		if c == nil {
			t.Errorf("%s: no column %s", script, name)
			continue
		}
		if len(c.Values) != len(rows) {
			t.Errorf("%s: column %s holds %d rows, wrote %d", script, name, len(c.Values), len(rows))
			continue
		}
		bad := 0
		for i := range rows {
			w := rowValues(&rows[i])[name]
			if g := strings.ReplaceAll(string(c.Values[i]), " ", ""); g != w {
				if bad++; bad <= 3 {
					t.Errorf("%s: column %s (%s), row %d: %.200s, wrote %.200s", script, name, c.Type, i, g, w)
				}
			}
		}
		if bad > 3 {
			t.Errorf("%s: column %s: %d rows differ", script, name, bad)
		}
	}
}

// wide returns a copy of rows whose ordinary token ids (999 and above) are
// moved up by vocab-30522, so that a vocabulary of vocab ids holds ids that do
// not fit in 16 bits.
func wide(rows []Row, vocab int) []Row {
	shift := int32(vocab - 30522)
	up := func(ids []int32) []int32 {
		out := make([]int32, len(ids))
		for i, id := range ids {
			if id >= 999 {
				id += shift
			}
			out[i] = id
		}
		return out
	}
	out := make([]Row, len(rows))
	for i, r := range rows {
		out[i] = r
		out[i].InputIDs, out[i].MaskedIDs = up(r.InputIDs), up(r.MaskedIDs)
	}
	return out
}

// TestInterop writes shards of real-text rows in every format and
// compression and has nodejs-polars and Arrow JS read them: every value of
// every row must be what was written, in order.
func TestInterop(t *testing.T) {
	if testing.Short() && !testenv.CI() {
		t.Skip("short: skipping the node interop readers")
	}
	node, modules := testenv.NodeModules(t, interopPeers...)
	fx := loadFixture(t)
	rows := fx.rows(t, "sample", 128, 2500, true, 31)
	tests := []struct {
		format, compression string
		vocab               int
	}{
		{"file", "zstd", 30522},
		{"stream", "zstd", 30522},
		{"file", "lz4", 30522},
		{"stream", "lz4", 30522},
		{"file", "none", 30522},
		{"stream", "none", 30522},
		{"file", "zstd", 70000}, // uint32 ids, some above 65535 (see wide)
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%s-%s-%d", tc.format, tc.compression, tc.vocab), func(t *testing.T) {
			dir := t.TempDir()
			o := baseOptions(dir, true)
			o.Format, o.Compression, o.VocabSize = IPCFormat(tc.format), Compression(tc.compression), tc.vocab
			o.RowsPerBatch, o.ShardBytes = 1000, 1<<30 // one shard of three batches
			rows := rows
			if tc.vocab > 1<<16 {
				rows = wide(rows, tc.vocab)
			}
			m := writeAll(t, o, rows)
			shard := filepath.Join(dir, m.Shards[0].File)
			for _, script := range []string{"read_polars.js", "read_arrow.js"} {
				cmd := exec.Command(node, filepath.Join("testdata", script), shard, tc.format)
				cmd.Env = append(os.Environ(), "NODE_PATH="+modules)
				out, err := cmd.Output()
				if err != nil {
					stderr := ""
					if ee, ok := err.(*exec.ExitError); ok {
						stderr = string(ee.Stderr)
					}
					t.Fatalf("%s: %v\n%s", script, err, stderr)
				}
				var got peerResult
				if err := json.Unmarshal(out, &got); err != nil {
					t.Fatalf("%s: %v: %s", script, err, out)
				}
				compareRows(t, script, &got, rows)
				if got.Reader == "apache-arrow" {
					if got.Format != tc.format {
						t.Errorf("Arrow JS read format %q, want %q", got.Format, tc.format)
					}
					if got.Metadata[MetaVocabSHA256] != "abc" || got.Metadata[MetaShards] == "" {
						t.Errorf("Arrow JS schema metadata %v", got.Metadata)
					}
				}
				if c := got.Columns[ColInputIDs]; c != nil {
					t.Logf("%s: %d rows, input_ids %s", got.Reader, got.Rows, c.Type)
				}
			}
		})
	}
}
