// Package fileio opens and reads the files kiln is given (shards, manifests, vocabularies,
// checkpoints) the careful way: only regular files (a FIFO, a device such as /dev/zero, a
// socket or a directory is refused, also behind a symbolic link, and opening never blocks),
// and metadata files only up to a size that no real file of their kind reaches, so that a
// hostile or mistaken path gives a clear error instead of a hang or an exhausted memory.
package fileio

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
)

// Caps on the metadata files kiln reads whole. Each is far above what a real file of its kind
// holds (noted beside it), and far below what would strain a machine.
const (
	// MaxManifest bounds manifest.json and .progress.json: about 300 bytes a shard, so some
	// 200,000 shards, plus the run's config.
	MaxManifest = 64 << 20
	// MaxConfig bounds a model's config.json (a BertConfig is under 1 KB) and
	// trainer_state.json (under 1 KB).
	MaxConfig = 1 << 20
	// MaxVocab bounds a vocab.txt (bert-base-uncased: 232 KB; the largest WordPiece
	// vocabularies in use, about 250,000 tokens, stay under 5 MB).
	MaxVocab = 64 << 20
	// MaxTokenizerJSON bounds a tokenizer.json (bert-base-uncased: 466 KB; the largest
	// published ones, of 250,000-token vocabularies, are about 17 MB).
	MaxTokenizerJSON = 128 << 20
)

// ErrNotRegular is returned (wrapped, with the path) for a path that is not a regular file.
var ErrNotRegular = errors.New("not a regular file")

// ErrTooLarge is returned (wrapped, with the path and the limit) by ReadRegular for a file
// larger than its limit.
var ErrTooLarge = errors.New("file too large")

// OpenRegular opens path for reading, following symbolic links, and refuses anything but a
// regular file. It opens without blocking (a FIFO would otherwise wait for a writer), and the
// check is made on the opened file, so that a file swapped in between cannot slip through.
func OpenRegular(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("%s: %w (%s)", path, ErrNotRegular, kind(st.Mode()))
	}
	return f, nil
}

// kind names a file mode for messages.
func kind(m os.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&os.ModeNamedPipe != 0:
		return "a FIFO"
	case m&os.ModeCharDevice != 0:
		return "a character device"
	case m&os.ModeDevice != 0:
		return "a device"
	case m&os.ModeSocket != 0:
		return "a socket"
	}
	return "mode " + m.String()
}

// ReadRegular reads the whole regular file at path, refusing one larger than maxBytes (before
// reading it, from its size, and again while reading, should it grow). Errors name the path.
func ReadRegular(path string, maxBytes int64) ([]byte, error) {
	f, err := OpenRegular(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.Size() > maxBytes {
		return nil, fmt.Errorf("%s: %w: %d bytes, more than the %d that any real file of its kind needs", path, ErrTooLarge, st.Size(), maxBytes)
	}
	b := make([]byte, 0, st.Size()+1)
	for {
		if int64(len(b)) > maxBytes {
			return nil, fmt.Errorf("%s: %w: grew past the %d bytes that any real file of its kind needs", path, ErrTooLarge, maxBytes)
		}
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := f.Read(b[len(b):min(cap(b), int(maxBytes)+1)])
		b = b[:len(b)+n]
		if errors.Is(err, io.EOF) {
			return b, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}
}

// SHA256 returns the size and hex sha256 of the regular file at path (see OpenRegular).
func SHA256(path string) (int64, string, error) {
	f, err := OpenRegular(path)
	if err != nil {
		return 0, "", err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return 0, "", fmt.Errorf("%s: %w", path, err)
	}
	return n, hex.EncodeToString(h.Sum(nil)), nil
}
