package sentence

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kiln-bert/kiln/internal/testenv"
)

// goldDoc is one hand-checked passage of testdata/gold.txt.
type goldDoc struct {
	src       string   // file it was taken from: sotu/FILE or moby-dick/FILE (see sampleName)
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

// sampleName returns the name in the bundled sample's corpus (cmd/kiln/sample/corpus) of a
// gold source file ("sotu/2001_george_w_bush_r.txt", "moby-dick/chapter_7.txt"), or "" when
// the sample does not hold it.
func sampleName(src string) string {
	dir, file, _ := strings.Cut(src, "/")
	switch {
	case dir == "sotu":
		return "sotu_" + file
	case dir == "moby-dick" && strings.HasPrefix(file, "chapter_"):
		var n int
		if _, err := fmt.Sscanf(file, "chapter_%d.txt", &n); err == nil {
			return fmt.Sprintf("moby_dick_chapter_%03d.txt", n)
		}
	}
	return ""
}

// excerpt is one line of testdata/sources.jsonl: raw text copied from a gold source file that
// the sample does not hold (made by testdata/mksources.py).
type excerpt struct {
	Src    string `json:"src"`
	SHA256 string `json:"sha256"`
	Offset int    `json:"offset"`
	Text   string `json:"text"`
}

func loadExcerpts(t *testing.T) []excerpt {
	t.Helper()
	const path = "testdata/sources.jsonl"
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []excerpt
	for i, line := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		var e excerpt
		if err := json.Unmarshal([]byte(line), &e); err != nil || e.Src == "" || e.Text == "" {
			t.Fatalf("%s:%d: bad excerpt (%v)", path, i+1, err)
		}
		out = append(out, e)
	}
	return out
}

// TestGoldFromCorpus checks that every gold passage is real text: a verbatim passage of its
// source file once runs of white space are collapsed. A source in the bundled sample is read
// whole; the others through their excerpts in testdata/sources.jsonl. The excerpts of files
// the sample holds must be those files' bytes at their offsets: the check that mksources.py
// copies faithfully.
func TestGoldFromCorpus(t *testing.T) {
	corpus := testenv.Corpus(t)
	collapse := func(s string) string { return strings.Join(strings.Fields(s), " ") }
	texts := make(map[string][]string) // source -> collapsed texts that hold its passages
	inSample := make(map[string]bool)
	read := func(src string) (string, bool) { // the sample's copy of src
		name := sampleName(src)
		if name == "" {
			return "", false
		}
		b, err := os.ReadFile(filepath.Join(corpus, name))
		if errors.Is(err, fs.ErrNotExist) {
			return "", false
		}
		if err != nil {
			t.Fatal(err)
		}
		return string(b), true
	}
	checked := 0
	for _, e := range loadExcerpts(t) {
		raw, ok := read(e.Src)
		if !ok {
			texts[e.Src] = append(texts[e.Src], collapse(e.Text))
			continue
		}
		sum := sha256.Sum256([]byte(raw))
		if hex.EncodeToString(sum[:]) != e.SHA256 || e.Offset+len(e.Text) > len(raw) || raw[e.Offset:e.Offset+len(e.Text)] != e.Text {
			t.Errorf("sources.jsonl: the excerpt of %s at %d is not the sample's %s there", e.Src, e.Offset, sampleName(e.Src))
		}
		checked++
		if !inSample[e.Src] {
			inSample[e.Src] = true
			texts[e.Src] = []string{collapse(raw)}
		}
	}
	var docs []goldDoc
	for _, path := range goldSets {
		docs = append(docs, loadGold(t, path)...)
	}
	fromSample := 0
	for _, d := range docs {
		if inSample[d.src] {
			fromSample++
		}
		found := false
		for _, s := range texts[d.src] {
			found = found || strings.Contains(s, d.text())
		}
		switch {
		case found:
		case inSample[d.src]:
			t.Errorf("%s:%d: passage not found in %s (the sample's %s)", d.path, d.line, d.src, sampleName(d.src))
		default:
			t.Errorf("%s:%d: passage not found in the excerpts of %s in testdata/sources.jsonl (made by testdata/mksources.py)", d.path, d.line, d.src)
		}
	}
	if checked == 0 || fromSample == 0 {
		t.Errorf("%d excerpts and %d passages checked against the sample's files: want some of each", checked, fromSample)
	}
	t.Logf("%d passages: %d against the sample's files, %d against excerpts; %d excerpts checked against the sample", len(docs), fromSample, len(docs)-fromSample, checked)
}
