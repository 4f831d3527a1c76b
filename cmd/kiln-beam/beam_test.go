package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
	"github.com/kiln-bert/kiln/pipeline"
)

// The tests run the pipeline on Prism, in-process (ptest: no Java, no Docker), and compare
// its output byte for byte with what the kiln binary of the same checkout writes with
// "kiln prep --partitions N" on the same inputs and settings.

// sample is kiln's bundled sample: 21 State of the Union addresses and 30 chapters of Moby
// Dick, one document per file, and the bert-base-uncased vocabulary.
const (
	sampleCorpus = "../kiln/sample/corpus"
	sampleVocab  = "../kiln/sample/vocab.txt"
)

func TestMain(m *testing.M) {
	code := ptest.MainRet(m)
	if kilnBin.dir != "" {
		os.RemoveAll(kilnBin.dir)
	}
	os.Exit(code)
}

// kilnBin is the kiln binary of this checkout, built once for the tests that need it.
var kilnBin struct {
	once sync.Once
	dir  string
	path string
	err  error
}

// kiln returns the path of the kiln binary built from the root module of this checkout.
func kiln(t *testing.T) string {
	t.Helper()
	kilnBin.once.Do(func() {
		root, err := filepath.Abs("../..")
		if err != nil {
			kilnBin.err = err
			return
		}
		if kilnBin.dir, kilnBin.err = os.MkdirTemp("", "kiln-beam-test-"); kilnBin.err != nil {
			return
		}
		kilnBin.path = filepath.Join(kilnBin.dir, "kiln")
		cmd := exec.Command("go", "build", "-o", kilnBin.path, "./cmd/kiln")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			kilnBin.err = &buildError{err, string(out)}
		}
	})
	if kilnBin.err != nil {
		t.Fatalf("building kiln: %v", kilnBin.err)
	}
	return kilnBin.path
}

type buildError struct {
	err error
	out string
}

func (e *buildError) Error() string { return e.err.Error() + ": " + e.out }

// runKiln runs the kiln binary with args and fails the test unless it succeeds.
func runKiln(t *testing.T, args ...string) {
	t.Helper()
	cmd := exec.Command(kiln(t), args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("kiln %s: %v\n%s", strings.Join(args, " "), err, out.String())
	}
}

// runBeam runs "kiln-beam" with args in-process (on Prism, the default runner) and returns
// its exit code and output.
func runBeam(t *testing.T, args ...string) (int, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, &stdout, &stderr)
	return code, stdout.String() + stderr.String()
}

// dirFiles returns the sha256 of every file below dir, by slash-separated relative path. The
// run's duration (seconds, mb_per_second) is taken out of prep-stats.json, whose other
// fields must match.
func dirFiles(t *testing.T, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		if rel == pipeline.StatsName {
			var s pipeline.PrepSummary
			if err := json.Unmarshal(b, &s); err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			s.Seconds, s.Examples.Seconds, s.MBPerSecond = 0, 0, 0
			if b, err = json.Marshal(s); err != nil {
				return err
			}
		}
		h := sha256.Sum256(b)
		files[rel] = hex.EncodeToString(h[:])
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// sameFiles fails the test unless dirs a and b hold the same files with the same bytes.
func sameFiles(t *testing.T, a, b string) {
	t.Helper()
	fa, fb := dirFiles(t, a), dirFiles(t, b)
	var names []string
	for n := range fa {
		names = append(names, n)
	}
	for n := range fb {
		if _, ok := fa[n]; !ok {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	for _, n := range names {
		switch {
		case fa[n] == "":
			t.Errorf("%s: only in %s", n, b)
		case fb[n] == "":
			t.Errorf("%s: only in %s", n, a)
		case fa[n] != fb[n]:
			t.Errorf("%s: different bytes", n)
		}
	}
	if _, ok := fa["manifest.json"]; !ok {
		t.Errorf("%s: no manifest.json", a)
	}
	if n := len(fa); n < 3 {
		t.Errorf("%s holds %d file(s): want a manifest, stats and shards", a, n)
	}
}

// TestBeamMatchesKiln runs the Beam pipeline on Prism and kiln prep --partitions N on the same
// inputs and settings, and compares every file of the two outputs.
func TestBeamMatchesKiln(t *testing.T) {
	cases := []struct {
		name string
		args []string
	}{
		{"defaults", []string{"--partitions", "4"}},
		{"settings", []string{"--partitions", "3", "--seed", "7", "--dupe-factor", "2", "--max-seq-len", "64",
			"--max-predictions", "10", "--shard-mb", "0.05", "--rows-per-batch", "100", "--compression", "lz4",
			"--whole-word-mask", "--task", "sop", "--shuffle-buffer", "500", "--mask-token-prob", "0.7"}},
		{"bins, stream, dynamic", []string{"--partitions", "9", "--bins", "64,128", "--arrow-format", "stream",
			"--masking", "dynamic", "--format", "lines", "--workers", "1"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tmp := t.TempDir()
			local, beamOut := filepath.Join(tmp, "local"), filepath.Join(tmp, "beam")
			// The inputs are given as the user gives them, relative to the working directory:
			// the recorded config and the manifest must name them so in both runs.
			common := append([]string{"--input", sampleCorpus, "--vocab", sampleVocab}, c.args...)
			runKiln(t, append([]string{"prep", "--no-progress", "--output", local}, common...)...)
			code, out := runBeam(t, append([]string{"prep", "--output", beamOut}, common...)...)
			if code != 0 {
				t.Fatalf("kiln-beam prep: exit %d\n%s", code, out)
			}
			if !strings.Contains(out, "kiln-beam prep: 51 files, ") {
				t.Errorf("kiln-beam prep's summary does not report the 51 sample files:\n%s", out)
			}
			sameFiles(t, beamOut, local)
			m, err := os.ReadFile(filepath.Join(beamOut, "manifest.json"))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Contains(m, []byte(`"`+sampleCorpus+`/moby_dick_chapter_001.txt"`)) || bytes.Contains(m, []byte(tmp)) {
				t.Errorf("the manifest does not name the inputs as given (%s), or names a temporary path", sampleCorpus)
			}
		})
	}
}

// partitionDocs tokenizes every input of c with tokenizeFileFn, as the pipeline's first step
// does, and returns the encoded documents of each partition and the files' results.
func partitionDocs(t *testing.T, c *prepCommand) (map[int][][]byte, [][]byte) {
	t.Helper()
	tf := &tokenizeFileFn{Job: c.job}
	if err := tf.Setup(); err != nil {
		t.Fatal(err)
	}
	docs := map[int][][]byte{}
	var files [][]byte
	for i, in := range c.p.Inputs() {
		err := tf.ProcessElement(context.Background(), fileTask{Index: i, Path: in.Path},
			func(part int, b []byte) { docs[part] = append(docs[part], b) },
			func(_ int, b []byte) { files = append(files, b) })
		if err != nil {
			t.Fatal(err)
		}
	}
	return docs, files
}

// iter returns a Beam-style iterator over bs.
func iter(bs [][]byte) func(*[]byte) bool {
	i := 0
	return func(b *[]byte) bool {
		if i == len(bs) {
			return false
		}
		*b = bs[i]
		i++
		return true
	}
}

// TestRetriedPartition runs one partition's DoFn twice at once, as a runner does when it
// retries a bundle or runs a backup of a straggler, with the two attempts' results both
// reaching the final step: the output must be the same bytes as kiln's, with no stray file.
func TestRetriedPartition(t *testing.T) {
	tmp := t.TempDir()
	local, out := filepath.Join(tmp, "local"), filepath.Join(tmp, "beam")
	const parts = 5
	common := []string{"--input", sampleCorpus, "--vocab", sampleVocab, "--partitions", "5", "--shard-mb", "0.1"}
	runKiln(t, append([]string{"prep", "--no-progress", "--output", local}, common...)...)
	c, err := parsePrep(append([]string{"--output", out}, common...), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if err := checkOutput(c.job.Output); err != nil {
		t.Fatal(err)
	}
	docs, files := partitionDocs(t, c)
	newFn := func() *preparePartitionFn {
		f := &preparePartitionFn{Job: c.job}
		if err := f.Setup(); err != nil {
			t.Fatal(err)
		}
		return f
	}
	var mu sync.Mutex
	var results [][]byte
	emit := func(_ int, b []byte) {
		mu.Lock()
		results = append(results, b)
		mu.Unlock()
	}
	const twice = 2 // the partition run twice at once
	for part := range parts {
		if len(docs[part]) == 0 {
			t.Fatalf("partition %d has no document: the test wants each to have some", part)
		}
		if part != twice {
			if err := newFn().ProcessElement(context.Background(), part, iter(docs[part]), emit); err != nil {
				t.Fatal(err)
			}
			continue
		}
		// The two attempts get the partition's documents in different orders, as a
		// GroupByKey may give them.
		reversed := slices.Clone(docs[part])
		slices.Reverse(reversed)
		// Both attempts are made to be writing their shards at the same time: each waits,
		// before its second document, until the other has got there too.
		if len(docs[part]) < 2 {
			t.Fatalf("partition %d has %d document(s): the test wants two", part, len(docs[part]))
		}
		// (An attempt that fails before lets the other go on after a while.)
		var wg, both sync.WaitGroup
		both.Add(2)
		met := make(chan struct{})
		go func() { both.Wait(); close(met) }()
		errs := make([]error, 2)
		for i, d := range [][][]byte{docs[part], reversed} {
			f := newFn()
			f.beforeDoc = func(doc int) {
				if doc == 1 {
					both.Done()
					select {
					case <-met:
					case <-time.After(time.Minute):
					}
				}
			}
			wg.Go(func() { errs[i] = f.ProcessElement(context.Background(), part, iter(d), emit) })
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("attempt %d at partition %d: %v", i, part, err)
			}
		}
	}
	if len(results) != parts+1 {
		t.Fatalf("%d partition results, want %d (one partition twice)", len(results), parts+1)
	}
	wm := &writeManifestFn{Job: c.job}
	if err := wm.Setup(); err != nil {
		t.Fatal(err)
	}
	if err := wm.ProcessElement(context.Background(), 0, iter(files), iter(results)); err != nil {
		t.Fatal(err)
	}
	sameFiles(t, out, local)
}

// TestFlagsMatchKiln checks that kiln-beam prep offers kiln prep's flags, each with the same
// type, default and help, except those that differ by design: kiln-beam always partitions
// (--partitions is required), has no held-out set (a partitioned run has none) and no
// progress bar.
func TestFlagsMatchKiln(t *testing.T) {
	cmd := exec.Command(kiln(t), "prep", "--help")
	var kout bytes.Buffer
	cmd.Stdout, cmd.Stderr = &kout, &kout
	if err := cmd.Run(); err != nil {
		t.Fatalf("kiln prep --help: %v\n%s", err, kout.String())
	}
	code, bout := runBeam(t, "prep", "--help")
	if code != 0 {
		t.Fatalf("kiln-beam prep --help: exit %d\n%s", code, bout)
	}
	k, b := helpEntries(kout.String()), helpEntries(bout)
	if len(k) < 30 {
		t.Fatalf("kiln prep --help lists %d flags; is it the flag list?\n%s", len(k), kout.String())
	}
	differ := map[string]bool{"output": true, "partitions": true, "no-progress": true}
	for name, entry := range k {
		switch {
		case name == "eval-fraction":
			if _, ok := b[name]; ok {
				t.Errorf("kiln-beam prep offers --eval-fraction, which a partitioned run does not support")
			}
		case b[name] == "":
			t.Errorf("kiln prep's --%s is missing from kiln-beam prep", name)
		case !differ[name] && b[name] != entry:
			t.Errorf("--%s differs:\nkiln prep:\n%s\nkiln-beam prep:\n%s", name, entry, b[name])
		}
	}
	for name := range b {
		if _, ok := k[name]; !ok {
			t.Errorf("kiln-beam prep has --%s, which kiln prep does not", name)
		}
	}
}

// helpEntries splits the flag list of a --help output (from "Flags:" to the first blank line)
// into its entries ("  --name type" and the indented usage after it), by flag name.
func helpEntries(help string) map[string]string {
	entries := map[string]string{}
	var name string
	_, list, _ := strings.Cut(help, "\nFlags:\n")
	list, _, _ = strings.Cut(list, "\n\n")
	for _, line := range strings.Split(list, "\n") {
		if rest, ok := strings.CutPrefix(line, "  --"); ok {
			name = strings.Fields(rest)[0]
			entries[name] = line
			continue
		}
		if name != "" && strings.HasPrefix(line, "    \t") {
			entries[name] += "\n" + line
			continue
		}
		name = ""
	}
	return entries
}

// TestPrepUsageErrors checks that bad command lines are usage errors (exit 2) that name the
// flag, before any pipeline runs.
func TestPrepUsageErrors(t *testing.T) {
	base := []string{"prep", "--input", sampleCorpus, "--vocab", sampleVocab}
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"no partitions", []string{"--output", t.TempDir()}, "give --partitions N"},
		{"one partition", []string{"--output", t.TempDir(), "--partitions", "1"}, fmt.Sprintf("--partitions 1: want 2 to %d", pipeline.MaxPartitions)},
		{"too many partitions", []string{"--output", t.TempDir(), "--partitions", fmt.Sprint(pipeline.MaxPartitions + 1)},
			fmt.Sprintf("--partitions %d: want 2 to %d", pipeline.MaxPartitions+1, pipeline.MaxPartitions)},
		{"no output", []string{"--partitions", "2"}, "give --output DIR"},
		{"kiln flag out of range", []string{"--output", t.TempDir(), "--partitions", "2", "--dupe-factor", "0"}, "--dupe-factor 0: want 1 to 1000"},
		{"unknown flag", []string{"--output", t.TempDir(), "--partitions", "2", "--no-such-flag"}, "flag provided but not defined: -no-such-flag"},
		{"Beam flag without its value", []string{"--output", t.TempDir(), "--partitions", "2", "--job_name"}, "flag needs an argument: -job_name"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, out := runBeam(t, append(slices.Clone(base), c.args...)...)
			if code != 2 || !strings.Contains(out, c.want) {
				t.Errorf("exit %d, want 2 with %q in:\n%s", code, c.want, out)
			}
		})
	}
}

// TestSplitBeamArgs checks that Beam's flags go to Beam's flag set and kiln's to kiln's, in
// each form the flag package accepts.
func TestSplitBeamArgs(t *testing.T) {
	c, err := parsePrep([]string{"--input", sampleCorpus, "--vocab", sampleVocab, "--output", t.TempDir(),
		"--job_name", "kiln-test", "--partitions", "3", "-beam_strict", "--seed=9", "--environment_type=LOOPBACK"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.job.Partitions != 3 || c.job.Config.Seed != 9 {
		t.Errorf("partitions %d, seed %d: want 3 and 9", c.job.Partitions, c.job.Config.Seed)
	}
	for name, want := range map[string]string{"job_name": "kiln-test", "beam_strict": "true", "environment_type": "LOOPBACK"} {
		if got := lookupBeamFlag(name); got != want {
			t.Errorf("Beam's --%s is %q, want %q", name, got, want)
		}
	}
}

// lookupBeamFlag returns the value of Beam's flag name.
func lookupBeamFlag(name string) string {
	f := flag.CommandLine.Lookup(name)
	if f == nil {
		return "(no such flag)"
	}
	return f.Value.String()
}
