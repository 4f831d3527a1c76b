package wordpiece

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"unicode/utf8"
)

// Config holds the settings of a training run. The zero value is not useful: start from
// BertDefaults or HFDefaults.
type Config struct {
	// VocabSize is the most tokens the vocabulary gets, special tokens and alphabet
	// included (it can end smaller when no pair is left to merge).
	VocabSize int
	// MinFrequency: a pair seen fewer times than this is not merged.
	MinFrequency int64
	// LimitAlphabet keeps only the LimitAlphabet most frequent characters; 0 keeps all.
	LimitAlphabet int
	// SpecialTokens come first in the vocabulary, in this order.
	SpecialTokens []string
	// InitialAlphabet are characters kept in the alphabet whether or not the corpus has them
	// (they count as the most frequent for LimitAlphabet), as Hugging Face's initial_alphabet.
	InitialAlphabet []rune
	// Prefix marks a piece that continues a word; "" means "##".
	Prefix string
	// Progress, when set, is called now and then during the merges with the vocabulary
	// size so far.
	Progress func(tokens int)

	// contOrder, when set, gives the order in which the continuation tokens of single
	// characters ("##a") get their ids; the rest follow in code point order. Hugging Face
	// assigns these ids in hash-map order, which changes from run to run; tests set contOrder
	// from a Hugging Face vocabulary to reproduce that run.
	contOrder []string
}

// BertDefaults are the defaults of Hugging Face's BertWordPieceTokenizer.train: 30000
// tokens, min_frequency 2, limit_alphabet 1000, the five BERT special tokens.
func BertDefaults() Config {
	return Config{VocabSize: 30000, MinFrequency: 2, LimitAlphabet: 1000,
		SpecialTokens: []string{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"}, Prefix: "##"}
}

// HFDefaults are the built-in defaults of Hugging Face's WordPieceTrainer (what
// Tokenizer.train uses for a WordPiece model): 30000 tokens, min_frequency 0, no alphabet
// limit, no special tokens.
func HFDefaults() Config {
	return Config{VocabSize: 30000, Prefix: "##"}
}

// Result is a trained vocabulary.
type Result struct {
	Tokens   []string // by id
	Specials int      // the special tokens at the start of Tokens
	Alphabet int      // the single characters after them
	Dropped  int      // characters left out of the alphabet by LimitAlphabet
	Merges   int      // merges made
}

// pair is two symbol ids, first in the high half: ordering pairs as integers orders them as
// Hugging Face orders (a, b) tuples.
type pair uint64

func mkPair(a, b int32) pair { return pair(uint64(uint32(a))<<32 | uint64(uint32(b))) }

// merge is a queue entry: a pair, its count when queued, the words to update, and the
// pair's number in the pairTable.
type merge struct {
	p     pair
	count int64
	pos   []int32
	k     int32
}

// pairTable numbers pairs from 0 in the order they are added: an open-addressing hash table
// (linear probing) from pair to number, and the pairs by number.
type pairTable struct {
	slots []int32 // number+1 of the pair in the slot; 0: empty
	keys  []pair  // by number
	mask  uint64
}

func newPairTable(size int) *pairTable {
	return &pairTable{slots: make([]int32, size), mask: uint64(size - 1)}
}

// index returns the number of p, adding it when it is new (added).
func (t *pairTable) index(p pair) (k int32, added bool) {
	h := (uint64(p) * 0x9E3779B97F4A7C15) >> 20
	for i := h & t.mask; ; i = (i + 1) & t.mask {
		n := t.slots[i]
		if n == 0 {
			k = int32(len(t.keys))
			t.slots[i] = k + 1
			t.keys = append(t.keys, p)
			if 2*len(t.keys) > len(t.slots) {
				t.grow()
			}
			return k, true
		}
		if t.keys[n-1] == p {
			return n - 1, false
		}
	}
}

// grow doubles the table.
func (t *pairTable) grow() {
	t.slots = make([]int32, 2*len(t.slots))
	t.mask = uint64(len(t.slots) - 1)
	for k, p := range t.keys {
		h := (uint64(p) * 0x9E3779B97F4A7C15) >> 20
		i := h & t.mask
		for t.slots[i] != 0 {
			i = (i + 1) & t.mask
		}
		t.slots[i] = int32(k) + 1
	}
}

// mergeQueue is a max-heap on count, then the smaller pair first (Hugging Face's order).
type mergeQueue []merge

func (q mergeQueue) less(i, j int) bool {
	if q[i].count != q[j].count {
		return q[i].count > q[j].count
	}
	return q[i].p < q[j].p
}

func (q *mergeQueue) push(m merge) {
	*q = append(*q, m)
	h := *q
	for i := len(h) - 1; i > 0; {
		parent := (i - 1) / 2
		if !h.less(i, parent) {
			break
		}
		h[i], h[parent] = h[parent], h[i]
		i = parent
	}
}

func (q *mergeQueue) pop() merge {
	h := *q
	top := h[0]
	n := len(h) - 1
	h[0] = h[n]
	h = h[:n]
	h.down(0)
	*q = h
	return top
}

func (q mergeQueue) down(i int) {
	for {
		l := 2*i + 1
		if l >= len(q) {
			return
		}
		j := l
		if r := l + 1; r < len(q) && q.less(r, l) {
			j = r
		}
		if !q.less(j, i) {
			return
		}
		q[i], q[j] = q[j], q[i]
		i = j
	}
}

func (q mergeQueue) init() {
	for i := len(q)/2 - 1; i >= 0; i-- {
		q.down(i)
	}
}

// Train builds a WordPiece vocabulary from word counts with Hugging Face's WordPieceTrainer
// algorithm (a BPE trainer with a continuing-subword prefix):
//
//  1. the special tokens, in order;
//  2. the alphabet: every character of the words, weighted by the word counts; with
//     LimitAlphabet, only that many of the most frequent (ties: the smaller code point is
//     kept; Hugging Face breaks them in hash order), sorted by code point;
//  3. each word split into characters of the alphabet (others are left out), every
//     character but the first with the prefix; the prefixed characters get their ids next,
//     in code point order (Hugging Face: in hash-map order, which varies between runs);
//  4. merges: repeatedly the most frequent adjacent pair (ties: the pair of smaller ids
//     first) becomes a new token, its second part without the prefix, until VocabSize
//     tokens or no pair seen at least MinFrequency times (and at least once) is left.
//
// The tokens are returned in id order, which is the order of vocab.txt. It stops early with
// ctx's error when ctx is done.
func Train(ctx context.Context, counts map[string]int64, cfg Config) (*Result, error) {
	if cfg.Prefix == "" {
		cfg.Prefix = "##"
	}
	if cfg.VocabSize < 1 {
		return nil, fmt.Errorf("Config.VocabSize %d: want at least 1", cfg.VocabSize)
	}
	if cfg.LimitAlphabet < 0 || cfg.MinFrequency < 0 {
		return nil, fmt.Errorf("Config.LimitAlphabet %d, MinFrequency %d: want each at least 0", cfg.LimitAlphabet, cfg.MinFrequency)
	}
	t := &trainer{ids: make(map[string]int32, cfg.VocabSize)}
	res := &Result{}
	// 1. The special tokens.
	for _, s := range cfg.SpecialTokens {
		if t.add(s) {
			res.Specials++
		}
	}

	// The words, in a fixed order (the order does not change the result, only the work).
	words := make([]string, 0, len(counts))
	for w, c := range counts {
		if c > 0 && w != "" {
			words = append(words, w)
		}
	}
	slices.Sort(words)
	freq := make([]int64, len(words))
	for i, w := range words {
		freq[i] = counts[w]
	}

	// 2. The alphabet.
	chars := map[rune]int64{}
	for i, w := range words {
		for _, r := range w {
			chars[r] += freq[i]
		}
	}
	for _, r := range cfg.InitialAlphabet {
		chars[r] = math.MaxInt64
	}
	kept := make([]rune, 0, len(chars))
	for r := range chars {
		kept = append(kept, r)
	}
	if cfg.LimitAlphabet > 0 && len(kept) > cfg.LimitAlphabet {
		slices.SortFunc(kept, func(a, b rune) int {
			if chars[a] != chars[b] {
				if chars[a] > chars[b] {
					return -1
				}
				return 1
			}
			return int(a - b)
		})
		res.Dropped = len(kept) - cfg.LimitAlphabet
		kept = kept[:cfg.LimitAlphabet]
	}
	slices.Sort(kept)
	n0 := len(t.tokens)
	for _, r := range kept {
		t.add(string(r))
	}
	res.Alphabet = len(t.tokens) - n0

	// 3. The prefixed characters get their ids, then every word becomes symbols.
	for _, s := range cfg.contOrder {
		if r, n := utf8.DecodeRuneInString(strings.TrimPrefix(s, cfg.Prefix)); n > 0 && strings.HasPrefix(s, cfg.Prefix) &&
			len(s) == len(cfg.Prefix)+n {
			if _, ok := t.ids[string(r)]; ok {
				t.add(s)
			}
		}
	}
	var cont []rune
	seen := map[rune]bool{}
	for _, w := range words {
		first := true
		for _, r := range w {
			if !first && !seen[r] {
				seen[r] = true
				if _, ok := t.ids[string(r)]; ok {
					cont = append(cont, r)
				}
			}
			first = false
		}
	}
	slices.Sort(cont)
	for _, r := range cont {
		t.add(cfg.Prefix + string(r))
	}
	// The symbol ids of each character, as the first of a word and as a continuation.
	firstID, contID := map[rune]int32{}, map[rune]int32{}
	for _, r := range kept {
		if id, ok := t.ids[string(r)]; ok {
			firstID[r] = id
		}
		if id, ok := t.ids[cfg.Prefix+string(r)]; ok {
			contID[r] = id
		}
	}
	for _, s := range cfg.SpecialTokens { // a one-character special token is in the alphabet too
		if r, n := utf8.DecodeRuneInString(s); n == len(s) && n > 0 {
			firstID[r] = t.ids[s]
			if id, ok := t.ids[cfg.Prefix+s]; ok {
				contID[r] = id
			}
		}
	}
	syms := make([][]int32, len(words))
	for i, w := range words {
		s := make([]int32, 0, len(w))
		first := true
		for _, r := range w {
			if _, ok := firstID[r]; ok {
				if first {
					s = append(s, firstID[r])
				} else {
					s = append(s, contID[r])
				}
			}
			first = false
		}
		syms[i] = s
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	// 4. Count the pairs and merge. Pairs are numbered as they are first seen (pairs), with
	// their counts (counts) and the words where they appeared since they were last queued
	// (pos).
	pairs := newPairTable(1 << 16)
	var counts64 []int64
	var pos [][]int32
	index := func(p pair) int32 {
		i, added := pairs.index(p)
		if added {
			counts64 = append(counts64, 0)
			pos = append(pos, nil)
		}
		return i
	}
	for i, s := range syms {
		for j := 0; j+1 < len(s); j++ {
			k := index(mkPair(s[j], s[j+1]))
			counts64[k] += freq[i]
			if l := pos[k]; len(l) == 0 || l[len(l)-1] != int32(i) {
				pos[k] = append(l, int32(i))
			}
		}
	}
	q := make(mergeQueue, 0, len(pos))
	for k, l := range pos {
		if c := counts64[k]; c > 0 {
			q = append(q, merge{pairs.keys[k], c, l, int32(k)})
		}
		pos[k] = nil
	}
	q.init()
	var fresh []int32 // the pairs given positions in this merge, in the order they came
	var changes []change
	for len(t.tokens) < cfg.VocabSize && len(q) > 0 {
		if res.Merges%1024 == 0 {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			if cfg.Progress != nil {
				cfg.Progress(len(t.tokens))
			}
		}
		top := q.pop()
		if c := counts64[top.k]; top.count != c {
			top.count = c
			q.push(top)
			continue
		}
		if top.count < 1 || cfg.MinFrequency > top.count {
			break
		}
		a, b := int32(top.p>>32), int32(uint32(top.p))
		tok := t.tokens[a] + strings.TrimPrefix(t.tokens[b], cfg.Prefix)
		t.add(tok)
		id := t.ids[tok]
		res.Merges++
		for _, i := range top.pos {
			changes = mergeWord(&syms[i], a, b, id, changes[:0])
			for _, ch := range changes {
				k := index(ch.p)
				counts64[k] += int64(ch.delta) * freq[i]
				if ch.delta > 0 {
					l := pos[k]
					if len(l) == 0 {
						fresh = append(fresh, k)
					}
					if len(l) == 0 || l[len(l)-1] != i {
						pos[k] = append(l, i)
					}
				}
			}
		}
		for _, k := range fresh {
			if c := counts64[k]; c > 0 {
				q.push(merge{pairs.keys[k], c, pos[k], k})
			}
			pos[k] = nil
		}
		fresh = fresh[:0]
	}
	res.Tokens = t.tokens
	return res, nil
}

// trainer holds the vocabulary being built.
type trainer struct {
	tokens []string
	ids    map[string]int32
}

// add appends tok unless it is already there, and reports whether it was added.
func (t *trainer) add(tok string) bool {
	if _, ok := t.ids[tok]; ok {
		return false
	}
	t.ids[tok] = int32(len(t.tokens))
	t.tokens = append(t.tokens, tok)
	return true
}

// change is a pair count update from one merge in one word.
type change struct {
	p     pair
	delta int8
}

// mergeWord replaces each non-overlapping occurrence of (a, b) in *w, left to right, by id,
// and appends the pair count changes, as Hugging Face's Word::merge does.
func mergeWord(w *[]int32, a, b, id int32, changes []change) []change {
	s := *w
	out := s[:0]
	for i := 0; i < len(s); i++ {
		if s[i] == a && i+1 < len(s) && s[i+1] == b {
			if len(out) > 0 {
				prev := out[len(out)-1]
				changes = append(changes, change{mkPair(prev, a), -1}, change{mkPair(prev, id), 1})
			}
			if i+2 < len(s) {
				next := s[i+2]
				changes = append(changes, change{mkPair(b, next), -1}, change{mkPair(id, next), 1})
			}
			out = append(out, id)
			i++
			continue
		}
		out = append(out, s[i])
	}
	*w = out
	return changes
}
