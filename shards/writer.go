package shards

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/ipc"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/kiln-bert/kiln/internal/atomicfile"
	"github.com/zeebo/xxh3"

	"github.com/kiln-bert/kiln/pairing"
)

// Defaults for Options, and kiln prep's (--shard-mb 128, --rows-per-batch 32768).
const (
	DefaultShardBytes = 128 << 20
	// DefaultRowsPerBatch is large because every buffer of a record batch is compressed as
	// a zstd frame of its own (by one encoder, reused): fewer, larger batches make smaller
	// shards (SOTU in Google's format, dupe 1: 1.825 bytes per token at 32768 rows, 1.837 at
	// 8192, 1.916 at 1024). The writer holds one batch at a time, so memory grows with it.
	DefaultRowsPerBatch = 32768
	// DefaultShuffleBuffer is the rows held by a seeded shuffle buffer of shard rows: kiln
	// prep's before writing (--shuffle-buffer) and the trainer's loader's as it reads.
	DefaultShuffleBuffer = 10000
)

// Layout is how a run's rows are cut into shard files and encoded: the settings a user picks
// for the files, apart from the rows themselves. Options holds it, and so does
// pipeline.ShardOptions.
type Layout struct {
	Compression  Compression // Zstd (default), LZ4 or NoCompression
	Format       IPCFormat   // IPCFile (default, random access) or IPCStream
	ShardBytes   int64       // a shard is closed once it holds at least this many bytes; default 128 MiB
	RowsPerBatch int         // rows per Arrow record batch; default DefaultRowsPerBatch

	// Bins, when set, groups rows by length like NVIDIA LDDL: a row of length n
	// goes to the shard series of the first bound >= n, in DIR/bin-NNN/.
	// Ascending; the last bound must be >= the rows' MaxSeqLen.
	Bins []int
}

// Options configures a Writer.
type Options struct {
	Dir string // output directory, created if missing
	Layout
	Static bool // rows carry masked_lm_positions and masked_lm_ids

	VocabSize      int          // ids are stored as uint16 when <= 65,536, else uint32
	MaxSeqLen      int          // longest row allowed, counting [CLS] and [SEP]
	Special        Special      // special token ids, stored for Verify and Stats
	Task           pairing.Task // pairing.NSP (the zero value), SOP or None (one segment, label -1)
	MaxPredictions int          // if > 0, Verify checks len(masked_lm_positions) <= it

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
	limits   RowLimits // what Write holds each row's shape to
	schema   *arrow.Schema
	ipcOpts  []ipc.Option
	mem      memory.Allocator
	series   []*series
	progress *Manifest
	rows     int64 // rows passed to Write
	closed   bool
	ipcEnc   *ipcEncoder // shared by the shards written by this package's IPC writer
	arrowIPC bool        // write every compression with arrow's ipc writers (tests compare)
	// arrowRecord, when set, makes the records arrow's writers are given (tests: with
	// Arrow's builders); nil: batch.record.
	arrowRecord func(*batch) arrow.Record
}

// series is one sequence of shards: the whole output, or one length bin.
type series struct {
	bin  int
	dir  string      // relative to Options.Dir, "" without binning
	done []ShardInfo // complete shards from an interrupted run, in order
	next int         // index of the shard being written or skipped

	rows, tokens int64        // in the current shard
	rowsHash     *xxh3.Hasher // of the current shard's rows

	batch batch // the rows of the record batch being filled

	f   *os.File
	hw  *hashWriter
	rw  recordWriter // the shard's IPC writer
	tmp string
}

// NewWriter checks o (Options.Validate and Info.Validate, with the defaults of its zero
// values filled in), prepares Options.Dir and returns a Writer.
func NewWriter(o Options) (*Writer, error) {
	if o.Dir == "" {
		return nil, errors.New("Options.Dir is empty")
	}
	o = o.withDefaults()
	if err := o.Validate(); err != nil {
		return nil, err
	}
	w := &Writer{o: o, mem: memory.NewGoAllocator()}
	switch o.Compression {
	case Zstd:
		w.ipcOpts = append(w.ipcOpts, ipc.WithZstd())
	case LZ4:
		w.ipcOpts = append(w.ipcOpts, ipc.WithLZ4())
	}
	sp := o.Special
	sp.UNK = 0 // not stored: an Info read back compares equal to this one
	w.info = Info{
		VocabSize: o.VocabSize, MaxSeqLen: o.MaxSeqLen, Special: sp, Task: o.Task,
		Static: o.Static, MaxPredictions: o.MaxPredictions, RowsPerBatch: o.RowsPerBatch,
	}
	if err := w.info.Validate(); err != nil {
		return nil, err
	}
	w.limits = RowLimits{MaxLen: o.MaxSeqLen, LenName: "max_seq_len", VocabSize: o.VocabSize, NoMasks: !o.Static}
	if o.Config != nil && !json.Valid(o.Config) {
		return nil, errors.New("Options.Config is not valid JSON")
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
			return nil, err
		}
		s.rowsHash = xxh3.New()
		s.batch = newBatch(w.info)
	}
	if err := w.prepareDir(); err != nil {
		return nil, err
	}
	return w, nil
}

func (w *Writer) seriesOf(bin int) *series {
	for _, s := range w.series {
		if s.bin == bin {
			return s
		}
	}
	return nil
}

// SetInputs records the inputs consumed, for the manifest written by Close.
func (w *Writer) SetInputs(in []Input) { w.o.Inputs = in; w.progress.Inputs = in }

// Write adds one row. Row slices are copied; the caller may reuse them.
func (w *Writer) Write(r *Row) error {
	if w.closed {
		return errors.New("Writer.Write after Close")
	}
	w.rows++
	if err := w.limits.CheckCounts(r); err != nil {
		return fmt.Errorf("row %d: %w", w.rows-1, err)
	}
	s := w.series[0]
	if len(w.o.Bins) > 0 {
		i := sort.SearchInts(w.o.Bins, len(r.InputIDs))
		s = w.series[i]
	}
	b := &s.batch
	m := b.mark()
	if err := w.encode(b, r); err != nil {
		return fmt.Errorf("row %d: %w", w.rows-1, err)
	}
	b.hashRow(s.rowsHash, m, r.NextSentenceLabel)
	s.rows++
	s.tokens += int64(len(r.InputIDs))
	if s.next < len(s.done) {
		b.truncate(m)
		return w.skip(s)
	}
	b.add(r.NextSentenceLabel)
	if b.rows() >= w.o.RowsPerBatch {
		return w.flush(s)
	}
	return nil
}

// Close writes the last shards and DIR/manifest.json, then removes the
// progress file and any shard file the manifest does not list.
func (w *Writer) Close() (*Manifest, error) {
	if w.closed {
		return nil, errors.New("Writer.Close called twice")
	}
	w.closed = true
	for _, s := range w.series {
		if s.next < len(s.done) {
			w.abort()
			return nil, fmt.Errorf("resume: the rerun produced fewer rows than the interrupted run (%s)", s.done[s.next].File)
		}
		if err := w.flush(s); err != nil {
			w.abort()
			return nil, err
		}
		if s.f != nil {
			if err := w.finishShard(s, true); err != nil {
				w.abort()
				return nil, err
			}
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
	if err := atomicfile.WriteJSON(filepath.Join(w.o.Dir, ManifestName), &m); err != nil {
		return nil, err
	}
	if err := os.Remove(filepath.Join(w.o.Dir, ProgressName)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
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
			s.f, s.rw = nil, nil
		}
	}
	return first
}
