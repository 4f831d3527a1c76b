package shards

import (
	"errors"
	"io"
	"path/filepath"
	"testing"
)

// BenchmarkWrite writes static-masked real-text rows (max_seq_len 128; the
// benchmark corpora's SOTU, see testenv.BenchData) into
// zstd shards and reports rows/s and bytes per token on disk.
//
//	go test -run '^$' -bench Write -benchtime 3x ./shards/
func BenchmarkWrite(b *testing.B) {
	for _, compression := range []Compression{Zstd, LZ4, NoCompression} {
		b.Run(string(compression), func(b *testing.B) {
			fx := loadFixture(b)
			rows := fx.onePass(b, "bench-sotu", 128, 20000, true, 41)
			var m *Manifest
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				o := baseOptions(b.TempDir(), true)
				o.Compression = compression
				o.RowsPerBatch, o.ShardBytes = DefaultRowsPerBatch, DefaultShardBytes
				m = writeAll(b, o, rows)
			}
			b.StopTimer()
			b.ReportMetric(float64(len(rows))*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
			b.ReportMetric(float64(m.Tokens)*float64(b.N)/b.Elapsed().Seconds()/1e6, "Mtokens/s")
			b.ReportMetric(float64(m.Bytes)/float64(m.Tokens), "bytes/token")
		})
	}
}

// BenchmarkRead reads the rows of a zstd shard back with Reader.Next.
func BenchmarkRead(b *testing.B) {
	fx := loadFixture(b)
	rows := fx.onePass(b, "bench-sotu", 128, 20000, true, 41)
	dir := b.TempDir()
	o := baseOptions(dir, true)
	o.RowsPerBatch, o.ShardBytes = DefaultRowsPerBatch, DefaultShardBytes
	m := writeAll(b, o, rows)
	b.ResetTimer()
	var row Row
	for i := 0; i < b.N; i++ {
		r, err := Open(filepath.Join(dir, m.Shards[0].File))
		if err != nil {
			b.Fatal(err)
		}
		for {
			if err := r.Next(&row); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				b.Fatal(err)
			}
		}
		r.Close()
	}
	b.ReportMetric(float64(m.Rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}
