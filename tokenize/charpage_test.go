package tokenize

import (
	"slices"
	"strings"
	"sync"
	"testing"
)

// TestCharPagesConcurrent checks the character table's pages, computed on first use, when
// several goroutines meet the same new pages at once on a fresh tokenizer: every text must get
// the ids that a tokenizer used from one goroutine gives. Run with -race.
func TestCharPagesConcurrent(t *testing.T) {
	v, err := LoadVocab("../cmd/kiln/sample/vocab.txt")
	if err != nil {
		t.Fatal(err)
	}
	// One text per page of the Basic Multilingual Plane (surrogates left out): a few of the
	// page's characters between ASCII words, so each text needs its page.
	var texts []string
	for page := rune(0); page < 0x100; page++ {
		if page >= 0xD8 && page <= 0xDF {
			continue
		}
		var b strings.Builder
		for _, lo := range []rune{0x00, 0x41, 0x61, 0x80, 0xC0, 0xE9, 0xFF} {
			b.WriteString("the ")
			b.WriteRune(page<<8 | lo)
			b.WriteString("ing ")
		}
		texts = append(texts, b.String())
	}
	for _, cased := range []bool{false, true} {
		serial, err := New(v, BertOptions(cased))
		if err != nil {
			t.Fatal(err)
		}
		want := make([][]int32, len(texts))
		for i, s := range texts {
			var e Encoding
			serial.Encode(&e, s)
			want[i] = e.IDs
		}
		fresh, err := New(v, BertOptions(cased))
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for g := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var e Encoding
				for k := range texts {
					i := (k*7 + g*61) % len(texts) // each goroutine in its own order
					fresh.Encode(&e, texts[i])
					if !slices.Equal(e.IDs, want[i]) {
						t.Errorf("cased %v, text %d (%q): ids %v, want %v", cased, i, texts[i], e.IDs, want[i])
					}
				}
			}()
		}
		wg.Wait()
	}
}
