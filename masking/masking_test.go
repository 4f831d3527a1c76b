package masking_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/kiln-bert/kiln/internal/testenv"
	"github.com/kiln-bert/kiln/masking"
)

var fixture struct {
	sync.Once
	tokens []string
	stream []int32 // fixture token ids, sentence and document marks removed
	err    error
}

// load reads the real vocabulary (the bundled sample's bert-base-uncased) and the real-text
// fixture (token ids made by Hugging Face tokenizers; ../pairing/testdata/README.md).
func load(t testing.TB) ([]string, []int32) {
	t.Helper()
	vocab := testenv.Vocab(t)
	fixture.Do(func() {
		fixture.tokens, fixture.err = readVocab(vocab)
		if fixture.err == nil {
			fixture.stream, fixture.err = readStream(filepath.Join("..", "pairing", "testdata", "corpus.ids.gz"))
		}
	})
	if fixture.err != nil {
		t.Fatal(fixture.err)
	}
	return fixture.tokens, fixture.stream
}

func readVocab(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var toks []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		toks = append(toks, strings.TrimRight(sc.Text(), "\r"))
	}
	return toks, sc.Err()
}

func readStream(path string) ([]int32, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	data, err := io.ReadAll(zr)
	if err != nil {
		return nil, err
	}
	out := make([]int32, 0, len(data)/2)
	for i := 0; i+1 < len(data); i += 2 {
		if w := binary.LittleEndian.Uint16(data[i:]); w < 0xfffe {
			out = append(out, int32(w))
		}
	}
	return out, nil
}

// rows cuts the real token stream into BERT-shaped rows, [CLS] A [SEP] B
// [SEP]: 90% of maxLen tokens, 10% a uniform shorter length, as pairing makes.
func rows(stream []int32, maxLen int, seed uint64) [][]int32 {
	rng := rand.New(rand.NewPCG(seed, 0))
	var out [][]int32
	for len(stream) > 0 {
		n := maxLen - 3
		if rng.Float64() < 0.1 {
			n = 2 + rng.IntN(maxLen-4)
		}
		n = min(n, len(stream))
		if n < 2 {
			break
		}
		k := 1 + rng.IntN(n-1)
		row := []int32{101}
		row = append(row, stream[:k]...)
		row = append(row, 102)
		row = append(row, stream[k:n]...)
		row = append(row, 102)
		out = append(out, row)
		stream = stream[n:]
	}
	return out
}

func newMasker(t testing.TB, cfg masking.Config) (*masking.Masker, []string, []int32) {
	t.Helper()
	toks, stream := load(t)
	v, err := masking.NewVocab(toks)
	if err != nil {
		t.Fatal(err)
	}
	m, err := masking.New(cfg, v)
	if err != nil {
		t.Fatal(err)
	}
	return m, toks, stream
}

func TestNewVocab(t *testing.T) {
	toks, _ := load(t)
	v, err := masking.NewVocab(toks)
	if err != nil {
		t.Fatal(err)
	}
	if v.Size != 30522 || v.PAD != 0 || v.CLS != 101 || v.SEP != 102 || v.MASK != 103 {
		t.Errorf("specials: %+v", v)
	}
	// 30,522 tokens less [PAD] [UNK] [CLS] [SEP] [MASK] and 994 [unusedN].
	if len(v.Random) != 30522-5-994 {
		t.Errorf("%d random ids, want %d", len(v.Random), 30522-5-994)
	}
	for _, id := range v.Random {
		if s := toks[id]; strings.HasPrefix(s, "[unused") || s == "[UNK]" || s == "[PAD]" || s == "[CLS]" || s == "[SEP]" || s == "[MASK]" {
			t.Fatalf("random id %d is %q", id, s)
		}
	}
	cont := 0
	for id, c := range v.Continuation {
		if c != strings.HasPrefix(toks[id], "##") {
			t.Fatalf("continuation[%d] = %v for %q", id, c, toks[id])
		}
		if c {
			cont++
		}
	}
	if cont != 5828 {
		t.Errorf("%d continuation pieces, want 5828", cont)
	}
}

func TestNewVocabErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		toks []string
	}{
		{"empty", nil},
		{"no mask", []string{"[PAD]", "[CLS]", "[SEP]", "a"}},
		{"no cls", []string{"[SEP]", "[MASK]", "a"}},
		{"only specials", []string{"[CLS]", "[SEP]", "[MASK]", "[unused0]"}},
	} {
		if _, err := masking.NewVocab(tc.toks); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
	v, err := masking.NewVocab([]string{"[CLS]", "[SEP]", "[MASK]", "a", "##b"})
	if err != nil || v.PAD != -1 || !reflect.DeepEqual(v.Random, []int32{3, 4}) {
		t.Errorf("small vocab: %+v, %v", v, err)
	}
}

func TestNewErrors(t *testing.T) {
	good, _ := masking.NewVocab([]string{"[PAD]", "[CLS]", "[SEP]", "[MASK]", "a", "##b"})
	for _, tc := range []struct {
		name string
		cfg  masking.Config
		edit func(*masking.Vocab)
	}{
		{"prob 0", masking.Config{MaskedLMProb: 0, MaxPredictions: 20}, nil},
		{"prob > 1", masking.Config{MaskedLMProb: 1.2, MaxPredictions: 20}, nil},
		{"max 0", masking.Config{MaskedLMProb: 0.15}, nil},
		{"size", masking.DefaultConfig(), func(v *masking.Vocab) { v.Size = 3 }},
		{"mask id", masking.DefaultConfig(), func(v *masking.Vocab) { v.MASK = 99 }},
		{"random special", masking.DefaultConfig(), func(v *masking.Vocab) { v.Random = []int32{1} }},
		{"random empty", masking.DefaultConfig(), func(v *masking.Vocab) { v.Random = nil }},
	} {
		v := good
		v.Random = append([]int32(nil), good.Random...)
		if tc.edit != nil {
			tc.edit(&v)
		}
		if _, err := masking.New(tc.cfg, v); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
}

// TestNumToPredict: expected values from Python 3,
// min(20, max(1, int(round(n * 0.15)))), as Google's script computes it.
func TestNumToPredict(t *testing.T) {
	m, err := masking.New(masking.DefaultConfig(), mustVocab(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ n, want int }{
		{3, 1}, {5, 1}, {10, 2}, {30, 4}, {50, 8}, {70, 10}, {90, 14}, {110, 16}, {128, 19}, {512, 20},
	} {
		if got := m.NumToPredict(tc.n); got != tc.want {
			t.Errorf("NumToPredict(%d) = %d, want %d", tc.n, got, tc.want)
		}
	}
}

func mustVocab(t testing.TB) masking.Vocab {
	v, err := masking.NewVocab([]string{"[PAD]", "[CLS]", "[SEP]", "[MASK]", "a", "##b"})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// tally counts what Mask did over many rows.
type tally struct {
	rows, candidates, masked, mask, kept, random int
}

// check asserts every invariant of one masked row and adds it to the tally.
func check(t *testing.T, m *masking.Masker, cfg masking.Config, toks []string, row []int32, got *masking.Masked, tl *tally) {
	t.Helper()
	special := func(id int32) bool { return id == 0 || id == 101 || id == 102 }
	cands := 0
	for _, id := range row {
		if !special(id) {
			cands++
		}
	}
	want := min(m.NumToPredict(len(row)), cands)
	if len(got.IDs) != len(row) || len(got.Positions) != len(got.Labels) {
		t.Fatalf("lengths: ids %d row %d positions %d labels %d", len(got.IDs), len(row), len(got.Positions), len(got.Labels))
	}
	if len(got.Positions) > want || !cfg.WholeWord && len(got.Positions) != want {
		t.Fatalf("%d predictions, want %d (row of %d)", len(got.Positions), want, len(row))
	}
	masked := map[int32]bool{}
	for i, p := range got.Positions {
		if p < 0 || int(p) >= len(row) || i > 0 && p <= got.Positions[i-1] {
			t.Fatalf("positions not sorted or out of range: %v", got.Positions)
		}
		if special(row[p]) {
			t.Fatalf("masked a special token at %d: %v", p, row)
		}
		if got.Labels[i] != row[p] {
			t.Fatalf("label %d at %d, original %d", got.Labels[i], p, row[p])
		}
		masked[p] = true
		switch out := got.IDs[p]; {
		case out == 103:
			tl.mask++
		case out == row[p]:
			tl.kept++
		default:
			tl.random++
			if s := toks[out]; strings.HasPrefix(s, "[unused") || s == "[UNK]" || s == "[PAD]" || s == "[CLS]" || s == "[SEP]" || s == "[MASK]" {
				t.Fatalf("random replacement %q", s)
			}
		}
	}
	for i := range row {
		if !masked[int32(i)] && got.IDs[i] != row[i] {
			t.Fatalf("unmasked position %d changed", i)
		}
		// Whole words: a "##" piece directly after a word is masked
		// exactly when the piece before it is.
		if cfg.WholeWord && i > 0 && strings.HasPrefix(toks[row[i]], "##") && !special(row[i-1]) && masked[int32(i)] != masked[int32(i-1)] {
			t.Fatalf("word split at %d: %q masked %v, %q masked %v", i, toks[row[i-1]], masked[int32(i-1)], toks[row[i]], masked[int32(i)])
		}
	}
	tl.rows++
	tl.candidates += cands
	tl.masked += len(got.Positions)
}

// TestRatesRealText is the proof: on real text, 15% +- 0.3 of the
// candidate tokens predicted, 80/10/10 each within 1 point, and every
// invariant on every row.
func TestRatesRealText(t *testing.T) {
	for _, wwm := range []bool{false, true} {
		name := "wordpiece"
		if wwm {
			name = "whole-word"
		}
		t.Run(name, func(t *testing.T) {
			cfg := masking.DefaultConfig()
			cfg.WholeWord = wwm
			m, toks, stream := newMasker(t, cfg)
			rng := rand.New(rand.NewPCG(5, 6))
			var got masking.Masked
			var tl tally
			for _, row := range rows(stream, 128, 1) {
				m.Mask(rng, row, &got)
				check(t, m, cfg, toks, row, &got, &tl)
			}
			rate := float64(tl.masked) / float64(tl.candidates)
			fm, fk, fr := float64(tl.mask)/float64(tl.masked), float64(tl.kept)/float64(tl.masked), float64(tl.random)/float64(tl.masked)
			t.Logf("%d rows, %d candidates, predicted %.2f%%: [MASK] %.2f%%, kept %.2f%%, random %.2f%%",
				tl.rows, tl.candidates, 100*rate, 100*fm, 100*fk, 100*fr)
			if rate < 0.147 || rate > 0.153 {
				t.Errorf("masking rate %.4f of candidates, want 0.15 +- 0.003", rate)
			}
			if fm < 0.79 || fm > 0.81 || fk < 0.09 || fk > 0.11 || fr < 0.09 || fr > 0.11 {
				t.Errorf("split %.4f/%.4f/%.4f, want 0.8/0.1/0.1 +- 0.01", fm, fk, fr)
			}
		})
	}
}

// TestWholeWordRows checks whole-word masking on hand-made rows: pieces of a
// word go together, and a "##" piece after [SEP] is not joined to the word
// before [SEP] (as Google's script would).
func TestWholeWordRows(t *testing.T) {
	v, err := masking.NewVocab([]string{"[PAD]", "[CLS]", "[SEP]", "[MASK]", "a", "##b", "##c", "d"})
	if err != nil {
		t.Fatal(err)
	}
	// One prediction per row (4 or 5 tokens * 0.2 rounds to 1); a single
	// candidate word "a ##b ##c" of 3 pieces must be skipped, never split.
	m, err := masking.New(masking.Config{MaskedLMProb: 0.2, MaxPredictions: 20, WholeWord: true}, v)
	if err != nil {
		t.Fatal(err)
	}
	var got masking.Masked
	rng := rand.New(rand.NewPCG(1, 1))
	for range 100 {
		m.Mask(rng, []int32{1, 4, 5, 6}, &got) // [CLS] a ##b ##c
		if len(got.Positions) != 0 {
			t.Fatalf("split a word: %v", got.Positions)
		}
		m.Mask(rng, []int32{1, 4, 2, 5, 2}, &got) // [CLS] a [SEP] ##b [SEP]
		if len(got.Positions) != 1 {
			t.Fatalf("## piece after [SEP] joined the word before it: %v", got.Positions)
		}
	}
	m, _ = masking.New(masking.Config{MaskedLMProb: 0.5, MaxPredictions: 20, WholeWord: true}, v)
	for range 100 {
		m.Mask(rng, []int32{1, 7, 4, 5, 6, 7, 2}, &got) // [CLS] d a ##b ##c d [SEP]: 4 predictions
		if p := got.Positions; !reflect.DeepEqual(p, []int32{1, 2, 3, 4}) &&
			!reflect.DeepEqual(p, []int32{2, 3, 4, 5}) && !reflect.DeepEqual(p, []int32{1, 5}) {
			t.Fatalf("positions %v", p)
		}
	}
}

// TestDeterminism: the same seed gives the same masking; in place and into
// another buffer agree; concurrent use of one Masker changes nothing.
func TestDeterminism(t *testing.T) {
	m, _, stream := newMasker(t, masking.Config{MaskedLMProb: 0.15, MaxPredictions: 20, WholeWord: true})
	rs := rows(stream, 128, 2)[:500]
	maskAll := func(seed uint64, inPlace bool) [][]int32 {
		rng := rand.New(rand.NewPCG(seed, 9))
		var out [][]int32
		var got masking.Masked
		for _, row := range rs {
			if inPlace {
				got.IDs = append([]int32(nil), row...)
				m.Mask(rng, got.IDs, &got)
			} else {
				m.Mask(rng, row, &got)
			}
			out = append(out, append(append(append([]int32(nil), got.IDs...), got.Positions...), got.Labels...))
		}
		return out
	}
	a := maskAll(1, false)
	if !reflect.DeepEqual(a, maskAll(1, false)) {
		t.Error("same seed, different masking")
	}
	if !reflect.DeepEqual(a, maskAll(1, true)) {
		t.Error("in-place masking differs")
	}
	if reflect.DeepEqual(a, maskAll(2, false)) {
		t.Error("different seeds, same masking")
	}
	var wg sync.WaitGroup
	res := make([][][]int32, 4)
	for g := range res {
		wg.Go(func() { res[g] = maskAll(1, g%2 == 1) })
	}
	wg.Wait()
	for g := range res {
		if !reflect.DeepEqual(a, res[g]) {
			t.Errorf("goroutine %d differs", g)
		}
	}
}

// TestNoAllocs: dynamic masking in the trainer's loader allocates nothing in
// steady state.
func TestNoAllocs(t *testing.T) {
	for _, wwm := range []bool{false, true} {
		m, _, stream := newMasker(t, masking.Config{MaskedLMProb: 0.15, MaxPredictions: 20, WholeWord: wwm})
		rs := rows(stream, 128, 3)[:100]
		rng := rand.New(rand.NewPCG(1, 2))
		var got masking.Masked
		i := 0
		if a := testing.AllocsPerRun(200, func() { m.Mask(rng, rs[i%len(rs)], &got); i++ }); a != 0 {
			t.Errorf("whole word %v: %v allocations per Mask", wwm, a)
		}
	}
}

func BenchmarkMask(b *testing.B) {
	for _, wwm := range []bool{false, true} {
		name := "wordpiece"
		if wwm {
			name = "whole-word"
		}
		b.Run(name, func(b *testing.B) {
			m, _, stream := newMasker(b, masking.Config{MaskedLMProb: 0.15, MaxPredictions: 20, WholeWord: wwm})
			rs := rows(stream, 128, 4)[:1000]
			rng := rand.New(rand.NewPCG(1, 2))
			var got masking.Masked
			tokens := 0
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				row := rs[i%len(rs)]
				m.Mask(rng, row, &got)
				tokens += len(row)
			}
			b.ReportMetric(float64(tokens)/b.Elapsed().Seconds()/1e6, "Mtok/s")
		})
	}
}
