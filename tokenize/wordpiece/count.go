package wordpiece

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"strings"

	"github.com/kiln-bert/kiln/pipeline"
	"github.com/kiln-bert/kiln/tokenize"
)

// CountOptions configures Count.
type CountOptions struct {
	// Splitter normalises and pre-tokenizes the text (the tokenizer's own rules).
	Splitter *tokenize.WordSplitter
	// Workers count chunks of text in parallel; 0 means 1.
	Workers int
	// MaxWords bounds the distinct words kept (see Counter); 0 means no bound.
	MaxWords int
	// ChunkBytes is the text per unit of parallel work; 0 means 1 MiB.
	ChunkBytes int
}

// CountStats describes a count.
type CountStats struct {
	Words       int64 `json:"words"`        // word occurrences counted
	Distinct    int   `json:"distinct"`     // distinct words kept at the end
	Invalid     int64 `json:"invalid"`      // bytes of invalid UTF-8 (read as U+FFFD, removed)
	Prunes      int   `json:"prunes"`       // times the table was full and pruned
	PrunedWords int64 `json:"pruned_words"` // distinct words removed by pruning (a word can be removed more than once)
	PrunedCount int64 `json:"pruned_count"` // occurrences those words had when removed
	Threshold   int64 `json:"threshold"`    // the highest prune threshold: words seen fewer times were removed
	// MaxLoss bounds what pruning took: every word seen more than MaxLoss times is in the
	// table, and its count is at most MaxLoss below the true one (a prune at threshold t
	// takes at most t-1 occurrences of any word; MaxLoss is the sum of t-1 over the prunes).
	MaxLoss int64 `json:"max_loss"`
}

// Counter is a word-count table bounded to MaxWords distinct words. Chunks of counts are
// added in order; when the table holds more than MaxWords words it is pruned: the words seen
// fewer than t times so far are removed, t the smallest threshold (from 2) that leaves at
// most 3/4 of MaxWords. A removed word that comes back starts again from zero, so counts are
// lower bounds, off by at most Stats().MaxLoss, and every word seen more often than that is
// kept: the frequent words a vocabulary is made of are kept with nearly exact counts, while
// words rarer than MaxLoss may be missing (fewer merges are found among them). The table,
// not the corpus, bounds the memory. Chunks added in the same order give the same counts
// whatever the number of workers that counted them.
type Counter struct {
	max    int
	counts map[string]int64
	stats  CountStats
}

// NewCounter returns an empty table for at most maxWords words (0: no bound).
func NewCounter(maxWords int) *Counter {
	return &Counter{max: maxWords, counts: make(map[string]int64)}
}

// Chunk is the word counts of one piece of text.
type Chunk struct {
	words   []string // substrings of one string holding them all; Counter.Add copies those it keeps
	counts  []int64
	total   int64
	invalid int64

	arena []byte  // the bytes of the words, while counting
	ends  []int32 // where each word ends in arena

	// slots is an open-addressing hash table (linear probing) over words. A word of up to 8
	// bytes is found by its bytes alone (key, with its length in info); a longer one by its
	// hash (key), then compared.
	slots []slot
}

// slot is one entry of Chunk's table: info holds the word's index+1 (0: empty) in its low
// 32 bits and, for a word of up to 8 bytes, 1+its length above them.
type slot struct {
	key, info uint64
}

// CountChunk counts the words of texts.
func CountChunk(sp *tokenize.WordSplitter, texts []string) *Chunk {
	c := &Chunk{slots: make([]slot, 1<<12)}
	for _, t := range texts {
		c.invalid += int64(sp.Words(t, c.add))
	}
	c.slots = nil
	all := string(c.arena) // one allocation for every word of the chunk
	c.words = make([]string, len(c.ends))
	start := int32(0)
	for i, end := range c.ends {
		c.words[i] = all[start:end]
		start = end
	}
	c.arena, c.ends = nil, nil
	return c
}

// word returns the bytes of word e while counting.
func (c *Chunk) word(e uint32) []byte {
	start := int32(0)
	if e > 0 {
		start = c.ends[e-1]
	}
	return c.arena[start:c.ends[e]]
}

// slotKey returns the key of w, the hash that places it, and the length tag of a short word
// (0 for a long one).
func slotKey(w []byte) (key, h, short uint64) {
	if len(w) <= 8 {
		var k uint64
		for i, b := range w {
			k |= uint64(b) << (8 * i)
		}
		h = (k ^ uint64(len(w))<<59) * 0x9E3779B97F4A7C15
		return k, h ^ h>>29, uint64(len(w)+1) << 32
	}
	h = hashWord(w)
	return h, h, 0
}

// add counts one occurrence of w.
func (c *Chunk) add(w []byte) {
	c.total++
	key, h, short := slotKey(w)
	mask := uint64(len(c.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		s := &c.slots[i]
		if s.info == 0 {
			c.arena = append(c.arena, w...)
			c.ends = append(c.ends, int32(len(c.arena)))
			c.counts = append(c.counts, 1)
			s.key, s.info = key, short|uint64(len(c.ends))
			if 2*len(c.ends) > len(c.slots) {
				c.grow()
			}
			return
		}
		if s.key == key && s.info>>32 == short>>32 {
			e := uint32(s.info) - 1
			if short != 0 || bytes.Equal(c.word(e), w) {
				c.counts[e]++
				return
			}
		}
	}
}

// grow doubles the hash table.
func (c *Chunk) grow() {
	c.slots = make([]slot, 2*len(c.slots))
	mask := uint64(len(c.slots) - 1)
	for e := range c.ends {
		key, h, short := slotKey(c.word(uint32(e)))
		i := h & mask
		for c.slots[i].info != 0 {
			i = (i + 1) & mask
		}
		c.slots[i] = slot{key, short | uint64(e+1)}
	}
}

// hashWord mixes the bytes of w, eight at a time.
func hashWord(w []byte) uint64 {
	h := uint64(len(w)) * 0x9E3779B97F4A7C15
	for len(w) >= 8 {
		h = (h ^ binary.LittleEndian.Uint64(w)) * 0xBF58476D1CE4E5B9
		h ^= h >> 31
		w = w[8:]
	}
	var tail uint64
	for i, b := range w {
		tail |= uint64(b) << (8 * i)
	}
	h = (h ^ tail) * 0x94D049BB133111EB
	return h ^ h>>29
}

// Add merges a chunk into the table, then prunes it if it is over its bound.
func (t *Counter) Add(c *Chunk) {
	for i, w := range c.words {
		if n, ok := t.counts[w]; ok {
			t.counts[w] = n + c.counts[i]
		} else {
			t.counts[strings.Clone(w)] = c.counts[i] // not the chunk's string, which holds all its words
		}
	}
	t.stats.Words += c.total
	t.stats.Invalid += c.invalid
	if t.max > 0 && len(t.counts) > t.max {
		t.prune()
	}
}

// prune removes the words below the smallest threshold that leaves at most 3/4 of max.
func (t *Counter) prune() {
	target := max(t.max*3/4, 1)
	// hist[c] is the number of words seen c times, c capped.
	const capCount = 1 << 16
	hist := make([]int, capCount+1)
	for _, c := range t.counts {
		hist[min(c, capCount)]++
	}
	keep := len(t.counts)
	th := int64(1)
	for keep > target && th < capCount {
		keep -= hist[th]
		th++
	}
	// Words seen fewer than th times go.
	for w, c := range t.counts {
		if c < th {
			t.stats.PrunedWords++
			t.stats.PrunedCount += c
			delete(t.counts, w)
		}
	}
	t.stats.Prunes++
	t.stats.Threshold = max(t.stats.Threshold, th)
	t.stats.MaxLoss += th - 1
}

// Counts returns the table (owned by the Counter: do not change it).
func (t *Counter) Counts() map[string]int64 { return t.counts }

// Stats returns the counts so far.
func (t *Counter) Stats() CountStats {
	s := t.stats
	s.Distinct = len(t.counts)
	return s
}

// Count reads texts from read (which calls emit for each text, in order, and stops when emit
// returns an error), counts their words in parallel, chunk by chunk, and adds the chunks to
// a Counter in order. Memory is bounded by MaxWords, the chunk size and the workers, never
// by the corpus.
func Count(ctx context.Context, read func(emit func(string) error) error, o CountOptions) (*Counter, error) {
	if o.Splitter == nil {
		return nil, errors.New("CountOptions.Splitter is nil")
	}
	workers := max(o.Workers, 1)
	chunkBytes := o.ChunkBytes
	if chunkBytes <= 0 {
		chunkBytes = 1 << 20
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	in := make(chan []string)
	readErr := make(chan error, 1)
	go func() {
		defer close(in)
		var batch []string
		n := 0
		send := func() error {
			select {
			case in <- batch:
			case <-ctx.Done():
				return ctx.Err()
			}
			batch, n = nil, 0
			return nil
		}
		err := read(func(s string) error {
			batch = append(batch, s)
			n += len(s)
			if n >= chunkBytes {
				return send()
			}
			return ctx.Err()
		})
		if err == nil && len(batch) > 0 {
			err = send()
		}
		readErr <- err
	}()
	out := pipeline.OrderedMap(ctx, in, workers, 2*workers, func(texts []string) *Chunk {
		return CountChunk(o.Splitter, texts)
	})
	t := NewCounter(o.MaxWords)
	for c := range out {
		t.Add(c)
	}
	if err := <-readErr; err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return t, nil
}
