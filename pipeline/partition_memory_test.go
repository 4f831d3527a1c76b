package pipeline

import (
	"runtime"
	"slices"
	"testing"

	"github.com/kiln-bert/kiln/shards"
)

// TestPartitionedMemoryBounded runs partitioned prep in a child process over 10 and over 60
// copies of the bundled sample (10 MB and 59 MB of text; each copy a directory of links to the
// sample's files, documents of their own) and checks that what it holds does not grow with
// the corpus: phase 1 holds one document and a few MB of spill buffers per worker, phase 2
// per worker the pairing reservoir, the shuffle buffer and the record batch being built, all
// set by the settings, while the corpus waits on disk. The child records the live heap at the
// end of every garbage collection; the test compares the upper quartile of the two runs (the
// peak itself depends on when a collection lands while zstd holds a batch's history) and
// bounds the peak RSS. A partition held in memory whole would hold 6 times more at 60 copies.
func TestPartitionedMemoryBounded(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads the peak RSS from /proc/self/status (Linux)")
	}
	if testing.Short() {
		t.Skip("prepares 69 MB of text")
	}
	run := func(copies int) childResult {
		cfg := testConfig(t, "text", sampleCopies(t, copies))
		cfg.ShuffleBuffer = 1000
		cfg.ReservoirDocs = 40
		opts := ShardOptions{Dir: t.TempDir(), Layout: shards.Layout{ShardBytes: 1 << 20, RowsPerBatch: 2048}}
		cmd := partitionSpec{Config: cfg, Workers: 2, Shards: opts, Partitions: 8}
		return measurePartitionChild(t, cmd)
	}
	quartile := func(a []int64) int64 {
		b := slices.Clone(a)
		slices.Sort(b)
		return b[len(b)*3/4]
	}
	mib := func(b int64) float64 { return float64(b) / (1 << 20) }
	small, large := run(10), run(60)
	qs, ql := quartile(small.LiveHeap), quartile(large.LiveHeap)
	t.Logf("10 copies: %d rows, %d collections, live heap upper quartile %.1f MiB, peak RSS %.1f MiB",
		small.Rows, len(small.LiveHeap), mib(qs), mib(small.PeakRSS))
	t.Logf("60 copies: %d rows, %d collections, live heap upper quartile %.1f MiB, peak RSS %.1f MiB",
		large.Rows, len(large.LiveHeap), mib(ql), mib(large.PeakRSS))
	if len(small.LiveHeap) < 10 || large.Rows < 5*small.Rows {
		t.Fatalf("%d collections, %d and %d rows: too few to compare", len(small.LiveHeap), small.Rows, large.Rows)
	}
	if float64(ql) > 1.25*float64(qs)+float64(8<<20) {
		t.Errorf("the live heap grew with the corpus: upper quartile %.1f MiB at 10 copies, %.1f MiB at 60", mib(qs), mib(ql))
	}
	if large.PeakRSS > 256<<20 {
		t.Errorf("peak RSS %.1f MiB at 60 copies, want under 256 MiB", mib(large.PeakRSS))
	}
}
