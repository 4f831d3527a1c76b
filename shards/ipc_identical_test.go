package shards

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/klauspost/compress/zstd"
)

// TestIPCWriterIdenticalToArrow writes the same rows of the sample corpus
// twice, once with this package's IPC writer (one reused zstd encoder, the
// batches' own buffers) and once with arrow's ipc.FileWriter / ipc.Writer
// given records made by Arrow's builders (builderRecord), and requires every file of
// the two outputs (shards, manifest) to be byte-identical, for each column
// layout, both formats and each compression. Several shards of several
// record batches each, and a last partial batch, are written per case.
func TestIPCWriterIdenticalToArrow(t *testing.T) {
	// Arrow's encoders run with GOMAXPROCS goroutines, ours with one: the bytes must not
	// depend on it.
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	fx := sampleFixture(t)
	const maxSeqLen = 128
	staticRows := sampleRows(t, fx, maxSeqLen, 700, true)
	dynamicRows := sampleRows(t, fx, maxSeqLen, 700, false)
	cases := []struct {
		name        string
		static      bool
		vocab       int // over 65,536: uint32 ids
		bins        []int
		format      IPCFormat
		compression Compression
	}{
		{"static-uint16-file-zstd", true, len(fx.vocab), nil, "file", "zstd"},
		{"dynamic-uint16-file-zstd", false, len(fx.vocab), nil, "file", "zstd"},
		{"static-uint32-file-zstd", true, 70000, nil, "file", "zstd"},
		{"dynamic-uint32-stream-zstd", false, 70000, nil, "stream", "zstd"},
		{"static-uint16-stream-zstd", true, len(fx.vocab), nil, "stream", "zstd"},
		{"static-binned-file-zstd", true, len(fx.vocab), []int{64, 96, 128}, "file", "zstd"},
		{"dynamic-binned-stream-zstd", false, len(fx.vocab), []int{32, 128}, "stream", "zstd"},
		{"static-uint16-file-none", true, len(fx.vocab), nil, "file", "none"},
		{"dynamic-uint32-stream-none", false, 70000, nil, "stream", "none"},
		{"static-uint16-file-lz4", true, len(fx.vocab), nil, "file", "lz4"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rows := dynamicRows
			if c.static {
				rows = staticRows
			}
			write := func(dir string, arrowIPC bool) {
				w, err := NewWriter(Options{
					Dir: dir, Layout: Layout{Compression: c.compression, Format: c.format, ShardBytes: 40 << 10, RowsPerBatch: 97, Bins: c.bins}, Static: c.static,
					VocabSize: c.vocab, MaxSeqLen: maxSeqLen, Special: bertSpecial,
					MaxPredictions: 20,
					Metadata:       map[string]string{MetaVersion: "test", MetaVocabSHA256: "0123"},
					Config:         []byte(`{"case":"` + c.name + `"}`),
				})
				if err != nil {
					t.Fatal(err)
				}
				w.arrowIPC = arrowIPC
				if arrowIPC {
					w.arrowRecord = func(b *batch) arrow.Record { return builderRecord(w.schema, b) }
				}
				for i := range rows {
					if err := w.Write(&rows[i]); err != nil {
						t.Fatal(err)
					}
				}
				if _, err := w.Close(); err != nil {
					t.Fatal(err)
				}
			}
			own, ref := filepath.Join(t.TempDir(), "own"), filepath.Join(t.TempDir(), "arrow")
			write(own, false)
			write(ref, true)
			ownFiles, refFiles := listFiles(t, own), listFiles(t, ref)
			if fmt.Sprint(ownFiles) != fmt.Sprint(refFiles) {
				t.Fatalf("files differ:\nown   %v\narrow %v", ownFiles, refFiles)
			}
			shards := 0
			for _, rel := range ownFiles {
				a, err := os.ReadFile(filepath.Join(own, rel))
				if err != nil {
					t.Fatal(err)
				}
				b, err := os.ReadFile(filepath.Join(ref, rel))
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(a, b) {
					i := 0
					for i < min(len(a), len(b)) && a[i] == b[i] {
						i++
					}
					t.Errorf("%s: %d bytes, arrow's %d; first difference at byte %d", rel, len(a), len(b), i)
				}
				if filepath.Ext(rel) == ".arrow" {
					shards++
				}
			}
			if shards < 2 {
				t.Fatalf("%d shards written, want several", shards)
			}
			if _, err := Verify(own); err != nil {
				t.Fatalf("Verify: %v", err)
			}
		})
	}
}

// builderRecord makes the record of b's rows with Arrow's array builders, as the Writer did
// before it kept its batches in its own buffers: row by row, each list appended with its
// values.
func builderRecord(schema *arrow.Schema, b *batch) arrow.Record {
	rb := array.NewRecordBuilder(memory.NewGoAllocator(), schema)
	defer rb.Release()
	appendIDs := func(lb *array.ListBuilder, narrow []uint16, wide []uint32, lo, hi int32) {
		lb.Append(true)
		switch vb := lb.ValueBuilder().(type) {
		case *array.Uint16Builder:
			vb.AppendValues(narrow[lo:hi], nil)
		case *array.Uint32Builder:
			vb.AppendValues(wide[lo:hi], nil)
		}
	}
	for i := range b.rows() {
		lo, hi := b.tokOff[i], b.tokOff[i+1]
		appendIDs(rb.Field(0).(*array.ListBuilder), b.ids16, b.ids32, lo, hi)
		types := rb.Field(1).(*array.ListBuilder)
		types.Append(true)
		types.ValueBuilder().(*array.Uint8Builder).AppendValues(b.types[lo:hi], nil)
		rb.Field(2).(*array.Int8Builder).Append(b.labels[i])
		if b.static {
			lo, hi := b.maskOff[i], b.maskOff[i+1]
			pos := rb.Field(3).(*array.ListBuilder)
			pos.Append(true)
			pos.ValueBuilder().(*array.Uint16Builder).AppendValues(b.pos[lo:hi], nil)
			appendIDs(rb.Field(4).(*array.ListBuilder), b.mid16, b.mid32, lo, hi)
		}
	}
	return rb.NewRecord()
}

// listFiles returns the paths of the regular files under dir, relative to it.
func listFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		out = append(out, rel)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestZstdOptionsSameBytes compresses token ids longer than the zstd window (8 MiB) with the
// encoder this package's IPC writer uses and with the one arrow/ipc uses (zstd.NewWriter(nil),
// its defaults), frames streamed the same way, and requires the same frame: the options the
// writer adds (one goroutine, lower memory, which moves its history down once a buffer
// outgrows the window) must not change a byte. TestIPCWriterIdenticalToArrow's buffers are
// far smaller than the window.
func TestZstdOptionsSameBytes(t *testing.T) {
	if testing.Short() {
		t.Skip("short: compresses 12 MiB twice")
	}
	fx := sampleFixture(t)
	rows := sampleRows(t, fx, 128, 700, true)
	// Passes over the rows in seeded orders, as prep's dupe factor repeats documents: matches
	// at every distance, within the window and past it.
	rng := rand.New(rand.NewPCG(1, 2))
	var ids []uint16
	for len(ids) < 6<<20 {
		for _, i := range rng.Perm(len(rows)) {
			for _, id := range rows[i].InputIDs {
				ids = append(ids, uint16(id))
			}
		}
	}
	src := arrow.Uint16Traits.CastToBytes(ids)
	own, err := newIPCEncoder(nil, true)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := zstd.NewWriter(nil)
	if err != nil {
		t.Fatal(err)
	}
	compress := func(enc *zstd.Encoder) []byte {
		var out appendWriter
		for range 2 { // the second frame after a Reset, as the writer reuses its encoder
			out = out[:0]
			enc.Reset(&out)
			if _, err := enc.Write(src); err != nil {
				t.Fatal(err)
			}
			if err := enc.Close(); err != nil {
				t.Fatal(err)
			}
		}
		return out
	}
	a, b := compress(own.zstd), compress(ref)
	if !bytes.Equal(a, b) {
		t.Fatalf("%d bytes of ids: own encoder wrote %d bytes, arrow's options %d", len(src), len(a), len(b))
	}
	t.Logf("%d bytes of ids -> %d", len(src), len(a))
}

// TestWriterReusesBatchBuffers writes record batches of real rows after a first few and
// requires the Writer to allocate far less per batch than the batch's values take: the
// rows are converted into buffers kept from one batch to the next, and the zstd encoder, its
// output and the flatbuffers are reused. (With Arrow's builders, each batch's values were
// allocated anew.)
func TestWriterReusesBatchBuffers(t *testing.T) {
	fx := sampleFixture(t)
	rows := sampleRows(t, fx, 128, 700, true)
	const perBatch = 50
	if len(rows) < 10*perBatch {
		t.Fatalf("%d sample rows, want at least %d", len(rows), 10*perBatch)
	}
	o := baseOptions(t.TempDir(), true)
	o.Compression, o.RowsPerBatch, o.ShardBytes = Zstd, perBatch, DefaultShardBytes
	w, err := NewWriter(o)
	if err != nil {
		t.Fatal(err)
	}
	write := func(rows []Row) {
		for i := range rows {
			if err := w.Write(&rows[i]); err != nil {
				t.Fatal(err)
			}
		}
	}
	warm, rest := rows[:4*perBatch], rows[4*perBatch:]
	rest = rest[:len(rest)/perBatch*perBatch]
	write(warm)
	values := 0 // bytes of the measured rows' values, as stored
	for _, r := range rest {
		values += 3*len(r.InputIDs) + 4*len(r.MaskedPositions) + 1 + 8
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	write(rest)
	runtime.ReadMemStats(&after)
	allocated := after.TotalAlloc - before.TotalAlloc
	t.Logf("%d batches of %d rows: %d bytes allocated, %d bytes of values", len(rest)/perBatch, perBatch, allocated, values)
	if allocated > uint64(values/8) {
		t.Errorf("%d bytes allocated writing %d batches, whose values take %d: want under an eighth", allocated, len(rest)/perBatch, values)
	}
	if _, err := w.Close(); err != nil {
		t.Fatal(err)
	}
}
