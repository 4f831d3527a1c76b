package pipeline

import (
	"bufio"
	"cmp"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/bits"
	mrand "math/rand/v2"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"sync"

	"github.com/kiln-bert/kiln/internal/atomicfile"
	"github.com/kiln-bert/kiln/internal/fileio"
	"github.com/kiln-bert/kiln/internal/seeds"
	"github.com/kiln-bert/kiln/internal/shuffle"
	"github.com/kiln-bert/kiln/masking"
	"github.com/kiln-bert/kiln/pairing"
	"github.com/kiln-bert/kiln/shards"
)

// Partitioned prep splits a run in two phases that each scale with the cores (or the machines)
// at hand. Phase 1 reads, splits and tokenizes each input file on its own (TokenizeFile) and
// sends every document to one of N partitions, chosen by a seeded hash of the document's
// identity (its file's position in the input order and its index in the file, never a path).
// Phase 2 prepares each partition on its own (PreparePartition): its documents in canonical
// order (file index, document index) are paired among themselves (NotNext partners come from
// the same partition, as in NVIDIA LDDL), masked, shuffled with a generator of the seed and
// the partition, and written to DIR/part-NNNNN/. WriteManifest then lists every partition's
// shards in one DIR/manifest.json. The output is a function of the inputs, the settings, the
// seed and N alone. PrepPartitioned is the local engine; kiln's Beam module calls the same
// three entry points.

// MaxPartitions is the most partitions a run may have: far more than the workers of any
// machine (a few partitions a worker is what keeps them busy), and few enough that what grows
// with them (a count per input and partition, a scan of the inputs per partition) stays small.
const MaxPartitions = 1 << 16

// PartitionDirName returns the directory, relative to the run's, of partition part.
func PartitionDirName(part int) string { return fmt.Sprintf("part-%05d", part) }

// PartitionResultName is the file, in a partition's directory, that records it as complete:
// its PartitionResult, written once its shards are in place.
const PartitionResultName = "partition.json"

// stagingDirName holds, inside the run's directory, the work of the partition attempts in
// progress, one directory per attempt.
const stagingDirName = ".staging"

// Partitioner holds what the partitioned prep's entry points share: a run's Examples (its
// settings and tokenizer), the number of partitions and the shard options. Its methods are
// safe for concurrent use.
type Partitioner struct {
	e        *Examples
	n        int
	o        ShardOptions
	cfgJSON  []byte // the run's config as recorded: ExampleConfig and partitions
	settings string // what must match for a finished partition to be kept
	pc       pairing.Config
	special  pairing.Special
	// readBufs holds the read buffers (*readBuffers) of TokenizeFile calls done, for the
	// next ones to reuse: a file's read costs no fresh buffer, as in the unpartitioned Source.
	readBufs sync.Pool
}

// readBuffers are a Source's read buffers (Source.fileBuf, Source.textBuf).
type readBuffers struct{ file, text *bufio.Reader }

// partitionedConfig is the config that a partitioned run records in its manifest and every
// shard: the run's ExampleConfig and the number of partitions.
type partitionedConfig struct {
	ExampleConfig
	Partitions int `json:"partitions"`
}

// NewPartitioner returns a Partitioner of e's run into partitions partitions (2 to
// MaxPartitions), written with o (o.Dir is not used: each entry point takes the run's
// directory). The held-out split (EvalFraction) is not supported in partitioned runs.
func NewPartitioner(e *Examples, partitions int, o ShardOptions) (*Partitioner, error) {
	if partitions < 2 || partitions > MaxPartitions {
		return nil, fmt.Errorf("partitions %d: want 2 to %d (0 or 1: an unpartitioned run)", partitions, MaxPartitions)
	}
	cfg := e.Config()
	if cfg.EvalFraction > 0 {
		return nil, fmt.Errorf("partitions %d with eval fraction %v: a partitioned run has no held-out set yet; run without one of them", partitions, cfg.EvalFraction)
	}
	cfgJSON, err := json.Marshal(partitionedConfig{cfg, partitions})
	if err != nil {
		return nil, err
	}
	sp := e.Tokenizer().Special()
	o.Dir = ""
	settings, err := json.Marshal(struct {
		Config json.RawMessage
		O      ShardOptions
		Vocab  string
	}{cfgJSON, o, e.Tokenizer().Vocab().SHA256()})
	if err != nil {
		return nil, err
	}
	return &Partitioner{
		e: e, n: partitions, o: o, cfgJSON: cfgJSON, settings: string(settings),
		pc: pairing.Config{
			MaxSeqLen: cfg.MaxSeqLen, ShortSeqProb: cfg.ShortSeqProb, Task: e.Task(),
			ReservoirDocs: cfg.ReservoirDocs,
		},
		special: pairing.Special{CLS: sp.CLS, SEP: sp.SEP},
	}, nil
}

// Partitions returns the number of partitions.
func (p *Partitioner) Partitions() int { return p.n }

// Inputs returns the run's input files in order: file i is TokenizeFile's fileIndex i.
func (p *Partitioner) Inputs() []Input { return p.e.Inputs() }

// Partition returns the partition of document index of input fileIndex: a seeded hash of
// the document's identity, spread evenly over the partitions. It depends on neither the
// workers, the engine nor where the corpus lies.
func (p *Partitioner) Partition(fileIndex, index int) int {
	const salt = 0x706172746974696f // "partitio"
	h := seeds.Mix64(docID(fileIndex, index) ^ seeds.Mix64(p.e.cfg.Seed^salt))
	hi, _ := bits.Mul64(h, uint64(p.n))
	return int(hi)
}

// FileResult is what TokenizeFile reports of one input file.
type FileResult struct {
	Index int       `json:"index"` // the file's position in the input order
	File  FileStats `json:"file"`
	// Source counts what was read and set aside (Files is 1; PerFile is not kept).
	Source SourceStats `json:"source"`
	// PartDocs[i] is the number of documents sent to partition i.
	PartDocs []int64 `json:"part_docs"`
}

// TokenizeFile reads input in (the run's input fileIndex, Inputs()[fileIndex], or a local
// copy of it: WriteManifest records the run's name of each input, never in.Path), splits and
// tokenizes each of its documents and calls emit with the document and its partition, in
// document order. It stops at the first error, which names the file (and the line). emit may
// keep d.
func (p *Partitioner) TokenizeFile(ctx context.Context, fileIndex int, in Input, emit func(part int, d PartDoc) error) (FileResult, error) {
	res := FileResult{Index: fileIndex, PartDocs: make([]int64, p.n)}
	if fileIndex < 0 {
		return res, fmt.Errorf("input %s: file index %d", in.Path, fileIndex)
	}
	src := NewSource(nil, p.e.src.opts)
	src.progress = p.e.progress
	if rb, ok := p.readBufs.Get().(*readBuffers); ok {
		src.fileBuf, src.textBuf = rb.file, rb.text
	}
	defer func() {
		if src.fileBuf != nil {
			src.fileBuf.Reset(nil) // (let go of the file)
			src.textBuf.Reset(nil)
			p.readBufs.Put(&readBuffers{src.fileBuf, src.textBuf})
		}
	}()
	read := src.readFile
	if src.opts.Format == Parquet || src.opts.Format == Arrow {
		read = src.readTableFile
	}
	err := read(ctx, fileIndex, in, func(d Document) error {
		td := p.e.tokenizeDoc(d)
		if td.err != nil {
			return td.err
		}
		p.e.docs.Add(1)
		part := p.Partition(d.FileIndex, d.Index)
		res.PartDocs[part]++
		return emit(part, PartDoc{
			FileIndex: d.FileIndex, Index: d.Index, Line: d.Line, Sentences: td.sentences,
			UNK: td.unk, Invalid: td.invalid,
		})
	})
	if err != nil {
		return res, err
	}
	src.stats.Files++
	res.Source = src.Stats()
	if len(res.Source.PerFile) == 1 {
		res.File = res.Source.PerFile[0]
	}
	res.Source.PerFile = nil
	return res, nil
}

// PartitionResult is what PreparePartition reports of one partition, and what its
// PartitionResultName file records.
type PartitionResult struct {
	Partition int   `json:"partition"`
	Documents int64 `json:"documents"`
	// The counts of ExampleStats, for this partition's documents and rows.
	Sentences    int64         `json:"sentences"`
	Tokens       int64         `json:"tokens"`
	UNK          int64         `json:"unk_tokens"`
	InvalidUTF8  int64         `json:"invalid_utf8_replaced"`
	Pairing      pairing.Stats `json:"pairing"`
	Rows         int64         `json:"rows"`
	RowTokens    int64         `json:"row_tokens"`
	Masked       int64         `json:"masked"`
	MaskedAsMask int64         `json:"masked_as_mask"`
	MaskedRandom int64         `json:"masked_random"`
	MaskedKept   int64         `json:"masked_kept"`
	// Manifest is the partition's own shard manifest; its shard names are relative to the
	// partition's directory.
	Manifest *shards.Manifest `json:"manifest"`
	// Settings identify the run's settings: a rerun keeps the partition only if they match.
	Settings string `json:"settings"`
}

// PreparePartition prepares partition part of the run from its documents, in any order: it
// sorts them into the canonical order (file index, document index) and calls PrepareSorted.
// The slice is sorted in place.
func (p *Partitioner) PreparePartition(ctx context.Context, part int, docs []PartDoc, dir string) (PartitionResult, error) {
	slices.SortFunc(docs, func(a, b PartDoc) int {
		return cmp.Or(cmp.Compare(a.FileIndex, b.FileIndex), cmp.Compare(a.Index, b.Index))
	})
	i := 0
	return p.PrepareSorted(ctx, part, func() (PartDoc, error) {
		if i == len(docs) {
			return PartDoc{}, io.EOF
		}
		i++
		return docs[i-1], nil
	}, dir)
}

// PrepareSorted prepares partition part of the run whose directory is dir from its
// documents, which next returns in canonical order (file index, then document index; io.EOF
// after the last; next may reuse the storage of the document it returned before, which
// PrepareSorted no longer holds). The documents are paired among themselves, masked,
// shuffled and written to dir/part-NNNNN/, with dir/part-NNNNN/partition.json last. Memory
// is bounded by the settings (the pairer's reservoir, the shuffle buffer, one record
// batch), not by the partition's size.
//
// Every file is first written under a directory unique to the call (dir/.staging/...), then
// renamed into place, so that two calls for the same partition, at once or one after the
// other (a retried attempt), leave the same bytes and no temporary file.
func (p *Partitioner) PrepareSorted(ctx context.Context, part int, next func() (PartDoc, error), dir string) (res PartitionResult, err error) {
	if part < 0 || part >= p.n {
		return res, fmt.Errorf("partition %d: want 0 to %d", part, p.n-1)
	}
	name := PartitionDirName(part)
	staging := filepath.Join(dir, stagingDirName, name+"."+rand.Text())
	if err := os.MkdirAll(staging, 0o755); err != nil {
		return res, fmt.Errorf("partition %d: %w", part, err)
	}
	defer func() {
		if rerr := os.RemoveAll(staging); rerr != nil && err == nil {
			err = fmt.Errorf("partition %d: %w", part, rerr)
		}
	}()
	cfg := p.e.cfg
	vocab := p.e.tok.Vocab()
	sp := p.e.tok.Special()
	w, err := shards.NewWriter(shards.Options{
		Dir: staging, Layout: p.o.Layout,
		Static: cfg.Masking == masking.Static, VocabSize: vocab.Size(),
		MaxSeqLen: cfg.MaxSeqLen, Special: sp,
		Task: p.e.task, MaxPredictions: cfg.MaxPredictions,
		Metadata: map[string]string{shards.MetaVersion: p.o.Version, shards.MetaVocabSHA256: vocab.SHA256()},
		Config:   p.cfgJSON,
	})
	if err != nil {
		return res, fmt.Errorf("partition %d: %w", part, err)
	}
	res, err = p.prepare(ctx, part, next, w)
	if err != nil {
		return res, errors.Join(fmt.Errorf("partition %d: %w", part, err), w.Abort())
	}
	m, err := w.Close()
	if err != nil {
		return res, fmt.Errorf("partition %d: %w", part, err)
	}
	res.Manifest, res.Settings = m, p.settings

	// Move the shards into place, then record the partition as complete.
	final := filepath.Join(dir, name)
	for _, sh := range m.Shards {
		to := filepath.Join(final, filepath.FromSlash(sh.File))
		if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
			return res, fmt.Errorf("partition %d: %w", part, err)
		}
		if err := os.Rename(filepath.Join(staging, filepath.FromSlash(sh.File)), to); err != nil {
			return res, fmt.Errorf("partition %d: %w", part, err)
		}
		if err := atomicfile.SyncDir(filepath.Dir(to)); err != nil {
			return res, fmt.Errorf("partition %d: %w", part, err)
		}
	}
	if err := os.MkdirAll(final, 0o755); err != nil {
		return res, fmt.Errorf("partition %d: %w", part, err)
	}
	b, err := json.MarshalIndent(&res, "", "  ")
	if err != nil {
		return res, err
	}
	if err := writeSmallFile(filepath.Join(final, PartitionResultName), append(b, '\n')); err != nil {
		return res, fmt.Errorf("partition %d: %w", part, err)
	}
	return res, nil
}

// prepare pairs, masks and shuffles the documents next returns into w.
func (p *Partitioner) prepare(ctx context.Context, part int, next func() (PartDoc, error), w *shards.Writer) (PartitionResult, error) {
	res := PartitionResult{Partition: part}
	cfg := p.e.cfg
	pairer, err := pairing.NewPairer(p.pc, p.special)
	if err != nil {
		return res, err
	}
	const salt = 0x50415254534855 // "PARTSHU"
	shuffle := shuffle.New(cfg.ShuffleBuffer, mrand.New(mrand.NewPCG(cfg.Seed, seeds.Mix64(uint64(part)+salt))))
	shuffle.Reserve(p.e.rowRoom())
	vocabSize := int32(p.e.tok.Vocab().Size())
	var instances []pairing.Instance
	var passArena pairing.Arena // the current pass's instances, copied into the batch's arena
	// One batch, reused: once its rows are copied into the shuffle buffer (or written), its
	// storage (arena, rows, masks) takes the next ones, as in the unpartitioned pairAll.
	b := &passBatch{}
	flush := func() error {
		if len(b.rows) == 0 {
			return nil
		}
		if p.e.masker != nil {
			p.e.maskBatch(b)
		}
		res.Rows += int64(len(b.rows))
		res.RowTokens += b.tokens
		res.Masked += b.masked
		res.MaskedAsMask += b.asMask
		res.MaskedRandom += b.random
		res.MaskedKept += b.kept
		for i := range b.rows {
			if err := shuffle.Push(&b.rows[i], w.Write); err != nil {
				return err
			}
		}
		if !b.reset() {
			*b = passBatch{} // grown by a long document's pass: left to the collector
		}
		return nil
	}
	prevFile, prevIndex := -1, -1
	for {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		d, err := next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return res, err
		}
		if d.FileIndex < prevFile || d.FileIndex == prevFile && d.Index <= prevIndex {
			return res, fmt.Errorf("document %d of input %d comes after document %d of input %d: documents out of canonical order (or twice)",
				d.Index, d.FileIndex, prevIndex, prevFile)
		}
		prevFile, prevIndex = d.FileIndex, d.Index
		if got := p.Partition(d.FileIndex, d.Index); got != part {
			return res, fmt.Errorf("document %d of input %d belongs to partition %d, not %d", d.Index, d.FileIndex, got, part)
		}
		for _, s := range d.Sentences {
			for _, id := range s {
				if id < 0 || id >= vocabSize {
					return res, fmt.Errorf("document %d of input %d: token id %d outside the vocabulary (%d tokens)", d.Index, d.FileIndex, id, vocabSize)
				}
			}
		}
		tokens := d.tokens()
		res.Documents++
		res.Sentences += int64(len(d.Sentences))
		res.Tokens += tokens
		res.UNK += d.UNK
		res.InvalidUTF8 += d.Invalid
		id := docID(d.FileIndex, d.Index)
		long := tokens > batchTokens
		for pass := 0; pass < cfg.DupeFactor; pass++ {
			doc := pairing.Document{ID: id, Sentences: d.Sentences}
			instances = pairPass(pairer, DocRand(cfg.Seed, id, pass), doc, instances[:0], &passArena, long)
			for i, in := range instances {
				b.add(in, instanceKey{doc: id, pass: pass, i: i}, long)
				if b.tokens >= batchTokens {
					if err := flush(); err != nil {
						return res, err
					}
				}
			}
			clear(instances)
		}
	}
	if err := flush(); err != nil {
		return res, err
	}
	if err := shuffle.Drain(ctx, w.Write); err != nil {
		return res, err
	}
	res.Pairing = pairer.Stats()
	return res, nil
}

// WriteManifest writes the manifest of a partitioned run in dir, DIR/manifest.json, listing
// every partition's shards (as "part-NNNNN/shard-NNNNN.arrow"), and DIR/prep-stats.json; it
// then removes what the partition attempts left in dir/.staging. files holds one result per
// input file, parts one per partition that had documents (in any order; a partition without
// documents may be absent). The results are checked against each other: every document that
// a file sent to a partition must have reached it. seconds is the run's duration, for the
// stats.
func (p *Partitioner) WriteManifest(dir string, files []FileResult, parts []PartitionResult, seconds float64) (*PrepSummary, error) {
	files = slices.Clone(files)
	slices.SortFunc(files, func(a, b FileResult) int { return cmp.Compare(a.Index, b.Index) })
	if len(files) != len(p.e.inputs) {
		return nil, fmt.Errorf("output %s: %d file result(s) for %d input(s)", dir, len(files), len(p.e.inputs))
	}
	want := make([]int64, p.n)
	var st ExampleStats
	for i, f := range files {
		if f.Index != i || len(f.PartDocs) != p.n {
			return nil, fmt.Errorf("output %s: file result %d is for input %d with %d partition(s); want input %d with %d", dir, i, f.Index, len(f.PartDocs), i, p.n)
		}
		for j, n := range f.PartDocs {
			want[j] += n
		}
		addSourceStats(&st.Source, f.Source)
		fs := f.File
		fs.Path = p.e.inputs[i].Path // the run's name of the input, whatever copy was read
		st.Source.PerFile = append(st.Source.PerFile, fs)
	}
	byPart := make([]*PartitionResult, p.n)
	for i := range parts {
		r := &parts[i]
		if r.Partition < 0 || r.Partition >= p.n || byPart[r.Partition] != nil {
			return nil, fmt.Errorf("output %s: partition result %d: partition out of range or given twice", dir, r.Partition)
		}
		if r.Manifest == nil || r.Settings != p.settings {
			return nil, fmt.Errorf("output %s: partition %d was prepared with other settings", dir, r.Partition)
		}
		byPart[r.Partition] = r
	}
	var m *shards.Manifest
	var all []shards.ShardInfo
	for part, r := range byPart {
		got := int64(0)
		if r != nil {
			got = r.Documents
		}
		if got != want[part] {
			return nil, fmt.Errorf("output %s: partition %d holds %d document(s), but the files sent it %d", dir, part, got, want[part])
		}
		if r == nil {
			continue
		}
		if m == nil {
			c := *r.Manifest
			m = &c
		}
		st.Sentences += r.Sentences
		st.Tokens += r.Tokens
		st.UNK += r.UNK
		st.InvalidUTF8 += r.InvalidUTF8
		addPairingStats(&st.Pairing, r.Pairing)
		st.Rows += r.Rows
		st.RowTokens += r.RowTokens
		st.Masked += r.Masked
		st.MaskedAsMask += r.MaskedAsMask
		st.MaskedRandom += r.MaskedRandom
		st.MaskedKept += r.MaskedKept
		for _, sh := range r.Manifest.Shards {
			if err := shards.CheckShardName(sh.File); err != nil {
				return nil, fmt.Errorf("output %s: partition %d: %w", dir, part, err)
			}
			sh.File = path.Join(PartitionDirName(part), sh.File)
			all = append(all, sh)
		}
	}
	st.Seconds = seconds
	if st.Rows == 0 || m == nil {
		return nil, noSequences(st)
	}
	slices.SortFunc(all, func(a, b shards.ShardInfo) int { return cmp.Or(cmp.Compare(a.Bin, b.Bin), cmp.Compare(a.File, b.File)) })
	m.Shards, m.Rows, m.Tokens, m.Bytes, m.Inputs = all, 0, 0, 0, nil
	for _, sh := range all {
		m.Rows += sh.Rows
		m.Tokens += sh.Tokens
		m.Bytes += sh.Bytes
	}
	for _, f := range st.Source.PerFile {
		m.Inputs = append(m.Inputs, shards.Input{Path: f.Path, Bytes: f.Bytes, Documents: f.Documents, Skipped: f.Skipped})
	}
	if err := atomicfile.WriteJSON(filepath.Join(dir, shards.ManifestName), m); err != nil {
		return nil, err
	}
	sum := &PrepSummary{Version: p.o.Version, Examples: st, Shards: len(m.Shards), ShardBytes: m.Bytes, Seconds: seconds}
	if m.Tokens > 0 {
		sum.BytesPerToken = float64(m.Bytes) / float64(m.Tokens)
	}
	if seconds > 0 {
		sum.MBPerSecond = float64(st.Source.TextBytes) / 1e6 / seconds
	}
	if err := atomicfile.WriteJSON(filepath.Join(dir, StatsName), sum); err != nil {
		return nil, err
	}
	if err := os.RemoveAll(filepath.Join(dir, stagingDirName)); err != nil {
		return nil, fmt.Errorf("output %s: %w", dir, err)
	}
	return sum, nil
}

// ReadPartitionResult reads the record of a complete partition in the run directory dir. It
// returns an error wrapping os.ErrNotExist when the partition is not recorded complete.
func ReadPartitionResult(dir string, part int) (*PartitionResult, error) {
	p := filepath.Join(dir, PartitionDirName(part), PartitionResultName)
	b, err := fileio.ReadRegular(p, fileio.MaxManifest)
	if err != nil {
		return nil, err
	}
	var r PartitionResult
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	if r.Partition != part || r.Manifest == nil {
		return nil, fmt.Errorf("%s: not the record of partition %d", p, part)
	}
	return &r, nil
}

// checkPartition reports whether partition part is recorded complete in dir with the run's
// settings and its shards still match their sha256.
func (p *Partitioner) checkPartition(dir string, part int) (*PartitionResult, bool) {
	r, err := ReadPartitionResult(dir, part)
	if err != nil || r.Settings != p.settings {
		return nil, false
	}
	for _, sh := range r.Manifest.Shards {
		if shards.CheckShardName(sh.File) != nil {
			return nil, false
		}
		size, sum, err := fileio.SHA256(filepath.Join(dir, PartitionDirName(part), filepath.FromSlash(sh.File)))
		if err != nil || size != sh.Bytes || sum != sh.SHA256 {
			return nil, false
		}
	}
	return r, true
}

// addSourceStats adds the counts of b to a.
func addSourceStats(a *SourceStats, b SourceStats) {
	a.Files += b.Files
	a.BytesRead += b.BytesRead
	a.TextBytes += b.TextBytes
	a.Documents += b.Documents
	a.SkippedBinary += b.SkippedBinary
	a.SkippedLongLine += b.SkippedLongLine
	a.SkippedBadJSON += b.SkippedBadJSON
	a.CutDocuments += b.CutDocuments
	a.SkippedNullRows += b.SkippedNullRows
	for _, pr := range b.Problems {
		if len(a.Problems) < maxProblems {
			a.Problems = append(a.Problems, pr)
		}
	}
}

// addPairingStats adds the counts of b to a.
func addPairingStats(a *pairing.Stats, b pairing.Stats) {
	a.Documents += b.Documents
	a.EmptyDocuments += b.EmptyDocuments
	a.Sentences += b.Sentences
	a.Tokens += b.Tokens
	a.Instances += b.Instances
	a.NotNext += b.NotNext
	a.ForcedNotNext += b.ForcedNotNext
	a.NoPartner += b.NoPartner
	a.SplitSentences += b.SplitSentences
	a.DroppedChunks += b.DroppedChunks
	a.DroppedTokens += b.DroppedTokens
	a.ShortTargets += b.ShortTargets
	a.ShortInstances += b.ShortInstances
	a.TruncatedTokens += b.TruncatedTokens
	a.OutputTokens += b.OutputTokens
	a.ReservoirDocs += b.ReservoirDocs
}

// partitionIndex parses the partition number of a "part-NNNNN" directory name.
func partitionIndex(name string) (int, bool) {
	if len(name) < 6 || name[:5] != "part-" {
		return 0, false
	}
	n, err := strconv.Atoi(name[5:])
	return n, err == nil && n >= 0 && PartitionDirName(n) == name
}
