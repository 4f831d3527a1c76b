package pipeline

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// countingReader counts the bytes read through it.
type countingReader struct {
	r        io.Reader
	n        int64
	progress func(int64)
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if c.progress != nil && n > 0 {
		c.progress(int64(n))
	}
	return n, err
}

// readBufferSize is the size of the buffers the source reads through.
const readBufferSize = 256 << 10

// openInput opens path, decompressing .gz and .zst by extension, and returns a buffered
// reader of its text. The returned counter counts the bytes read from disk. br and tr are
// buffers to reuse (reset here): br reads the file, tr the decompressed text (plain text is
// read through br alone).
func openInput(path string, progress func(int64), br, tr *bufio.Reader) (*bufio.Reader, *countingReader, func() error, error) {
	return openInputWith(nil, path, progress, br, tr)
}

// openInputWith is openInput that opens path with open (nil: os.Open).
func openInputWith(open Opener, path string, progress func(int64), br, tr *bufio.Reader) (*bufio.Reader, *countingReader, func() error, error) {
	var f io.ReadCloser
	var err error
	if open != nil {
		f, err = open(path)
	} else {
		f, err = os.Open(path)
	}
	if err != nil {
		return nil, nil, nil, err
	}
	cr := &countingReader{r: f, progress: progress}
	br.Reset(cr)
	switch {
	case strings.HasSuffix(path, ".gz"):
		zr, err := gzip.NewReader(br)
		if err != nil {
			f.Close()
			return nil, nil, nil, fmt.Errorf("%s: not a gzip file: %w", path, err)
		}
		tr.Reset(zr)
		return tr, cr, f.Close, nil
	case strings.HasSuffix(path, ".zst"):
		zr, err := zstd.NewReader(br, zstd.WithDecoderConcurrency(1))
		if err != nil {
			f.Close()
			return nil, nil, nil, fmt.Errorf("%s: not a zstd file: %w", path, err)
		}
		tr.Reset(zr.IOReadCloser())
		return tr, cr, func() error { zr.Close(); return f.Close() }, nil
	}
	return br, cr, f.Close, nil
}

// OpenText opens the file at path to read its text, decompressing .gz and .zst by extension
// as a Source does. Closing the result closes the file.
func OpenText(path string) (io.ReadCloser, error) {
	r, _, closeFn, err := openInput(path, nil, bufio.NewReaderSize(nil, readBufferSize), bufio.NewReaderSize(nil, readBufferSize))
	if err != nil {
		return nil, err
	}
	return textFile{r, closeFn}, nil
}

// textFile is the io.ReadCloser that OpenText returns.
type textFile struct {
	*bufio.Reader
	close func() error
}

func (f textFile) Close() error { return f.close() }
