package shards

import (
	"bufio"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"unicode"

	"github.com/kiln-bert/kiln/internal/testenv"
)

// This file builds realistic rows for the tests: real text from the sample that
// ships in the repository (cmd/kiln/sample), a plain lowercase WordPiece over
// bert-base-uncased's vocabulary, NSP pairs and 15% masking (80/10/10). It is a
// fixture generator only: the real tokenizer, pairing and masking live in other
// packages, which shards/ does not import.

// corpusFiles returns the text files of a corpus: "sotu" (the sample's 21 State
// of the Union addresses), "moby-dick" (its 30 chapters), "sample" (both), or
// "bench-sotu" (the 233 addresses of the benchmark corpora: benchmarks only).
func corpusFiles(t testing.TB, corpus string) []string {
	t.Helper()
	switch corpus {
	case "sotu":
		return testenv.SOTU(t)
	case "moby-dick":
		return testenv.MobyDick(t)
	case "sample":
		return testenv.CorpusFiles(t)
	case "bench-sotu":
		files, err := filepath.Glob(filepath.Join(testenv.BenchData(t), "corpora", "sotu", "*.txt"))
		if err != nil || len(files) == 0 {
			t.Fatalf("no benchmark SOTU files: %v", err)
		}
		sort.Strings(files)
		return files
	}
	t.Fatalf("unknown corpus %q", corpus)
	return nil
}

// bertSpecial are bert-base-uncased's special ids.
var bertSpecial = Special{PAD: 0, CLS: 101, SEP: 102, MASK: 103}

type fixture struct {
	vocab []string
	ids   map[string]int32
}

// loadFixture reads the sample's vocabulary.
func loadFixture(t testing.TB) *fixture {
	t.Helper()
	fx, err := newFixture(testenv.Vocab(t))
	if err != nil {
		t.Fatal(err)
	}
	return fx
}

func newFixture(vocab string) (*fixture, error) {
	f, err := os.Open(vocab)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fx := &fixture{ids: map[string]int32{}}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fx.ids[sc.Text()] = int32(len(fx.vocab))
		fx.vocab = append(fx.vocab, sc.Text())
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", vocab, err)
	}
	return fx, nil
}

// wordpiece appends the ids of one lowercase word, greedy longest match first.
func (fx *fixture) wordpiece(dst []int32, w string) []int32 {
	start := len(dst)
	for s := 0; s < len(w); {
		e := len(w)
		for ; e > s; e-- {
			piece := w[s:e]
			if s > 0 {
				piece = "##" + piece
			}
			if id, ok := fx.ids[piece]; ok {
				dst = append(dst, id)
				break
			}
		}
		if e == s {
			return append(dst[:start], 100) // [UNK]
		}
		s = e
	}
	return dst
}

// sentences tokenizes a text into sentences of ids.
func (fx *fixture) sentences(text string) [][]int32 {
	var out [][]int32
	var cur []int32
	word := strings.Builder{}
	flush := func() {
		if word.Len() > 0 {
			cur = fx.wordpiece(cur, word.String())
			word.Reset()
		}
	}
	for _, r := range strings.ToLower(text) {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			word.WriteRune(r)
		case unicode.IsSpace(r):
			flush()
		default:
			flush()
			cur = fx.wordpiece(cur, string(r))
			if (r == '.' || r == '?' || r == '!') && len(cur) > 3 {
				out = append(out, cur)
				cur = nil
			}
		}
	}
	flush()
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

// rows builds limit rows of at most maxSeqLen tokens from the corpus files
// (see corpusFiles), deterministically for a seed. When one pass over the
// files makes fewer rows, it makes more passes: each cuts the documents into
// pairs and masks them afresh, as a dupe factor does.
func (fx *fixture) rows(t testing.TB, corpus string, maxSeqLen, limit int, static bool, seed uint64) []Row {
	t.Helper()
	rows, err := fx.build(corpusFiles(t, corpus), maxSeqLen, limit, static, seed, false)
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// onePass is rows over a single pass of the corpus files: at most limit rows,
// no text repeated (for measurements that repetition would flatter, such as
// compressed sizes).
func (fx *fixture) onePass(t testing.TB, corpus string, maxSeqLen, limit int, static bool, seed uint64) []Row {
	t.Helper()
	rows, err := fx.build(corpusFiles(t, corpus), maxSeqLen, limit, static, seed, true)
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func (fx *fixture) build(files []string, maxSeqLen, limit int, static bool, seed uint64, once bool) ([]Row, error) {
	docs := make([][][]int32, len(files))
	for i, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		docs[i] = fx.sentences(string(b))
	}
	rng := rand.New(rand.NewPCG(seed, 7))
	var rows []Row
	for pass := 0; len(rows) < limit; pass++ {
		before := len(rows)
		rows = fx.pass(rng, docs, rows, maxSeqLen, limit, static)
		if once || len(rows) == before {
			break
		}
	}
	return rows, nil
}

// pass appends to rows the rows of one pass over docs, up to limit in all.
func (fx *fixture) pass(rng *rand.Rand, docs [][][]int32, rows []Row, maxSeqLen, limit int, static bool) []Row {
	var prev [][]int32
	for _, doc := range docs {
		for i := 0; i+1 < len(doc) && len(rows) < limit; {
			target := maxSeqLen - 3
			if rng.Float64() < 0.1 {
				target = 2 + rng.IntN(target-1)
			}
			var a, bseg []int32
			for ; i < len(doc) && len(a) < target/2; i++ {
				a = append(a, doc[i]...)
			}
			label := int8(0)
			if rng.IntN(2) == 1 && len(prev) > 0 {
				label = 1
				for j := rng.IntN(len(prev)); j < len(prev) && len(a)+len(bseg) < target; j++ {
					bseg = append(bseg, prev[j]...)
				}
			} else {
				for ; i < len(doc) && len(a)+len(bseg) < target; i++ {
					bseg = append(bseg, doc[i]...)
				}
			}
			if len(bseg) == 0 {
				continue
			}
			for len(a)+len(bseg) > target {
				if len(a) > len(bseg) {
					a = a[:len(a)-1]
				} else {
					bseg = bseg[:len(bseg)-1]
				}
			}
			r := Row{NextSentenceLabel: label}
			r.InputIDs = append(append(append(append([]int32{bertSpecial.CLS}, a...), bertSpecial.SEP), bseg...), bertSpecial.SEP)
			for k := range r.InputIDs {
				tt := int8(0)
				if k > len(a)+1 {
					tt = 1
				}
				r.TokenTypeIDs = append(r.TokenTypeIDs, tt)
			}
			if static {
				fx.mask(rng, &r)
			}
			rows = append(rows, r)
		}
		prev = doc
		if len(rows) >= limit {
			break
		}
	}
	return rows
}

// mask applies BERT's static masking: 15% of the non-special tokens (at
// most 20), 80% [MASK], 10% a random real token, 10% unchanged.
func (fx *fixture) mask(rng *rand.Rand, r *Row) {
	var cand []int32
	for i, id := range r.InputIDs {
		if id != bertSpecial.CLS && id != bertSpecial.SEP {
			cand = append(cand, int32(i))
		}
	}
	n := min(20, max(1, int(math.RoundToEven(float64(len(r.InputIDs))*0.15))), len(cand))
	rng.Shuffle(len(cand), func(i, j int) { cand[i], cand[j] = cand[j], cand[i] })
	pos := cand[:n]
	sort.Slice(pos, func(i, j int) bool { return pos[i] < pos[j] })
	for _, p := range pos {
		r.MaskedPositions = append(r.MaskedPositions, p)
		r.MaskedIDs = append(r.MaskedIDs, r.InputIDs[p])
		switch x := rng.Float64(); {
		case x < 0.8:
			r.InputIDs[p] = bertSpecial.MASK
		case x < 0.9:
			r.InputIDs[p] = 999 + rng.Int32N(int32(len(fx.vocab)-999))
		}
	}
}
