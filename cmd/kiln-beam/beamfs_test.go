package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem/memfs"
	"github.com/kiln-bert/kiln/pipeline"
	"github.com/kiln-bert/kiln/shards"
)

// putSample writes kiln's sample corpus and vocabulary into Beam's memfs below root, as they
// would lie in a bucket: root/corpus/NAME and root/vocab.txt.
func putSample(t *testing.T, root string) {
	t.Helper()
	ents, err := os.ReadDir(sampleCorpus)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if !e.Type().IsRegular() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(sampleCorpus, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		memfs.Write(root+"/corpus/"+e.Name(), b)
	}
	b, err := os.ReadFile(sampleVocab)
	if err != nil {
		t.Fatal(err)
	}
	memfs.Write(root+"/vocab.txt", b)
}

// getTree copies every file below the memfs URL out into a new local directory, failing the
// test on a name left by a publishing attempt, and returns the directory.
func getTree(t *testing.T, out string) string {
	t.Helper()
	ctx := context.Background()
	fs := memfs.New(ctx)
	dir := t.TempDir()
	var names []string
	for _, glob := range []string{out + "/*", out + "/*/*", out + "/*/*/*"} {
		n, err := fs.List(ctx, glob)
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, n...)
	}
	for _, n := range names {
		rel := strings.TrimPrefix(n, out+"/")
		if strings.Contains(rel, tmpMarker) {
			t.Errorf("%s: a temporary name left behind", n)
		}
		r, err := fs.OpenRead(ctx, n)
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(r)
		r.Close()
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// sameRun fails the test unless the run in dir got (read back from memfs) is the run in
// dir want (kiln prep on local copies) but for the names of the inputs and the vocabulary,
// which rename maps from want's to got's: the same files, every shard the same rows and the
// same schema metadata, the same manifest and stats. (The recorded config names the inputs
// as the user gave them, so the shards' bytes differ by those names.)
func sameRun(t *testing.T, got, want string, rename *strings.Replacer) {
	t.Helper()
	fg, fw := dirFiles(t, got), dirFiles(t, want)
	if !reflect.DeepEqual(slices.Sorted(mapKeys(fg)), slices.Sorted(mapKeys(fw))) {
		t.Fatalf("files differ:\n got %v\nwant %v", slices.Sorted(mapKeys(fg)), slices.Sorted(mapKeys(fw)))
	}
	if _, err := shards.Verify(got); err != nil {
		t.Errorf("kiln verify of the published run: %v", err)
	}
	mg, err := shards.ReadManifest(got)
	if err != nil {
		t.Fatal(err)
	}
	mw, err := shards.ReadManifest(want)
	if err != nil {
		t.Fatal(err)
	}
	if len(mg.Shards) < 2 {
		t.Fatalf("%d shard(s): the test wants several", len(mg.Shards))
	}
	for _, sh := range mw.Shards {
		sameShard(t, filepath.Join(got, sh.File), filepath.Join(want, sh.File), rename)
	}
	// The manifests, but for the shards' sizes and sums (their metadata names the inputs).
	for _, m := range []*shards.Manifest{mg, mw} {
		for i := range m.Shards {
			m.Shards[i].Bytes, m.Shards[i].SHA256 = 0, ""
		}
		m.Bytes = 0
	}
	jg, _ := json.Marshal(mg)
	jw, _ := json.Marshal(mw)
	if string(jg) != rename.Replace(string(jw)) {
		t.Errorf("manifests differ:\n got %s\nwant %s", jg, rename.Replace(string(jw)))
	}
	stats := func(dir string) string {
		b, err := os.ReadFile(filepath.Join(dir, pipeline.StatsName))
		if err != nil {
			t.Fatal(err)
		}
		var s pipeline.PrepSummary
		if err := json.Unmarshal(b, &s); err != nil {
			t.Fatal(err)
		}
		s.Seconds, s.Examples.Seconds, s.MBPerSecond, s.ShardBytes, s.BytesPerToken = 0, 0, 0, 0, 0
		b, _ = json.Marshal(s)
		return string(b)
	}
	if sg, sw := stats(got), rename.Replace(stats(want)); sg != sw {
		t.Errorf("stats differ:\n got %s\nwant %s", sg, sw)
	}
}

// sameShard fails the test unless shards got and want hold the same rows and the same schema
// metadata, the names in want's renamed.
func sameShard(t *testing.T, got, want string, rename *strings.Replacer) {
	t.Helper()
	rg, err := shards.Open(got)
	if err != nil {
		t.Fatal(err)
	}
	defer rg.Close()
	rw, err := shards.Open(want)
	if err != nil {
		t.Fatal(err)
	}
	defer rw.Close()
	md := func(r *shards.Reader) map[string]string {
		m := map[string]string{}
		s := r.Schema().Metadata()
		for i, k := range s.Keys() {
			m[k] = s.Values()[i]
		}
		return m
	}
	mg, mw := md(rg), md(rw)
	for k, v := range mw {
		mw[k] = rename.Replace(v)
	}
	if !reflect.DeepEqual(mg, mw) {
		t.Errorf("%s: schema metadata differs:\n got %v\nwant %v", got, mg, mw)
	}
	if !strings.Contains(mg[shards.MetaConfig], "memfs://") {
		t.Errorf("%s: the recorded config does not name the memfs inputs: %s", got, mg[shards.MetaConfig])
	}
	var a, b shards.Row
	n := 0
	for {
		eg, ew := rg.Next(&a), rw.Next(&b)
		if errors.Is(eg, io.EOF) && errors.Is(ew, io.EOF) {
			break
		}
		if eg != nil || ew != nil {
			t.Fatalf("%s: row %d: %v / %v", got, n, eg, ew)
		}
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("%s: row %d differs from kiln's", got, n)
		}
		n++
	}
	if n == 0 {
		t.Errorf("%s: no rows", got)
	}
}

func mapKeys(m map[string]string) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// TestBeamFilesystems runs kiln-beam prep with its inputs, vocabulary and output all in Beam's
// memfs (as they would be in gs:// or s3://) and compares the run with kiln prep
// --partitions N on local copies of the same files.
func TestBeamFilesystems(t *testing.T) {
	const root = "memfs://kiln-beamfs-test"
	putSample(t, root)
	args := []string{"--partitions", "4", "--shard-mb", "0.1", "--dupe-factor", "2"}
	local := filepath.Join(t.TempDir(), "local")
	runKiln(t, append([]string{"prep", "--no-progress", "--output", local, "--input", sampleCorpus + "/", "--vocab", sampleVocab}, args...)...)
	code, out := runBeam(t, append([]string{"prep", "--output", root + "/out", "--input", root + "/corpus/", "--vocab", root + "/vocab.txt"}, args...)...)
	if code != 0 {
		t.Fatalf("kiln-beam prep: exit %d\n%s", code, out)
	}
	if !strings.Contains(out, "kiln-beam prep: 51 files, ") {
		t.Errorf("kiln-beam prep's summary does not report the 51 sample files:\n%s", out)
	}
	vocab, err := filepath.Abs(sampleVocab)
	if err != nil {
		t.Fatal(err)
	}
	rename := strings.NewReplacer(sampleCorpus+"/", root+"/corpus/", vocab, root+"/vocab.txt")
	got := getTree(t, root+"/out")
	sameRun(t, got, local, rename)
	m, err := os.ReadFile(filepath.Join(got, shards.ManifestName))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(m), `"`+root+`/corpus/moby_dick_chapter_001.txt"`) {
		t.Errorf("the manifest does not name the inputs as given (%s/corpus/...)", root)
	}
	// A second run into the same output is refused, as a local one is.
	code, out = runBeam(t, append([]string{"prep", "--output", root + "/out", "--input", root + "/corpus/", "--vocab", root + "/vocab.txt"}, args...)...)
	if code != 1 || !strings.Contains(out, "not empty (it holds a finished run)") {
		t.Errorf("a second run into %s/out: exit %d, want 1 and a refusal:\n%s", root, code, out)
	}
}

// TestRetriedPartitionPublished runs one partition's DoFn twice at once with the output in
// memfs, as a runner does when it retries a bundle or backs up a straggler, and leaves the
// temporary name of an attempt that died while publishing: the final step must leave kiln's
// run (but for the names) and no temporary name.
func TestRetriedPartitionPublished(t *testing.T) {
	const root = "memfs://kiln-beamfs-retry"
	putSample(t, root)
	out := root + "/out"
	local := filepath.Join(t.TempDir(), "local")
	args := []string{"--partitions", "3", "--shard-mb", "0.1"}
	runKiln(t, append([]string{"prep", "--no-progress", "--output", local, "--input", sampleCorpus + "/", "--vocab", sampleVocab}, args...)...)
	c, err := parsePrep(append([]string{"--output", out, "--input", root + "/corpus/", "--vocab", root + "/vocab.txt"}, args...), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if err := checkOutput(c.job.Output); err != nil {
		t.Fatal(err)
	}
	docs, files := partitionDocs(t, c)
	var results [][]byte
	for part := range 3 {
		attempts := 1
		if part == 1 {
			attempts = 2
		}
		errs := make([]error, attempts)
		res := make([][]byte, attempts)
		done := make(chan int)
		for i := range attempts {
			f := &preparePartitionFn{Job: c.job}
			if err := f.Setup(); err != nil {
				t.Fatal(err)
			}
			d := slices.Clone(docs[part])
			if i == 1 {
				slices.Reverse(d)
			}
			go func() {
				errs[i] = f.ProcessElement(context.Background(), part, iter(d), func(_ int, b []byte) { res[i] = b })
				done <- i
			}()
		}
		for range attempts {
			<-done
		}
		for i, err := range errs {
			if err != nil {
				t.Fatalf("partition %d attempt %d: %v", part, i, err)
			}
			results = append(results, res[i])
		}
	}
	// An attempt that died between writing a shard and renaming it.
	memfs.Write(out+"/part-00001/shard-00000.arrow"+tmpMarker+"deadattempt", []byte("partial"))
	wm := &writeManifestFn{Job: c.job}
	if err := wm.Setup(); err != nil {
		t.Fatal(err)
	}
	if err := wm.ProcessElement(context.Background(), 0, iter(files), iter(results)); err != nil {
		t.Fatal(err)
	}
	vocab, err := filepath.Abs(sampleVocab)
	if err != nil {
		t.Fatal(err)
	}
	sameRun(t, getTree(t, out), local, strings.NewReplacer(sampleCorpus+"/", root+"/corpus/", vocab, root+"/vocab.txt"))
}

// TestBeamPublishedMatchesKiln runs kiln-beam prep with local inputs and its output in memfs:
// what it publishes must be byte for byte kiln prep --partitions N's (the recorded names are
// the same local ones), with no temporary name left.
func TestBeamPublishedMatchesKiln(t *testing.T) {
	const out = "memfs://kiln-beamfs-publish/out"
	args := []string{"--input", sampleCorpus, "--vocab", sampleVocab, "--partitions", "3", "--shard-mb", "0.1", "--compression", "lz4"}
	local := filepath.Join(t.TempDir(), "local")
	runKiln(t, append([]string{"prep", "--no-progress", "--output", local}, args...)...)
	code, msg := runBeam(t, append([]string{"prep", "--output", out}, args...)...)
	if code != 0 {
		t.Fatalf("kiln-beam prep: exit %d\n%s", code, msg)
	}
	sameFiles(t, getTree(t, out), local)
}

// TestBadURLInputNamesFile checks that a truncated .gz input in memfs fails the job with an
// error naming it by its URL, that no manifest is published, and that missing inputs and
// vocabularies named by URL are reported at launch, named.
func TestBadURLInputNamesFile(t *testing.T) {
	const root = "memfs://kiln-beamfs-bad"
	putSample(t, root)
	bad := root + "/corpus/zz_truncated.txt.gz"
	memfs.Write(bad, truncatedGzip(t))
	out := root + "/out"
	code, msg := runBeam(t, "prep", "--input", root+"/corpus/", "--vocab", root+"/vocab.txt", "--output", out, "--partitions", "2")
	if first, _, _ := strings.Cut(msg, "\n"); code != 1 || !strings.HasPrefix(first, "kiln-beam prep: input "+bad+": ") || !strings.Contains(first, "truncated or corrupt") {
		t.Errorf("exit %d, want 1 with a first line naming %s as truncated:\n%s", code, bad, msg)
	}
	if names, _ := memfs.New(context.Background()).List(context.Background(), out+"/"+shards.ManifestName); len(names) > 0 {
		t.Errorf("a failed job published %v", names)
	}
	for _, c := range []struct{ input, vocab, want string }{
		{root + "/nothing/", root + "/vocab.txt", "input " + root + "/nothing/: prefix matches no files"},
		{root + "/corpus/*.none", root + "/vocab.txt", "input " + root + "/corpus/*.none: pattern matches no files"},
		{root + "/corpus/", root + "/no-vocab.txt", "vocabulary " + root + "/no-vocab.txt"},
	} {
		code, msg := runBeam(t, "prep", "--input", c.input, "--vocab", c.vocab, "--output", root+"/out2", "--partitions", "2")
		if code != 1 || !strings.Contains(msg, c.want) {
			t.Errorf("--input %s --vocab %s: exit %d, want 1 and %q:\n%s", c.input, c.vocab, code, c.want, msg)
		}
	}
}
