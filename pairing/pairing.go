// Package pairing turns tokenized documents into BERT pretraining instances:
// [CLS] A [SEP] B [SEP] with token types and a sentence-pair label.
//
// It follows Google's create_pretraining_data.py (google-research/bert at
// eedf571, create_instances_from_document and truncate_seq_pair):
//
//   - max_num_tokens = MaxSeqLen - 3. Per document pass the target length is
//     max_num_tokens, or with probability ShortSeqProb a uniform length in
//     [2, max_num_tokens].
//   - Sentences accumulate into a chunk until the target is reached or the
//     document ends. Segment A takes a random 1..len(chunk)-1 sentences (1 if
//     the chunk has one sentence).
//   - NotNext (label 1): B starts at a random sentence of another document and
//     fills up to the remaining target; the unused sentences of the chunk are
//     put back. IsNext (label 0): B is the rest of the chunk.
//   - truncate_seq_pair trims the longer side (ties: B), from the front or the
//     back with probability 0.5 each, until len(A)+len(B) <= max_num_tokens.
//   - Token type 0 for [CLS], A and the first [SEP]; 1 for B and the last [SEP].
//
// Where Google's script goes wrong, kiln differs, deliberately:
//
//   - Streaming. Google holds the whole corpus in memory to draw NotNext
//     segments (google-research/bert #117, #612). A Pairer keeps a bounded
//     reservoir instead: a uniform sample (Algorithm R) of at most
//     Config.ReservoirDocs previous documents, each stored as a window of at
//     most Config.ReservoirTokens tokens (the whole document when it is
//     shorter, else consecutive sentences from a random sentence on). Memory
//     is about 4*ReservoirDocs*ReservoirTokens bytes whatever the corpus size.
//   - Never the same document. Google retries 10 times and then takes the same
//     document anyway (NVIDIA DeepLearningExamples #421). B is drawn only from
//     reservoir entries whose Document.ID differs from the current one; a
//     document added again (another dupe pass) is never paired with itself.
//   - The very first document(s). While the reservoir holds no other document,
//     a NotNext cannot be made: a multi-sentence chunk becomes IsNext, and a
//     one-sentence chunk is split inside its sentence at a random token (B is
//     then the true continuation of A, label IsNext). Both are counted in
//     Stats.NoPartner; a one-token chunk that cannot be split is dropped and
//     counted in Stats.DroppedChunks.
//   - A balanced label share. Google forces NotNext for one-sentence chunks
//     and flips a fair coin for the others, so NotNext is over 50% (53.5% on a
//     real corpus). A Pairer keeps a running balance d = NotNext - IsNext over
//     every instance it has made and draws NotNext for a multi-sentence chunk
//     with probability p = 0.5 - d/(2*BalanceWindow), clamped to [0.1, 0.9].
//     While the labels are even p is 0.5, as Google's; a surplus of forced
//     NotNext lowers p just enough to pull d back. d stays small (a few units)
//     so the share converges to 50%, while each label stays a real coin flip,
//     never certain, not an alternation. The clamp bounds what it can correct:
//     one-sentence chunks up to 4/9 of all chunks (13.5% on the test corpus;
//     Stats.ForcedNotNext shows how many). BalanceWindow < 0 gives Google's
//     plain fair coin.
//
// Tasks: NSP (default, as above); SOP, sentence order prediction as ALBERT
// (google-research/albert): B is always the true next segment and A and B are
// swapped with probability 0.5 (label 1 when swapped; the same balanced coin);
// ALBERT draws a random other document for one-sentence chunks, kiln splits the
// sentence instead, so SOP needs no reservoir. None: MLM only, whole sentences
// packed greedily up to the target (a sentence longer than the target is cut
// into target-sized pieces, nothing is truncated), [CLS] A [SEP], label -1.
//
// Dupe factor is the caller's: it calls Add once per pass with a different
// generator. Everything is deterministic given the order of Add calls and the
// generators passed in. The package does not tokenize, mask or shuffle, and it
// imports no other kiln package (internal/setting aside, for its errors): it works on int32
// token ids.
package pairing

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/kiln-bert/kiln/internal/setting"
	"github.com/kiln-bert/kiln/internal/special"
)

// Task selects the sentence-pair objective.
type Task int

const (
	// NSP is next sentence prediction, as BERT (the default).
	NSP Task = iota
	// SOP is sentence order prediction, as ALBERT.
	SOP
	// None makes single-segment instances for masked language modelling only.
	None
)

// ParseTask parses "nsp", "sop" or "none".
func ParseTask(s string) (Task, error) {
	switch s {
	case "nsp":
		return NSP, nil
	case "sop":
		return SOP, nil
	case "none":
		return None, nil
	}
	return 0, setting.Errorf("Task", s, "nsp, sop or none")
}

// MarshalText returns the task's name, as configs and manifests spell it in JSON.
func (t Task) MarshalText() ([]byte, error) {
	if t != NSP && t != SOP && t != None {
		return nil, setting.Errorf("Task", t, "nsp, sop or none")
	}
	return []byte(t.String()), nil
}

// UnmarshalText parses a task's name (ParseTask).
func (t *Task) UnmarshalText(b []byte) error {
	v, err := ParseTask(string(b))
	if err != nil {
		return err
	}
	*t = v
	return nil
}

// String returns the task's flag name: "nsp", "sop" or "none".
func (t Task) String() string {
	switch t {
	case NSP:
		return "nsp"
	case SOP:
		return "sop"
	case None:
		return "none"
	}
	return fmt.Sprintf("Task(%d)", int(t))
}

// Config holds the pairing parameters.
type Config struct {
	// MaxSeqLen is the length of an instance including [CLS] and [SEP]s
	// (Google's max_seq_length). At least 5 for NSP and SOP, 4 for None.
	MaxSeqLen int
	// ShortSeqProb is the probability, per document pass, of a short target
	// length (Google's short_seq_prob, 0.1). In [0, 1].
	ShortSeqProb float64
	// Task is the pair objective.
	Task Task
	// ReservoirDocs is how many previous documents NSP keeps to draw NotNext
	// segments from; 0 means DefaultReservoirDocs.
	ReservoirDocs int
	// ReservoirTokens caps the tokens kept per reservoir document; 0 means
	// 16*MaxSeqLen. When set it must be at least MaxSeqLen-3.
	ReservoirTokens int
	// BalanceWindow sets how strongly the NotNext share is held at 50%
	// (see the package doc); 0 means DefaultBalanceWindow, < 0 disables
	// balancing (Google's fair coin).
	BalanceWindow int
}

// Defaults for the zero values of Config fields.
const (
	DefaultReservoirDocs = 1000
	DefaultBalanceWindow = 16
)

// DefaultConfig returns Google's defaults: MaxSeqLen 128, ShortSeqProb 0.1, NSP.
func DefaultConfig() Config {
	return Config{MaxSeqLen: 128, ShortSeqProb: 0.1, Task: NSP}
}

// Special holds the special token ids; the layout needs CLS and SEP.
type Special = special.IDs

// Document is one document: its sentences as token ids, without special
// tokens. The Pairer copies what it keeps; the caller may reuse the slices
// after Add returns.
type Document struct {
	// ID identifies the source document across dupe passes: documents with
	// the same non-zero ID are never paired with each other. 0 means the
	// document is distinct from every other.
	ID        uint64
	Sentences [][]int32
}

// Instance is one pretraining sequence.
type Instance struct {
	IDs     []int32 // [CLS] A [SEP] B [SEP] (Task None: [CLS] A [SEP])
	TypeIDs []int8  // 0 for [CLS], A and the first [SEP]; 1 for B and the last [SEP]
	Label   int8    // NSP: 0 IsNext, 1 NotNext; SOP: 0 in order, 1 swapped; None: -1
}

// Stats counts what a Pairer has done since it was made.
type Stats struct {
	Documents       int   // Add calls (document passes)
	EmptyDocuments  int   // documents without a non-empty sentence: no instance
	Sentences       int   // non-empty sentences read
	Tokens          int64 // tokens read
	Instances       int   // instances made
	NotNext         int   // instances with label 1 (NSP NotNext, SOP swapped)
	ForcedNotNext   int   // NSP one-sentence chunks: NotNext without a coin, as Google
	NoPartner       int   // NotNext wanted but no other document in the reservoir
	SplitSentences  int   // one-sentence chunks split inside the sentence (SOP; NSP without partner)
	DroppedChunks   int   // one-token chunks that could not make a pair
	DroppedTokens   int64 // tokens in those chunks
	ShortTargets    int   // document passes with a short target length
	ShortInstances  int   // instances made under a short target
	TruncatedTokens int64 // tokens removed by truncate_seq_pair
	OutputTokens    int64 // tokens in the instances, special tokens included
	ReservoirDocs   int   // documents in the reservoir now
}

// slot is one reservoir document: a window of its sentences.
type slot struct {
	id   uint64
	toks []int32 // the sentences, concatenated
	ends []int   // ends[i] is the end of sentence i in toks
}

func (s *slot) sentence(i int) []int32 {
	start := 0
	if i > 0 {
		start = s.ends[i-1]
	}
	return s.toks[start:s.ends[i]]
}

// Pairer makes instances from documents. It is stateful (the reservoir and
// the label balance) and sequential: the same documents in the same order with
// the same generators give the same instances. Not safe for concurrent use.
type Pairer struct {
	cfg      Config
	sp       Special
	maxNum   int // max_num_tokens: MaxSeqLen minus the special tokens
	resDocs  int
	resToks  int
	window   int
	slots    []slot
	seen     int // documents offered to the reservoir
	balance  int // NotNext - IsNext so far
	stats    Stats
	sents    [][]int32 // non-empty sentences of the current document
	a, b     []int32   // the segments of the current instance: views of abuf and bbuf
	abuf     []int32   // storage of segment A
	bbuf     []int32   // storage of segment B
	partners int       // reservoir slots usable for the current document
	// byID lists, ascending, the reservoir slots holding each non-zero
	// document ID, so that a draw skips the current document's slots without
	// scanning the reservoir.
	byID     map[uint64][]int
	excluded []int  // byID of the current document: slots it must not pair with
	arena    *Arena // where AddArena lays out the current pass's instances; nil: allocate
}

// MaxReservoirDocs bounds Config.ReservoirDocs: the reservoir holds up to ReservoirTokens
// int32 tokens per document (16*MaxSeqLen by default), 8 GiB at 1e6 documents of 128.
const MaxReservoirDocs = 1_000_000

// Validate reports the first field of c out of range, naming it (a *setting.Error): an unknown
// Task, a MaxSeqLen too short for the task's special tokens, a ShortSeqProb outside [0, 1],
// a ReservoirDocs above MaxReservoirDocs, a ReservoirTokens below one segment. Zero values
// that stand for defaults are valid.
func (c Config) Validate() error {
	minLen := 5 // [CLS] A [SEP] B [SEP]
	if c.Task == None {
		minLen = 4 // [CLS] A [SEP] with A of two tokens
	}
	switch {
	case c.Task != NSP && c.Task != SOP && c.Task != None:
		return setting.Errorf("Task", c.Task, "nsp, sop or none")
	case c.MaxSeqLen < minLen:
		return setting.Errorf("MaxSeqLen", c.MaxSeqLen, "at least %d for Task %s", minLen, c.Task)
	case !(c.ShortSeqProb >= 0 && c.ShortSeqProb <= 1):
		return setting.Errorf("ShortSeqProb", c.ShortSeqProb, "a probability in [0, 1]")
	case c.ReservoirDocs < 0 || c.ReservoirDocs > MaxReservoirDocs:
		return setting.Errorf("ReservoirDocs", c.ReservoirDocs, "0 (the default, %d) to %d", DefaultReservoirDocs, MaxReservoirDocs)
	case c.ReservoirTokens < 0 || (c.ReservoirTokens > 0 && c.ReservoirTokens < c.MaxSeqLen-3):
		return setting.Errorf("ReservoirTokens", c.ReservoirTokens, "0 (the default) or at least MaxSeqLen - 3 = %d", c.MaxSeqLen-3)
	}
	return nil
}

// NewPairer checks cfg (Config.Validate) and sp and returns a Pairer.
func NewPairer(cfg Config, sp Special) (*Pairer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if sp.CLS < 0 || sp.SEP < 0 || sp.CLS == sp.SEP {
		return nil, errors.New("Special: token ids must be non-negative and [CLS] != [SEP]")
	}
	p := &Pairer{cfg: cfg, sp: sp, resDocs: cfg.ReservoirDocs, resToks: cfg.ReservoirTokens, window: cfg.BalanceWindow}
	p.maxNum = cfg.MaxSeqLen - 3
	if cfg.Task == None {
		p.maxNum = cfg.MaxSeqLen - 2
	}
	if p.resDocs == 0 {
		p.resDocs = DefaultReservoirDocs
	}
	if p.resToks == 0 {
		p.resToks = 16 * cfg.MaxSeqLen
	}
	if p.window == 0 {
		p.window = DefaultBalanceWindow
	}
	return p, nil
}

// Stats returns the counts so far.
func (p *Pairer) Stats() Stats {
	s := p.stats
	s.ReservoirDocs = len(p.slots)
	return s
}

// Arena holds the ids and token types of instances one after the other, so that a caller
// who reuses it makes instances without an allocation each (AddArena). Its storage is a list
// of chunks: when one is full the next instances go to another, and those laid out before
// stay where they are (a growing slice would copy them, and keep the old copies alive as
// long as their instances). The zero value is an empty arena.
type Arena struct {
	chunks []arenaChunk
	cur    int // the chunk being filled
	tokens int
}

// arenaChunk is storage for the ids and token types of instances, filled up to its length.
type arenaChunk struct {
	ids   []int32
	types []int8
}

// arenaChunkTokens is the size of an arena's chunks, or of one instance when it is longer.
const arenaChunkTokens = 16 << 10

func newArenaChunk(n int) arenaChunk {
	return arenaChunk{ids: make([]int32, 0, n), types: make([]int8, 0, n)}
}

// Reset empties the arena, keeping its storage: the instances laid out in it before are
// overwritten by the next ones.
func (a *Arena) Reset() {
	for i := range a.chunks {
		c := &a.chunks[i]
		c.ids, c.types = c.ids[:0], c.types[:0]
	}
	a.cur, a.tokens = 0, 0
}

// Tokens returns the number of tokens the arena holds.
func (a *Arena) Tokens() int { return a.tokens }

// Cap returns the number of tokens the arena's storage holds when full.
func (a *Arena) Cap() int {
	n := 0
	for _, c := range a.chunks {
		n += cap(c.ids)
	}
	return n
}

// Copy lays out a copy of in's ids and token types in the arena and returns the copy.
func (a *Arena) Copy(in Instance) Instance {
	ids, types := a.take(len(in.IDs))
	copy(ids, in.IDs)
	copy(types, in.TypeIDs)
	return Instance{IDs: ids, TypeIDs: types, Label: in.Label}
}

// take returns the next n ids and token types of the arena. Each is capped at n, so that
// appending to one instance's slices never writes over the next.
func (a *Arena) take(n int) ([]int32, []int8) {
	a.tokens += n
	for {
		if a.cur == len(a.chunks) {
			a.chunks = append(a.chunks, newArenaChunk(max(arenaChunkTokens, n)))
		}
		c := &a.chunks[a.cur]
		if i := len(c.ids); i+n <= cap(c.ids) {
			c.ids, c.types = c.ids[:i+n], c.types[:i+n]
			return c.ids[i : i+n : i+n], c.types[i : i+n : i+n]
		}
		if len(c.ids) == 0 { // a kept chunk too small for this instance
			*c = newArenaChunk(max(arenaChunkTokens, n))
			continue
		}
		a.cur++
	}
}

// Add makes the instances of one document pass, appends them to dst and
// returns it. rng (not nil) supplies all randomness of this pass; the caller
// derives it from the run seed and the document's identity and dupe pass.
// Each instance's ids and token types are allocated for it; AddArena lays
// them out in the caller's storage instead.
func (p *Pairer) Add(rng *rand.Rand, doc Document, dst []Instance) []Instance {
	return p.AddArena(rng, doc, dst, nil)
}

// AddArena is Add with the instances' ids and token types laid out in arena, one after the
// other, instead of allocated one by one: the same instances, valid until the arena is Reset.
// A nil arena is Add.
func (p *Pairer) AddArena(rng *rand.Rand, doc Document, dst []Instance, arena *Arena) []Instance {
	p.arena = arena
	defer func() { p.arena = nil }()
	p.stats.Documents++
	p.sents = p.sents[:0]
	for _, s := range doc.Sentences {
		if len(s) > 0 {
			p.sents = append(p.sents, s)
			p.stats.Tokens += int64(len(s))
		}
	}
	p.stats.Sentences += len(p.sents)
	if len(p.sents) == 0 {
		p.stats.EmptyDocuments++
		return dst
	}

	target := p.maxNum
	short := false
	if rng.Float64() < p.cfg.ShortSeqProb {
		short = true
		target = 2 + rng.IntN(p.maxNum-1) // randint(2, max_num_tokens)
		p.stats.ShortTargets++
	}
	n := len(dst)
	if p.cfg.Task == None {
		dst = p.pack(dst, target)
	} else {
		dst = p.pairs(rng, doc.ID, dst, target)
	}
	if short {
		p.stats.ShortInstances += len(dst) - n
	}
	if p.cfg.Task == NSP {
		p.remember(rng, doc.ID)
	}
	clear(p.sents) // the caller's sentences are not kept past the call
	return dst
}

// pairs is Google's create_instances_from_document for NSP and SOP.
func (p *Pairer) pairs(rng *rand.Rand, id uint64, dst []Instance, target int) []Instance {
	p.partners, p.excluded = 0, nil
	if p.cfg.Task == NSP {
		if id != 0 {
			p.excluded = p.byID[id]
		}
		p.partners = len(p.slots) - len(p.excluded)
	}
	sents := p.sents
	chunkStart, length := 0, 0
	for i := 0; i < len(sents); i++ {
		length += len(sents[i])
		if i < len(sents)-1 && length < target {
			continue
		}
		chunk := sents[chunkStart : i+1]
		aEnd := 1
		if len(chunk) >= 2 {
			aEnd = 1 + rng.IntN(len(chunk)-1) // randint(1, len(chunk)-1)
		}
		p.a = p.abuf[:0]
		for _, s := range chunk[:aEnd] {
			p.a = append(p.a, s...)
		}
		p.abuf = p.a[:0]
		p.b = p.bbuf[:0]
		label := int8(0)
		switch {
		case p.cfg.Task == NSP && p.notNext(rng, len(chunk)):
			label = 1
			p.randomB(rng, target-len(p.a))
			i -= len(chunk) - aEnd // put the unused sentences back
		case len(chunk) == 1:
			// No partner document (NSP) or SOP: B is the rest of the sentence.
			if !p.splitA(rng) {
				p.stats.DroppedChunks++
				p.stats.DroppedTokens += int64(len(p.a))
				chunkStart, length = i+1, 0
				continue
			}
			p.stats.SplitSentences++
		default:
			for _, s := range chunk[aEnd:] {
				p.b = append(p.b, s...)
			}
		}
		p.bbuf = p.b[:0] // (truncate may reslice p.b past the start of its storage)
		if p.cfg.Task == SOP && p.coin(rng) {
			label = 1
			p.a, p.b = p.b, p.a
		}
		p.count(label)
		p.truncate(rng)
		dst = append(dst, p.instance(label))
		chunkStart, length = i+1, 0
	}
	return dst
}

// notNext decides whether an NSP chunk gets a random B, and counts why not.
func (p *Pairer) notNext(rng *rand.Rand, chunkLen int) bool {
	want := true
	if chunkLen == 1 {
		p.stats.ForcedNotNext++
	} else {
		want = p.coin(rng)
	}
	if want && p.partners == 0 {
		p.stats.NoPartner++
		return false
	}
	return want
}

// coin draws label 1 with probability 0.5, biased towards the minority label
// by the running balance (see the package doc).
func (p *Pairer) coin(rng *rand.Rand) bool {
	prob := 0.5
	if p.window > 0 {
		prob = min(0.9, max(0.1, 0.5-float64(p.balance)/float64(2*p.window)))
	}
	return rng.Float64() < prob
}

func (p *Pairer) count(label int8) {
	if label == 1 {
		p.balance++
		p.stats.NotNext++
	} else {
		p.balance--
	}
}

// splitA splits the one sentence in p.a at a random token into A and B.
func (p *Pairer) splitA(rng *rand.Rand) bool {
	if len(p.a) < 2 {
		return false
	}
	k := 1 + rng.IntN(len(p.a)-1)
	p.b = append(p.b[:0], p.a[k:]...)
	p.a = p.a[:k]
	return true
}

// randomB fills p.b from a random sentence of a random other reservoir
// document, up to want tokens (at least one sentence), as Google does.
func (p *Pairer) randomB(rng *rand.Rand, want int) {
	// The k-th slot, in reservoir order, that does not hold this document:
	// each excluded slot at or before it moves it one further.
	k := rng.IntN(p.partners)
	for _, e := range p.excluded {
		if e > k {
			break
		}
		k++
	}
	s := &p.slots[k]
	for j := rng.IntN(len(s.ends)); j < len(s.ends); j++ {
		p.b = append(p.b, s.sentence(j)...)
		if len(p.b) >= want {
			break
		}
	}
}

// truncate is Google's truncate_seq_pair.
func (p *Pairer) truncate(rng *rand.Rand) {
	// A is a[a0:a1] and B b[b0:b1]; one draw per token removed, as Google's. The side and the
	// end are taken without a branch: both are coin flips, which a branch mispredicts half
	// the time (that cost several times the draw itself).
	a0, a1, b0, b1 := 0, len(p.a), 0, len(p.b)
	over := a1 + b1 - p.maxNum
	for range over {
		inA := 0 // 1: the longer side is A (ties: B)
		if a1-a0 > b1-b0 {
			inA = 1
		}
		front := 0
		if rng.Float64() < 0.5 {
			front = 1
		}
		a0 += inA & front
		a1 -= inA &^ front
		b0 += (1 - inA) & front
		b1 -= (1 - inA) &^ front
	}
	if over > 0 {
		p.a, p.b = p.a[a0:a1], p.b[b0:b1]
		p.stats.TruncatedTokens += int64(over)
	}
}

// storage returns the ids and token types of an instance of n tokens: from the arena of
// AddArena, else allocated. The token types are not cleared.
func (p *Pairer) storage(n int) ([]int32, []int8) {
	if p.arena != nil {
		return p.arena.take(n)
	}
	return make([]int32, n), make([]int8, n)
}

// instance lays out [CLS] A [SEP] B [SEP].
func (p *Pairer) instance(label int8) Instance {
	na := len(p.a)
	n := na + len(p.b) + 3
	ids, types := p.storage(n)
	ids[0] = p.sp.CLS
	copy(ids[1:], p.a)
	ids[na+1] = p.sp.SEP
	copy(ids[na+2:], p.b)
	ids[n-1] = p.sp.SEP
	clear(types[:na+2])
	for i := na + 2; i < n; i++ {
		types[i] = 1
	}
	p.stats.Instances++
	p.stats.OutputTokens += int64(n)
	return Instance{IDs: ids, TypeIDs: types, Label: label}
}

// pack makes Task None instances: whole sentences packed up to target tokens.
func (p *Pairer) pack(dst []Instance, target int) []Instance {
	emit := func(toks []int32) {
		ids, types := p.storage(len(toks) + 2)
		ids[0] = p.sp.CLS
		copy(ids[1:], toks)
		ids[len(ids)-1] = p.sp.SEP
		clear(types)
		dst = append(dst, Instance{IDs: ids, TypeIDs: types, Label: -1})
		p.stats.Instances++
		p.stats.OutputTokens += int64(len(ids))
	}
	cur := p.abuf[:0]
	for _, s := range p.sents {
		if len(cur) > 0 && len(cur)+len(s) > target {
			emit(cur)
			cur = cur[:0]
		}
		for len(s) > target {
			emit(s[:target])
			s = s[target:]
		}
		cur = append(cur, s...)
	}
	if len(cur) > 0 {
		emit(cur)
	}
	p.abuf = cur[:0]
	return dst
}

// remember offers the current document to the reservoir (Algorithm R).
func (p *Pairer) remember(rng *rand.Rand, id uint64) {
	p.seen++
	j := len(p.slots)
	if j < p.resDocs {
		p.slots = append(p.slots, slot{})
	} else if j = rng.IntN(p.seen); j >= p.resDocs {
		return
	}
	s := &p.slots[j]
	p.index(s.id, id, j)
	s.id = id
	s.toks, s.ends = s.toks[:0], s.ends[:0]
	total := 0
	for _, t := range p.sents {
		total += len(t)
	}
	start := 0
	if total > p.resToks {
		start = rng.IntN(len(p.sents))
	}
	// The window's size first, so that the slot's storage is allocated once, at its size.
	n, k := 0, 0
	for _, t := range p.sents[start:] {
		if n >= p.resToks {
			break
		}
		n += min(len(t), p.resToks-n)
		k++
	}
	if cap(s.toks) < n {
		s.toks = make([]int32, 0, n)
	}
	if cap(s.ends) < k {
		s.ends = make([]int, 0, k)
	}
	for _, t := range p.sents[start:] {
		room := p.resToks - len(s.toks)
		if room <= 0 {
			break
		}
		if len(t) > room {
			t = t[:room]
		}
		s.toks = append(s.toks, t...)
		s.ends = append(s.ends, len(s.toks))
	}
}

// index moves slot j from the byID list of document old to that of id.
func (p *Pairer) index(old, id uint64, j int) {
	if old != 0 {
		l := p.byID[old]
		if i, ok := slices.BinarySearch(l, j); ok {
			l = slices.Delete(l, i, i+1)
		}
		if len(l) == 0 {
			delete(p.byID, old)
		} else {
			p.byID[old] = l
		}
	}
	if id != 0 {
		if p.byID == nil {
			p.byID = make(map[uint64][]int)
		}
		l := p.byID[id]
		i, _ := slices.BinarySearch(l, j)
		p.byID[id] = slices.Insert(l, i, j)
	}
}
