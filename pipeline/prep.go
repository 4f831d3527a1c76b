package pipeline

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kiln-bert/kiln/internal/seeds"
	"github.com/kiln-bert/kiln/internal/shuffle"
	"github.com/kiln-bert/kiln/masking"
	"github.com/kiln-bert/kiln/pairing"
	"github.com/kiln-bert/kiln/shards"
	"github.com/kiln-bert/kiln/tokenize"
	"github.com/kiln-bert/kiln/tokenize/sentence"
)

// ExampleConfig is what turns documents into example rows: the input, the tokenizer, pairing
// and masking settings. Its JSON form is stored in every shard's metadata and manifest.
type ExampleConfig struct {
	Inputs    []string `json:"inputs"`
	Format    Format   `json:"format"`     // lines, text, jsonl, parquet or arrow
	JSONField string   `json:"json_field"` // jsonl: the text field
	Vocab     string   `json:"vocab,omitempty"`
	Tokenizer string   `json:"tokenizer,omitempty"` // a tokenizer.json, instead of Vocab
	Cased     bool     `json:"cased"`

	MaxSeqLen      int          `json:"max_seq_len"`
	MaxPredictions int          `json:"max_predictions"`
	MaskedLMProb   float64      `json:"masked_lm_prob"`
	ShortSeqProb   float64      `json:"short_seq_prob"`
	DupeFactor     int          `json:"dupe_factor"`
	Task           pairing.Task `json:"task"`    // nsp, sop or none
	Masking        masking.Mode `json:"masking"` // static or dynamic
	WholeWordMask  bool         `json:"whole_word_mask"`
	ReservoirDocs  int          `json:"reservoir_docs"`
	ShuffleBuffer  int          `json:"shuffle_buffer"` // rows; 0 keeps document order
	Seed           uint64       `json:"seed"`

	// EvalFraction is the share of documents, in [0, 1), held out for evaluation: chosen by a
	// seeded hash of each document's identity (EvalDocument), they are paired among themselves
	// and go to a second row stream (RunSplit). 0 holds none out and is not stored, so that a
	// default run's JSON (and shard bytes) are those of kiln before the split existed.
	EvalFraction float64 `json:"eval_fraction,omitempty"`

	// MaskTokenProb and RandomTokenProb are the shares of the chosen positions replaced by
	// [MASK] and by a random token (the rest keep their token); nil is Google's 0.8 and 0.1.
	// NewExamples leaves both nil for 0.8 and 0.1, so that the JSON (and shard bytes) of a
	// default run are those kiln wrote before the split was configurable, and sets both
	// otherwise.
	MaskTokenProb   *float64 `json:"mask_token_prob,omitempty"`
	RandomTokenProb *float64 `json:"random_token_prob,omitempty"`

	MaxLineBytes int `json:"max_line_bytes"`
	MaxDocBytes  int `json:"max_doc_bytes"`

	// TextColumn is the column that holds the text (parquet, arrow; "" for the others).
	TextColumn string `json:"text_column,omitempty"`
	// MaxRowGroupBytes bounds the memory of one Parquet row group or Arrow record batch
	// (0: DefaultMaxRowGroupBytes). It does not change the output, so it is not stored.
	MaxRowGroupBytes int64 `json:"-"`

	// Workers is the number of goroutines that split and tokenize. It does not change the
	// output, so it is not stored.
	Workers int `json:"-"`
	// Exclude names directories whose files are never read as input: the run's output
	// directories, which may lie inside an input directory (see ExpandInputsExcept). Not
	// stored: the files read are listed in the manifest.
	Exclude []string `json:"-"`
}

// DefaultExampleConfig returns Google's defaults (max_seq_length 128,
// max_predictions_per_seq 20, masked_lm_prob 0.15, short_seq_prob 0.1, dupe_factor 1 as
// kiln's default, NSP, static masking) and kiln's own (text format, seed 12345).
func DefaultExampleConfig() ExampleConfig {
	return ExampleConfig{
		Format: Text, JSONField: "text", MaxSeqLen: 128, MaxPredictions: 20,
		MaskedLMProb: 0.15, ShortSeqProb: 0.1, DupeFactor: 1, Task: pairing.NSP, Masking: masking.Static,
		ReservoirDocs: pairing.DefaultReservoirDocs, ShuffleBuffer: shards.DefaultShuffleBuffer, Seed: 12345,
		MaxLineBytes: 1 << 20, MaxDocBytes: 64 << 20, Workers: runtime.NumCPU(),
		MaxRowGroupBytes: DefaultMaxRowGroupBytes,
	}
}

// ExampleStats counts what an Examples run did, stage by stage.
type ExampleStats struct {
	Source       SourceStats   `json:"source"`
	Sentences    int64         `json:"sentences"`
	Tokens       int64         `json:"tokens"` // word pieces from the tokenizer
	UNK          int64         `json:"unk_tokens"`
	InvalidUTF8  int64         `json:"invalid_utf8_replaced"`
	Pairing      pairing.Stats `json:"pairing"`
	Rows         int64         `json:"rows"`
	RowTokens    int64         `json:"row_tokens"` // tokens in the rows, special tokens included
	Masked       int64         `json:"masked"`     // masked positions (static masking)
	MaskedAsMask int64         `json:"masked_as_mask"`
	MaskedRandom int64         `json:"masked_random"`
	MaskedKept   int64         `json:"masked_kept"`
	Seconds      float64       `json:"seconds"`

	// With an EvalFraction, the counts above cover both sets; these say what went to the
	// held-out one. EvalPerFile maps an input's path to its number of held-out documents.
	EvalDocuments int64            `json:"eval_documents,omitempty"`
	EvalRows      int64            `json:"eval_rows,omitempty"`
	EvalPairing   *pairing.Stats   `json:"eval_pairing,omitempty"`
	EvalPerFile   map[string]int64 `json:"-"`
}

// Examples streams a corpus through the prep stages: source, sentence splitting and
// tokenizing (in parallel, reassembled in order), pairing, masking and a seeded shuffle
// buffer. Its output is the same for any number of workers. Run may be called again, and
// WithSeed gives the run of another seed, without loading anything again (examples_run.go).
type Examples struct {
	cfg      ExampleConfig
	inputs   []Input
	notes    []string // what the user should know about the inputs (ExpandInputsExcept)
	tok      *tokenize.Tokenizer
	splitter *sentence.Splitter
	pairer   *pairing.Pairer
	evalPair *pairing.Pairer // the held-out documents' own pairer; nil without EvalFraction
	masker   *masking.Masker // nil for dynamic masking
	maskVoc  masking.Vocab
	task     pairing.Task
	special  pairing.Special // the pairer's
	ran      bool            // a run has used the run state below (see newRun)

	src   *Source
	docs  atomic.Int64 // documents read so far, for progress
	mu    sync.Mutex   // guards stats, read by Stats while Run goes on
	stats ExampleStats

	progress func(bytes int64) // called from the reading goroutine; may be nil
	open     Opener            // opens the inputs; nil: the local file system (NewExamplesFrom)
	// textBudget bounds the text of the documents between the source and the end of their
	// pairing (see Run); made anew by each Run.
	textBudget *byteBudget
	encodings  sync.Pool // *tokenize.Encoding buffers for the workers
	// freeBatches holds batches whose rows have been used, for their storage: a few, so that
	// the memory they keep stays small beside the batches in flight; made anew by each Run.
	freeBatches chan *passBatch
}

// freeBatchesKept is how many used batches a run keeps for their storage. The pairer takes one
// as the consumer gives one back, so a few are enough for nearly every batch to be reused.
const freeBatchesKept = 4

// NewExamples checks cfg (ExampleConfig.Validate, once the zero values it documents are
// filled in: Workers 0 is 1, MaxRowGroupBytes 0 DefaultMaxRowGroupBytes, the TextColumn of a
// table format "text"), finds the inputs and loads the tokenizer. Every problem that can be
// found before the run (a missing input, a bad setting, an unreadable vocabulary) is reported
// here.
func NewExamples(cfg ExampleConfig) (*Examples, error) { return newExamples(cfg, nil) }

// newExamples is NewExamples, with the inputs and files of files when it is not nil
// (NewExamplesFrom).
func newExamples(cfg ExampleConfig, files *ExampleFiles) (*Examples, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.normalizeSplit()
	var err error
	// The vocabulary is recorded by absolute path, so that inspect, train and loss find it
	// from any directory.
	for _, p := range []*string{&cfg.Vocab, &cfg.Tokenizer} {
		if *p != "" && files == nil {
			if *p, err = filepath.Abs(*p); err != nil {
				return nil, err
			}
		}
	}
	inputs, notes, err := files.inputs(cfg)
	if err != nil {
		return nil, err
	}
	tok, err := runTokenizer(cfg, files.loadVocab, files.loadJSON)
	if err != nil {
		return nil, err
	}
	splitter, err := sentence.New()
	if err != nil {
		return nil, err
	}
	// Prep needs every special token; say which are missing here rather than downstream.
	sp, err := tok.Vocab().RequireSpecial()
	if err != nil {
		return nil, err
	}
	e := &Examples{cfg: cfg, inputs: inputs, notes: notes, tok: tok, splitter: splitter, task: cfg.Task,
		special: sp, open: files.opener()}
	if err := e.newRun(); err != nil { // checks the pairing settings
		return nil, err
	}
	e.encodings.New = func() any { return new(tokenize.Encoding) }
	e.maskVoc, err = MaskingVocab(tok.Vocab())
	if err != nil {
		return nil, err
	}
	if cfg.Masking == masking.Static {
		e.masker, err = masking.New(e.MaskingConfig(), e.maskVoc)
		if err != nil {
			return nil, err
		}
	}
	return e, nil
}

// MaskingVocab builds masking's view of a vocabulary.
func MaskingVocab(v *tokenize.Vocab) (masking.Vocab, error) {
	return masking.NewVocabFunc(v.Size(), v.Token) // no copy of the tokens
}

// MaskingConfig returns the masking settings of c (also what dynamic masking uses at
// training time).
func (c ExampleConfig) MaskingConfig() masking.Config {
	mc := masking.Config{MaskedLMProb: c.MaskedLMProb, MaxPredictions: c.MaxPredictions, WholeWord: c.WholeWordMask}
	if c.MaskTokenProb != nil || c.RandomTokenProb != nil {
		s := c.MaskSplit()
		mc.Split = &s
	}
	return mc
}

// MaskSplit returns the replacement shares of c, absent ones filled with Google's 0.8 and 0.1.
func (c ExampleConfig) MaskSplit() masking.Split {
	s := masking.DefaultSplit()
	if c.MaskTokenProb != nil {
		s.Mask = *c.MaskTokenProb
	}
	if c.RandomTokenProb != nil {
		s.Random = *c.RandomTokenProb
	}
	return s
}

// normalizeSplit records the replacement shares as MaskTokenProb's comment says: both absent
// for Google's 80/10/10, both present otherwise.
func (c *ExampleConfig) normalizeSplit() {
	s := c.MaskSplit()
	if s == masking.DefaultSplit() {
		c.MaskTokenProb, c.RandomTokenProb = nil, nil
	} else {
		c.MaskTokenProb, c.RandomTokenProb = &s.Mask, &s.Random
	}
}

// MaskingConfig returns the masking settings of the run.
func (e *Examples) MaskingConfig() masking.Config { return e.cfg.MaskingConfig() }

// Config returns the run's configuration, with defaults filled in.
func (e *Examples) Config() ExampleConfig { return e.cfg }

// Inputs returns the files the run reads, in order.
func (e *Examples) Inputs() []Input { return e.inputs }

// Notes returns what the user should be told about the inputs: output directories inside an
// input directory, whose files are not read.
func (e *Examples) Notes() []string { return e.notes }

// Tokenizer returns the run's tokenizer.
func (e *Examples) Tokenizer() *tokenize.Tokenizer { return e.tok }

// Task returns the pair task of the run.
func (e *Examples) Task() pairing.Task { return e.task }

// Stats returns the counts so far; safe to call while Run goes on. The source and pairing
// figures are complete once Run has returned; before that only Source.Documents is.
func (e *Examples) Stats() ExampleStats {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := e.stats
	s.Source.Documents = e.docs.Load()
	s.EvalPerFile = maps.Clone(s.EvalPerFile) // the pairer goes on adding to the run's own
	return s
}

// SetProgress sets a function called with the number of bytes read from disk as the run
// reads them. Call it before Run.
func (e *Examples) SetProgress(f func(bytes int64)) { e.progress = f }

// tokenizedDoc is a document after sentence splitting and tokenizing. Its sentences share
// one backing array.
type tokenizedDoc struct {
	file      string
	fileIndex int
	line      int
	index     int
	sentences [][]int32
	bytes     int64 // the document's text, as taken from the text budget
	nsent     int64 // len(sentences), kept for the stats once the pairer has let them go
	tokens    int64
	unk       int64
	invalid   int64
	err       error // the tokenizer could not encode a text (tokenizer.json pipelines only)
}

// passBatch is the instances made from one chunk of documents (every pass over each), as
// rows in order, with their counts.
type passBatch struct {
	rows []shards.Row
	keys []instanceKey   // keys[i] identifies rows[i]: its masks come from MaskRand(key)
	docs []*tokenizedDoc // their counts are added to the stats
	err  error
	eval bool // the rows are of held-out documents

	masked, asMask, random, kept int64 // static masking outcome
	tokens                       int64 // tokens in rows

	// The batch's own storage, kept when it is reused (Examples.putBatch): the rows' ids and
	// token types (pairing's arena), their masked positions and ids, masking's scratch.
	arena             pairing.Arena
	positions, labels []int32
	masks             masking.Masked
}

// maxPooledTokens bounds the arena of a batch kept for reuse: a batch that grew past it (a
// long document's pass goes into one arena) is left to the collector.
const maxPooledTokens = 4 * batchTokens

// newBatch returns an empty batch, one used before when there is one.
func (e *Examples) newBatch(eval bool) *passBatch {
	var b *passBatch
	select {
	case b = <-e.freeBatches:
	default:
	}
	if b == nil {
		b = new(passBatch)
	}
	b.eval = eval
	return b
}

// putBatch gives back a batch whose rows are no longer used (each has been copied into the
// shuffle buffer or written), for newBatch to reuse its storage.
func (e *Examples) putBatch(b *passBatch) {
	if !b.reset() {
		return
	}
	select {
	case e.freeBatches <- b:
	default: // enough kept: left to the collector
	}
}

// reset empties b, whose rows are no longer used, keeping its storage for the next rows, and
// reports whether that storage is worth keeping: false when a long document's pass grew the
// arena past maxPooledTokens (b is then left as it was, for the collector).
func (b *passBatch) reset() bool {
	if b.arena.Cap() > maxPooledTokens {
		return false
	}
	clear(b.rows) // (the rows point into the batch's own storage; clear lets go of any other)
	clear(b.docs)
	*b = passBatch{
		rows: b.rows[:0], keys: b.keys[:0], docs: b.docs[:0], arena: b.arena,
		positions: b.positions[:0], labels: b.labels[:0], masks: b.masks,
	}
	b.arena.Reset()
	return true
}

// add appends instance in, identified by k, to b as a row: a copy in b's arena, for the
// workers to mask in place, or, for a long document's (long, see pairPass), the instance
// itself.
func (b *passBatch) add(in pairing.Instance, k instanceKey, long bool) {
	if !long {
		in = b.arena.Copy(in)
	}
	b.rows = append(b.rows, shards.Row{InputIDs: in.IDs, TokenTypeIDs: in.TypeIDs, NextSentenceLabel: in.Label})
	b.keys = append(b.keys, k)
	b.tokens += int64(len(in.IDs))
}

// pairPass makes the instances of one pass over doc into dst, their ids laid out in arena
// (emptied first; dropped first when a pass before grew it past maxPooledTokens), to be copied
// into the batches (passBatch.add). A long document's (long: more tokens than batchTokens)
// passes are cut into several batches each, so their instances are allocated one by one and
// the rows point at them: a pass is held once, not twice, while its batches are in flight.
func pairPass(pairer *pairing.Pairer, rng *rand.Rand, doc pairing.Document, dst []pairing.Instance,
	arena *pairing.Arena, long bool) []pairing.Instance {
	if long {
		return pairer.Add(rng, doc, dst)
	}
	if arena.Cap() > maxPooledTokens {
		*arena = pairing.Arena{}
	}
	arena.Reset()
	return pairer.AddArena(rng, doc, dst, arena)
}

// instanceKey identifies an instance: its document, the pass and its index in the pass.
type instanceKey struct {
	doc     uint64
	pass, i int
}

// Documents travel between the stages in chunks of about chunkBytes of text (at most
// chunkDocs documents), so that a corpus of short documents does not pay a channel hand-off
// per document at each stage. Chunking changes nothing in the output.
const (
	chunkBytes = 16 << 10
	chunkDocs  = 256
)

// Run streams the corpus through the stages and calls emit with each example row in a
// deterministic order. The row passed to emit is only valid during the call.
//
// The stages run concurrently, joined by bounded channels: the source reads documents; a
// pool of Workers goroutines splits and tokenizes them (results reassembled in input
// order); one goroutine pairs them (the pairer is sequential: its reservoir depends on the
// order of documents); a second pool masks the instances, each with a generator derived
// from the seed, the document, the pass and the instance's index (MaskRand); the calling
// goroutine mixes the rows in the shuffle buffer and calls emit. Nothing depends on
// scheduling, so the rows are the same for any number of workers.
func (e *Examples) Run(parent context.Context, emit func(*shards.Row) error) error {
	return e.RunSplit(parent, emit, nil)
}

// RunSplit is Run with a held-out set: the rows of the documents that EvalDocument chooses
// go to emitEval, in their own deterministic order (their own pairing and shuffle buffer),
// the others to emit. With an EvalFraction, emitEval must not be nil; without one it is
// never called.
func (e *Examples) RunSplit(parent context.Context, emit, emitEval func(*shards.Row) error) error {
	if e.evalPair != nil && emitEval == nil {
		return fmt.Errorf("eval fraction %v: no destination for the held-out rows", e.cfg.EvalFraction)
	}
	if err := e.startRun(); err != nil {
		return err
	}
	start := time.Now()
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	workers := e.cfg.Workers
	e.mu.Lock()
	e.stats.EvalPerFile = map[string]int64{} // before the pairer, which adds to it, starts
	e.mu.Unlock()

	// The text of the documents read but not yet paired is bounded: the source takes the
	// bytes of the document it builds from the budget as it reads them, and the pairer gives
	// them back once it has made the document's passes (a document's rows are bounded apart:
	// they travel in batches of batchTokens). The source waits for the budget only after the
	// documents before it have gone on, so the stages never wait on each other in a circle.
	e.textBudget = newByteBudget(max(int64(e.src.opts.MaxDocBytes), minTextBudget))
	e.freeBatches = make(chan *passBatch, freeBatchesKept)
	chunks := make(chan []Document, 2*workers)
	srcErr := make(chan error, 1)
	e.src.progress = e.progress
	go func() {
		defer close(chunks)
		var chunk []Document
		size := 0
		send := func() error {
			select {
			case chunks <- chunk:
				chunk, size = nil, 0
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		// The source takes the text it reads from the budget; before it waits for the budget,
		// the documents it has made go on, so that the stages can give theirs back.
		e.src.reserve = func(n, own int64) error {
			if e.textBudget.tryAcquire(n, own) {
				return nil
			}
			if len(chunk) > 0 {
				if err := send(); err != nil {
					return err
				}
			}
			return e.textBudget.acquire(ctx, n, own)
		}
		e.src.unreserve = e.textBudget.release
		err := e.src.Run(ctx, func(d Document) error {
			e.docs.Add(1)
			chunk = append(chunk, d)
			if size += d.Bytes; size >= chunkBytes || len(chunk) >= chunkDocs {
				return send()
			}
			return nil
		})
		if err == nil && len(chunk) > 0 {
			err = send()
		}
		srcErr <- err
	}()

	tokenized := OrderedMap(ctx, chunks, workers, 4*workers, e.tokenizeChunk)

	passes := make(chan *passBatch, 2*workers)
	pairDone := make(chan struct{})
	go func() {
		defer close(pairDone)
		defer close(passes)
		e.pairAll(ctx, tokenized, passes)
	}()

	batches := (<-chan *passBatch)(passes)
	if e.masker != nil {
		batches = OrderedMap(ctx, batches, workers, 4*workers, e.maskBatch)
	}

	mainShuffle := shuffle.New(e.cfg.ShuffleBuffer, rand.New(rand.NewPCG(e.cfg.Seed, 0x53485546464c45)))
	evalShuffle := shuffle.New(e.cfg.ShuffleBuffer, rand.New(rand.NewPCG(e.cfg.Seed, 0x4556414c53485546)))
	mainShuffle.Reserve(e.rowRoom())
	evalShuffle.Reserve(e.rowRoom())
	var runErr error
loop:
	for b := range batches {
		if b.err != nil {
			runErr = b.err
			break
		}
		e.mu.Lock()
		for _, td := range b.docs {
			e.stats.Sentences += td.nsent
			e.stats.Tokens += td.tokens
			e.stats.UNK += td.unk
			e.stats.InvalidUTF8 += td.invalid
		}
		e.stats.Rows += int64(len(b.rows))
		if b.eval {
			e.stats.EvalRows += int64(len(b.rows))
		}
		e.stats.RowTokens += b.tokens
		e.stats.Masked += b.masked
		e.stats.MaskedAsMask += b.asMask
		e.stats.MaskedRandom += b.random
		e.stats.MaskedKept += b.kept
		e.mu.Unlock()
		sb, out := mainShuffle, emit
		if b.eval {
			sb, out = evalShuffle, emitEval
		}
		for i := range b.rows {
			if runErr = sb.Push(&b.rows[i], out); runErr != nil {
				break loop
			}
		}
		e.putBatch(b) // the buffer holds copies of the rows, emit none
	}
	cancel()
	for range batches { // let the stages finish
	}
	<-pairDone // the pairer is idle: its stats can be read
	// The source has sent its result before the documents' channel closed.
	if err := <-srcErr; runErr == nil && err != nil && !errors.Is(err, context.Canceled) {
		runErr = err
	}
	if runErr == nil {
		runErr = parent.Err()
	}
	if runErr == nil {
		runErr = mainShuffle.Drain(parent, emit)
	}
	if runErr == nil && e.evalPair != nil {
		runErr = evalShuffle.Drain(parent, emitEval)
	}
	e.mu.Lock()
	e.stats.Seconds = time.Since(start).Seconds()
	e.stats.Source = e.src.Stats() // the source goroutine has finished
	e.stats.Pairing = e.pairer.Stats()
	if e.evalPair != nil {
		ps := e.evalPair.Stats()
		e.stats.EvalPairing = &ps
	}
	stats := e.stats
	e.mu.Unlock()
	if runErr == nil && stats.Rows-stats.EvalRows == 0 {
		runErr = noSequences(stats)
	}
	if runErr == nil && e.evalPair != nil && stats.EvalRows == 0 {
		runErr = fmt.Errorf("%w in the held-out set: eval fraction %v chose %d of %d document(s), and they made no sequence; raise it or leave it 0",
			ErrNoSequences, e.cfg.EvalFraction, stats.EvalDocuments, stats.Source.Documents)
	}
	return runErr
}

// runTokenizer loads a run's tokenizer through loadVocab and loadJSON (from the local file
// system, or through an ExampleFiles' opener): the tokenizer.json when cfg names one, checked
// against the vocab.txt when both are named, else the vocab.txt. Special-token strings such as
// "[SEP]" written in a corpus are text for a vocab.txt, as in Google's scripts: a literal
// "[SEP]" must not split a sequence. (A tokenizer.json is taken as Hugging Face would read it.)
func runTokenizer(cfg ExampleConfig, loadVocab func(string) (*tokenize.Vocab, error), loadJSON func(string) (*tokenize.Tokenizer, error)) (*tokenize.Tokenizer, error) {
	switch {
	case cfg.Tokenizer != "":
		tok, err := loadJSON(cfg.Tokenizer)
		if err != nil || cfg.Vocab == "" {
			return tok, err
		}
		v, err := loadVocab(cfg.Vocab)
		if err != nil {
			return nil, err
		}
		return tok, sameTokens(cfg.Vocab, cfg.Tokenizer, v, tok.Vocab())
	case cfg.Vocab != "":
		v, err := loadVocab(cfg.Vocab)
		if err != nil {
			return nil, err
		}
		o := tokenize.BertOptions(cfg.Cased)
		o.EncodeSpecialTokens = true
		return tokenize.New(v, o)
	}
	return nil, errors.New("no vocabulary: give a vocab.txt or a tokenizer.json")
}

// sameTokens checks that vocabularies txt (of vocabPath) and v (of jsonPath) hold the same
// tokens.
func sameTokens(vocabPath, jsonPath string, txt, v *tokenize.Vocab) error {
	a, b := txt.Tokens(), v.Tokens()
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return fmt.Errorf("vocab %s and tokenizer %s disagree: id %d is %q in one and %q in the other (give one of them)", vocabPath, jsonPath, i, a[i], b[i])
		}
	}
	if len(a) != len(b) {
		return fmt.Errorf("vocab %s holds %d tokens and tokenizer %s %d (give one of them)", vocabPath, len(a), jsonPath, len(b))
	}
	return nil
}

// ErrNoSequences is returned (wrapped) by Run when a whole pass over the corpus made no
// sequence: the inputs are empty, or every document was skipped.
var ErrNoSequences = errors.New("no sequences")

// noSequences explains why a pass made no sequence, from its stats.
func noSequences(s ExampleStats) error {
	src := s.Source
	msg := fmt.Sprintf("%d file(s), %d bytes of text, %d document(s)", src.Files, src.TextBytes, src.Documents)
	if n := src.SkippedBinary + src.SkippedLongLine + src.SkippedBadJSON; n > 0 {
		msg += fmt.Sprintf("; skipped: %d binary document(s), %d long line(s), %d bad JSON line(s)",
			src.SkippedBinary, src.SkippedLongLine, src.SkippedBadJSON)
	}
	if len(src.Problems) > 0 {
		msg += "; first problem: " + src.Problems[0]
	}
	return fmt.Errorf("%w from the corpus: %s", ErrNoSequences, msg)
}

// batchTokens bounds the tokens of the rows in one passBatch. A long document, and every dupe
// pass over it, goes out in batches of about this size rather than all at once, so that what
// the later stages hold does not grow with the document or the dupe factor. (Where the batches
// are cut changes nothing in the output.)
const batchTokens = 64 << 10

// pairAll is the sequential pairing stage: each tokenized document, in order, DupeFactor
// times through the pairer; the instances go out in batches of about batchTokens tokens. It
// stops at the first document that could not be tokenized. Once a document's passes are
// made, its text is released from the budget (e.textBudget).
func (e *Examples) pairAll(ctx context.Context, in <-chan []*tokenizedDoc, out chan<- *passBatch) {
	send := func(b *passBatch) bool {
		select {
		case out <- b:
			return true
		case <-ctx.Done():
			return false
		}
	}
	var instances []pairing.Instance
	var pass pairing.Arena // the current pass's instances, copied into the batches' arenas
	for tds := range in {
		b := e.newBatch(false)
		b.docs = append(b.docs, tds...)
		var be *passBatch // the held-out documents' rows, in a batch of their own
		for _, td := range tds {
			if td.err != nil {
				send(&passBatch{err: td.err})
				return
			}
			id := docID(td.fileIndex, td.index)
			pairer, cur := e.pairer, &b
			if e.evalPair != nil && EvalDocument(e.cfg.Seed, id, e.cfg.EvalFraction) {
				pairer, cur = e.evalPair, &be
				e.mu.Lock()
				e.stats.EvalDocuments++
				e.stats.EvalPerFile[td.file]++
				e.mu.Unlock()
				if be == nil {
					be = e.newBatch(true)
				}
			}
			long := td.tokens > batchTokens
			for p := 0; p < e.cfg.DupeFactor; p++ {
				doc := pairing.Document{ID: id, Sentences: td.sentences}
				instances = pairPass(pairer, DocRand(e.cfg.Seed, id, p), doc, instances[:0], &pass, long)
				for i, in := range instances {
					c := *cur
					c.add(in, instanceKey{doc: id, pass: p, i: i}, long)
					if c.tokens >= batchTokens {
						eval := c.eval // (once sent, c is the consumer's, who may reuse it)
						if !send(c) {
							return
						}
						*cur = e.newBatch(eval)
					}
				}
				clear(instances) // (a long document's: the rows hold them now)
			}
			td.sentences = nil // paired: the document's ids live on in the rows only
			e.textBudget.release(td.bytes)
		}
		if be != nil && len(be.rows) > 0 && !send(be) {
			return
		}
		if (len(b.rows) > 0 || len(b.docs) > 0) && !send(b) {
			return
		}
	}
}

// EvalDocument reports whether the document docID goes to the held-out set of a run with
// the given seed and eval fraction: a seeded hash of the document's identity, below
// fraction of its range. The choice depends on neither the workers nor where the corpus
// lies, and a document is in the set of every larger fraction.
func EvalDocument(seed, docID uint64, fraction float64) bool {
	const salt = 0x6576616c2d736574 // "eval-set"
	h := seeds.Mix64(docID ^ seeds.Mix64(seed^salt))
	return float64(h>>11)/(1<<53) < fraction
}

// rowRoom returns the most tokens and masked positions a row of the run may hold, for the
// shuffle buffer's slots (shuffle.Buffer.Reserve).
func (e *Examples) rowRoom() (tokens, masks int) {
	if e.masker != nil {
		masks = e.cfg.MaxPredictions
	}
	return e.cfg.MaxSeqLen, masks
}

// maskBatch applies static masking to the rows of a batch, in place. It runs on the
// workers: instance i of a pass over a document is masked with MaskRand(seed, doc, pass, i).
func (e *Examples) maskBatch(b *passBatch) *passBatch {
	if b.err != nil {
		return b
	}
	maskID := e.tok.Special().MASK
	src := rand.NewPCG(0, 0)
	rng := rand.New(src)
	m := &b.masks
	positions, labels := b.positions[:0], b.labels[:0] // the batch's masks, one after the other
	for i := range b.rows {
		r := &b.rows[i]
		k := b.keys[i]
		src.Seed(seeds.StaticMask(e.cfg.Seed, k.doc, k.pass, k.i))
		m.IDs = r.InputIDs // the instance's ids are this batch's own: mask them in place
		e.masker.Mask(rng, r.InputIDs, m)
		p0 := len(positions)
		positions = append(positions, m.Positions...)
		labels = append(labels, m.Labels...)
		r.MaskedPositions = positions[p0:len(positions):len(positions)]
		r.MaskedIDs = labels[p0:len(labels):len(labels)]
		for j, p := range r.MaskedPositions {
			b.masked++
			switch r.InputIDs[p] {
			case maskID:
				b.asMask++
			case r.MaskedIDs[j]:
				b.kept++
			default:
				b.random++
			}
		}
	}
	m.IDs = nil // the last row's: not the batch's to keep
	b.positions, b.labels = positions, labels
	return b
}

// tokenizeChunk tokenizes a chunk of documents. It runs on the workers.
func (e *Examples) tokenizeChunk(ds []Document) []*tokenizedDoc {
	out := make([]*tokenizedDoc, len(ds))
	for i, d := range ds {
		out[i] = e.tokenizeDoc(d)
		ds[i] = Document{} // the text is tokenized: let it go
		if out[i].err != nil {
			return out[:i+1]
		}
	}
	return out
}

// tokenizeDoc splits a document into sentences and tokenizes them. It runs on the workers.
func (e *Examples) tokenizeDoc(d Document) *tokenizedDoc {
	td := &tokenizedDoc{file: d.File, fileIndex: d.FileIndex, line: d.Line, index: d.Index, bytes: int64(d.Bytes)}
	enc := e.encodings.Get().(*tokenize.Encoding)
	defer e.encodings.Put(enc)
	// Every sentence's ids, one after the other: English text runs 4 to 5 bytes a token.
	ids := make([]int32, 0, d.Bytes/4+16)
	var ends []int
	unk := e.tok.Special().UNK
	add := func(text string) {
		if td.err != nil {
			return
		}
		if err := e.tok.Encode(enc, text); err != nil {
			td.err = fmt.Errorf("input %s: document at line %d: %w", d.File, d.Line, err)
			return
		}
		td.invalid += int64(enc.Invalid)
		if len(enc.IDs) == 0 {
			return
		}
		for _, id := range enc.IDs {
			if id == unk {
				td.unk++
			}
		}
		ids = append(ids, enc.IDs...)
		ends = append(ends, len(ids))
	}
	var sents []string
	for _, u := range d.Units {
		if !d.Split {
			add(u)
			continue
		}
		sents = e.splitter.Split(sents[:0], u)
		for _, s := range sents {
			add(s)
		}
	}
	td.tokens = int64(len(ids))
	td.sentences = make([][]int32, len(ends))
	start := 0
	for i, end := range ends {
		td.sentences[i] = ids[start:end:end]
		start = end
	}
	td.nsent = int64(len(td.sentences))
	return td
}

// docID identifies a document by its file's position in the input order and its index in
// the file. It does not depend on where the corpus lies: the same files read from another
// directory give the same shards.
func docID(fileIndex, index int) uint64 {
	id := seeds.Mix64(seeds.Mix64(uint64(fileIndex)+0x9e3779b97f4a7c15) ^ uint64(index))
	if id == 0 {
		id = 1 // 0 means "no identity" to pairing
	}
	return id
}

// DocRand returns the random generator of one pass over one document (the pairing's
// draws): derived from the run seed, the document's identity and the pass, never from
// scheduling.
func DocRand(seed, docID uint64, pass int) *rand.Rand {
	return rand.New(rand.NewPCG(seeds.Doc(seed, docID, pass)))
}

// MaskRand returns the random generator that statically masks instance i of one pass over
// one document. It is independent of DocRand's stream, so masking can run on any worker.
func MaskRand(seed, docID uint64, pass, i int) *rand.Rand {
	return rand.New(rand.NewPCG(seeds.StaticMask(seed, docID, pass, i)))
}
