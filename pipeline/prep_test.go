package pipeline

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/kiln-bert/kiln/masking"
	"github.com/kiln-bert/kiln/pairing"
	"github.com/kiln-bert/kiln/shards"
)

// within fails the test unless got is in [want-tol, want+tol].
func within(t *testing.T, name string, got, want, tol float64) {
	t.Helper()
	if math.Abs(got-want) > tol {
		t.Errorf("%s = %.4f, want %.4f +- %.4f", name, got, want, tol)
	} else {
		t.Logf("%s = %.4f (want %.4f +- %.4f)", name, got, want, tol)
	}
}

// TestPrepStaticSOTU runs the whole pipeline on the bundled sample (21 State of the Union
// addresses, 30 chapters of Moby Dick) with Google's defaults and reads the shards back: every
// invariant holds, and the masking and pairing figures measured on the shards are BERT's. Nine
// passes over the sample (dupe factor 9, each pass paired and masked afresh) give about 19,900
// rows, as many as one pass over the 233 addresses of the full corpus (19,719), so that the
// tolerances below stay as strict as they were (NotNext share: sd 0.004).
func TestPrepStaticSOTU(t *testing.T) {
	cfg := testConfig(t, "text", sampleCorpus(t))
	cfg.DupeFactor = 9
	dir := t.TempDir()
	sum, ex := runPrep(t, cfg, ShardOptions{Dir: dir, Layout: shards.Layout{ShardBytes: 1 << 20, RowsPerBatch: 8192}, Version: "test"})
	rep := verifyDir(t, dir)
	s, err := shards.Stats(dir)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Rows != sum.Examples.Rows || s.Rows != sum.Examples.Rows || s.Rows < 15000 {
		t.Errorf("rows: verify %d, stats %d, prep %d", rep.Rows, s.Rows, sum.Examples.Rows)
	}
	if s.Shards < 2 {
		t.Errorf("%d shards, want several with 1 MiB shards", s.Shards)
	}
	// num_to_predict counts [CLS] and [SEP] (as Google's), so the rate over the candidate
	// tokens is slightly above 15% for full rows (19 of 125).
	within(t, "masked share of candidate tokens", s.MaskingRate(), 0.15, 0.003)
	mask, kept, random := s.Split()
	within(t, "[MASK] share", mask, 0.80, 0.01)
	within(t, "kept share", kept, 0.10, 0.01)
	within(t, "random share", random, 0.10, 0.01)
	within(t, "NotNext share", s.NotNextShare(), 0.50, 0.01)
	if s.NoLabel != 0 {
		t.Errorf("%d rows without a label in an NSP run", s.NoLabel)
	}
	if s.Masked != sum.Examples.Masked || s.MaskedRandom != sum.Examples.MaskedRandom {
		t.Errorf("prep counted %d masks (%d random), the shards hold %d (%d)", sum.Examples.Masked, sum.Examples.MaskedRandom, s.Masked, s.MaskedRandom)
	}
	bpt := s.BytesPerToken()
	t.Logf("%d rows, %d tokens, %d shards, %.3f bytes per token on disk", s.Rows, s.Tokens, s.Shards, bpt)
	if bpt > 2.0 {
		t.Errorf("%.3f bytes per token on disk, want <= 2.0 (static masking, zstd)", bpt)
	}

	// A random replacement is never a special or [unusedN] token, and the labels are the
	// text's own tokens.
	vocab := ex.Tokenizer().Vocab()
	sp := ex.Tokenizer().Special()
	special := func(id int32) bool {
		tok := vocab.Token(id)
		return strings.HasPrefix(tok, "[") && strings.HasSuffix(tok, "]")
	}
	for i, r := range readRows(t, dir) {
		for k, p := range r.MaskedPositions {
			cur, orig := r.InputIDs[p], r.MaskedIDs[k]
			if special(orig) && orig != sp.UNK {
				t.Fatalf("row %d: masked label %q is a special token", i, vocab.Token(orig))
			}
			if cur != sp.MASK && cur != orig && special(cur) {
				t.Fatalf("row %d: random replacement %q is a special token", i, vocab.Token(cur))
			}
		}
	}
}

// TestPrepShortTargetsDynamic covers dynamic masking (no masked columns, no [MASK] in the
// rows) and the short target share, over enough document passes (the sample's 51 documents,
// 29 passes each) to measure it.
func TestPrepShortTargetsDynamic(t *testing.T) {
	cfg := testConfig(t, "text", sampleCorpus(t))
	cfg.Masking = masking.Dynamic
	cfg.DupeFactor = 29
	dir := t.TempDir()
	sum, _ := runPrep(t, cfg, ShardOptions{Dir: dir, Version: "test"})
	verifyDir(t, dir)

	docs := sum.Examples.Source.Documents
	p := sum.Examples.Pairing
	if docs != 21+30 || int64(p.Documents) != 29*docs {
		t.Errorf("%d documents, %d passes: want 51 documents, 29 passes each", docs, p.Documents)
	}
	// Binomial over 1479 passes: sd 0.8 points.
	within(t, "short target share of document passes", float64(p.ShortTargets)/float64(p.Documents), 0.10, 0.025)

	m, err := shards.ReadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	r, err := shards.Open(dir + "/" + m.Shards[0].File)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if r.Info().Static {
		t.Error("dynamic run: shard says static masking")
	}
	for _, f := range r.Schema().Fields() {
		if f.Name == shards.ColMaskedPositions || f.Name == shards.ColMaskedIDs {
			t.Errorf("dynamic run: shard has column %s", f.Name)
		}
	}
	s, err := shards.Stats(dir)
	if err != nil {
		t.Fatal(err)
	}
	if s.Masked != 0 || sum.Examples.Masked != 0 {
		t.Errorf("dynamic run: %d masked positions in the shards, %d counted", s.Masked, sum.Examples.Masked)
	}
	within(t, "NotNext share", s.NotNextShare(), 0.50, 0.01)
	mask := int32(103)
	for i, row := range readRows(t, dir) {
		for _, id := range row.InputIDs {
			if id == mask {
				t.Fatalf("row %d holds [MASK] in a dynamic run", i)
			}
		}
	}
}

// TestPrepTasks runs SOP and MLM-only on the sample's State of the Union addresses (long
// documents: few rows cut short by a document's end), two passes.
func TestPrepTasks(t *testing.T) {
	for _, task := range []pairing.Task{pairing.SOP, pairing.None} {
		t.Run(task.String(), func(t *testing.T) {
			cfg := testConfig(t, "text", sotuFiles(t)...)
			cfg.Task = task
			cfg.DupeFactor = 2
			dir := t.TempDir()
			sum, _ := runPrep(t, cfg, ShardOptions{Dir: dir, Version: "test"})
			verifyDir(t, dir)
			s, err := shards.Stats(dir)
			if err != nil {
				t.Fatal(err)
			}
			if s.Rows != sum.Examples.Rows || s.Rows < 1000 {
				t.Fatalf("%d rows in the shards, %d made", s.Rows, sum.Examples.Rows)
			}
			within(t, "masked share of candidate tokens", s.MaskingRate(), 0.15, 0.003)
			rows := readRows(t, dir)
			switch task {
			case pairing.SOP:
				// The balanced coin keeps the swapped share at 50%.
				within(t, "swapped share", s.NotNextShare(), 0.50, 0.015)
				if s.NoLabel != 0 {
					t.Errorf("%d unlabelled SOP rows", s.NoLabel)
				}
			case pairing.None:
				if s.NoLabel != s.Rows {
					t.Errorf("%d of %d rows labelled in an MLM-only run", s.Rows-s.NoLabel, s.Rows)
				}
				full := 0
				for i, r := range rows {
					n := len(r.InputIDs)
					for j, tt := range r.TokenTypeIDs {
						if tt != 0 {
							t.Fatalf("row %d: token type %d at %d in a one-segment row", i, tt, j)
						}
					}
					for j, id := range r.InputIDs[:n-1] {
						if id == 102 && j > 0 {
							t.Fatalf("row %d: [SEP] inside the segment at %d", i, j)
						}
					}
					if n == cfg.MaxSeqLen {
						full++
					}
				}
				// Whole sentences are packed up to the target: most rows are near full
				// (not checked exactly: a packed row stops short of a sentence that
				// does not fit).
				t.Logf("%d of %d rows at max_seq_len", full, len(rows))
				if s.Tokens < int64(len(rows))*int64(cfg.MaxSeqLen)*3/4 {
					t.Errorf("MLM-only rows average %d tokens, want most of %d", s.Tokens/int64(len(rows)), cfg.MaxSeqLen)
				}
			}
		})
	}
}

// TestPrepDupeFactor checks that each pass over a document is drawn afresh: twice the passes,
// about twice the rows, and the rows that two passes made alike carry different masks. The
// corpus is three copies of the sample (153 documents, each copy its own documents), for
// enough rows made alike to compare.
func TestPrepDupeFactor(t *testing.T) {
	corpus := sampleCopies(t, 3)
	run := func(dupe int) (*PrepSummary, []shards.Row) {
		cfg := testConfig(t, "text", corpus)
		cfg.DupeFactor = dupe
		cfg.ShuffleBuffer = 0
		dir := t.TempDir()
		sum, _ := runPrep(t, cfg, ShardOptions{Dir: dir, Version: "test"})
		verifyDir(t, dir)
		return sum, readRows(t, dir)
	}
	one, rows1 := run(1)
	two, rows2 := run(2)
	if p1, p2 := one.Examples.Pairing.Documents, two.Examples.Pairing.Documents; p2 != 2*p1 {
		t.Errorf("dupe factor 2 made %d document passes, dupe factor 1 %d", p2, p1)
	}
	if ratio := float64(len(rows2)) / float64(len(rows1)); ratio < 1.9 || ratio > 2.1 {
		t.Errorf("dupe factor 2 made %.2f times the rows", ratio)
	}
	// Group the rows by their unmasked content: a row two passes made alike must not carry
	// the same masks.
	key := func(r shards.Row) string {
		ids := append([]int32(nil), r.InputIDs...)
		for k, p := range r.MaskedPositions {
			ids[p] = r.MaskedIDs[k]
		}
		var b strings.Builder
		for _, id := range ids {
			b.WriteRune(rune(id + 1))
		}
		return b.String()
	}
	seen := map[string]shards.Row{}
	alike, sameMasks := 0, 0
	for _, r := range rows2 {
		k := key(r)
		if prev, ok := seen[k]; ok {
			alike++
			if slicesEqual(prev.MaskedPositions, r.MaskedPositions) && slicesEqual(prev.InputIDs, r.InputIDs) {
				sameMasks++
			}
		}
		seen[k] = r
	}
	t.Logf("%d rows made alike by two passes, %d of them with the same masks", alike, sameMasks)
	if alike < 10 {
		t.Errorf("only %d rows made alike by two passes: cannot compare their masks", alike)
	}
	if sameMasks > alike/20 {
		t.Errorf("%d of %d rows made alike by two passes carry the same masks", sameMasks, alike)
	}
}

func slicesEqual(a, b []int32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestRunStopsOnEmitError checks that an error from emit stops Run, is returned as is, and
// leaves the stages finished (Stats is safe to read; run it with -race).
func TestRunStopsOnEmitError(t *testing.T) {
	cfg := testConfig(t, "text", sotuFiles(t)[:10]...)
	cfg.ShuffleBuffer = 100
	ex, err := NewExamples(cfg)
	if err != nil {
		t.Fatal(err)
	}
	stop := errors.New("sink full")
	n := 0
	err = ex.Run(context.Background(), func(r *shards.Row) error {
		if n++; n == 500 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || n != 500 {
		t.Fatalf("Run = %v after %d rows, want the sink's error after 500", err, n)
	}
	if s := ex.Stats(); s.Rows < 500 || s.Pairing.Instances < 500 {
		t.Errorf("stats after a stop: %d rows, %d instances", s.Rows, s.Pairing.Instances)
	}
}

// BenchmarkExamplesRun measures the stages without the shard writer, over a quarter of the
// benchmark corpora's SOTU.
func BenchmarkExamplesRun(b *testing.B) {
	cfg := testConfig(b, "text", benchSOTU(b, 4)...)
	for _, workers := range []int{1, 2} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			cfg.Workers = workers
			var text int64
			for b.Loop() {
				ex, err := NewExamples(cfg)
				if err != nil {
					b.Fatal(err)
				}
				if err := ex.Run(context.Background(), func(*shards.Row) error { return nil }); err != nil {
					b.Fatal(err)
				}
				text = ex.Stats().Source.TextBytes
			}
			b.SetBytes(text)
		})
	}
}

// BenchmarkExamplesRunDupe measures the per-pass work (pairing, masking, the shuffle buffer)
// without the shard writer: a quarter of the benchmark corpora's SOTU, 2 workers, at dupe
// factor 1 and 5. The difference of the two is what four more passes cost.
//
//	go test -run '^$' -bench ExamplesRunDupe -benchmem ./pipeline/
func BenchmarkExamplesRunDupe(b *testing.B) {
	cfg := testConfig(b, "text", benchSOTU(b, 4)...)
	for _, dupe := range []int{1, 5} {
		b.Run(fmt.Sprintf("dupe=%d", dupe), func(b *testing.B) {
			cfg.DupeFactor = dupe
			ex, err := NewExamples(cfg)
			if err != nil {
				b.Fatal(err)
			}
			var text int64
			for b.Loop() {
				if err := ex.Run(context.Background(), func(*shards.Row) error { return nil }); err != nil {
					b.Fatal(err)
				}
				text = ex.Stats().Source.TextBytes
			}
			b.SetBytes(text)
		})
	}
}

// BenchmarkPrep measures the whole pipeline into shards over a quarter of the benchmark
// corpora's SOTU.
func BenchmarkPrep(b *testing.B) {
	cfg := testConfig(b, "text", benchSOTU(b, 4)...)
	for _, workers := range []int{1, 2} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			cfg.Workers = workers
			var text int64
			for b.Loop() {
				sum, _ := runPrep(b, cfg, ShardOptions{Dir: b.TempDir()})
				text = sum.Examples.Source.TextBytes
			}
			b.SetBytes(text)
		})
	}
}

// TestPrepRowsIndependentOfLocation checks that a document's identity, which seeds its pairs
// and masks, does not depend on where the corpus lies: the same files read from two
// directories give the same rows (the shards' metadata records the paths, so only the rows are
// compared).
func TestPrepRowsIndependentOfLocation(t *testing.T) {
	files := sotuFiles(t)[:4]
	var dirs []string
	for range 2 {
		dir := t.TempDir()
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, filepath.Base(f)), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		dirs = append(dirs, dir)
	}
	var rows [][]shards.Row
	for _, dir := range dirs {
		out := t.TempDir()
		runPrep(t, testConfig(t, "text", dir), ShardOptions{Dir: out})
		rows = append(rows, readRows(t, out))
	}
	if len(rows[0]) == 0 || !reflect.DeepEqual(rows[0], rows[1]) {
		t.Fatalf("the same corpus in two directories gave different rows (%d and %d)", len(rows[0]), len(rows[1]))
	}
}
