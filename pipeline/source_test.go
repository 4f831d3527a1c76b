package pipeline

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func readAll(t *testing.T, inputs []Input, opts SourceOptions) ([]Document, SourceStats, error) {
	t.Helper()
	src := NewSource(inputs, opts)
	var docs []Document
	err := src.Run(context.Background(), func(d Document) error {
		docs = append(docs, d)
		return nil
	})
	return docs, src.Stats(), err
}

func units(docs []Document) [][]string {
	var out [][]string
	for _, d := range docs {
		out = append(out, d.Units)
	}
	return out
}

func TestSourceFormats(t *testing.T) {
	tests := []struct {
		name   string
		format Format
		data   string
		want   [][]string
		split  bool
	}{
		{"lines", Lines, "First sentence.\nSecond one.\n\n\nOther doc.\r\n  \nLast, no newline", [][]string{
			{"First sentence.", "Second one."}, {"Other doc."}, {"Last, no newline"}}, false},
		{"text", Text, "A paragraph\nwrapped over lines.\n\nSecond paragraph.\n", [][]string{
			{"A paragraph wrapped over lines.", "Second paragraph."}}, true},
		{"jsonl", JSONL, `{"text":"One.\n\nTwo a\nTwo b","id":1}` + "\n\n" + `{"text":"Three."}` + "\n", [][]string{
			{"One.", "Two a Two b"}, {"Three."}}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "in.txt")
			writeFile(t, path, []byte(tc.data))
			docs, stats, err := readAll(t, []Input{{Path: path}}, SourceOptions{Format: tc.format})
			if err != nil {
				t.Fatal(err)
			}
			if got := units(docs); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("documents = %q, want %q", got, tc.want)
			}
			for i, d := range docs {
				if d.Index != i || d.File != path || d.Split != tc.split {
					t.Errorf("doc %d: index %d file %q split %v", i, d.Index, d.File, d.Split)
				}
			}
			if stats.Documents != int64(len(tc.want)) {
				t.Errorf("stats.Documents = %d, want %d", stats.Documents, len(tc.want))
			}
		})
	}
}

func TestSourceDocumentLines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "in.txt")
	writeFile(t, path, []byte("\n\na\nb\n\nc\n"))
	docs, _, err := readAll(t, []Input{{Path: path}}, SourceOptions{Format: Lines})
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) != 2 || docs[0].Line != 3 || docs[1].Line != 6 {
		t.Fatalf("documents start at lines %+v, want 3 and 6", docs)
	}
}

func TestSourceCompressed(t *testing.T) {
	dir := t.TempDir()
	text := []byte("Compressed one.\nAnd two.\n\nNext document.\n")
	var gz, zs bytes.Buffer
	gw := gzip.NewWriter(&gz)
	gw.Write(text)
	gw.Close()
	zw, _ := zstd.NewWriter(&zs)
	zw.Write(text)
	zw.Close()
	writeFile(t, filepath.Join(dir, "a.txt.gz"), gz.Bytes())
	writeFile(t, filepath.Join(dir, "b.txt.zst"), zs.Bytes())
	inputs, err := ExpandInputs([]string{dir})
	if err != nil {
		t.Fatal(err)
	}
	docs, stats, err := readAll(t, inputs, SourceOptions{Format: Lines})
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{{"Compressed one.", "And two."}, {"Next document."}, {"Compressed one.", "And two."}, {"Next document."}}
	if got := units(docs); !reflect.DeepEqual(got, want) {
		t.Fatalf("documents = %q, want %q", got, want)
	}
	if stats.BytesRead != int64(gz.Len()+zs.Len()) {
		t.Errorf("BytesRead = %d, want %d", stats.BytesRead, gz.Len()+zs.Len())
	}

	// Truncated archives: an error that names the file.
	for name, data := range map[string][]byte{"cut.txt.gz": gz.Bytes()[:gz.Len()-10], "cut.txt.zst": zs.Bytes()[:zs.Len()-6]} {
		path := filepath.Join(dir, "bad", name)
		writeFile(t, path, data)
		_, _, err := readAll(t, []Input{{Path: path}}, SourceOptions{Format: Lines})
		if err == nil || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: err = %v, want an error naming the file", name, err)
		}
	}
}

func TestSourceBadInput(t *testing.T) {
	dir := t.TempDir()
	long := strings.Repeat("x", 5000)
	data := "good one.\n" + long + "\nstill good.\n\nbinary\x00doc\nmore\n\nlast.\n"
	path := filepath.Join(dir, "in.txt")
	writeFile(t, path, []byte(data))
	docs, stats, err := readAll(t, []Input{{Path: path}}, SourceOptions{Format: Lines, MaxLineBytes: 1000})
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{{"good one.", "still good."}, {"last."}}
	if got := units(docs); !reflect.DeepEqual(got, want) {
		t.Fatalf("documents = %q, want %q", got, want)
	}
	if stats.SkippedLongLine != 1 || stats.SkippedBinary != 1 {
		t.Errorf("skipped long %d binary %d, want 1 and 1", stats.SkippedLongLine, stats.SkippedBinary)
	}
	wantProblems := []string{path + ":2: line longer", path + ":5: binary"}
	for i, p := range wantProblems {
		if i >= len(stats.Problems) || !strings.HasPrefix(stats.Problems[i], p) {
			t.Errorf("problem %d = %q, want prefix %q", i, stats.Problems, p)
		}
	}

	jpath := filepath.Join(dir, "in.jsonl")
	writeFile(t, jpath, []byte("{\"text\":\"ok\"}\n{not json\n{\"body\":\"x\"}\n{\"text\":3}\n{\"text\":null}\n"))
	docs, stats, err = readAll(t, []Input{{Path: jpath}}, SourceOptions{Format: JSONL})
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) != 1 || stats.SkippedBadJSON != 4 || !strings.HasPrefix(stats.Problems[0], jpath+":2:") {
		t.Errorf("jsonl: %d docs, %d bad, problems %q", len(docs), stats.SkippedBadJSON, stats.Problems)
	}
}

// TestSourceByteOrderMarks: a UTF-8 byte order mark at the start of a file is dropped (a
// jsonl file's first line still parses); a UTF-16 file is skipped and said to be UTF-16.
func TestSourceByteOrderMarks(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name   string
		format Format
		data   string
		want   [][]string
	}{
		{"bom.jsonl", JSONL, "\xef\xbb\xbf{\"text\":\"a. b.\"}\n{\"text\":\"c.\"}\n", [][]string{{"a. b."}, {"c."}}},
		{"bom.txt", Lines, "\xef\xbb\xbfFirst.\nSecond.\n", [][]string{{"First.", "Second."}}},
	} {
		path := filepath.Join(dir, tc.name)
		writeFile(t, path, []byte(tc.data))
		docs, stats, err := readAll(t, []Input{{Path: path}}, SourceOptions{Format: tc.format})
		if err != nil {
			t.Fatal(err)
		}
		if got := units(docs); !reflect.DeepEqual(got, tc.want) || len(stats.Problems) > 0 {
			t.Errorf("%s: documents %q, problems %q; want %q and none", tc.name, got, stats.Problems, tc.want)
		}
	}

	path := filepath.Join(dir, "utf16.txt")
	u16 := []byte{0xff, 0xfe}
	for _, r := range "Hello there.\nGeneral Kenobi.\n" {
		u16 = append(u16, byte(r), 0)
	}
	writeFile(t, path, u16)
	docs, stats, err := readAll(t, []Input{{Path: path}}, SourceOptions{Format: Text})
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) != 0 || stats.SkippedBinary == 0 || len(stats.Problems) == 0 || !strings.Contains(stats.Problems[0], path+":1: UTF-16 text") {
		t.Errorf("UTF-16 file: %d documents, %d skipped, problems %q; want it skipped and named as UTF-16", len(docs), stats.SkippedBinary, stats.Problems)
	}
}

func TestSourceCutsLongDocuments(t *testing.T) {
	path := filepath.Join(t.TempDir(), "in.txt")
	var b strings.Builder
	for range 100 {
		b.WriteString("A sentence of some length.\n")
	}
	writeFile(t, path, []byte(b.String()))
	docs, stats, err := readAll(t, []Input{{Path: path}}, SourceOptions{Format: Lines, MaxDocBytes: 500})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, d := range docs {
		n += len(d.Units)
		if d.Bytes > 500+30 {
			t.Errorf("document of %d bytes", d.Bytes)
		}
	}
	if n != 100 || stats.CutDocuments == 0 {
		t.Errorf("%d sentences in %d docs, %d cuts", n, len(docs), stats.CutDocuments)
	}
}

func TestExpandInputs(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"b/2.txt", "b/1.txt", "a.txt", "b/.hidden", "c.jsonl"} {
		writeFile(t, filepath.Join(dir, name), []byte("x\n"))
	}
	got, err := ExpandInputs([]string{filepath.Join(dir, "b"), filepath.Join(dir, "*.txt"), filepath.Join(dir, "b", "1.txt")})
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, in := range got {
		rel, _ := filepath.Rel(dir, in.Path)
		paths = append(paths, rel)
	}
	want := []string{"b/1.txt", "b/2.txt", "a.txt"}
	if !reflect.DeepEqual(paths, want) {
		t.Fatalf("inputs = %q, want %q", paths, want)
	}
	for _, bad := range [][]string{{filepath.Join(dir, "missing.txt")}, {filepath.Join(dir, "*.none")}, {}} {
		if _, err := ExpandInputs(bad); err == nil {
			t.Errorf("ExpandInputs(%q) = nil error", bad)
		}
	}
}

func TestExpandInputsSymlinks(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "real", "a.txt"), []byte("x\n"))
	links := filepath.Join(dir, "links")
	if err := os.MkdirAll(links, 0o755); err != nil {
		t.Fatal(err)
	}
	// A link to a file is read; a link to a directory is not followed (no cycles); a
	// dangling link is an error naming it.
	for name, target := range map[string]string{"b.txt": "../real/a.txt", "sub": "../real", "loop": "."} {
		if err := os.Symlink(target, filepath.Join(links, name)); err != nil {
			t.Skipf("no symlinks here: %v", err)
		}
	}
	got, err := ExpandInputs([]string{links})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Path != filepath.Join(links, "b.txt") || got[0].Size != 2 {
		t.Fatalf("inputs = %+v, want the one file link", got)
	}
	dangling := filepath.Join(links, "gone.txt")
	if err := os.Symlink("../real/gone.txt", dangling); err != nil {
		t.Fatal(err)
	}
	if _, err := ExpandInputs([]string{links}); err == nil || !strings.Contains(err.Error(), dangling) {
		t.Errorf("dangling link: %v, want an error naming %s", err, dangling)
	}
}

func TestLooksBinary(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"plain text, with ünïcödé and tabs\t", false},
		{"a NUL \x00 byte", true},
		{strings.Repeat("\xff\xfe", 20), true},
		{"one stray \xff byte in a longer line of ordinary text", false},
	}
	for _, tc := range tests {
		if got := looksBinary([]byte(tc.in)); got != tc.want {
			t.Errorf("looksBinary(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}
