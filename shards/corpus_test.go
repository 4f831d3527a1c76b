package shards

import (
	"bufio"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"unicode"
)

// This file builds realistic rows for the tests: real text from the shared
// corpora, a plain lowercase WordPiece over bert-base-uncased's vocabulary,
// NSP pairs and 15% masking (80/10/10). It is a fixture generator only: the
// real tokenizer, pairing and masking live in other packages, which shards/
// does not import.

const sharedDir = "../../shared/data"

// sharedPath returns a path under the shared data, skipping the test when it
// is absent (failing when CI is set).
func sharedPath(t testing.TB, rel string) string {
	t.Helper()
	p := filepath.Join(sharedDir, filepath.FromSlash(rel))
	if _, err := os.Stat(p); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("shared data missing in CI: %v", err)
		}
		t.Skipf("shared data absent (%v): skipping", err)
	}
	return p
}

// bertSpecial are bert-base-uncased's special ids.
var bertSpecial = Special{PAD: 0, CLS: 101, SEP: 102, MASK: 103}

type fixture struct {
	vocab []string
	ids   map[string]int32
}

func loadFixture(t testing.TB) *fixture {
	t.Helper()
	f, err := os.Open(sharedPath(t, "vocab/bert-base-uncased-vocab.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fx := &fixture{ids: map[string]int32{}}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fx.ids[sc.Text()] = int32(len(fx.vocab))
		fx.vocab = append(fx.vocab, sc.Text())
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return fx
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

// rows builds up to limit rows of at most maxSeqLen tokens from the
// corpus files, deterministically for a seed.
func (fx *fixture) rows(t testing.TB, corpus string, maxSeqLen, limit int, static bool, seed uint64) []Row {
	t.Helper()
	dir := sharedPath(t, "corpora/"+corpus)
	files, _ := filepath.Glob(filepath.Join(dir, "*.txt"))
	sort.Strings(files)
	rng := rand.New(rand.NewPCG(seed, 7))
	var rows []Row
	var prev [][]int32
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		doc := fx.sentences(string(b))
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
