package shards

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/ipc"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/klauspost/compress/zstd"
)

// BenchmarkZstdBuffers compresses each body buffer of a shard's record batches (the list
// offsets, input_ids, token_type_ids, next_sentence_label, masked_lm_positions,
// masked_lm_ids) with klauspost/compress at each encoder setting, one frame per buffer and
// batch streamed as the IPC writer does, and reports the frames' bytes (bytes/op) beside the
// time: what each setting would cost and save per buffer. "default" is what shards are
// written with. The shard is KILN_ZSTD_SHARD, or one written from the benchmark corpus
// (static masking, max_seq_len 128, 32,768 rows a batch).
//
//	KILN_ZSTD_SHARD=OUT/shard-00000.arrow go test -run '^$' -bench ZstdBuffers -benchtime 5x ./shards/
func BenchmarkZstdBuffers(b *testing.B) {
	path := os.Getenv("KILN_ZSTD_SHARD")
	if path == "" {
		fx := loadFixture(b)
		rows := fx.onePass(b, "bench-sotu", 128, 20000, true, 41)
		o := baseOptions(b.TempDir(), true)
		o.RowsPerBatch, o.ShardBytes = DefaultRowsPerBatch, DefaultShardBytes
		m := writeAll(b, o, rows)
		path = filepath.Join(o.Dir, m.Shards[0].File)
	}
	bufs := shardBuffers(b, path)
	settings := []struct {
		name string
		opts []zstd.EOption
	}{
		{"default", nil},
		{"fastest", []zstd.EOption{zstd.WithEncoderLevel(zstd.SpeedFastest)}},
		{"better", []zstd.EOption{zstd.WithEncoderLevel(zstd.SpeedBetterCompression)}},
		{"window-1MiB", []zstd.EOption{zstd.WithWindowSize(1 << 20)}},
		{"no-entropy", []zstd.EOption{zstd.WithNoEntropyCompression(true)}},
		{"all-lit-entropy", []zstd.EOption{zstd.WithAllLitEntropyCompression(true)}},
		{"no-crc", []zstd.EOption{zstd.WithEncoderCRC(false)}},
		{"single-segment", []zstd.EOption{zstd.WithSingleSegment(true)}},
		{"fastest-no-entropy", []zstd.EOption{zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithNoEntropyCompression(true)}},
	}
	names := []string{"offsets", "input_ids", "token_type_ids", "next_sentence_label", "masked_offsets", "masked_lm_positions", "masked_lm_ids"}
	for _, s := range settings {
		opts := append([]zstd.EOption{zstd.WithEncoderConcurrency(1), zstd.WithLowerEncoderMem(true)}, s.opts...)
		enc, err := zstd.NewWriter(nil, opts...)
		if err != nil {
			b.Fatal(err)
		}
		for _, name := range names {
			if len(bufs[name]) == 0 {
				continue
			}
			b.Run(s.name+"/"+name, func(b *testing.B) {
				var out appendWriter
				size, raw := 0, 0
				for b.Loop() {
					size, raw = 0, 0
					for _, buf := range bufs[name] {
						out = out[:0]
						enc.Reset(&out)
						if _, err := enc.Write(buf); err != nil {
							b.Fatal(err)
						}
						if err := enc.Close(); err != nil {
							b.Fatal(err)
						}
						size += len(out)
						raw += len(buf)
					}
				}
				b.ReportMetric(float64(size), "bytes/op")
				b.ReportMetric(float64(raw), "raw-bytes/op")
			})
		}
	}
}

// shardBuffers returns the body buffers of each record batch of the shard at path, by name
// (offsets: those of input_ids and of token_type_ids, written twice; masked_offsets: those
// of masked_lm_positions and masked_lm_ids).
func shardBuffers(b *testing.B, path string) map[string][][]byte {
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	r, err := ipc.NewFileReader(f, ipc.WithAllocator(memory.NewGoAllocator()))
	if err != nil {
		b.Fatalf("%s: %v", path, err)
	}
	defer r.Close()
	out := map[string][][]byte{}
	for i := range r.NumRecords() {
		rec, err := r.Record(i)
		if err != nil {
			b.Fatalf("%s: batch %d: %v", path, i, err)
		}
		for c, col := range rec.Columns() {
			name := rec.ColumnName(c)
			l, ok := col.(*array.List)
			if !ok {
				out[name] = append(out[name], col.Data().Buffers()[1].Bytes()[:col.Len()])
				continue
			}
			switch name {
			case ColInputIDs:
				out["offsets"] = append(out["offsets"], col.Data().Buffers()[1].Bytes()[:4*(col.Len()+1)])
			case ColMaskedPositions:
				out["masked_offsets"] = append(out["masked_offsets"], col.Data().Buffers()[1].Bytes()[:4*(col.Len()+1)])
			}
			v := l.ListValues().Data()
			width := v.DataType().(arrow.FixedWidthDataType).BitWidth() / 8
			out[name] = append(out[name], v.Buffers()[1].Bytes()[:v.Len()*width])
		}
	}
	if len(out) == 0 {
		b.Fatal(fmt.Errorf("%s: no record batches", path))
	}
	return out
}
