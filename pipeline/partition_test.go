package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kiln-bert/kiln/shards"
)

// partitionChildEnv, when set, makes the test binary run one PrepPartitioned described by
// the JSON value (a partitionSpec) and print a childResult, so that tests can kill a real
// process mid-run and measure a run's memory on its own.
const partitionChildEnv = "KILN_PARTITION_TEST_CHILD"

// partitionSpec is what a partitioned child runs.
type partitionSpec struct {
	Config     ExampleConfig
	Workers    int // not in ExampleConfig's JSON
	Shards     ShardOptions
	Partitions int
}

// runPartitionChild runs one PrepPartitioned as spec (a partitionSpec's JSON) says and prints a
// childResult: the child process of the partitioned tests (see TestMain).
func runPartitionChild(spec string) error {
	var c partitionSpec
	if err := json.Unmarshal([]byte(spec), &c); err != nil {
		return err
	}
	c.Config.Workers = c.Workers
	live := watchLiveHeap()
	sum, err := tryPrepPartitioned(context.Background(), c.Config, c.Shards, c.Partitions)
	if err != nil {
		return err
	}
	res := childResult{Rows: sum.Examples.Rows, LiveHeap: live()}
	if res.PeakRSS, err = peakRSS(); err != nil {
		return err
	}
	return json.NewEncoder(os.Stdout).Encode(res)
}

// newTestPartitioner returns the Partitioner of n partitions over cfg's examples, with o.
func newTestPartitioner(t *testing.T, cfg ExampleConfig, n int, o ShardOptions) *Partitioner {
	t.Helper()
	ex, err := NewExamples(cfg)
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewPartitioner(ex, n, o)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// partitionChildCmd returns the command that runs spec in a child process.
func partitionChildCmd(t *testing.T, spec partitionSpec) *exec.Cmd {
	t.Helper()
	return testBinaryCmd(t, partitionChildEnv, spec)
}

// measurePartitionChild runs spec in a child process with GOGC=50 (as measureChild does) and
// returns what the child measured.
func measurePartitionChild(t *testing.T, spec partitionSpec) childResult {
	t.Helper()
	return runMeasuringChild(t, partitionChildCmd(t, spec))
}

// tryPrepPartitioned runs PrepPartitioned of cfg into n partitions.
func tryPrepPartitioned(ctx context.Context, cfg ExampleConfig, o ShardOptions, n int) (*PrepSummary, error) {
	ex, err := NewExamples(cfg)
	if err != nil {
		return nil, err
	}
	return PrepPartitioned(ctx, ex, o, n)
}

func runPrepPartitioned(t testing.TB, cfg ExampleConfig, o ShardOptions, n int) *PrepSummary {
	t.Helper()
	sum, err := tryPrepPartitioned(context.Background(), cfg, o, n)
	if err != nil {
		t.Fatalf("partitioned prep: %v", err)
	}
	return sum
}

// completedPartitions returns the partition records in dir (partitions recorded complete).
func completedPartitions(dir string) []string {
	files, _ := filepath.Glob(filepath.Join(dir, "part-*", PartitionResultName))
	return files
}

// noStray fails the test if dir holds a staging directory, a spill or a temporary file.
func noStray(t *testing.T, dir string) {
	t.Helper()
	filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		base := filepath.Base(p)
		if strings.HasPrefix(base, ".") && rel != "." || strings.HasSuffix(base, ".tmp") {
			t.Errorf("%s left in the output", rel)
		}
		return nil
	})
}

// partitionTestConfig is a run of the sample that makes many partitions of several shards.
func partitionTestConfig(t *testing.T) (ExampleConfig, func(dir string) ShardOptions) {
	cfg := testConfig(t, "text", sampleCorpus(t))
	cfg.DupeFactor = 4
	cfg.Workers = 1
	cfg.ShuffleBuffer = 500
	opts := func(dir string) ShardOptions {
		return ShardOptions{Dir: dir, Layout: shards.Layout{ShardBytes: 48 << 10, RowsPerBatch: 256}, Version: "test"}
	}
	return cfg, opts
}

// TestPartitionedDeterminism checks that a partitioned run's output depends only on the
// inputs, the settings, the seed and the number of partitions: not on the workers, not on
// the engine (the entry points called as a distributed engine calls them: documents in
// any order, partitions in any order, each document through its binary encoding), not on a
// retried or duplicated partition, and not on a kill -9 followed by the same run.
func TestPartitionedDeterminism(t *testing.T) {
	const n = 6
	cfg, opts := partitionTestConfig(t)
	ref := t.TempDir()
	sum := runPrepPartitioned(t, cfg, opts(ref), n)
	verifyDir(t, ref)
	noStray(t, ref)
	m, err := shards.ReadManifest(ref)
	if err != nil {
		t.Fatal(err)
	}
	if got := len(completedPartitions(ref)); got != n {
		t.Fatalf("%d partitions recorded, want %d", got, n)
	}
	t.Logf("%d rows in %d shards over %d partitions", sum.Examples.Rows, len(m.Shards), n)
	if len(m.Shards) < 2*n {
		t.Fatalf("%d shards: want several a partition", len(m.Shards))
	}

	t.Run("workers", func(t *testing.T) {
		for _, w := range []int{2, 3} {
			c := cfg
			c.Workers = w
			dir := t.TempDir()
			runPrepPartitioned(t, c, opts(dir), n)
			sameOutput(t, ref, dir)
		}
	})

	t.Run("other-n-and-seed", func(t *testing.T) {
		// The partitions change the output (else the tests above prove nothing).
		dir := t.TempDir()
		runPrepPartitioned(t, cfg, opts(dir), n+1)
		verifyDir(t, dir)
		other, err := shards.ReadManifest(dir)
		if err != nil {
			t.Fatal(err)
		}
		if other.Shards[0].SHA256 == m.Shards[0].SHA256 {
			t.Error("the first shard is the same with 6 and 7 partitions")
		}
	})

	t.Run("engine", func(t *testing.T) {
		// What a distributed engine does: tokenize each file, carry the encoded documents,
		// group them by partition in no particular order, prepare each partition, then write
		// the manifest. The bytes must be the local engine's.
		dir := t.TempDir()
		p := newTestPartitioner(t, cfg, n, opts(dir))
		ctx := context.Background()
		groups := make([][]PartDoc, n)
		var files []FileResult
		for i, in := range p.Inputs() {
			r, err := p.TokenizeFile(ctx, i, in, func(part int, d PartDoc) error {
				b, err := d.MarshalBinary()
				if err != nil {
					return err
				}
				var c PartDoc
				if err := c.UnmarshalBinary(b); err != nil {
					return err
				}
				groups[part] = append(groups[part], c)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			files = append(files, r)
		}
		rng := rand.New(rand.NewPCG(1, 2))
		rng.Shuffle(len(files), func(i, j int) { files[i], files[j] = files[j], files[i] })
		var results []PartitionResult
		for _, part := range rng.Perm(n) {
			docs := groups[part]
			rng.Shuffle(len(docs), func(i, j int) { docs[i], docs[j] = docs[j], docs[i] })
			r, err := p.PreparePartition(ctx, part, docs, dir)
			if err != nil {
				t.Fatal(err)
			}
			results = append(results, r)
		}
		if _, err := p.WriteManifest(dir, files, results, 1); err != nil {
			t.Fatal(err)
		}
		sameOutput(t, ref, dir)
		noStray(t, dir)
	})

	t.Run("retry", func(t *testing.T) {
		// Two attempts at the same partition at once, over a finished run, as a retried
		// Beam bundle does, then a third after them: the same bytes, no stray file.
		dir := t.TempDir()
		runPrepPartitioned(t, cfg, opts(dir), n)
		p := newTestPartitioner(t, cfg, n, opts(dir))
		ctx := context.Background()
		const part = 2
		var docs []PartDoc
		for i, in := range p.Inputs() {
			if _, err := p.TokenizeFile(ctx, i, in, func(k int, d PartDoc) error {
				if k == part {
					docs = append(docs, d)
				}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
		}
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for a := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[a] = p.PreparePartition(ctx, part, slices.Clone(docs), dir)
			}()
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}
		if _, err := p.PreparePartition(ctx, part, slices.Clone(docs), dir); err != nil {
			t.Fatal(err)
		}
		if ents, err := os.ReadDir(filepath.Join(dir, stagingDirName)); err == nil && len(ents) > 0 {
			t.Errorf("the attempts left %d staging entries", len(ents))
		}
		os.Remove(filepath.Join(dir, stagingDirName))
		sameOutput(t, ref, dir)
		noStray(t, dir)
		verifyDir(t, dir)
	})

	kill := func(t *testing.T, ready func(dir string) bool) {
		dir := t.TempDir()
		killChildWhen(t, partitionChildCmd(t, partitionSpec{Config: cfg, Workers: 2, Shards: opts(dir), Partitions: n}),
			func() bool { return ready(dir) }, "not ready to kill")
		if _, err := os.Stat(filepath.Join(dir, shards.ManifestName)); err == nil {
			t.Fatal("the killed run wrote its manifest: it was not interrupted")
		}
		// The partitions recorded complete are kept by the rerun, not rewritten.
		kept := map[string]os.FileInfo{}
		for _, rec := range completedPartitions(dir) {
			files, _ := filepath.Glob(filepath.Join(filepath.Dir(rec), "*"))
			for _, f := range files {
				if fi, err := os.Stat(f); err == nil {
					kept[f] = fi
				}
			}
		}
		spilled, _ := filepath.Glob(filepath.Join(dir, spillDirName, "file-*.bin"))
		t.Logf("killed with %d partition file(s) complete, %d group(s) of inputs spilled", len(kept), len(spilled))
		runPrepPartitioned(t, cfg, opts(dir), n)
		checkKept(t, kept)
		verifyDir(t, dir)
		sameOutput(t, ref, dir)
		noStray(t, dir)
	}
	t.Run("kill-tokenizing", func(t *testing.T) {
		kill(t, func(dir string) bool {
			done, _ := filepath.Glob(filepath.Join(dir, spillDirName, "file-*.bin"))
			return len(done) >= 3
		})
	})
	t.Run("kill-preparing", func(t *testing.T) {
		kill(t, func(dir string) bool { return len(completedPartitions(dir)) >= 2 })
	})

	t.Run("cancel", func(t *testing.T) {
		dir := t.TempDir()
		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			for ctx.Err() == nil && len(completedPartitions(dir)) < 1 {
				time.Sleep(200 * time.Microsecond)
			}
			cancel()
		}()
		c := cfg
		c.Workers = 2
		if _, err := tryPrepPartitioned(ctx, c, opts(dir), n); !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled prep returned %v, want context.Canceled", err)
		}
		runPrepPartitioned(t, cfg, opts(dir), n)
		sameOutput(t, ref, dir)
	})

	t.Run("rerun-finished", func(t *testing.T) {
		dir := t.TempDir()
		runPrepPartitioned(t, cfg, opts(dir), n)
		runPrepPartitioned(t, cfg, opts(dir), n)
		sameOutput(t, ref, dir)
	})

	t.Run("other-settings", func(t *testing.T) {
		// A finished run of other settings, or an unpartitioned one, is not overwritten.
		dir := t.TempDir()
		runPrepPartitioned(t, cfg, opts(dir), n)
		c := cfg
		c.Seed++
		if _, err := tryPrepPartitioned(context.Background(), c, opts(dir), n); err == nil || !strings.Contains(err.Error(), "different settings") {
			t.Errorf("a run of another seed over a finished run: %v, want a different-settings error", err)
		}
		if _, err := tryPrepPartitioned(context.Background(), cfg, opts(dir), n+1); err == nil || !strings.Contains(err.Error(), "partitions") {
			t.Errorf("a run of other partitions over a finished run: %v, want an error naming partitions", err)
		}
		o := opts(dir)
		o.ShardBytes *= 2
		if _, err := tryPrepPartitioned(context.Background(), cfg, o, n); err == nil || !strings.Contains(err.Error(), "shard_bytes") {
			t.Errorf("a run of other shard sizes over a finished run: %v, want an error naming shard_bytes", err)
		}
		if _, _, err := tryPrep(context.Background(), cfg, opts(dir)); err == nil {
			t.Error("an unpartitioned run over a partitioned one succeeded")
		}
		// An interrupted run of other settings: its spill and a complete partition stay.
		partial := t.TempDir()
		runPrepPartitioned(t, cfg, opts(partial), n)
		os.Remove(filepath.Join(partial, shards.ManifestName))
		if _, err := tryPrepPartitioned(context.Background(), c, opts(partial), n); err == nil || !strings.Contains(err.Error(), "seed") {
			t.Errorf("a run of another seed over an interrupted run: %v, want an error naming the seed", err)
		}
		if _, _, err := tryPrep(context.Background(), cfg, opts(partial)); err == nil || !strings.Contains(err.Error(), "interrupted partitioned run") {
			t.Errorf("an unpartitioned run over an interrupted partitioned one: %v, want an error saying so", err)
		}
		plain := t.TempDir()
		runPrep(t, cfg, opts(plain))
		if _, err := tryPrepPartitioned(context.Background(), cfg, opts(plain), n); err == nil {
			t.Error("a partitioned run over an unpartitioned one succeeded")
		}
		sameOutput(t, ref, dir)
	})
}

// TestPartitionedSpillCorrupt checks that a spill file damaged between the phases is an
// error naming it, not a panic or a silently different output: a record length past its
// chunk, and one byte changed inside a document (caught by the chunk's checksum).
func TestPartitionedSpillCorrupt(t *testing.T) {
	cfg, opts := partitionTestConfig(t)
	for _, tc := range []struct {
		name   string
		damage func(b []byte, data int64)
	}{
		{"record-length", func(b []byte, _ int64) {
			for i := range b[:8] {
				b[i] = 0xff
			}
		}},
		{"one-byte", func(b []byte, data int64) { b[data/2] ^= 0x01 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			p := newTestPartitioner(t, cfg, 3, opts(dir))
			spills, err := p.spillAll(context.Background(), dir)
			if err != nil {
				t.Fatal(err)
			}
			if len(spills) < 2 {
				t.Fatalf("%d spill group(s): want several", len(spills))
			}
			victim := spillFile(dir, spills[1].First)
			b, err := os.ReadFile(victim)
			if err != nil {
				t.Fatal(err)
			}
			// The same size and trailer: the spill is taken as complete.
			tc.damage(b, spills[1].Size)
			if err := os.WriteFile(victim, b, 0o644); err != nil {
				t.Fatal(err)
			}
			_, err = PrepPartitioned(context.Background(), p.e, opts(dir), 3)
			if err == nil || !strings.Contains(err.Error(), victim) {
				t.Fatalf("a damaged spill file: %v, want an error naming %s", err, victim)
			}
			t.Log(err)
			if _, err := os.Stat(filepath.Join(dir, shards.ManifestName)); err == nil {
				t.Error("a manifest was written over a damaged spill")
			}
		})
	}
}

// TestPartDocEncoding checks that every document of the sample survives PartDoc's encoding,
// and that every truncation of an encoding, and a corrupted one, is an error.
func TestPartDocEncoding(t *testing.T) {
	cfg := testConfig(t, "text", sampleCorpus(t))
	p := newTestPartitioner(t, cfg, 2, ShardOptions{})
	docs := 0
	for i, in := range p.Inputs()[:6] {
		if _, err := p.TokenizeFile(context.Background(), i, in, func(part int, d PartDoc) error {
			b, err := d.MarshalBinary()
			if err != nil {
				return err
			}
			var c PartDoc
			if err := c.UnmarshalBinary(b); err != nil {
				return err
			}
			if fmt.Sprint(c) != fmt.Sprint(d) || len(d.Sentences) == 0 {
				t.Errorf("input %d document %d: decoded differs, or no sentence", i, d.Index)
			}
			for _, cut := range []int{0, 1, 2, len(b) / 3, len(b) / 2, len(b) - 1} {
				if err := c.UnmarshalBinary(b[:cut]); err == nil {
					t.Errorf("input %d: the first %d of %d bytes decoded", i, cut, len(b))
				}
			}
			if err := c.UnmarshalBinary(append(b, 0)); err == nil {
				t.Errorf("input %d: a trailing byte decoded", i)
			}
			docs++
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	if docs != 6 {
		t.Fatalf("%d documents, want 6", docs)
	}
}

// FuzzPartDocUnmarshal checks that no input makes UnmarshalBinary panic or allocate beyond
// what its size allows, and that what decodes encodes back to the same bytes.
func FuzzPartDocUnmarshal(f *testing.F) {
	d := PartDoc{FileIndex: 3, Index: 7, Line: 12, Sentences: [][]int32{{101, 2023, 30000}, {7}}, UNK: 1}
	b, _ := d.MarshalBinary()
	f.Add(b)
	f.Add([]byte{1, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, b []byte) {
		var d PartDoc
		if d.UnmarshalBinary(b) != nil {
			return
		}
		again, err := d.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		var e PartDoc
		if err := e.UnmarshalBinary(again); err != nil || fmt.Sprint(d) != fmt.Sprint(e) {
			t.Fatalf("round trip: %v", err)
		}
	})
}

// TestPartDocDecodeReuses checks that PartDoc.decode, as the spill reader calls it, decodes
// document after document into the same storage, the same documents as UnmarshalBinary
// decodes, and that once the storage has grown, decoding allocates nothing.
func TestPartDocDecodeReuses(t *testing.T) {
	docs := []PartDoc{
		{FileIndex: 0, Index: 0, Line: 1, Sentences: [][]int32{{101, 2023, 30000}, {7}}, UNK: 1},
		{FileIndex: 0, Index: 1, Line: 4, Sentences: [][]int32{{5}, {6, 7}, {8, 9, 10}}},
		{FileIndex: 1, Index: 0, Line: 1, Sentences: [][]int32{{11, 12}}, Invalid: 2},
	}
	var encs [][]byte
	for _, d := range docs {
		b, err := d.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		encs = append(encs, b)
	}
	var ids []int32
	var sents [][]int32
	for i, b := range encs {
		var d, want PartDoc
		got, err := d.decode(b, ids, sents)
		if err != nil {
			t.Fatal(err)
		}
		if err := want.UnmarshalBinary(b); err != nil || fmt.Sprint(d) != fmt.Sprint(want) {
			t.Errorf("document %d: decoded %v, want %v (%v)", i, d, want, err)
		}
		ids, sents = got[:0], d.Sentences[:0]
	}
	allocs := testing.AllocsPerRun(100, func() {
		for _, b := range encs {
			var d PartDoc
			got, err := d.decode(b, ids, sents)
			if err != nil {
				t.Fatal(err)
			}
			ids, sents = got[:0], d.Sentences[:0]
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per pass over %d documents in storage that has room, want 0", allocs, len(encs))
	}
}
