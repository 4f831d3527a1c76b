package pipeline

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/kiln-bert/kiln/shards"
)

// oneDocument writes the sample corpus as a single document of about 1 MB (one paragraph, so
// that --format text reads it whole) and returns its path.
func oneDocument(t *testing.T) string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("..", "cmd", "kiln", "sample", "corpus", "*.txt"))
	if err != nil || len(files) == 0 {
		t.Fatalf("sample corpus: %v (%d files)", err, len(files))
	}
	var doc bytes.Buffer
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(b), "\n") {
			if strings.TrimSpace(line) != "" {
				doc.WriteString(line)
				doc.WriteByte('\n')
			}
		}
	}
	path := filepath.Join(t.TempDir(), "one-document.txt")
	if err := os.WriteFile(path, doc.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// maxLiveHeap runs spec in a child process and returns the largest live heap it measured.
func maxLiveHeap(t *testing.T, spec childSpec) (int64, childResult) {
	t.Helper()
	res := measureChild(t, spec)
	if len(res.LiveHeap) == 0 {
		t.Fatal("the child saw no garbage collection")
	}
	return slices.Max(res.LiveHeap), res
}

// TestPrepMemoryIndependentOfDupeFactor: the memory a long document takes does not grow with
// the dupe factor. Every pass over a document used to be held at once (all the rows of all
// the passes of a chunk of documents travelled together): one 11 MB document took 105 MB at
// --dupe-factor 1, 461 MB at 10 and 858 MB at 20. The row buffers downstream (shuffle buffer,
// Arrow batch, shard size) are small here, and both runs are long enough to fill them and to
// start the shard compressor, so that what differs is what the document's passes take.
func TestPrepMemoryIndependentOfDupeFactor(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the child reads /proc/self/status (Linux)")
	}
	doc := oneDocument(t)
	live := map[int]int64{}
	for _, dupe := range []int{4, 32} {
		cfg := sampleConfig("text", doc)
		cfg.DupeFactor = dupe
		cfg.ShuffleBuffer = 256
		opts := ShardOptions{Dir: t.TempDir(), Layout: shards.Layout{ShardBytes: 1 << 20, RowsPerBatch: 512}}
		var res childResult
		live[dupe], res = maxLiveHeap(t, childSpec{Config: cfg, Workers: 2, Shards: opts})
		t.Logf("--dupe-factor %d: %d rows, %d collections, largest live heap %.1f MiB, peak RSS %.1f MiB",
			dupe, res.Rows, len(res.LiveHeap), float64(live[dupe])/(1<<20), float64(res.PeakRSS)/(1<<20))
	}
	if live[32] > live[4]+16<<20 {
		t.Errorf("a 1 MB document at --dupe-factor 32 took a live heap of %.1f MiB, %.1f MiB at 4: the passes are held at once",
			float64(live[32])/(1<<20), float64(live[4])/(1<<20))
	}
}

// TestPrepMemoryBoundedByMaxDocBytes: a long document is cut at --max-doc-bytes, and the text
// in flight between the reader and the pairer is bounded by it, so that the memory of a run
// over large documents is a multiple of --max-doc-bytes whatever the number of workers: here
// 4 MiB pieces of a 36 MiB paragraph, read by 4 workers. (Before, up to a few documents per
// worker were in flight at once.)
func TestPrepMemoryBoundedByMaxDocBytes(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the child reads /proc/self/status (Linux)")
	}
	if testing.Short() {
		t.Skip("reads 36 MiB of text")
	}
	one, err := os.ReadFile(oneDocument(t))
	if err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(t.TempDir(), "paragraph.txt")
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	for f.Write(one); ; f.Write(one) {
		if st, _ := f.Stat(); st.Size() >= 36<<20 {
			break
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	const maxDoc = 4 << 20
	cfg := sampleConfig("text", big)
	cfg.MaxDocBytes = maxDoc
	cfg.ShuffleBuffer = 256
	opts := ShardOptions{Dir: t.TempDir(), Layout: shards.Layout{ShardBytes: 1 << 20, RowsPerBatch: 512}}
	peak, res := maxLiveHeap(t, childSpec{Config: cfg, Workers: 4, Shards: opts})
	mib := func(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }
	t.Logf("%d rows, %d collections, largest live heap %s, peak RSS %s", res.Rows, len(res.LiveHeap), mib(peak), mib(res.PeakRSS))
	// The text budget is max(--max-doc-bytes, 16 MiB); the text, its ids and one pass's rows
	// are each about as large, plus the tokenizer, the writer and the shuffle buffer.
	if limit := int64(4*minTextBudget + 32<<20); peak > limit {
		t.Errorf("largest live heap %s over 36 MiB of 4 MiB documents, want at most %s", mib(peak), mib(limit))
	}
}
