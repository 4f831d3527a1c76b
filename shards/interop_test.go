package shards

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// peerModules finds tools/peers/node_modules from the package directory and
// checks that node and the readers are installed. Absent peers skip the
// test, except in CI where they fail it.
func peerModules(t *testing.T) (node, modules string) {
	t.Helper()
	missing := func(format string, args ...any) {
		t.Helper()
		if os.Getenv("CI") != "" {
			t.Fatalf("interop peer missing in CI: "+format, args...)
		}
		t.Skipf("interop peer missing, skipping: "+format, args...)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		missing("node not on PATH")
	}
	dir, _ := filepath.Abs(".")
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			missing("no go.mod above the package directory")
		}
		dir = parent
	}
	modules = filepath.Join(dir, "tools", "peers", "node_modules")
	for _, pkg := range []string{"nodejs-polars", "apache-arrow", "fzstd"} {
		if _, err := os.Stat(filepath.Join(modules, pkg, "package.json")); err != nil {
			missing("%s not installed in %s (npm install in tools/peers)", pkg, modules)
		}
	}
	return node, modules
}

// peerResult is what the node scripts in testdata/ print.
type peerResult struct {
	Reader   string                  `json:"reader"`
	Format   string                  `json:"format"`
	Rows     int64                   `json:"rows"`
	Columns  map[string]columnTotals `json:"columns"`
	Metadata map[string]string       `json:"metadata"`
}

type columnTotals struct {
	Sum   float64 `json:"sum"`
	Count int64   `json:"count"`
	Type  string  `json:"type"`
}

// expectedTotals computes, from the rows handed to the writer, what a
// reader must find in each column.
func expectedTotals(rows []Row) map[string]columnTotals {
	var ids, types, labels, pos, mids columnTotals
	for _, r := range rows {
		for _, id := range r.InputIDs {
			ids.Sum += float64(id)
		}
		for _, t := range r.TokenTypeIDs {
			types.Sum += float64(t)
		}
		for k, p := range r.MaskedPositions {
			pos.Sum += float64(p)
			mids.Sum += float64(r.MaskedIDs[k])
		}
		ids.Count += int64(len(r.InputIDs))
		types.Count += int64(len(r.TokenTypeIDs))
		pos.Count += int64(len(r.MaskedPositions))
		mids.Count += int64(len(r.MaskedIDs))
		labels.Sum += float64(r.NextSentenceLabel)
		labels.Count++
	}
	return map[string]columnTotals{
		ColInputIDs: ids, ColTokenTypeIDs: types, ColNextSentenceLabel: labels,
		ColMaskedPositions: pos, ColMaskedIDs: mids,
	}
}

// TestInterop writes shards of real-text rows in every format and
// compression and has nodejs-polars and Arrow JS read them: row counts and
// per-column sums must match what was written.
func TestInterop(t *testing.T) {
	if testing.Short() && os.Getenv("CI") == "" {
		t.Skip("short: skipping the node interop readers")
	}
	node, modules := peerModules(t)
	fx := loadFixture(t)
	rows := fx.rows(t, "sotu", 128, 2500, true, 31)
	want := expectedTotals(rows)
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
		{"file", "zstd", 70000}, // uint32 ids
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%s-%s-%d", tc.format, tc.compression, tc.vocab), func(t *testing.T) {
			dir := t.TempDir()
			o := baseOptions(dir, true)
			o.Format, o.Compression, o.VocabSize = tc.format, tc.compression, tc.vocab
			o.RowsPerBatch, o.ShardBytes = 1000, 1<<30 // one shard of three batches
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
				if got.Rows != int64(len(rows)) {
					t.Errorf("%s: %d rows, wrote %d", script, got.Rows, len(rows))
				}
				for name, w := range want {
					if g := got.Columns[name]; g.Sum != w.Sum || g.Count != w.Count {
						t.Errorf("%s: column %s (%s): sum %.0f count %d, want %.0f and %d", script, name, g.Type, g.Sum, g.Count, w.Sum, w.Count)
					}
				}
				if len(got.Columns) != len(want) {
					t.Errorf("%s: columns %v", script, got.Columns)
				}
				if got.Reader == "apache-arrow" {
					if got.Format != tc.format {
						t.Errorf("Arrow JS read format %q, want %q", got.Format, tc.format)
					}
					if got.Metadata[MetaVocabSHA256] != "abc" || got.Metadata[MetaShards] == "" {
						t.Errorf("Arrow JS schema metadata %v", got.Metadata)
					}
				}
				t.Logf("%s: %d rows, input_ids %s sum %.0f", got.Reader, got.Rows, got.Columns[ColInputIDs].Type, got.Columns[ColInputIDs].Sum)
			}
		})
	}
}
