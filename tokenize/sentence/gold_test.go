package sentence

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// goldDoc is one hand-checked passage of testdata/gold.txt.
type goldDoc struct {
	src       string   // file under shared/data/corpora it was taken from
	path      string   // gold set file
	line      int      // line of its "# src:" header in gold.txt
	sentences []string // the reference split
}

// text is the passage as it appears in the source (whitespace collapsed).
func (d goldDoc) text() string { return strings.Join(d.sentences, " ") }

// goldSets are the hand-checked sets: gold.txt targets the hard cases (abbreviations,
// initials, decimals, quotes, lists) and was used while writing the rules; heldout.txt is a
// random sample annotated after the rules were frozen.
var goldSets = []string{"testdata/gold.txt", "testdata/heldout.txt"}

// loadGold reads a gold set file (format described at the top of testdata/gold.txt).
func loadGold(t testing.TB, path string) []goldDoc {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("open gold set: %v", err)
	}
	defer f.Close()
	var docs []goldDoc
	var cur *goldDoc
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "# src: "):
			if cur != nil {
				t.Fatalf("%s:%d: new document before the blank line ending the previous one", path, n)
			}
			docs = append(docs, goldDoc{src: strings.TrimPrefix(line, "# src: "), path: path, line: n})
			cur = &docs[len(docs)-1]
		case strings.HasPrefix(line, "#"):
		case strings.TrimSpace(line) == "":
			cur = nil
		default:
			if cur == nil {
				t.Fatalf("%s:%d: sentence outside a document", path, n)
			}
			if line != strings.TrimSpace(line) {
				t.Fatalf("%s:%d: sentence has surrounding white space", path, n)
			}
			cur.sentences = append(cur.sentences, line)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	return docs
}

// starts returns the byte offsets in text where each of sents (consecutive substrings of
// text, as every candidate produces) begins, or an error if they are not found in order.
func starts(text string, sents []string) ([]int, error) {
	offs := make([]int, 0, len(sents))
	pos := 0
	for _, s := range sents {
		j := strings.Index(text[pos:], s)
		if j < 0 {
			return nil, fmt.Errorf("sentence %q not found in order in the text", s)
		}
		offs = append(offs, pos+j)
		pos += j + len(s)
	}
	return offs, nil
}

// score holds boundary counts summed over the gold set. A boundary is the start of a sentence
// other than the first of its document.
type score struct{ tp, fp, fn int }

func (s score) precision() float64 { return ratio(s.tp, s.tp+s.fp) }
func (s score) recall() float64    { return ratio(s.tp, s.tp+s.fn) }
func (s score) f1() float64 {
	p, r := s.precision(), s.recall()
	if p+r == 0 {
		return 0
	}
	return 2 * p * r / (p + r)
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// evaluate scores split against the gold set; errs lists the passages it gets wrong.
func evaluate(docs []goldDoc, split func(string) []string) (sc score, errs []string, err error) {
	for _, d := range docs {
		text := d.text()
		want, err := starts(text, d.sentences)
		if err != nil {
			return sc, nil, fmt.Errorf("%s:%d: %w", d.path, d.line, err)
		}
		got, err := starts(text, split(text))
		if err != nil {
			return sc, nil, fmt.Errorf("%s:%d: candidate output: %w", d.path, d.line, err)
		}
		wantSet := make(map[int]bool)
		for _, o := range want[1:] {
			wantSet[o] = true
		}
		gotSet := make(map[int]bool)
		if len(got) > 0 {
			for _, o := range got[1:] {
				gotSet[o] = true
			}
		}
		for o := range gotSet {
			if wantSet[o] {
				sc.tp++
			} else {
				sc.fp++
				errs = append(errs, fmt.Sprintf("%s:%d: false boundary before %q", d.path, d.line, clip(text[o:])))
			}
		}
		for o := range wantSet {
			if !gotSet[o] {
				sc.fn++
				errs = append(errs, fmt.Sprintf("%s:%d: missed boundary before %q", d.path, d.line, clip(text[o:])))
			}
		}
	}
	return sc, errs, nil
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

// corporaDir returns the shared corpora directory, skipping the test when it is absent
// (failing under CI, where it must be present).
func corporaDir(t testing.TB) string {
	t.Helper()
	dir := filepath.Join("..", "..", "..", "shared", "data", "corpora")
	if _, err := os.Stat(dir); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("shared corpora missing under CI: %v", err)
		}
		t.Skipf("shared corpora not found at %s: %v", dir, err)
	}
	return dir
}

// TestGoldFromCorpus checks that every gold passage is real text: a verbatim passage of its
// source file once runs of white space are collapsed.
func TestGoldFromCorpus(t *testing.T) {
	dir := corporaDir(t)
	var docs []goldDoc
	for _, path := range goldSets {
		docs = append(docs, loadGold(t, path)...)
	}
	cache := make(map[string]string)
	for _, d := range docs {
		src, ok := cache[d.src]
		if !ok {
			b, err := os.ReadFile(filepath.Join(dir, d.src))
			if err != nil {
				t.Fatalf("%s:%d: %v", d.path, d.line, err)
			}
			src = strings.Join(strings.Fields(string(b)), " ")
			cache[d.src] = src
		}
		if !strings.Contains(src, d.text()) {
			t.Errorf("%s:%d: passage not found in %s", d.path, d.line, d.src)
		}
	}
}
