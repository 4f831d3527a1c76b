package pipeline

import (
	"bufio"
	"cmp"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/zeebo/xxh3"

	"github.com/kiln-bert/kiln/internal/atomicfile"
	"github.com/kiln-bert/kiln/internal/fielddiff"
	"github.com/kiln-bert/kiln/internal/fileio"
	"github.com/kiln-bert/kiln/shards"
)

// The local engine of partitioned prep keeps what must wait between the two phases on disk,
// in DIR/.spill. The inputs are cut into groups of consecutive files (spillGroups); each
// group is tokenized by one worker into one spill file (file-NNNNNN.bin, named by its first
// input), holding its tokenized documents (PartDoc encodings, each after its length as an
// unsigned varint) in chunks of one partition each, then a trailer: the group's file results
// and where each chunk lies (JSON), the JSON's length (8 bytes, little-endian) and spillMagic.
// It is written under a temporary name, synced and renamed: a group whose spill file exists
// is complete. (One file per group of inputs, not per input and partition: creating and
// opening files is what costs most here.) Phase 2 reads a partition's chunks group after
// group, so its documents arrive in canonical order without sorting. The spill is removed
// once the manifest is written.
const (
	spillDirName = ".spill"
	// spillSettingsName records, in DIR/.spill, the settings the spill was made with.
	spillSettingsName = "settings.json"
	// spillFlushBytes bounds what one group's tokenizing holds before it writes its
	// partitions' chunks.
	spillFlushBytes = 4 << 20
	spillMagic      = "KILNSPL2"
	// A group holds about spillGroupBytes of input, less when the corpus is small, so that
	// there are 8 groups a worker.
	spillGroupBytes    = 16 << 20
	spillGroupMinBytes = 64 << 10
)

// spillChunk is one run of a partition's documents in a spill file.
type spillChunk struct {
	Part int    `json:"p"`
	Off  int64  `json:"o"`
	Len  int64  `json:"l"`
	Docs int64  `json:"d"`
	Sum  uint64 `json:"x"` // XXH3-64 of the chunk's bytes
}

// spillRecord is a spill file's trailer: the results of the group's inputs (First, First+1,
// ...), its chunks in file order and the size of the data before the trailer.
type spillRecord struct {
	First   int          `json:"first"`
	Results []FileResult `json:"results"`
	Chunks  []spillChunk `json:"chunks"`
	Size    int64        `json:"size"`
}

func spillFile(dir string, first int) string {
	return filepath.Join(dir, spillDirName, fmt.Sprintf("file-%06d.bin", first))
}

// spillGroups cuts inputs into runs of consecutive files, [first, end), of about
// min(spillGroupBytes, total/(8*workers)) bytes on disk each (at least spillGroupMinBytes).
// The grouping changes only how the spill is laid out, never the output.
func spillGroups(inputs []Input, workers int) [][2]int {
	var total int64
	for _, in := range inputs {
		total += in.Size
	}
	target := min(int64(spillGroupBytes), max(int64(spillGroupMinBytes), total/int64(8*max(workers, 1))))
	var groups [][2]int
	start, size := 0, int64(0)
	for i, in := range inputs {
		if size += in.Size; size >= target || i == len(inputs)-1 {
			groups = append(groups, [2]int{start, i + 1})
			start, size = i+1, 0
		}
	}
	return groups
}

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
	spills, err := p.spillAll(ctx, dir)
	if err != nil {
		return nil, err
	}
	parts, err := p.prepareAll(ctx, dir, spills)
	if err != nil {
		return nil, err
	}
	var files []FileResult
	for _, g := range spills {
		files = append(files, g.Results...)
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
		if err := atomicfile.WriteJSON(filepath.Join(dir, StatsName), sum); err != nil {
			return nil, err
		}
	}
	return sum, nil
}

// checkRunDir refuses a directory that holds another kind of run, or a partitioned run of
// other settings, and removes partition directories beyond this run's partitions.
func (p *Partitioner) checkRunDir(dir string) error {
	if _, err := os.Stat(filepath.Join(dir, shards.ProgressName)); err == nil {
		return fmt.Errorf("output %s holds an interrupted unpartitioned run (%s): finish it with the same command, or use another directory", dir, shards.ProgressName)
	}
	if m, err := shards.ReadManifest(dir); err == nil {
		type shardSettings struct { // as the manifest names them
			Compression shards.Compression `json:"compression"`
			ArrowFormat shards.IPCFormat   `json:"arrow_format"`
			ShardBytes  int64              `json:"shard_bytes"`
			Bins        []int              `json:"bins"`
		}
		now := shardSettings{cmp.Or(p.o.Compression, shards.Zstd), cmp.Or(p.o.Format, shards.IPCFile), p.o.ShardBytes, p.o.Bins}
		if now.ShardBytes <= 0 {
			now.ShardBytes = shards.DefaultShardBytes
		}
		there := shardSettings{m.Compression, m.ArrowFormat, m.ShardBytes, m.Bins}
		diff := fielddiff.Diffs(m.Config, json.RawMessage(p.cfgJSON), "(there)", "(now)")
		diff = append(diff, fielddiff.Diffs(there, now, "(there)", "(now)")...)
		if len(diff) > 0 {
			return fmt.Errorf("output %s holds a run with different settings (%s): use another directory, or the same settings", dir, strings.Join(diff, "; "))
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("output %s: %w", dir, err)
	}
	// An interrupted partitioned run of other settings is refused too: its spill and its
	// complete partitions record the settings they were made with.
	interrupted := func(settings string) error {
		diff := fielddiff.Diffs(json.RawMessage(settings), json.RawMessage(p.settings), "(there)", "(now)")
		return fmt.Errorf("output %s holds an interrupted run with different settings (%s): use another directory, or the same settings", dir, strings.Join(diff, "; "))
	}
	if b, err := fileio.ReadRegular(filepath.Join(dir, spillDirName, spillSettingsName), fileio.MaxManifest); err == nil && string(b) != p.settings && json.Valid(b) {
		return interrupted(string(b))
	}
	if recs, _ := filepath.Glob(filepath.Join(dir, "part-*", PartitionResultName)); len(recs) > 0 {
		if n, ok := partitionIndex(filepath.Base(filepath.Dir(recs[0]))); ok && n < p.n {
			if r, err := ReadPartitionResult(dir, n); err == nil && r.Settings != p.settings && json.Valid([]byte(r.Settings)) {
				return interrupted(r.Settings)
			}
		}
	}
	if old, _ := filepath.Glob(filepath.Join(dir, "shard-*.arrow")); len(old) > 0 {
		return fmt.Errorf("output %s holds shards of an unpartitioned run: use another directory", dir)
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

// checkNoPartitionedRun refuses, for an unpartitioned Prep, a directory that holds an
// interrupted partitioned run (its spill or a partition directory): Prep would write beside
// it. (A finished one is refused by its manifest's config.)
func checkNoPartitionedRun(dir string) error {
	parts, _ := filepath.Glob(filepath.Join(dir, "part-*", PartitionResultName))
	if _, err := os.Stat(filepath.Join(dir, spillDirName)); err == nil || len(parts) > 0 {
		return fmt.Errorf("output %s holds an interrupted partitioned run: finish it with the same command, or use another directory", dir)
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

// spillAll is phase 1: every group of inputs tokenized into DIR/.spill, or its complete
// spill kept. It returns the groups' records in input order.
func (p *Partitioner) spillAll(ctx context.Context, dir string) ([]spillRecord, error) {
	sd := filepath.Join(dir, spillDirName)
	sp := filepath.Join(sd, spillSettingsName)
	if b, err := fileio.ReadRegular(sp, fileio.MaxManifest); err != nil || string(b) != p.settings {
		// No spill, or one of other settings: start it afresh.
		if err := os.RemoveAll(sd); err != nil {
			return nil, fmt.Errorf("output %s: %w", dir, err)
		}
		if err := os.MkdirAll(sd, 0o755); err != nil {
			return nil, fmt.Errorf("output %s: %w", dir, err)
		}
		if err := writeSmallFile(sp, []byte(p.settings)); err != nil {
			return nil, fmt.Errorf("output %s: %w", dir, err)
		}
	}
	tmps, _ := filepath.Glob(filepath.Join(sd, ".*.tmp"))
	for _, t := range tmps {
		if err := os.Remove(t); err != nil {
			return nil, fmt.Errorf("output %s: %w", dir, err)
		}
	}
	groups := spillGroups(p.e.inputs, p.e.cfg.Workers)
	keep := map[string]bool{sp: true}
	for _, g := range groups {
		keep[spillFile(dir, g[0])] = true
	}
	// Spill files of another grouping (a run with other workers) are not this run's.
	old, _ := filepath.Glob(filepath.Join(sd, "file-*.bin"))
	for _, f := range old {
		if !keep[f] {
			if err := os.Remove(f); err != nil {
				return nil, fmt.Errorf("output %s: %w", dir, err)
			}
		}
	}
	res := make([]spillRecord, len(groups))
	err := forEach(ctx, len(groups), p.e.cfg.Workers, func(ctx context.Context, i int) error {
		r, err := p.spillGroup(ctx, dir, groups[i][0], groups[i][1])
		res[i] = r
		return err
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// spillGroup tokenizes inputs [first, end) into their spill file, unless that is complete.
func (p *Partitioner) spillGroup(ctx context.Context, dir string, first, end int) (spillRecord, error) {
	name := spillFile(dir, first)
	if rec, err := p.readSpillRecord(name, first, end); err == nil {
		for _, r := range rec.Results {
			p.e.docs.Add(r.Source.Documents)
		}
		return *rec, nil
	}
	tmp := filepath.Join(filepath.Dir(name), "."+filepath.Base(name)+".tmp")
	f, err := os.Create(tmp)
	if err != nil {
		return spillRecord{}, fmt.Errorf("spill: %w", err)
	}
	defer func() {
		if f != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	rec := spillRecord{First: first}
	bufs := make([][]byte, p.n)
	docs := make([]int64, p.n)
	buffered := 0
	// flush writes each partition's buffered documents as one chunk.
	flush := func() error {
		for part, b := range bufs {
			if len(b) == 0 {
				continue
			}
			if _, err := f.Write(b); err != nil {
				return fmt.Errorf("spill %s: %w", tmp, err)
			}
			rec.Chunks = append(rec.Chunks, spillChunk{Part: part, Off: rec.Size, Len: int64(len(b)), Docs: docs[part], Sum: xxh3.Hash(b)})
			rec.Size += int64(len(b))
			docs[part] = 0
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
	for i := first; i < end; i++ {
		in := p.e.inputs[i]
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
			docs[part]++
			if buffered += len(bufs[part]) - n; buffered >= spillFlushBytes {
				return flush()
			}
			return nil
		})
		if err != nil {
			return rec, err
		}
		rec.Results = append(rec.Results, r)
	}
	if err := flush(); err != nil {
		return rec, err
	}
	trailer, err := json.Marshal(&rec)
	if err != nil {
		return rec, err
	}
	trailer = binary.LittleEndian.AppendUint64(trailer, uint64(len(trailer)))
	trailer = append(trailer, spillMagic...)
	if _, err := f.Write(trailer); err != nil {
		return rec, fmt.Errorf("spill %s: %w", tmp, err)
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	f = nil
	if err == nil {
		err = os.Rename(tmp, name)
	}
	if err != nil {
		os.Remove(tmp)
		return rec, fmt.Errorf("spill %s: %w", name, err)
	}
	if err := atomicfile.SyncDir(filepath.Dir(name)); err != nil {
		return rec, fmt.Errorf("spill %s: %w", name, err)
	}
	return rec, nil
}

// readSpillRecord reads the trailer of the spill file of inputs [first, end) and checks it
// against the file and the run: every chunk inside the data, of a partition of the run, the
// documents counted alike in the chunks and the results.
func (p *Partitioner) readSpillRecord(name string, first, end int) (*spillRecord, error) {
	f, err := fileio.OpenRegular(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	bad := func(format string, args ...any) error {
		return fmt.Errorf("spill %s: %s", name, fmt.Sprintf(format, args...))
	}
	size := st.Size()
	var tail [16]byte
	if size < 16 {
		return nil, bad("%d bytes: no trailer", size)
	}
	if _, err := f.ReadAt(tail[:], size-16); err != nil {
		return nil, bad("%v", err)
	}
	n := binary.LittleEndian.Uint64(tail[:8])
	if string(tail[8:]) != spillMagic || n > uint64(size-16) || n > fileio.MaxManifest {
		return nil, bad("no valid trailer")
	}
	b := make([]byte, n)
	if _, err := f.ReadAt(b, size-16-int64(n)); err != nil {
		return nil, bad("%v", err)
	}
	var rec spillRecord
	if err := json.Unmarshal(b, &rec); err != nil {
		return nil, bad("trailer: %v", err)
	}
	if rec.First != first || len(rec.Results) != end-first || rec.Size != size-16-int64(n) {
		return nil, bad("trailer of other inputs or another run")
	}
	want := make([]int64, p.n)
	for i, r := range rec.Results {
		if r.Index != first+i || len(r.PartDocs) != p.n {
			return nil, bad("trailer of other inputs or another run")
		}
		for part, d := range r.PartDocs {
			want[part] += d
		}
	}
	docs := make([]int64, p.n)
	var off int64
	for _, c := range rec.Chunks {
		if c.Part < 0 || c.Part >= p.n || c.Off != off || c.Len <= 0 || c.Docs <= 0 || c.Len > rec.Size-off {
			return nil, bad("chunk %+v out of place", c)
		}
		off += c.Len
		docs[c.Part] += c.Docs
	}
	if off != rec.Size || !slices.Equal(docs, want) {
		return nil, bad("chunks do not add up to the documents recorded")
	}
	return &rec, nil
}

// prepareAll is phase 2: every partition prepared from its spill, or its complete result
// kept.
func (p *Partitioner) prepareAll(ctx context.Context, dir string, spills []spillRecord) ([]PartitionResult, error) {
	res := make([]PartitionResult, p.n)
	err := forEach(ctx, p.n, p.e.cfg.Workers, func(ctx context.Context, part int) error {
		if r, ok := p.checkPartition(dir, part); ok {
			res[part] = *r
			return nil
		}
		if err := os.RemoveAll(filepath.Join(dir, PartitionDirName(part))); err != nil {
			return fmt.Errorf("output %s: %w", dir, err)
		}
		sr := &spillReader{p: p, dir: dir, spills: spills, part: part, group: -1}
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

// spillReader returns a partition's spilled documents, group after group, chunk after chunk.
type spillReader struct {
	p      *Partitioner
	dir    string
	spills []spillRecord
	part   int

	group int // index in spills of the group being read; -1 before the first
	chunk int // index in spills[group].Chunks of the next chunk to read
	name  string
	f     *os.File
	br    *bufio.Reader
	left  int64 // bytes of the current chunk not read yet
	docs  int64 // documents left in the current chunk
	sum   uint64
	hash  *xxh3.Hasher // of the current chunk's bytes as read
	buf   []byte
	limit int64
	// ids and sents are the storage of the last document's sentences, reused for the next:
	// PrepareSorted lets go of a document before it asks for the next one.
	ids   []int32
	sents [][]int32
}

// maxReusedIDs bounds the storage of ids a spillReader keeps from one document to the next.
const maxReusedIDs = 1 << 20

func (r *spillReader) close() {
	if r.f != nil {
		r.f.Close()
		r.f = nil
	}
}

// nextChunk moves to the partition's next chunk; false after the last.
func (r *spillReader) nextChunk() (bool, error) {
	for {
		if r.group >= 0 {
			cs := r.spills[r.group].Chunks
			for ; r.chunk < len(cs); r.chunk++ {
				if c := cs[r.chunk]; c.Part == r.part {
					if r.f == nil {
						r.name = spillFile(r.dir, r.spills[r.group].First)
						f, err := fileio.OpenRegular(r.name)
						if err != nil {
							return false, fmt.Errorf("spill: %w", err)
						}
						r.f = f
					}
					r.chunk++
					r.hash.Reset()
					r.br.Reset(io.TeeReader(io.NewSectionReader(r.f, c.Off, c.Len), r.hash))
					r.left, r.docs, r.sum = c.Len, c.Docs, c.Sum
					return true, nil
				}
			}
			r.close()
		}
		r.group++
		r.chunk = 0
		if r.group == len(r.spills) {
			return false, nil
		}
		if r.br == nil {
			r.br = bufio.NewReaderSize(nil, 256<<10)
			r.limit = r.p.maxSpillRecord()
			r.hash = xxh3.New()
		}
	}
}

// next returns the next document, or io.EOF after the last.
func (r *spillReader) next() (PartDoc, error) {
	for r.f == nil || r.docs == 0 {
		if r.f != nil && r.left != 0 {
			return PartDoc{}, fmt.Errorf("spill %s: partition %d: %d bytes after the chunk's last document", r.name, r.part, r.left)
		}
		if r.f != nil && r.hash.Sum64() != r.sum {
			return PartDoc{}, fmt.Errorf("spill %s: partition %d: a chunk does not match its checksum: the file was damaged", r.name, r.part)
		}
		ok, err := r.nextChunk()
		if err != nil {
			return PartDoc{}, err
		}
		if !ok {
			return PartDoc{}, io.EOF
		}
	}
	n, err := binary.ReadUvarint(r.br)
	if err != nil {
		return PartDoc{}, fmt.Errorf("spill %s: partition %d: %w", r.name, r.part, noEOF(err))
	}
	r.left -= int64(uvarintLen(n))
	if n == 0 || int64(n) > r.left || int64(n) > r.limit {
		return PartDoc{}, fmt.Errorf("spill %s: partition %d: record of %d bytes, with %d left in its chunk (at most %d)", r.name, r.part, n, r.left, r.limit)
	}
	if uint64(cap(r.buf)) < n {
		r.buf = make([]byte, n)
	}
	r.buf = r.buf[:n]
	if _, err := io.ReadFull(r.br, r.buf); err != nil {
		return PartDoc{}, fmt.Errorf("spill %s: partition %d: %w", r.name, r.part, noEOF(err))
	}
	r.left -= int64(n)
	r.docs--
	var d PartDoc
	ids, err := d.decode(r.buf, r.ids, r.sents)
	if cap(ids) <= maxReusedIDs { // (a long document's: not kept for the rest)
		r.ids, r.sents = ids[:0], d.Sentences[:0]
	}
	if err != nil {
		return PartDoc{}, fmt.Errorf("spill %s: partition %d: %w", r.name, r.part, err)
	}
	if g := r.spills[r.group]; d.FileIndex < g.First || d.FileIndex >= g.First+len(g.Results) {
		return PartDoc{}, fmt.Errorf("spill %s: a document of input %d", r.name, d.FileIndex)
	}
	return d, nil
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
	return atomicfile.SyncDir(filepath.Dir(path))
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
