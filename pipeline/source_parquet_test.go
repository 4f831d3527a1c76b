package pipeline

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/apache/thrift/lib/go/thrift"
)

// thriftWriter writes the Thrift compact encoding of hand-made Parquet structures.
type thriftWriter struct {
	mb *thrift.TMemoryBuffer
	p  *thrift.TCompactProtocol
}

func newThriftWriter() *thriftWriter {
	mb := thrift.NewTMemoryBuffer()
	return &thriftWriter{mb: mb, p: thrift.NewTCompactProtocolConf(mb, nil)}
}

// field is one field of a struct: an int32, int64, string, nested struct or list.
type field struct {
	id  int16
	val any // int32, int64, string, []field (struct), []any (list of int32, string or []field)
}

func (w *thriftWriter) value(v any) thrift.TType {
	ctx := context.Background()
	switch v := v.(type) {
	case int32:
		w.p.WriteI32(ctx, v)
		return thrift.I32
	case int64:
		w.p.WriteI64(ctx, v)
		return thrift.I64
	case string:
		w.p.WriteString(ctx, v)
		return thrift.STRING
	case []field:
		w.p.WriteStructBegin(ctx, "")
		for _, f := range v {
			w.p.WriteFieldBegin(ctx, "", fieldType(f.val), f.id)
			w.value(f.val)
			w.p.WriteFieldEnd(ctx)
		}
		w.p.WriteFieldStop(ctx)
		w.p.WriteStructEnd(ctx)
		return thrift.STRUCT
	case []any:
		w.p.WriteListBegin(ctx, fieldType(v[0]), len(v))
		for _, e := range v {
			w.value(e)
		}
		w.p.WriteListEnd(ctx)
		return thrift.LIST
	}
	panic("unknown value")
}

func fieldType(v any) thrift.TType {
	switch v.(type) {
	case int32:
		return thrift.I32
	case int64:
		return thrift.I64
	case string:
		return thrift.STRING
	case []field:
		return thrift.STRUCT
	}
	return thrift.LIST
}

func encodeThrift(s []field) []byte {
	w := newThriftWriter()
	w.value(s)
	w.p.Flush(context.Background())
	return w.mb.Bytes()
}

// handParquet returns a Parquet file of one row group of one required string column "text"
// holding texts (PLAIN, uncompressed, one data page) whose page header declares the given
// sizes (0: the true ones).
func handParquet(texts []string, compressed, uncompressed int32) []byte {
	return handParquetEncoded(texts, compressed, uncompressed, encPlain)
}

// handParquetEncoded is handParquet with the data page's encoding declared as enc.
func handParquetEncoded(texts []string, compressed, uncompressed, enc int32) []byte {
	var data []byte
	for _, s := range texts {
		n := len(s)
		data = append(data, byte(n), byte(n>>8), byte(n>>16), byte(n>>24))
		data = append(data, s...)
	}
	if compressed == 0 {
		compressed = int32(len(data))
	}
	if uncompressed == 0 {
		uncompressed = int32(len(data))
	}
	header := encodeThrift([]field{
		{1, int32(pageData)}, {2, uncompressed}, {3, compressed},
		{5, []field{{1, int32(len(texts))}, {2, enc}, {3, int32(3)}, {4, int32(3)}}},
	})
	chunk := int64(len(header) + len(data))
	footer := encodeThrift([]field{
		{1, int32(1)},
		{2, []any{
			[]field{{4, "schema"}, {5, int32(1)}},
			[]field{{1, int32(6)}, {3, int32(0)}, {4, "text"}, {6, int32(0)}},
		}},
		{3, int64(len(texts))},
		{4, []any{[]field{
			{1, []any{[]field{
				{2, int64(4)},
				{3, []field{
					{1, int32(6)}, {2, []any{int32(0)}}, {3, []any{"text"}}, {4, int32(0)},
					{5, int64(len(texts))}, {6, chunk}, {7, chunk}, {9, int64(4)},
				}},
			}}},
			{2, chunk}, {3, int64(len(texts))},
		}}},
		{6, "kiln test"},
	})
	out := []byte("PAR1")
	out = append(out, header...)
	out = append(out, data...)
	out = append(out, footer...)
	n := len(footer)
	out = append(out, byte(n), byte(n>>8), byte(n>>16), byte(n>>24))
	return append(out, "PAR1"...)
}

// TestParquetDeclaredSizesChecked reads hand-made Parquet files whose page header declares
// sizes the file does not hold (1.5 GiB compressed, 1.9 GiB or 512 MiB uncompressed in an
// uncompressed column): each must be an
// error naming the row group, the column and the page, found before the Arrow library
// allocates what the header declares. The well-formed file first shows the hand-made
// encoding is right.
func TestParquetDeclaredSizesChecked(t *testing.T) {
	texts := []string{"Call me Ishmael.", "Some years ago, never mind how long precisely."}
	dir := t.TempDir()
	good := filepath.Join(dir, "good.parquet")
	if err := os.WriteFile(good, handParquet(texts, 0, 0), 0o644); err != nil {
		t.Fatal(err)
	}
	docs, _, err := readAll(t, []Input{{Path: good}}, SourceOptions{Format: Parquet})
	if err != nil || len(docs) != 2 || docs[1].Units[0] != texts[1] || docs[1].Line != 2 {
		t.Fatalf("the well-formed hand-made file: %v, %+v", err, docs)
	}
	for _, tc := range []struct {
		name                     string
		compressed, uncompressed int32
		limit                    int64
		want                     string
	}{
		{"compressed", 1536 << 20, 0, 4 << 30, "past the end of its column chunk"},
		{"uncompressed", 0, 1946 << 20, 0, "more than SourceOptions.MaxRowGroupBytes"},
		{"uncompressed-within-bound", 0, 512 << 20, 0, "declares 536870912 bytes and holds"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, tc.name+".parquet")
			if err := os.WriteFile(path, handParquet(texts, tc.compressed, tc.uncompressed), 0o644); err != nil {
				t.Fatal(err)
			}
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			_, _, err := readAll(t, []Input{{Path: path}}, SourceOptions{Format: Parquet, MaxRowGroupBytes: tc.limit})
			runtime.ReadMemStats(&after)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range []string{path, `row group 0, column "text"`, "page at offset 4", tc.want} {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if n := after.TotalAlloc - before.TotalAlloc; n > 64<<20 {
				t.Errorf("%d MiB allocated reading a %d-byte file", n>>20, len(handParquet(texts, 0, 0)))
			}
		})
	}
}

// TestParquetUnsupportedEncoding: a page in an encoding kiln does not decode
// (DELTA_LENGTH_BYTE_ARRAY here) is an error naming the encoding, the row group and the column.
func TestParquetUnsupportedEncoding(t *testing.T) {
	path := filepath.Join(t.TempDir(), "delta.parquet")
	if err := os.WriteFile(path, handParquetEncoded([]string{"Call me Ishmael."}, 0, 0, 6), 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, err := readAll(t, []Input{{Path: path}}, SourceOptions{Format: Parquet})
	if err == nil || !strings.Contains(err.Error(), `row group 0, column "text": value encoding DELTA_LENGTH_BYTE_ARRAY is not supported`) {
		t.Errorf("error %v: want the encoding, row group and column named", err)
	}
}

// FuzzTableSource reads arbitrary bytes as a Parquet file and as an Arrow IPC file, seeded
// with small files nodejs-polars wrote (testdata/fuzz_seed.*, made by
// testdata/write_fuzz_seeds.js). Whatever the bytes, reading must not panic, an error must
// name the file, and the memory allocated must stay within a few times the bound
// (MaxRowGroupBytes 1 MiB), however large the sizes the bytes declare.
func FuzzTableSource(f *testing.F) {
	for _, name := range []string{"fuzz_seed.parquet", "fuzz_seed_zstd.parquet", "fuzz_seed.arrow", "fuzz_seed_stream.arrow"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "in")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		readTableBounded(t, path, "", len(data))
	})
}

// readTableBounded reads the file at path (size bytes) as Parquet and as Arrow, with row
// groups and record batches of at most 1 MiB: an error must name the file, and each read may
// allocate at most 48 MiB, whatever the sizes the file declares. what names the case in
// failures.
func readTableBounded(t *testing.T, path, what string, size int) {
	t.Helper()
	for _, format := range []Format{Parquet, Arrow} {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, _, err := readAll(t, []Input{{Path: path}}, SourceOptions{Format: format, MaxRowGroupBytes: 1 << 20})
		runtime.ReadMemStats(&after)
		if err != nil && !strings.Contains(err.Error(), path) {
			t.Errorf("%sas %s: error %q does not name the file", what, format, err)
		}
		if n := after.TotalAlloc - before.TotalAlloc; n > 48<<20 {
			t.Errorf("%sas %s: %d MiB allocated reading %d bytes", what, format, n>>20, size)
		}
	}
}

// TestTableMutatedFiles reads the polars seed files with bytes overwritten at random (a fixed
// seed: the same cases every run) as Parquet and as Arrow: nothing may panic or run out of
// memory, an error must name the file, and each read must allocate little, however large the
// sizes the changed bytes declare. (Before the flatbuffer checks, case 156 of
// fuzz_seed.arrow made the Arrow library allocate 17 GB for a record batch's variadic
// buffers, and a schema's field vectors could ask for more.)
func TestTableMutatedFiles(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	cases := 200
	if testing.Short() {
		cases = 40
	}
	for _, name := range []string{"fuzz_seed.parquet", "fuzz_seed_zstd.parquet", "fuzz_seed.arrow", "fuzz_seed_stream.arrow"} {
		seed, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(t.TempDir(), name)
		for i := 0; i < cases; i++ {
			data := append([]byte(nil), seed...)
			for k := 0; k < 1+rng.IntN(4); k++ {
				data[rng.IntN(len(data))] = byte(rng.IntN(256))
			}
			if err := os.WriteFile(path, data, 0o644); err != nil {
				t.Fatal(err)
			}
			readTableBounded(t, path, fmt.Sprintf("%s case %d ", name, i), len(data))
		}
	}
}
