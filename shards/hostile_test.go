package shards

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"

	"github.com/kiln-bert/kiln/internal/arrowfb"
	"github.com/kiln-bert/kiln/internal/atomicfile"
	"github.com/kiln-bert/kiln/internal/fileio"
	"github.com/klauspost/compress/zstd"
)

// This file holds the regression tests of issue 10's reading-side items: shards crafted the
// way a hostile or careless user would (declared lengths of a terabyte, zstd bombs, a footer
// pointing elsewhere, a manifest listing a shard twice or outside its directory). Each must
// give an error that names the shard, without a panic and without allocating what the file
// declares. The rows are real text: the sample corpus and vocabulary that ship with kiln.

const sampleDir = "../cmd/kiln/sample"

// sampleFixture is the test fixture over the sample vocabulary (bert-base-uncased's).
func sampleFixture(t testing.TB) *fixture {
	t.Helper()
	fx, err := newFixture(filepath.Join(sampleDir, "vocab.txt"))
	if err != nil {
		t.Fatal(err)
	}
	return fx
}

// sampleRows pairs consecutive sentences of the sample corpus into up to limit NSP rows
// (label 0) of at most maxSeqLen tokens, masked statically when static is set.
func sampleRows(t testing.TB, fx *fixture, maxSeqLen, limit int, static bool) []Row {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(sampleDir, "corpus", "*.txt"))
	sort.Strings(files)
	var rows []Row
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		doc := fx.sentences(string(b))
		for i := 0; i+1 < len(doc) && len(rows) < limit; i += 2 {
			a, bs := doc[i], doc[i+1]
			half := (maxSeqLen - 3) / 2
			a, bs = a[:min(len(a), half)], bs[:min(len(bs), half)]
			r := Row{}
			r.InputIDs = append(append(append(append([]int32{bertSpecial.CLS}, a...), bertSpecial.SEP), bs...), bertSpecial.SEP)
			for k := range r.InputIDs {
				r.TokenTypeIDs = append(r.TokenTypeIDs, map[bool]int8{true: 1, false: 0}[k > len(a)+1])
			}
			if static {
				for p := 1; p < len(r.InputIDs)-1 && len(r.MaskedPositions) < 20; p += 7 {
					if r.InputIDs[p] == bertSpecial.SEP {
						continue
					}
					r.MaskedPositions = append(r.MaskedPositions, int32(p))
					r.MaskedIDs = append(r.MaskedIDs, r.InputIDs[p])
					r.InputIDs[p] = bertSpecial.MASK
				}
			}
			rows = append(rows, r)
		}
		if len(rows) >= limit {
			break
		}
	}
	if len(rows) < limit {
		t.Fatalf("sample corpus gave %d rows, want %d", len(rows), limit)
	}
	return rows
}

// writeSample writes 600 rows of the sample corpus (batches of 256 rows) into one shard in a
// new directory and returns the directory and the shard's path.
func writeSample(t testing.TB, format string) (string, string) {
	t.Helper()
	dir := t.TempDir()
	o := baseOptions(dir, true)
	o.Format, o.ShardBytes = IPCFormat(format), 1<<30
	m := writeAll(t, o, sampleRows(t, sampleFixture(t), o.MaxSeqLen, 600, true))
	return dir, filepath.Join(dir, m.Shards[0].File)
}

// restamp rewrites the shard's size and sha256 in the manifest, as an attacker who edits a
// shard would, so that only the shard's content is wrong.
func restamp(t testing.TB, dir string) {
	t.Helper()
	m, err := ReadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	for i := range m.Shards {
		size, sum, err := fileio.SHA256(filepath.Join(dir, m.Shards[i].File))
		if err != nil {
			t.Fatal(err)
		}
		m.Bytes += size - m.Shards[i].Bytes
		m.Shards[i].Bytes, m.Shards[i].SHA256 = size, sum
	}
	if err := atomicfile.WriteJSON(filepath.Join(dir, ManifestName), m); err != nil {
		t.Fatal(err)
	}
}

// shardLayout locates, in the bytes of a file-format shard, what the tests patch.
type shardLayout struct {
	blocksAt int64 // file offset of the footer's record batch blocks (24 bytes each)
	blocks   []struct{ off, meta, body int64 }
}

func fileLayoutOf(t testing.TB, b []byte) shardLayout {
	t.Helper()
	size := int64(len(b))
	flen := int64(binary.LittleEndian.Uint32(b[size-10:]))
	fstart := size - 10 - flen
	footer, err := arrowfb.Root(b[fstart : size-10])
	if err != nil {
		t.Fatal(err)
	}
	vec, n, err := footer.Vector(3, 24)
	if err != nil || n == 0 {
		t.Fatalf("footer: %d blocks, %v", n, err)
	}
	var l shardLayout
	l.blocksAt = fstart + int64(cap(b[fstart:size-10])-cap(vec))
	for i := 0; i < n; i++ {
		l.blocks = append(l.blocks, struct{ off, meta, body int64 }{arrowfb.LE64(vec, 24*i), int64(binary.LittleEndian.Uint32(vec[24*i+8:])), arrowfb.LE64(vec, 24*i+16)})
	}
	return l
}

// batchFields returns the file offsets, in the record batch message whose flatbuffer starts
// at fbAt, of the row count, of the buffer vector's elements (16 bytes each) and of the body.
func batchFields(t testing.TB, b []byte, fbAt int64) (rowsAt, bufsAt int64) {
	t.Helper()
	fb := b[fbAt:]
	msg, err := arrowfb.Root(fb)
	if err != nil {
		t.Fatal(err)
	}
	rb, _, err := msg.Table(2)
	if err != nil {
		t.Fatal(err)
	}
	p := rb.Field(0)
	if p == 0 {
		t.Fatal("no row count field")
	}
	bufs, _, err := rb.Vector(2, 16)
	if err != nil {
		t.Fatal(err)
	}
	return fbAt + int64(p), fbAt + int64(cap(fb)-cap(bufs))
}

// readShard opens a shard and reads every row, returning the first error (nil at the end).
func readShard(p string) error {
	r, err := Open(p)
	if err != nil {
		return err
	}
	defer r.Close()
	var row Row
	for {
		if err := r.Next(&row); errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return err
		}
	}
}

// allocated returns the bytes the process allocates while f runs.
func allocated(f func()) uint64 {
	var a, b runtime.MemStats
	runtime.ReadMemStats(&a)
	f()
	runtime.ReadMemStats(&b)
	return b.TotalAlloc - a.TotalAlloc
}

const tera = int64(1) << 40

// TestHostileShardLengths: a length a shard declares (a buffer's zstd uncompressed size, a
// buffer's length, a batch's row count, a footer block's body length or offset, a stream
// message's body or metadata length) set to a terabyte, or pointing past the data, gives an
// error naming the shard from Open or Next and from Verify, and nothing near the declared size
// is allocated. Before the fix each of these died with "fatal error: runtime: out of memory",
// or, for the offset past the end, read as a shorter shard without an error.
func TestHostileShardLengths(t *testing.T) {
	fileDir, filePath := writeSample(t, "file")
	streamDir, streamPath := writeSample(t, "stream")
	fileBytes, _ := os.ReadFile(filePath)
	streamBytes, _ := os.ReadFile(streamPath)
	l := fileLayoutOf(t, fileBytes)
	b0 := l.blocks[0]
	rowsAt, bufsAt := batchFields(t, fileBytes, b0.off+8)
	body := b0.off + b0.meta
	idsValues := bufsAt + 16*3 // buffer 3: input_ids' child values
	idsOff := arrowfb.LE64(fileBytes, int(idsValues))
	// The stream's first record batch follows the schema message.
	schemaLen := int64(binary.LittleEndian.Uint32(streamBytes[4:]))
	schemaMsg, _ := arrowfb.Root(streamBytes[8 : 8+schemaLen])
	schemaBody, _ := schemaMsg.Int64(3, 0)
	batch := 8 + schemaLen + schemaBody
	batchMsg, _ := arrowfb.Root(streamBytes[batch+8:])
	bodyField := batchMsg.Field(3)

	// The footer schema's metadata vector, whose length Arrow allocates by.
	fsize := int64(len(fileBytes))
	fstart := fsize - 10 - int64(binary.LittleEndian.Uint32(fileBytes[fsize-10:]))
	footer, _ := arrowfb.Root(fileBytes[fstart : fsize-10])
	schema, _, _ := footer.Table(1)
	schemaMeta, _ := schema.Ref(2)

	put := func(b []byte, at, v int64) { binary.LittleEndian.PutUint64(b[at:], uint64(v)) }
	for _, tc := range []struct {
		name   string
		stream bool
		patch  func(b []byte)
		want   string
	}{
		{"zstd uncompressed size", false, func(b []byte) { put(b, body+idsOff, tera) }, "uncompressed"},
		{"buffer length", false, func(b []byte) { put(b, idsValues+8, tera) }, "runs past"},
		{"row count", false, func(b []byte) { put(b, rowsAt, tera) }, "rows_per_batch"},
		{"footer block body length", false, func(b []byte) { put(b, l.blocksAt+16, tera) }, "footer block 0"},
		{"footer block offset past the data", false, func(b []byte) { put(b, l.blocksAt+24*int64(len(l.blocks)-1), int64(len(b))+8) }, "footer block"},
		{"schema metadata count", false, func(b []byte) { binary.LittleEndian.PutUint32(b[fstart+schemaMeta:], 0x7ffffff0) }, "schema metadata"},
		{"stream body length", true, func(b []byte) { put(b, batch+8+int64(bodyField), tera) }, "body"},
		{"stream metadata length", true, func(b []byte) { binary.LittleEndian.PutUint32(b[batch+4:], 0x7ffffff0) }, "metadata"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, p, orig := fileDir, filePath, fileBytes
			if tc.stream {
				dir, p, orig = streamDir, streamPath, streamBytes
			}
			b := append([]byte(nil), orig...)
			tc.patch(b)
			if err := os.WriteFile(p, b, 0o644); err != nil {
				t.Fatal(err)
			}
			defer os.WriteFile(p, orig, 0o644)
			restamp(t, dir)
			var err error
			if n := allocated(func() { err = readShard(p) }); n > 64<<20 {
				t.Errorf("reading allocated %d bytes", n)
			}
			t.Logf("read: %v", err)
			if err == nil || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("read: %v; want an error naming %s and saying %q", err, p, tc.want)
			}
			var rep Report
			if n := allocated(func() { rep, err = Verify(dir) }); n > 64<<20 {
				t.Errorf("verify allocated %d bytes", n)
			}
			if err != nil || rep.OK() || !strings.Contains(rep.Failures[0].String(), tc.want) {
				t.Errorf("verify: %v, %v; want a failure saying %q", err, rep.Failures, tc.want)
			}
		})
	}
}

// TestZstdBombs: a compressed buffer replaced by a real zstd bomb (a small frame of 64 MiB of
// zeros, its uncompressed size declared truthfully), and one whose frame declares a 512 MiB
// window, are refused before decompression; before the fix the first was decompressed in
// full and the second made the decoder allocate its window.
func TestZstdBombs(t *testing.T) {
	dir, p := writeSample(t, "file")
	orig, _ := os.ReadFile(p)
	l := fileLayoutOf(t, orig)
	b0 := l.blocks[0]
	_, bufsAt := batchFields(t, orig, b0.off+8)
	idsOff, idsLen := arrowfb.LE64(orig, int(bufsAt+16*3)), arrowfb.LE64(orig, int(bufsAt+16*3+8))
	at := b0.off + b0.meta + idsOff

	frame := func(n int64, opts ...zstd.EOption) []byte {
		var z bytes.Buffer
		enc, err := zstd.NewWriter(&z, opts...)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.CopyN(enc, zeroReader{}, n); err != nil {
			t.Fatal(err)
		}
		enc.Close()
		return z.Bytes()
	}
	for _, tc := range []struct {
		name     string
		declared int64
		frame    []byte
		want     string
	}{
		{"64 MiB of zeros", 64 << 20, frame(64 << 20), "uncompressed"},
		{"512 MiB window", 1000, windowFrame(29, 1000), "window"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if int64(len(tc.frame))+8 > idsLen {
				t.Fatalf("bomb of %d bytes does not fit the %d-byte buffer", len(tc.frame), idsLen)
			}
			b := append([]byte(nil), orig...)
			binary.LittleEndian.PutUint64(b[at:], uint64(tc.declared))
			copy(b[at+8:], tc.frame)
			// The rest of the buffer becomes a skippable frame, so that the data is well formed.
			rest := at + 8 + int64(len(tc.frame))
			if end := at + idsLen; end-rest >= 8 {
				binary.LittleEndian.PutUint32(b[rest:], 0x184D2A50)
				binary.LittleEndian.PutUint32(b[rest+4:], uint32(end-rest-8))
			}
			os.WriteFile(p, b, 0o644)
			defer os.WriteFile(p, orig, 0o644)
			restamp(t, dir)
			var err error
			if n := allocated(func() { err = readShard(p) }); n > 32<<20 {
				t.Errorf("reading allocated %d bytes", n)
			}
			t.Logf("read: %v", err)
			if err == nil || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("read: %v; want an error naming %s and saying %q", err, p, tc.want)
			}
		})
	}
}

// windowFrame is a well-formed zstd frame of n zeros in one raw block whose header declares a
// window of 2^windowLog bytes (and no content size), which a decoder allocates up front.
func windowFrame(windowLog uint, n int) []byte {
	b := binary.LittleEndian.AppendUint32(nil, 0xFD2FB528)
	b = append(b, 0x00, byte(windowLog-10)<<3) // no content size, not single segment; window
	h := uint32(n)<<3 | 1                      // last block, raw
	b = append(b, byte(h), byte(h>>8), byte(h>>16))
	return append(b, make([]byte, n)...)
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// TestRowsAgainstManifest: a manifest that records more rows for a shard than it holds (its
// totals kept consistent) makes inspect's Stats fail naming the shard; before the fix it
// summarised the rows it found, exit 0.
func TestRowsAgainstManifest(t *testing.T) {
	dir, p := writeSample(t, "file")
	m, err := ReadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	m.Shards[0].Rows += 50
	m.Rows += 50
	if err := atomicfile.WriteJSON(filepath.Join(dir, ManifestName), m); err != nil {
		t.Fatal(err)
	}
	if _, err := Stats(dir); err == nil || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), "650") {
		t.Errorf("Stats: %v; want an error naming %s and the manifest's 650 rows", err, p)
	}
}

// TestManifestListing: inspect (Stats, Sample) refuses a manifest whose shard names leave the
// directory, list a shard twice, or whose totals are not the sums of its shards; before the
// fix it decoded a shard from outside the directory and counted a doubled shard twice.
func TestManifestListing(t *testing.T) {
	outside, _ := writeSample(t, "file")
	for _, tc := range []struct {
		name string
		edit func(dir string, m *Manifest)
		want string
	}{
		{"dot-dot", func(dir string, m *Manifest) {
			rel, _ := filepath.Rel(dir, outside)
			m.Shards[0].File = filepath.ToSlash(rel) + "/" + m.Shards[0].File
		}, "leads outside the manifest's directory"},
		{"absolute", func(dir string, m *Manifest) {
			m.Shards[0].File = filepath.ToSlash(filepath.Join(outside, m.Shards[0].File))
		}, "is absolute"},
		{"listed twice", func(dir string, m *Manifest) {
			m.Shards = append(m.Shards, m.Shards[0])
			m.Rows, m.Tokens, m.Bytes = 2*m.Rows, 2*m.Tokens, 2*m.Bytes
		}, "listed twice"},
		{"totals", func(dir string, m *Manifest) { m.Rows++ }, "totals rows="},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			m, err := ReadManifest(outside)
			if err != nil {
				t.Fatal(err)
			}
			if tc.name != "dot-dot" && tc.name != "absolute" {
				dir, _ = writeSample(t, "file")
				if m, err = ReadManifest(dir); err != nil {
					t.Fatal(err)
				}
			}
			tc.edit(dir, m)
			if err := atomicfile.WriteJSON(filepath.Join(dir, ManifestName), m); err != nil {
				t.Fatal(err)
			}
			if _, err := Stats(dir); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Stats: %v; want %q", err, tc.want)
			}
			if _, _, err := Sample(dir, 3); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Sample: %v; want %q", err, tc.want)
			}
			if rep, err := Verify(dir); err != nil || rep.OK() {
				t.Errorf("Verify: %v, ok %v", err, rep.OK())
			}
		})
	}
}
