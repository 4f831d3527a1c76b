package pipeline

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
)

// chunkReader returns its data in reads of 1 to max bytes, chosen at random.
type chunkReader struct {
	data []byte
	rng  *rand.Rand
	max  int
}

func (r *chunkReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, io.EOF
	}
	n := min(len(p), len(r.data), 1+r.rng.IntN(r.max))
	copy(p, r.data[:n])
	r.data = r.data[n:]
	return n, nil
}

// refLines reads data with the source's line reader as Tokenize did before blocks: lines
// without their line ends, the byte order mark handled on line 1; the error as "line N: err".
func refLines(data []byte, limit int) ([]string, string) {
	fr := &fileReader{src: NewSource(nil, SourceOptions{MaxLineBytes: limit}), br: bufio.NewReaderSize(bytes.NewReader(data), 64), strict: true, ctx: context.Background()}
	var lines []string
	for {
		line, ok, err := fr.appendLine(nil)
		if err != nil {
			return lines, fmt.Sprintf("line %d: %v", fr.line+1, err)
		}
		if !ok {
			return lines, ""
		}
		if fr.line == 1 {
			text, utf16 := firstLine(line)
			if utf16 {
				return lines, errUTF16.Error()
			}
			line = text
		}
		lines = append(lines, string(line))
	}
}

// blockLines reads data with blockReader, in blocks of block bytes from reads of at most
// maxRead, and splits the blocks as Tokenize's workers do.
func blockLines(data []byte, limit, block, maxRead int, rng *rand.Rand) ([]string, string) {
	br := &blockReader{ctx: context.Background(), r: &chunkReader{data, rng, maxRead}, limit: limit, block: block}
	var lines []string
	var buf []byte
	for {
		first := br.line + 1
		text, n, at, err := br.next(buf)
		if err != nil {
			if errors.Is(err, errUTF16) {
				return lines, err.Error()
			}
			return lines, fmt.Sprintf("line %d: %v", at, err)
		}
		if n == 0 {
			return lines, ""
		}
		got := strings.Split(strings.TrimSuffix(string(text), "\n"), "\n")
		if len(got) != n || first != int64(len(lines))+1 {
			return lines, fmt.Sprintf("block of %d lines counted %d, first line %d after %d", len(got), n, first, len(lines))
		}
		for _, l := range got {
			lines = append(lines, strings.TrimRight(l, "\r"))
		}
		buf = text
	}
}

// TestBlockReaderAsLineReader: blockReader gives the lines, and the errors at the same line,
// of the source's line reader (which Tokenize used before) on random text of short and long
// lines, "\r" and "\n" in runs, byte order marks, with and without a last line end, for
// small limits and blocks and short reads.
func TestBlockReaderAsLineReader(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 1))
	pieces := []string{"a", "xyz", "Hello, World!", "\n", "\n", "\r", "\r\n", "\n\n", "\xef\xbb\xbf", "\xff\xfe", "é", strings.Repeat("w", 40)}
	fixed := []string{"", "\n", "\xef\xbb\xbf", "\xef\xbb\xbf\n", "\xef\xbb\xbfabc", "\xff\xfe", "\xef\xbb\xbf\xff\xfeab\n", "\r", "a", "a\n", "a\nb", "\n\n", "\r\r\n"}
	for trial := range 3000 {
		var data string
		if trial < len(fixed) {
			data = fixed[trial]
		} else {
			var sb strings.Builder
			if rng.IntN(4) == 0 {
				sb.WriteString("\xef\xbb\xbf")
			}
			for range rng.IntN(60) {
				sb.WriteString(pieces[rng.IntN(len(pieces))])
			}
			data = sb.String()
		}
		limit := []int{1, 3, 8, 20, 45, 1 << 20}[rng.IntN(6)]
		block := []int{1, 2, 7, 16, 64, 1 << 16}[rng.IntN(6)]
		maxRead := []int{1, 3, 50, 1 << 16}[rng.IntN(4)]
		want, wantErr := refLines([]byte(data), limit)
		got, gotErr := blockLines([]byte(data), limit, block, maxRead, rng)
		if gotErr != wantErr || strings.Join(got, "\x00") != strings.Join(want, "\x00") || len(got) != len(want) {
			t.Fatalf("%q, limit %d, block %d, reads of %d:\n got %q, %q\nwant %q, %q", data, limit, block, maxRead, got, gotErr, want, wantErr)
		}
	}
}
