package shards

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path"
	"path/filepath"

	"github.com/apache/arrow/go/v15/arrow/ipc"

	"github.com/kiln-bert/kiln/internal/atomicfile"
)

// hashWriter counts and hashes what is written to a file. It implements the
// Seek that ipc.FileWriter uses to learn its position.
type hashWriter struct {
	f *os.File
	h hash.Hash
	n int64
}

func (w *hashWriter) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	w.h.Write(p[:n])
	w.n += int64(n)
	return n, err
}

func (w *hashWriter) Seek(offset int64, whence int) (int64, error) {
	if offset == 0 && whence == io.SeekCurrent {
		return w.n, nil
	}
	return 0, errors.New("seek not supported while writing a shard")
}

func shardName(i int) string { return fmt.Sprintf("shard-%05d.arrow", i) }

// flush writes the pending rows of s as one record batch and rotates the
// shard when it has reached Options.ShardBytes.
func (w *Writer) flush(s *series) error {
	if s.batch.rows() == 0 {
		return nil
	}
	if s.f == nil {
		if err := w.openShard(s); err != nil {
			return err
		}
	}
	err := s.rw.writeBatch(&s.batch)
	s.batch.reset()
	if err != nil {
		return fmt.Errorf("writing %s: %w", s.tmp, err)
	}
	if s.hw.n >= w.o.ShardBytes {
		return w.finishShard(s, w.closed) // in Close, the manifest follows
	}
	return nil
}

func (w *Writer) openShard(s *series) error {
	s.tmp = filepath.Join(w.o.Dir, s.dir, "."+shardName(s.next)+".tmp")
	f, err := os.Create(s.tmp)
	if err != nil {
		return err
	}
	s.f = f
	s.hw = &hashWriter{f: f, h: sha256.New()}
	if w.o.Compression != LZ4 && !w.arrowIPC {
		// zstd or none: this package's IPC writer, with one zstd encoder
		// for the whole run (ipcwrite.go).
		if w.ipcEnc == nil {
			w.ipcEnc, err = newIPCEncoder(w.schema, w.o.Compression == Zstd)
			if err != nil {
				f.Close()
				os.Remove(s.tmp)
				s.f = nil
				return fmt.Errorf("%s: %w", s.tmp, err)
			}
		}
		s.rw = w.ipcEnc.newShard(s.hw, w.o.Format == IPCFile)
		return nil
	}
	opts := append([]ipc.Option{ipc.WithSchema(w.schema), ipc.WithAllocator(w.mem)}, w.ipcOpts...)
	if w.o.Format == IPCFile {
		fw, err := ipc.NewFileWriter(s.hw, opts...)
		if err != nil {
			f.Close()
			os.Remove(s.tmp)
			s.f = nil
			return fmt.Errorf("%s: %w", s.tmp, err)
		}
		s.rw = &arrowShard{w: fw, schema: w.schema, record: w.arrowRecord}
	} else {
		s.rw = &arrowShard{w: ipc.NewWriter(s.hw, opts...), schema: w.schema, record: w.arrowRecord}
	}
	return nil
}

// finishShard completes the current shard: footer, fsync, rename, directory
// fsync, then records it in DIR/.progress.json. With last (Close, whose
// manifest follows at once), the progress file is not rewritten, and a shard
// in DIR itself is not followed by a directory fsync: the manifest's covers
// its rename. Were the run to stop before the manifest is written, a rerun
// would find the shard missing from .progress.json, or the file missing or
// different from what the manifest lists, and write it again.
func (w *Writer) finishShard(s *series, last bool) error {
	err := s.rw.Close()
	if err == nil {
		err = s.f.Sync()
	}
	if cerr := s.f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(s.tmp)
		return fmt.Errorf("finishing %s: %w", s.tmp, err)
	}
	rel := path.Join(s.dir, shardName(s.next))
	final := filepath.Join(w.o.Dir, filepath.FromSlash(rel))
	if err := os.Rename(s.tmp, final); err != nil {
		return err
	}
	if !last || s.dir != "" {
		if err := atomicfile.SyncDir(filepath.Dir(final)); err != nil {
			return err
		}
	}
	w.progress.Shards = append(w.progress.Shards, ShardInfo{
		File: rel, Bin: s.bin, Rows: s.rows, Tokens: s.tokens, Bytes: s.hw.n,
		SHA256:   hex.EncodeToString(s.hw.h.Sum(nil)),
		RowsXXH3: rowsSum(s.rowsHash),
	})
	s.f, s.rw, s.hw, s.tmp = nil, nil, nil, ""
	s.next++
	s.rows, s.tokens = 0, 0
	s.rowsHash.Reset()
	if last {
		return nil
	}
	return w.saveProgress()
}
