package pipeline

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/kiln-bert/kiln/internal/testenv"
	"github.com/kiln-bert/kiln/shards"
)

// vocabFile is the bert-base-uncased vocabulary of the bundled sample (cmd/kiln/sample).
func vocabFile(t testing.TB) string {
	t.Helper()
	return testenv.Vocab(t)
}

// sotuFiles returns the sample's 21 State of the Union addresses (2001-2021), sorted.
func sotuFiles(t testing.TB) []string {
	t.Helper()
	return testenv.SOTU(t)
}

// sampleCorpus returns the sample's corpus directory: the 21 addresses and 30 chapters of
// Moby Dick, 51 documents, 986 KB.
func sampleCorpus(t testing.TB) string {
	t.Helper()
	return testenv.Corpus(t)
}

// sampleCopies returns a directory of n copies of the sample's corpus (copy-000/, copy-001/,
// ...: links to the sample's files), n times its documents: text enough where a test needs more
// than the sample, without shipping more. Each copy's files are documents of their own: their
// pairs and masks differ from the other copies'.
func sampleCopies(t testing.TB, n int) string {
	t.Helper()
	root := t.TempDir()
	files := testenv.CorpusFiles(t)
	for i := range n {
		sub := filepath.Join(root, fmt.Sprintf("copy-%03d", i))
		if err := os.Mkdir(sub, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			if err := os.Symlink(f, filepath.Join(sub, filepath.Base(f))); err != nil {
				t.Fatal(err)
			}
		}
	}
	return root
}

// benchSOTU returns every k-th State of the Union address of the benchmark corpora (k=1: all
// 233; see testenv.BenchData), sorted. Benchmarks only.
func benchSOTU(b testing.TB, k int) []string {
	b.Helper()
	files, err := filepath.Glob(filepath.Join(testenv.BenchData(b), "corpora", "sotu", "*.txt"))
	if err != nil || len(files) == 0 {
		b.Fatalf("no SOTU files in the benchmark corpora: %v", err)
	}
	sort.Strings(files)
	var out []string
	for i := 0; i < len(files); i += k {
		out = append(out, files[i])
	}
	return out
}

// testConfig is the default configuration over inputs, with the sample's vocabulary.
func testConfig(t testing.TB, format string, inputs ...string) ExampleConfig {
	cfg := DefaultExampleConfig()
	cfg.Inputs = inputs
	if err := cfg.Format.UnmarshalText([]byte(format)); err != nil {
		t.Fatal(err)
	}
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
	c.CopyFrom(&r)
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
