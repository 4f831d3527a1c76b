package pipeline

import (
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/kiln-bert/kiln/internal/testenv"
	"github.com/kiln-bert/kiln/shards"
)

// TestPartitionedPeersRead has nodejs-polars and Arrow JS read every shard that a partitioned
// run's manifest lists (part-NNNNN/shard-NNNNN.arrow) and checks that they find the rows
// kiln's reader finds, value for value: input_ids, token_type_ids and the label.
func TestPartitionedPeersRead(t *testing.T) {
	if testing.Short() && !testenv.CI() {
		t.Skip("short: skipping the node readers")
	}
	peers := []string{"nodejs-polars", "apache-arrow", "fzstd"}
	testenv.NodeModules(t, peers...)
	cfg := testConfig(t, "text", sampleCorpus(t))
	dir := t.TempDir()
	runPrepPartitioned(t, cfg, ShardOptions{Dir: dir, Layout: shards.Layout{ShardBytes: 256 << 10}, Version: "test"}, 3)
	m, err := shards.ReadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, sh := range m.Shards {
		r, err := shards.Open(filepath.Join(dir, filepath.FromSlash(sh.File)))
		if err != nil {
			t.Fatal(err)
		}
		var want []shards.Row
		for {
			var row shards.Row
			if r.Next(&row) != nil {
				break
			}
			want = append(want, copyOf(row))
		}
		r.Close()
		for _, script := range []string{"read_polars.js", "read_arrow.js"} {
			cmd := testenv.Node(t, peers, filepath.Join("..", "shards", "testdata", script), filepath.Join(dir, filepath.FromSlash(sh.File)), "file")
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("%s %s: %v", script, sh.File, err)
			}
			var got struct {
				Rows    int `json:"rows"`
				Columns map[string]struct {
					Values []json.RawMessage `json:"values"`
				} `json:"columns"`
			}
			if err := json.Unmarshal(out, &got); err != nil {
				t.Fatalf("%s: %v", script, err)
			}
			if got.Rows != len(want) || int64(got.Rows) != sh.Rows {
				t.Fatalf("%s %s: %d rows, kiln reads %d, the manifest lists %d", script, sh.File, got.Rows, len(want), sh.Rows)
			}
			for i, w := range want {
				types := make([]int, len(w.TokenTypeIDs))
				for j, v := range w.TokenTypeIDs {
					types[j] = int(v)
				}
				for col, v := range map[string]any{shards.ColInputIDs: w.InputIDs, shards.ColTokenTypeIDs: types, shards.ColNextSentenceLabel: w.NextSentenceLabel} {
					b, _ := json.Marshal(v)
					if c := got.Columns[col]; i >= len(c.Values) || string(c.Values[i]) != string(b) {
						t.Fatalf("%s %s row %d %s differs from kiln's", script, sh.File, i, col)
					}
				}
			}
		}
		t.Logf("%s: %d rows read alike by kiln, nodejs-polars and Arrow JS", sh.File, len(want))
	}
}
