package pipeline

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kiln-bert/kiln/tokenize"
)

// TestTokenizeLines: Tokenize reads lines with the source's line reader and byte order mark
// check: the same text with "\r\n" endings, a UTF-8 byte order mark or gzip gives the same
// ids, one output line per input line (the last one without a line end too), whatever the
// workers; a UTF-16 file is refused naming it, and a line over MaxLineBytes is a
// *LongLineError naming the file and line, never skipped. The ids of the first line are Hugging
// Face tokenizers 0.23.2's for bert-base-uncased (cmd/kiln's TestTokenizeContract).
func TestTokenizeLines(t *testing.T) {
	tok, err := tokenize.Load(vocabFile(t), false)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	text := "Hello, World!\n\nCall me Ishmael.\nlast line"
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(text))
	zw.Close()
	run := func(workers int, files ...string) (string, TokenizeStats, error) {
		var out bytes.Buffer
		sum, err := Tokenize(context.Background(), TokenizeConfig{Tokenizer: tok, Files: files, Workers: workers, MaxLineBytes: 20}, &out)
		return out.String(), sum, err
	}
	want, sum, err := run(1, write("lf.txt", []byte(text)))
	if err != nil {
		t.Fatal(err)
	}
	if lines := strings.Split(want, "\n"); len(lines) != 5 || lines[0] != "7592 1010 2088 999" || lines[1] != "" || lines[4] != "" || sum.Lines != 4 {
		t.Fatalf("output %q (%d lines read): want 4 lines, the first 7592 1010 2088 999, the second empty", want, sum.Lines)
	}
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"crlf.txt", []byte(strings.ReplaceAll(text, "\n", "\r\n"))},
		{"bom.txt", []byte("\xef\xbb\xbf" + text)},
		{"text.txt.gz", gz.Bytes()},
	} {
		for _, workers := range []int{1, 3} {
			got, _, err := run(workers, write(tc.name, tc.data))
			if err != nil || got != want {
				t.Errorf("%s, %d workers: %q, %v; want %q", tc.name, workers, got, err, want)
			}
		}
	}
	u16 := write("u16.txt", []byte("\xff\xfeH\x00i\x00\n\x00"))
	if _, _, err := run(2, u16); err == nil || !strings.Contains(err.Error(), u16+": UTF-16 text") {
		t.Errorf("UTF-16 file: %v; want an error naming it as UTF-16", err)
	}
	long := write("long.txt", []byte("short\n"+strings.Repeat("x", 23)+"\nshort\n"))
	_, _, err = run(2, long)
	if _, ok := errors.AsType[*LongLineError](err); !ok || !strings.Contains(err.Error(), long+": line 2: line longer than 20 bytes") {
		t.Errorf("long line: %v; want a *LongLineError naming %s, line 2", err, long)
	}
}

// TestTokenizeBlocks: over several blocks (the ids' table is built from the second block on,
// the first block's ids are formatted one by one) and several files, Tokenize writes each
// line's ids as Encode gives them, whatever the workers.
func TestTokenizeBlocks(t *testing.T) {
	tok, err := tokenize.Load(vocabFile(t), false)
	if err != nil {
		t.Fatal(err)
	}
	sentences := []string{"Call me Ishmael.", "", "It is a truth universally acknowledged, that a single man", "日本語のテキスト", "x\r", "The State of the Union is strong; 1,234,567 [MASK] [UNK]"}
	var text, want strings.Builder
	var enc tokenize.Encoding
	for i := 0; text.Len() < 3*tokenizeBlockBytes; i++ {
		line := sentences[i%len(sentences)] + strings.Repeat(" word", i%17)
		text.WriteString(line + "\n")
		if err := tok.Encode(&enc, strings.TrimSuffix(line, "\r")); err != nil {
			t.Fatal(err)
		}
		var b []byte
		for j, id := range enc.IDs {
			if j > 0 {
				b = append(b, ' ')
			}
			b = appendID(b, id)
		}
		want.Write(append(b, '\n'))
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "a.txt")
	if err := os.WriteFile(p, []byte(text.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, workers := range []int{1, 3} {
		var out bytes.Buffer
		sum, err := Tokenize(context.Background(), TokenizeConfig{Tokenizer: tok, Files: []string{p, p}, Workers: workers, MaxLineBytes: 1 << 20}, &out)
		if err != nil {
			t.Fatal(err)
		}
		if out.String() != want.String()+want.String() {
			t.Fatalf("%d workers: the output differs from Encode's ids, line by line", workers)
		}
		if n := int64(strings.Count(want.String(), "\n")); sum.Lines != 2*n {
			t.Errorf("%d workers: %d lines counted, want %d", workers, sum.Lines, 2*n)
		}
	}
}
