package pipeline

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/kiln-bert/kiln/internal/fileio"
	"github.com/kiln-bert/kiln/shards"
)

// The local engine of partitioned prep keeps what must wait between the two phases on disk,
// in DIR/.spill: per input file a directory holding, for each partition that received
// documents from it, the file's tokenized documents of that partition (PartDoc encodings,
// each after its length as an unsigned varint), and a record (done.json) written once they are
// all synced. Phase 2 reads a partition's spill files in input order, so its documents arrive
// in canonical order without sorting. The spill is removed once the manifest is written.
const (
	spillDirName  = ".spill"
	spillDoneName = "done.json"
	// spillSettingsName records, in DIR/.spill, the settings the spill was made with.
	spillSettingsName = "settings.json"
	// spillFlushBytes bounds what one file's tokenizing holds before it appends to its
	// partitions' spill files.
	spillFlushBytes = 4 << 20
)

// spillRecord is what DIR/.spill/file-NNNNNN/done.json holds: the file's result and, per
// partition, the bytes of its spill file.
type spillRecord struct {
	Result FileResult `json:"result"`
	Bytes  []int64    `json:"bytes"`
}

func spillFileDir(dir string, file int) string {
	return filepath.Join(dir, spillDirName, fmt.Sprintf("file-%06d", file))
}

func spillFileName(part int) string { return fmt.Sprintf("part-%05d.bin", part) }

// maxSpillRecord bounds one spilled document's encoding: every token of a document of at most
// MaxDocBytes bytes costs at most 5 bytes, every sentence a few more.
func (p *Partitioner) maxSpillRecord() int64 {
	return 8*int64(p.e.src.opts.MaxDocBytes) + 1<<20
}

// PrepPartitioned is the local engine of partitioned prep: it runs TokenizeFile over the
// inputs, Workers files at a time, spilling each partition's documents to o.Dir/.spill, then
// PrepareSorted over the partitions, Workers at a time, and WriteManifest. Memory is bounded
// by the settings and Workers, not by the corpus. An interrupted run is resumed by the same
// command: the files whose spill is complete are not read again, and the partitions recorded
// complete (with their shards matching their sha256) are kept; the result is the same bytes.
func PrepPartitioned(ctx context.Context, e *Examples, o ShardOptions, partitions int) (sum *PrepSummary, err error) {
	start := time.Now()
	p, err := NewPartitioner(e, partitions, o)
	if err != nil {
		return nil, err
	}
	dir := o.Dir
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("output %s: %w", dir, err)
	}
	lock, lockNote, err := lockDir(dir)
	if err != nil {
		return nil, fmt.Errorf("output %s: %w", dir, err)
	}
	defer func() {
		if uerr := lock.unlock(); uerr != nil && err == nil {
			sum, err = nil, fmt.Errorf("output %s: %w", dir, uerr)
		}
	}()
	if err := p.checkRunDir(dir); err != nil {
		return nil, err
	}
	// Nothing else writes here while the lock is held: attempts left by a killed run go.
	if err := os.RemoveAll(filepath.Join(dir, stagingDirName)); err != nil {
		return nil, fmt.Errorf("output %s: %w", dir, err)
	}
	files, err := p.spillAll(ctx, dir)
	if err != nil {
		return nil, err
	}
	parts, err := p.prepareAll(ctx, dir, files)
	if err != nil {
		return nil, err
	}
	sum, err = p.WriteManifest(dir, files, parts, time.Since(start).Seconds())
	if err != nil {
		return nil, err
	}
	if err := os.RemoveAll(filepath.Join(dir, spillDirName)); err != nil {
		return nil, fmt.Errorf("output %s: %w", dir, err)
	}
	if lockNote != "" {
		sum.Notes = append(sum.Notes, lockNote)
		if err := writeJSONFile(filepath.Join(dir, StatsName), sum); err != nil {
			return nil, err
		}
	}
	return sum, nil
}

// checkRunDir refuses a directory that holds another kind of run, or a partitioned run of
// other settings, and removes partition directories beyond this run's partitions.
func (p *Partitioner) checkRunDir(dir string) error {
	if _, err := os.Stat(filepath.Join(dir, shards.ProgressName)); err == nil {
		return fmt.Errorf("output %s holds an interrupted run without --partitions (%s): finish it with the same command, or use another directory", dir, shards.ProgressName)
	}
	if m, err := shards.ReadManifest(dir); err == nil {
		if diff := shards.FieldDiffs(m.Config, json.RawMessage(p.cfgJSON), "(there)", "(now)"); len(diff) > 0 {
			return fmt.Errorf("output %s holds a run with different settings (%v): use another directory, or the same settings", dir, diff)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("output %s: %w", dir, err)
	}
	if old, _ := filepath.Glob(filepath.Join(dir, "shard-*.arrow")); len(old) > 0 {
		return fmt.Errorf("output %s holds shards of a run without --partitions: use another directory", dir)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("output %s: %w", dir, err)
	}
	for _, ent := range ents {
		if n, ok := partitionIndex(ent.Name()); ok && ent.IsDir() && n >= p.n {
			if err := os.RemoveAll(filepath.Join(dir, ent.Name())); err != nil {
				return fmt.Errorf("output %s: %w", dir, err)
			}
		}
	}
	return nil
}

// forEach runs f(ctx, i) for i in [0, n) on workers goroutines and returns the first error,
// after cancelling the calls not yet started.
func forEach(ctx context.Context, n, workers int, f func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	next := make(chan int)
	var wg sync.WaitGroup
	var once sync.Once
	var first error
	for range min(workers, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := f(ctx, i); err != nil {
					once.Do(func() { first = err; cancel() })
				}
			}
		}()
	}
feed:
	for i := range n {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if first == nil {
		first = ctx.Err()
	}
	return first
}

// spillAll is phase 1: every input tokenized into DIR/.spill, or its complete spill kept.
func (p *Partitioner) spillAll(ctx context.Context, dir string) ([]FileResult, error) {
	sd := filepath.Join(dir, spillDirName)
	sp := filepath.Join(sd, spillSettingsName)
	if b, err := os.ReadFile(sp); err != nil || string(b) != p.settings {
		// No spill, or one of other settings: start it afresh.
		if err := os.RemoveAll(sd); err != nil {
			return nil, fmt.Errorf("output %s: %w", dir, err)
		}
		if err := os.MkdirAll(sd, 0o755); err != nil {
			return nil, fmt.Errorf("output %s: %w", dir, err)
		}
		if err := shards.WriteFileAtomic(sp, func(w io.Writer) error {
			_, err := io.WriteString(w, p.settings)
			return err
		}); err != nil {
			return nil, fmt.Errorf("output %s: %w", dir, err)
		}
	}
	inputs := p.e.inputs
	res := make([]FileResult, len(inputs))
	err := forEach(ctx, len(inputs), p.e.cfg.Workers, func(ctx context.Context, i int) error {
		r, err := p.spillFile(ctx, dir, i, inputs[i])
		res[i] = r
		return err
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// spillFile tokenizes input i into its spill directory, unless its spill is complete.
func (p *Partitioner) spillFile(ctx context.Context, dir string, i int, in Input) (FileResult, error) {
	fd := spillFileDir(dir, i)
	if rec, ok := p.readSpillRecord(fd, i); ok {
		p.e.docs.Add(rec.Result.Source.Documents)
		return rec.Result, nil
	}
	if err := os.RemoveAll(fd); err != nil {
		return FileResult{}, fmt.Errorf("spill %s: %w", fd, err)
	}
	if err := os.MkdirAll(fd, 0o755); err != nil {
		return FileResult{}, fmt.Errorf("spill %s: %w", fd, err)
	}
	bufs := make([][]byte, p.n)
	sizes := make([]int64, p.n)
	buffered := 0
	// flush appends the buffers to their spill files; the last one (final) also syncs every
	// spill file of the input, so that done.json is written only over data on disk.
	flush := func(final bool) error {
		for part, b := range bufs {
			if len(b) == 0 && !(final && sizes[part] > 0) {
				continue
			}
			if err := appendFile(filepath.Join(fd, spillFileName(part)), b, final); err != nil {
				return fmt.Errorf("spill %s: %w", fd, err)
			}
			sizes[part] += int64(len(b))
			if cap(b) > 64<<10 {
				bufs[part] = nil
			} else {
				bufs[part] = b[:0]
			}
		}
		buffered = 0
		return nil
	}
	limit := p.maxSpillRecord()
	var enc []byte
	r, err := p.TokenizeFile(ctx, i, in, func(part int, d PartDoc) error {
		var err error
		if enc, err = d.AppendBinary(enc[:0]); err != nil {
			return fmt.Errorf("input %s: %w", in.Path, err)
		}
		if int64(len(enc)) > limit {
			return fmt.Errorf("input %s: document at line %d: %d bytes of tokens, more than %d", in.Path, d.Line, len(enc), limit)
		}
		n := len(bufs[part])
		bufs[part] = append(binary.AppendUvarint(bufs[part], uint64(len(enc))), enc...)
		if buffered += len(bufs[part]) - n; buffered >= spillFlushBytes {
			return flush(false)
		}
		return nil
	})
	if err == nil {
		err = flush(true)
	}
	if err != nil {
		return r, err
	}
	b, err := json.Marshal(spillRecord{Result: r, Bytes: sizes})
	if err != nil {
		return r, err
	}
	if err := writeSmallFile(filepath.Join(fd, spillDoneName), b); err != nil {
		return r, fmt.Errorf("spill %s: %w", fd, err)
	}
	return r, nil
}

// writeSmallFile writes b to path through a temporary file beside it, synced, then renamed
// over path, and syncs the directory: path holds the whole of b or nothing. (For the small
// records of a run: shards.WriteFileAtomic buffers a MiB.) The temporary name is unique, so
// that concurrent writers of one path do not meet.
func writeSmallFile(path string, b []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
		return err
	}
	return shards.SyncDir(filepath.Dir(path))
}

// appendFile appends b to the file at name, creating it, and syncs it when sync is set.
func appendFile(name string, b []byte, sync bool) error {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if err == nil && sync {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// readSpillRecord returns the record of input i's complete spill in fd, if its files are
// all there at their recorded sizes.
func (p *Partitioner) readSpillRecord(fd string, i int) (*spillRecord, bool) {
	b, err := os.ReadFile(filepath.Join(fd, spillDoneName))
	if err != nil {
		return nil, false
	}
	var rec spillRecord
	if json.Unmarshal(b, &rec) != nil || rec.Result.Index != i || len(rec.Bytes) != p.n || len(rec.Result.PartDocs) != p.n {
		return nil, false
	}
	for part, n := range rec.Bytes {
		if n == 0 {
			continue
		}
		st, err := os.Stat(filepath.Join(fd, spillFileName(part)))
		if err != nil || st.Size() != n {
			return nil, false
		}
	}
	return &rec, true
}

// prepareAll is phase 2: every partition prepared from its spill, or its complete result
// kept.
func (p *Partitioner) prepareAll(ctx context.Context, dir string, files []FileResult) ([]PartitionResult, error) {
	res := make([]PartitionResult, p.n)
	err := forEach(ctx, p.n, p.e.cfg.Workers, func(ctx context.Context, part int) error {
		if r, ok := p.checkPartition(dir, part); ok {
			res[part] = *r
			return nil
		}
		if err := os.RemoveAll(filepath.Join(dir, PartitionDirName(part))); err != nil {
			return fmt.Errorf("output %s: %w", dir, err)
		}
		sr := &spillReader{p: p, dir: dir, files: files, part: part, file: -1}
		defer sr.close()
		r, err := p.PrepareSorted(ctx, part, sr.next, dir)
		res[part] = r
		return err
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// spillReader returns a partition's spilled documents, input after input.
type spillReader struct {
	p     *Partitioner
	dir   string
	files []FileResult
	part  int

	file  int // index of the input being read; -1 before the first
	name  string
	f     *os.File
	br    *bufio.Reader
	left  int64 // bytes of the spill file not read yet
	docs  int64 // documents read from it
	buf   []byte
	limit int64
}

func (r *spillReader) close() {
	if r.f != nil {
		r.f.Close()
		r.f = nil
	}
}

// next returns the next document, or io.EOF after the last.
func (r *spillReader) next() (PartDoc, error) {
	for r.f == nil || r.left == 0 {
		if r.f != nil {
			if want := r.files[r.file].PartDocs[r.part]; r.docs != want {
				return PartDoc{}, fmt.Errorf("spill %s: %d document(s), want %d", r.name, r.docs, want)
			}
			r.close()
		}
		r.file++
		for r.file < len(r.files) && r.files[r.file].PartDocs[r.part] == 0 {
			r.file++
		}
		if r.file == len(r.files) {
			return PartDoc{}, io.EOF
		}
		r.name = filepath.Join(spillFileDir(r.dir, r.file), spillFileName(r.part))
		f, err := fileio.OpenRegular(r.name)
		if err != nil {
			return PartDoc{}, fmt.Errorf("spill: %w", err)
		}
		st, err := f.Stat()
		if err != nil {
			f.Close()
			return PartDoc{}, fmt.Errorf("spill %s: %w", r.name, err)
		}
		r.f, r.left, r.docs = f, st.Size(), 0
		if r.br == nil {
			r.br = bufio.NewReaderSize(f, 256<<10)
			r.limit = r.p.maxSpillRecord()
		} else {
			r.br.Reset(f)
		}
	}
	n, err := binary.ReadUvarint(r.br)
	if err != nil {
		return PartDoc{}, fmt.Errorf("spill %s: document %d: %w", r.name, r.docs, noEOF(err))
	}
	r.left -= int64(uvarintLen(n))
	if n == 0 || int64(n) > r.left || int64(n) > r.limit {
		return PartDoc{}, fmt.Errorf("spill %s: document %d: record of %d bytes, with %d left in the file (at most %d)", r.name, r.docs, n, r.left, r.limit)
	}
	if uint64(cap(r.buf)) < n {
		r.buf = make([]byte, n)
	}
	r.buf = r.buf[:n]
	if _, err := io.ReadFull(r.br, r.buf); err != nil {
		return PartDoc{}, fmt.Errorf("spill %s: document %d: %w", r.name, r.docs, noEOF(err))
	}
	r.left -= int64(n)
	var d PartDoc
	if err := d.UnmarshalBinary(r.buf); err != nil {
		return PartDoc{}, fmt.Errorf("spill %s: document %d: %w", r.name, r.docs, err)
	}
	if d.FileIndex != r.file {
		return PartDoc{}, fmt.Errorf("spill %s: document %d is of input %d", r.name, r.docs, d.FileIndex)
	}
	r.docs++
	return d, nil
}

// noEOF turns io.EOF, in the middle of a record, into io.ErrUnexpectedEOF.
func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// uvarintLen returns the bytes of v's unsigned varint encoding.
func uvarintLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}
