package shards

import (
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"testing"
)

// FuzzShard feeds mutated shard bytes (seeded with real shards of the sample corpus, file and
// stream format, zstd, lz4 and uncompressed) to the reader and to Verify. Whatever the bytes,
// neither may panic or die, and what reading allocates stays bounded: under a memory limit, a
// reader's bounded allocator never grants more than its checked budget, and the process
// allocates at most 256 MiB for an input (the seeds are 30-70 KB).
//
// CI runs it for a bounded time:
//
//	go test -run '^$' -fuzz FuzzShard -fuzztime 20s -fuzzminimizetime 1s ./shards/
func FuzzShard(f *testing.F) {
	fx := sampleFixture(f)
	rows := sampleRows(f, fx, 128, 300, true)
	seedDir := f.TempDir()
	var man *Manifest
	for i, c := range []struct{ format, compression string }{{"file", "zstd"}, {"stream", "zstd"}, {"file", "lz4"}, {"stream", "none"}} {
		dir := filepath.Join(seedDir, c.format+c.compression)
		o := baseOptions(dir, true)
		o.Format, o.Compression, o.ShardBytes = IPCFormat(c.format), Compression(c.compression), 1<<30
		m := writeAll(f, o, rows)
		b, err := os.ReadFile(filepath.Join(dir, m.Shards[0].File))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		if i == 0 {
			man = m
		}
	}
	manJSON, err := json.Marshal(man)
	if err != nil {
		f.Fatal(err)
	}
	debug.SetMemoryLimit(2 << 30)
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		p := filepath.Join(dir, man.Shards[0].File)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, ManifestName), manJSON, 0o644); err != nil {
			t.Fatal(err)
		}
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		if r, err := Open(p); err == nil {
			var row Row
			var msgs []string
			for {
				err := r.Next(&row)
				if errors.Is(err, io.EOF) || err != nil {
					break
				}
				msgs = CheckRow(&row, r.Info(), msgs[:0])
			}
			// What the allocator granted stays within the bounds the layout checks set, and
			// those within what the settings and the file's size allow.
			var maxBuf, budget int64 = padded(0), padded(0)
			for _, b := range r.batches {
				maxBuf, budget = max(maxBuf, b.maxBuf), max(budget, b.budget)
				if b.budget > 64*int64(len(data))+int64(r.info.RowsPerBatch)*int64(r.info.MaxSeqLen)*16+1<<20 {
					t.Fatalf("batch budget %d for a %d-byte shard of %d rows a batch", b.budget, len(data), r.info.RowsPerBatch)
				}
			}
			if one, all := r.alloc.Peaks(); one > max(maxBuf, int64(len(data))) || all > max(budget, int64(len(data))) {
				t.Fatalf("allocator granted %d bytes at once and %d for a batch; the checked layout allows %d and %d", one, all, maxBuf, budget)
			}
			r.Close()
		}
		if _, err := Verify(dir); err != nil {
			t.Fatalf("Verify: %v", err)
		}
		runtime.ReadMemStats(&after)
		if n := after.TotalAlloc - before.TotalAlloc; n > 256<<20 {
			t.Fatalf("reading a %d-byte shard allocated %d bytes", len(data), n)
		}
	})
}
