package shards

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/ipc"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/zeebo/xxh3"

	"github.com/kiln-bert/kiln/internal/fileio"
)

// Defaults for Options.
const (
	DefaultShardBytes   = 128 << 20
	DefaultRowsPerBatch = 8192
)

// Options configures a Writer.
type Options struct {
	Dir          string // output directory, created if missing
	Compression  string // zstd (default), lz4 or none
	Format       string // file (default, random access) or stream
	ShardBytes   int64  // a shard is closed once it holds at least this many bytes; default 128 MiB
	RowsPerBatch int    // rows per Arrow record batch; default 8192
	Static       bool   // rows carry masked_lm_positions and masked_lm_ids

	VocabSize      int     // ids are stored as uint16 when <= 65,536, else uint32
	MaxSeqLen      int     // longest row allowed, counting [CLS] and [SEP]
	Special        Special // special token ids, stored for Verify and Stats
	Task           string  // nsp (default), sop or none (one segment, label -1)
	MaxPredictions int     // if > 0, Verify checks len(masked_lm_positions) <= it

	// Bins, when set, groups rows by length like NVIDIA LDDL: a row of length n
	// goes to the shard series of the first bound >= n, in DIR/bin-NNN/.
	// Ascending; the last bound must be >= MaxSeqLen.
	Bins []int

	Metadata map[string]string // stored in each shard's schema metadata (MetaVersion, MetaVocabSHA256, ...)
	Config   json.RawMessage   // full run config: in the manifest and under MetaConfig
	Inputs   []Input           // inputs consumed; may also be set later with SetInputs

	// Resume continues an interrupted run in Dir: shards recorded complete in
	// DIR/.progress.json (and still matching their sha256) are kept, and the
	// rows that belong to them are checked and skipped instead of rewritten.
	// The caller must feed the same rows in the same order as the first run.
	// Without Resume, a directory that already holds a run is an error.
	Resume bool
}

// Writer writes rows into rotating shards and a manifest. It is not safe for
// concurrent use; rows must arrive in a deterministic order for
// byte-identical output.
type Writer struct {
	o        Options
	info     Info
	schema   *arrow.Schema
	ipcOpts  []ipc.Option
	mem      memory.Allocator
	series   []*series
	progress *Manifest
	rows     int64 // rows passed to Write
	enc      encodedRow
	closed   bool
}

// encodedRow is a row converted to its stored types, checked on the way;
// the Writer reuses it for every row.
type encodedRow struct {
	hdr   [9]byte  // len(input_ids), len(masked_lm_positions), label: the start of the row hash
	ids16 []uint16 // input_ids (uint32 in ids32 for a wide vocabulary)
	ids32 []uint32
	types []uint8
	pos   []uint16 // masked_lm_positions
	mid16 []uint16 // masked_lm_ids (uint32 in mid32 for a wide vocabulary)
	mid32 []uint32
}

// series is one sequence of shards: the whole output, or one length bin.
type series struct {
	bin  int
	dir  string      // relative to Options.Dir, "" without binning
	done []ShardInfo // complete shards from an interrupted run, in order
	next int         // index of the shard being written or skipped

	rows, tokens int64        // in the current shard
	rowsHash     *xxh3.Hasher // of the current shard's rows

	rb      *array.RecordBuilder
	cols    columns // rb's builders
	pending int     // rows in rb
	last    [3]int  // rows, tokens and masked positions of the last batch taken from rb

	f   *os.File
	hw  *hashWriter
	fw  *ipc.FileWriter
	sw  *ipc.Writer
	tmp string
}

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
	return 0, errors.New("shards: seek not supported while writing")
}

// NewWriter prepares Options.Dir and returns a Writer.
func NewWriter(o Options) (*Writer, error) {
	if o.Dir == "" {
		return nil, errors.New("shards: Options.Dir is empty")
	}
	if o.Compression == "" {
		o.Compression = "zstd"
	}
	if o.Format == "" {
		o.Format = "file"
	}
	if o.ShardBytes <= 0 {
		o.ShardBytes = DefaultShardBytes
	}
	if o.RowsPerBatch <= 0 {
		o.RowsPerBatch = DefaultRowsPerBatch
	}
	if o.Task == "" {
		o.Task = "nsp"
	}
	w := &Writer{o: o, mem: memory.NewGoAllocator()}
	switch o.Compression {
	case "zstd":
		w.ipcOpts = append(w.ipcOpts, ipc.WithZstd())
	case "lz4":
		w.ipcOpts = append(w.ipcOpts, ipc.WithLZ4())
	case "none":
	default:
		return nil, fmt.Errorf("shards: compression %q: want zstd, lz4 or none", o.Compression)
	}
	if o.Format != "file" && o.Format != "stream" {
		return nil, fmt.Errorf("shards: format %q: want file or stream", o.Format)
	}
	w.info = Info{
		VocabSize: o.VocabSize, MaxSeqLen: o.MaxSeqLen, Special: o.Special, Task: o.Task,
		Static: o.Static, MaxPredictions: o.MaxPredictions, RowsPerBatch: o.RowsPerBatch,
	}
	if err := w.info.Validate(); err != nil {
		return nil, fmt.Errorf("shards: %w", err)
	}
	for i, b := range o.Bins {
		if b <= 0 || (i > 0 && b <= o.Bins[i-1]) {
			return nil, fmt.Errorf("shards: bins %v: want ascending positive bounds", o.Bins)
		}
	}
	if len(o.Bins) > 0 && o.Bins[len(o.Bins)-1] < o.MaxSeqLen {
		return nil, fmt.Errorf("shards: last bin %d is below max_seq_len %d", o.Bins[len(o.Bins)-1], o.MaxSeqLen)
	}
	if o.Config != nil && !json.Valid(o.Config) {
		return nil, errors.New("shards: Options.Config is not valid JSON")
	}

	md := make(map[string]string, len(o.Metadata)+2)
	for k, v := range o.Metadata {
		md[k] = v
	}
	if _, ok := md[MetaConfig]; !ok && o.Config != nil {
		md[MetaConfig] = string(o.Config)
	}
	ij, _ := json.Marshal(w.info)
	md[MetaShards] = string(ij)
	w.schema = schemaFor(w.info, md)

	w.progress = &Manifest{
		Format: ManifestFormat, ArrowFormat: o.Format, Compression: o.Compression,
		ShardBytes: o.ShardBytes, Bins: o.Bins, Info: w.info, Metadata: o.Metadata,
		Config: o.Config, Inputs: o.Inputs, Shards: []ShardInfo{},
	}
	if len(o.Bins) == 0 {
		w.series = []*series{{}}
	}
	for _, b := range o.Bins {
		w.series = append(w.series, &series{bin: b, dir: binDir(b)})
	}
	for _, s := range w.series {
		if err := os.MkdirAll(filepath.Join(o.Dir, s.dir), 0o755); err != nil {
			return nil, fmt.Errorf("shards: %w", err)
		}
		s.rowsHash = xxh3.New()
	}
	if err := w.prepareDir(); err != nil {
		return nil, err
	}
	return w, nil
}

// prepareDir removes stale temporary files and, when resuming, loads the
// shards completed by an earlier run.
func (w *Writer) prepareDir() error {
	dir := w.o.Dir
	for _, s := range w.series {
		tmps, _ := filepath.Glob(filepath.Join(dir, s.dir, ".shard-*.tmp"))
		for _, t := range tmps {
			if err := os.Remove(t); err != nil {
				return fmt.Errorf("shards: removing stale %s: %w", t, err)
			}
		}
	}
	for _, n := range []string{"." + ManifestName + ".tmp", "." + ProgressName + ".tmp"} {
		os.Remove(filepath.Join(dir, n))
	}

	var old *Manifest
	for _, n := range []string{ProgressName, ManifestName} {
		m, err := readManifestFile(filepath.Join(dir, n))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("shards: %w", err)
		}
		old = m
		break
	}
	if old == nil {
		existing, _ := filepath.Glob(filepath.Join(dir, "shard-*.arrow"))
		binned, _ := filepath.Glob(filepath.Join(dir, "bin-*", "shard-*.arrow"))
		if len(existing)+len(binned) > 0 && !w.o.Resume {
			return fmt.Errorf("shards: %s holds shard files but no manifest: use an empty directory or Resume", dir)
		}
		return w.saveProgress()
	}
	if !w.o.Resume {
		return fmt.Errorf("shards: %s already holds a run (%s): use an empty directory or Resume", dir, ManifestName)
	}
	if diff := settingsDiff(old, w.progress); len(diff) > 0 {
		return fmt.Errorf("shards: %s holds a run with different settings (%s): cannot resume it; use another directory, or the same settings",
			dir, strings.Join(diff, "; "))
	}
	// Keep, per series, the leading shards whose files still match.
	bad := map[int]bool{}
	for _, sh := range old.Shards {
		s := w.seriesOf(sh.Bin)
		if s == nil || bad[sh.Bin] || path.Join(s.dir, shardName(len(s.done))) != sh.File {
			bad[sh.Bin] = true
			continue
		}
		size, sum, err := fileSHA256(filepath.Join(dir, filepath.FromSlash(sh.File)))
		if err != nil || size != sh.Bytes || sum != sh.SHA256 {
			bad[sh.Bin] = true
			continue
		}
		s.done = append(s.done, sh)
		w.progress.Shards = append(w.progress.Shards, sh)
	}
	return w.saveProgress()
}

func (w *Writer) seriesOf(bin int) *series {
	for _, s := range w.series {
		if s.bin == bin {
			return s
		}
	}
	return nil
}

func shardName(i int) string { return fmt.Sprintf("shard-%05d.arrow", i) }

// SetInputs records the inputs consumed, for the manifest written by Close.
func (w *Writer) SetInputs(in []Input) { w.o.Inputs = in; w.progress.Inputs = in }

// Write adds one row. Row slices are copied; the caller may reuse them.
func (w *Writer) Write(r *Row) error {
	if w.closed {
		return errors.New("shards: Write after Close")
	}
	w.rows++
	if err := w.encode(r); err != nil {
		return fmt.Errorf("shards: row %d: %w", w.rows-1, err)
	}
	s := w.series[0]
	if len(w.o.Bins) > 0 {
		i := sort.SearchInts(w.o.Bins, len(r.InputIDs))
		s = w.series[i]
	}
	w.enc.hash(s.rowsHash)
	s.rows++
	s.tokens += int64(len(r.InputIDs))
	if s.next < len(s.done) {
		return w.skip(s)
	}
	w.appendRow(s, r.NextSentenceLabel)
	if s.pending >= w.o.RowsPerBatch {
		return w.flush(s)
	}
	return nil
}

// encode checks r against the options and converts it into w.enc, in one
// pass over each column. Nothing is stored when r is invalid.
func (w *Writer) encode(r *Row) error {
	n := len(r.InputIDs)
	switch {
	case n == 0:
		return errors.New("empty input_ids")
	case n > w.o.MaxSeqLen:
		return fmt.Errorf("length %d exceeds max_seq_len %d", n, w.o.MaxSeqLen)
	case len(r.TokenTypeIDs) != n:
		return fmt.Errorf("%d token_type_ids for %d input_ids", len(r.TokenTypeIDs), n)
	case len(r.MaskedPositions) != len(r.MaskedIDs):
		return fmt.Errorf("%d masked positions but %d masked ids", len(r.MaskedPositions), len(r.MaskedIDs))
	case !w.o.Static && len(r.MaskedPositions) > 0:
		return errors.New("masked positions given but Options.Static is false")
	}
	e := &w.enc
	bad := w.convertIDs(&e.ids16, &e.ids32, r.InputIDs)
	if bad >= 0 {
		return fmt.Errorf("input id %d outside vocabulary of %d", r.InputIDs[bad], w.o.VocabSize)
	}
	e.types = slices.Grow(e.types[:0], n)[:n]
	for i, t := range r.TokenTypeIDs {
		if t < 0 {
			return fmt.Errorf("negative token type %d", t)
		}
		e.types[i] = uint8(t)
	}
	// MaxSeqLen <= 65,536, so a position within the row fits 16 bits.
	if e.pos, bad = convert(e.pos, r.MaskedPositions, n); bad >= 0 {
		return fmt.Errorf("masked position %d outside row of %d tokens", r.MaskedPositions[bad], n)
	}
	if bad = w.convertIDs(&e.mid16, &e.mid32, r.MaskedIDs); bad >= 0 {
		return fmt.Errorf("masked id %d outside vocabulary of %d", r.MaskedIDs[bad], w.o.VocabSize)
	}
	binary.LittleEndian.PutUint32(e.hdr[0:], uint32(n))
	binary.LittleEndian.PutUint32(e.hdr[4:], uint32(len(r.MaskedPositions)))
	e.hdr[8] = byte(r.NextSentenceLabel)
	return nil
}

// convertIDs stores token ids in narrow (uint16), or in wide (uint32) for a vocabulary over
// 65,536, and returns the index of the first id outside the vocabulary, or -1.
func (w *Writer) convertIDs(narrow *[]uint16, wide *[]uint32, ids []int32) (bad int) {
	if w.info.wide() {
		*wide, bad = convert(*wide, ids, w.o.VocabSize)
	} else {
		*narrow, bad = convert(*narrow, ids, w.o.VocabSize)
	}
	return bad
}

// convert stores vs in buf (reusing its storage) as T, checking that each
// is in [0, limit); it returns the index of the first that is not, or -1.
func convert[T uint16 | uint32](buf []T, vs []int32, limit int) ([]T, int) {
	buf = slices.Grow(buf[:0], len(vs))[:len(vs)]
	for i, v := range vs {
		if uint32(v) >= uint32(limit) { // also catches v < 0
			return buf[:0], i
		}
		buf[i] = T(v)
	}
	return buf, -1
}

// hash adds the encoded row to h: its lengths and label, then each column's
// values as stored in the Arrow buffers (2 or 4 bytes per id, little-endian
// on the platforms Arrow supports; 1 byte per token type). A resumed run
// compares these hashes to check that it regenerates the same rows.
func (e *encodedRow) hash(h *xxh3.Hasher) {
	h.Write(e.hdr[:])
	h.Write(arrow.Uint16Traits.CastToBytes(e.ids16))
	h.Write(arrow.Uint32Traits.CastToBytes(e.ids32))
	h.Write(e.types)
	h.Write(arrow.Uint16Traits.CastToBytes(e.pos))
	h.Write(arrow.Uint16Traits.CastToBytes(e.mid16))
	h.Write(arrow.Uint32Traits.CastToBytes(e.mid32))
}

// rowsSum returns the hex XXH3-128 of the rows hashed so far.
func rowsSum(h *xxh3.Hasher) string {
	sum := h.Sum128().Bytes()
	return hex.EncodeToString(sum[:])
}

// skip accounts for a row that belongs to a shard completed by an earlier run.
func (w *Writer) skip(s *series) error {
	sh := s.done[s.next]
	if s.rows < sh.Rows {
		return nil
	}
	if sh.RowsXXH3 == "" {
		return fmt.Errorf("shards: resume: %s was recorded without rows_xxh3 (by an older kiln): cannot check it; start again in an empty directory", sh.File)
	}
	if rowsSum(s.rowsHash) != sh.RowsXXH3 || s.tokens != sh.Tokens {
		return fmt.Errorf("shards: resume: rows regenerated for %s differ from those the earlier run wrote there (same input and seed?)", sh.File)
	}
	s.next++
	s.rows, s.tokens = 0, 0
	s.rowsHash.Reset()
	return nil
}

// columns holds the builders of a record batch, typed once.
type columns struct {
	ids, types, pos, mids *array.ListBuilder
	label                 *array.Int8Builder
	ids16, mid16, pos16   *array.Uint16Builder
	ids32, mid32          *array.Uint32Builder
	types8                *array.Uint8Builder
}

func newColumns(rb *array.RecordBuilder, static bool) columns {
	var c columns
	c.ids = rb.Field(0).(*array.ListBuilder)
	c.types = rb.Field(1).(*array.ListBuilder)
	c.types8 = c.types.ValueBuilder().(*array.Uint8Builder)
	c.label = rb.Field(2).(*array.Int8Builder)
	c.ids16, _ = c.ids.ValueBuilder().(*array.Uint16Builder)
	c.ids32, _ = c.ids.ValueBuilder().(*array.Uint32Builder)
	if static {
		c.pos = rb.Field(3).(*array.ListBuilder)
		c.pos16 = c.pos.ValueBuilder().(*array.Uint16Builder)
		c.mids = rb.Field(4).(*array.ListBuilder)
		c.mid16, _ = c.mids.ValueBuilder().(*array.Uint16Builder)
		c.mid32, _ = c.mids.ValueBuilder().(*array.Uint32Builder)
	}
	return c
}

// lengths returns the rows, tokens and masked positions held by the builders.
func (c *columns) lengths() [3]int {
	n := [3]int{c.label.Len(), c.types8.Len(), 0}
	if c.pos16 != nil {
		n[2] = c.pos16.Len()
	}
	return n
}

// reserve makes room for a batch of the given lengths, so that the builders
// do not regrow from empty for every batch.
func (c *columns) reserve(n [3]int) {
	rows, toks, masked := n[0], n[1], n[2]
	c.ids.Reserve(rows)
	c.types.Reserve(rows)
	c.label.Reserve(rows)
	c.types8.Reserve(toks)
	if c.ids16 != nil {
		c.ids16.Reserve(toks)
	} else {
		c.ids32.Reserve(toks)
	}
	if c.pos != nil {
		c.pos.Reserve(rows)
		c.mids.Reserve(rows)
		c.pos16.Reserve(masked)
		if c.mid16 != nil {
			c.mid16.Reserve(masked)
		} else {
			c.mid32.Reserve(masked)
		}
	}
}

// appendRow appends the row encoded in w.enc to the batch of s.
func (w *Writer) appendRow(s *series, label int8) {
	if s.rb == nil {
		s.rb = array.NewRecordBuilder(w.mem, w.schema)
		s.cols = newColumns(s.rb, w.o.Static)
	}
	c, e := &s.cols, &w.enc
	if s.pending == 0 && s.last[0] > 0 {
		c.reserve(s.last)
	}
	c.ids.Append(true)
	if c.ids16 != nil {
		c.ids16.AppendValues(e.ids16, nil)
	} else {
		c.ids32.AppendValues(e.ids32, nil)
	}
	c.types.Append(true)
	c.types8.AppendValues(e.types, nil)
	c.label.Append(label)
	if w.o.Static {
		c.pos.Append(true)
		c.pos16.AppendValues(e.pos, nil)
		c.mids.Append(true)
		if c.mid16 != nil {
			c.mid16.AppendValues(e.mid16, nil)
		} else {
			c.mid32.AppendValues(e.mid32, nil)
		}
	}
	s.pending++
}

// flush writes the pending rows of s as one record batch and rotates the
// shard when it has reached Options.ShardBytes.
func (w *Writer) flush(s *series) error {
	if s.pending == 0 {
		return nil
	}
	if s.f == nil {
		if err := w.openShard(s); err != nil {
			return err
		}
	}
	s.last = s.cols.lengths()
	rec := s.rb.NewRecord()
	defer rec.Release()
	s.pending = 0
	var err error
	if s.fw != nil {
		err = s.fw.Write(rec)
	} else {
		err = s.sw.Write(rec)
	}
	if err != nil {
		return fmt.Errorf("shards: writing %s: %w", s.tmp, err)
	}
	if s.hw.n >= w.o.ShardBytes {
		return w.finishShard(s)
	}
	return nil
}

func (w *Writer) openShard(s *series) error {
	s.tmp = filepath.Join(w.o.Dir, s.dir, "."+shardName(s.next)+".tmp")
	f, err := os.Create(s.tmp)
	if err != nil {
		return fmt.Errorf("shards: %w", err)
	}
	s.f = f
	s.hw = &hashWriter{f: f, h: sha256.New()}
	opts := append([]ipc.Option{ipc.WithSchema(w.schema), ipc.WithAllocator(w.mem)}, w.ipcOpts...)
	if w.o.Format == "file" {
		s.fw, err = ipc.NewFileWriter(s.hw, opts...)
		if err != nil {
			f.Close()
			os.Remove(s.tmp)
			s.f = nil
			return fmt.Errorf("shards: %s: %w", s.tmp, err)
		}
	} else {
		s.sw = ipc.NewWriter(s.hw, opts...)
	}
	return nil
}

// finishShard completes the current shard: footer, fsync, rename, directory
// fsync, then records it in DIR/.progress.json.
func (w *Writer) finishShard(s *series) error {
	var err error
	if s.fw != nil {
		err = s.fw.Close()
	} else {
		err = s.sw.Close()
	}
	if err == nil {
		err = s.f.Sync()
	}
	if cerr := s.f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(s.tmp)
		return fmt.Errorf("shards: finishing %s: %w", s.tmp, err)
	}
	rel := path.Join(s.dir, shardName(s.next))
	final := filepath.Join(w.o.Dir, filepath.FromSlash(rel))
	if err := os.Rename(s.tmp, final); err != nil {
		return fmt.Errorf("shards: %w", err)
	}
	if err := SyncDir(filepath.Dir(final)); err != nil {
		return fmt.Errorf("shards: %w", err)
	}
	w.progress.Shards = append(w.progress.Shards, ShardInfo{
		File: rel, Bin: s.bin, Rows: s.rows, Tokens: s.tokens, Bytes: s.hw.n,
		SHA256:   hex.EncodeToString(s.hw.h.Sum(nil)),
		RowsXXH3: rowsSum(s.rowsHash),
	})
	s.f, s.fw, s.sw, s.hw, s.tmp = nil, nil, nil, nil, ""
	s.next++
	s.rows, s.tokens = 0, 0
	s.rowsHash.Reset()
	return w.saveProgress()
}

func (w *Writer) saveProgress() error {
	if err := writeJSONAtomic(filepath.Join(w.o.Dir, ProgressName), w.progress); err != nil {
		return fmt.Errorf("shards: %w", err)
	}
	return nil
}

// Close writes the last shards and DIR/manifest.json, then removes the
// progress file and any shard file the manifest does not list.
func (w *Writer) Close() (*Manifest, error) {
	if w.closed {
		return nil, errors.New("shards: Close called twice")
	}
	w.closed = true
	for _, s := range w.series {
		if s.next < len(s.done) {
			w.abort()
			return nil, fmt.Errorf("shards: resume: the rerun produced fewer rows than the interrupted run (%s)", s.done[s.next].File)
		}
		if err := w.flush(s); err != nil {
			w.abort()
			return nil, err
		}
		if s.f != nil {
			if err := w.finishShard(s); err != nil {
				w.abort()
				return nil, err
			}
		}
		if s.rb != nil {
			s.rb.Release()
			s.rb = nil
		}
	}
	m := *w.progress
	m.Shards = append([]ShardInfo(nil), w.progress.Shards...)
	sort.Slice(m.Shards, func(i, j int) bool {
		if m.Shards[i].Bin != m.Shards[j].Bin {
			return m.Shards[i].Bin < m.Shards[j].Bin
		}
		return m.Shards[i].File < m.Shards[j].File
	})
	for _, sh := range m.Shards {
		m.Rows += sh.Rows
		m.Tokens += sh.Tokens
		m.Bytes += sh.Bytes
	}
	if err := writeJSONAtomic(filepath.Join(w.o.Dir, ManifestName), &m); err != nil {
		return nil, fmt.Errorf("shards: %w", err)
	}
	if err := os.Remove(filepath.Join(w.o.Dir, ProgressName)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("shards: %w", err)
	}
	listed := map[string]bool{}
	for _, sh := range m.Shards {
		listed[sh.File] = true
	}
	for _, s := range w.series {
		files, _ := filepath.Glob(filepath.Join(w.o.Dir, s.dir, "shard-*.arrow"))
		for _, f := range files {
			rel := path.Join(s.dir, filepath.Base(f))
			if !listed[rel] && strings.HasSuffix(f, ".arrow") {
				os.Remove(f)
			}
		}
	}
	return &m, nil
}

// Abort stops writing without a manifest: open temporary shards are removed
// and the progress file is kept, so that a rerun with Resume continues.
func (w *Writer) Abort() error {
	w.closed = true
	return w.abort()
}

func (w *Writer) abort() error {
	var first error
	for _, s := range w.series {
		if s.f != nil {
			s.f.Close()
			if err := os.Remove(s.tmp); err != nil && first == nil {
				first = err
			}
			s.f, s.fw, s.sw = nil, nil, nil
		}
		if s.rb != nil {
			s.rb.Release()
			s.rb = nil
		}
	}
	return first
}

// fileSHA256 returns the size and hex sha256 of a file.
func fileSHA256(p string) (int64, string, error) {
	f, err := fileio.OpenRegular(p)
	if err != nil {
		return 0, "", err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return 0, "", fmt.Errorf("%s: %w", p, err)
	}
	return n, hex.EncodeToString(h.Sum(nil)), nil
}
