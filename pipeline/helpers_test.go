package pipeline

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/kiln-bert/kiln/shards"
)

// sharedData returns the shared data directory (../../shared/data from the package, beside
// the repository). It skips the test when the directory is absent, and fails it when CI is
// set.
func sharedData(t testing.TB) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", "..", "shared", "data"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "vocab", "bert-base-uncased-vocab.txt")); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("shared data missing (required in CI): %v", err)
		}
		t.Skipf("shared data not found at %s: %v", dir, err)
	}
	return dir
}

// vocabFile is the bert-base-uncased vocabulary of the shared data.
func vocabFile(t testing.TB) string {
	return filepath.Join(sharedData(t), "vocab", "bert-base-uncased-vocab.txt")
}

// sotuFiles returns every k-th State of the Union address file (k=1: all 233), sorted.
func sotuFiles(t testing.TB, k int) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(sharedData(t), "corpora", "sotu", "*.txt"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no SOTU files: %v", err)
	}
	sort.Strings(files)
	var out []string
	for i := 0; i < len(files); i += k {
		out = append(out, files[i])
	}
	return out
}

// mobyDick returns the Moby Dick chapter directory.
func mobyDick(t testing.TB) string {
	return filepath.Join(sharedData(t), "corpora", "moby-dick")
}

// testConfig is the default configuration over inputs, with the shared vocabulary.
func testConfig(t testing.TB, format string, inputs ...string) ExampleConfig {
	cfg := DefaultExampleConfig()
	cfg.Inputs = inputs
	cfg.Format = format
	cfg.Vocab = vocabFile(t)
	cfg.Workers = 2
	return cfg
}

// runPrep runs Prep with cfg into dir and fails the test on error.
func runPrep(t testing.TB, cfg ExampleConfig, o ShardOptions) (*PrepSummary, *Examples) {
	t.Helper()
	sum, ex, err := tryPrep(context.Background(), cfg, o)
	if err != nil {
		t.Fatalf("prep: %v", err)
	}
	return sum, ex
}

func tryPrep(ctx context.Context, cfg ExampleConfig, o ShardOptions) (*PrepSummary, *Examples, error) {
	ex, err := NewExamples(cfg)
	if err != nil {
		return nil, nil, err
	}
	sum, err := Prep(ctx, ex, o)
	return sum, ex, err
}

// verifyDir runs shards.Verify and fails the test on any failure.
func verifyDir(t testing.TB, dir string) shards.Report {
	t.Helper()
	rep, err := shards.Verify(dir)
	if err != nil {
		t.Fatalf("verify %s: %v", dir, err)
	}
	for i, f := range rep.Failures {
		if i == 10 {
			t.Errorf("... %d more failures", len(rep.Failures)-10)
			break
		}
		t.Errorf("verify: %s", f)
	}
	if rep.Omitted > 0 {
		t.Errorf("verify: %d failures omitted", rep.Omitted)
	}
	return rep
}

// readRows reads back every row of the shards listed in dir's manifest, in order.
func readRows(t testing.TB, dir string) []shards.Row {
	t.Helper()
	m, err := shards.ReadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	var rows []shards.Row
	for _, sh := range m.Shards {
		r, err := shards.Open(filepath.Join(dir, filepath.FromSlash(sh.File)))
		if err != nil {
			t.Fatal(err)
		}
		for {
			var row shards.Row
			err := r.Next(&row)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", sh.File, err)
			}
			rows = append(rows, copyOf(row))
		}
		r.Close()
	}
	return rows
}

// copyOf returns r with slices of its own (a Reader may reuse them).
func copyOf(r shards.Row) shards.Row {
	var c shards.Row
	copyRow(&c, &r)
	return c
}

// outputFiles returns the contents of the shards and the manifest in dir (not the timing
// figures of prep-stats.json), by relative path.
func outputFiles(t testing.TB, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if rel == StatsName {
			return nil
		}
		b, err := os.ReadFile(p)
		out[filepath.ToSlash(rel)] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// sameOutput fails the test unless dirs a and b hold byte-identical shards and manifests.
func sameOutput(t testing.TB, a, b string) {
	t.Helper()
	fa, fb := outputFiles(t, a), outputFiles(t, b)
	var names []string
	for n := range fa {
		names = append(names, n)
	}
	sort.Strings(names)
	if len(fa) != len(fb) {
		t.Errorf("%s holds %d files, %s holds %d", a, len(fa), b, len(fb))
	}
	for _, n := range names {
		if _, ok := fb[n]; !ok {
			t.Errorf("%s: missing in %s", n, b)
			continue
		}
		if !bytes.Equal(fa[n], fb[n]) {
			t.Errorf("%s differs between %s and %s", n, a, b)
		}
	}
	if fa[shards.ManifestName] == nil || len(fa) < 2 {
		t.Errorf("%s holds no manifest or no shard: %v", a, names)
	}
}
