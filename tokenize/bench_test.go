package tokenize

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kiln-bert/kiln/internal/testenv"
)

// sotuTexts returns the State of the Union corpus of the benchmark corpora (233 addresses,
// 11 MB: see testenv.BenchData), one text per file, and its size in bytes.
func sotuTexts(b *testing.B) ([]string, int64) {
	files, err := filepath.Glob(filepath.Join(testenv.BenchData(b), "corpora", "sotu", "*.txt"))
	if err != nil || len(files) == 0 {
		b.Fatalf("no SOTU files: %v", err)
	}
	var texts []string
	var n int64
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		texts = append(texts, string(data))
		n += int64(len(data))
	}
	return texts, n
}

// BenchmarkEncode encodes the whole SOTU corpus on one goroutine per iteration; MB/s is over
// its bytes.
func BenchmarkEncode(b *testing.B) {
	for _, cased := range []bool{false, true} {
		b.Run(map[bool]string{false: "uncased", true: "cased"}[cased], func(b *testing.B) {
			tk, err := Load(vocabPath(b), cased)
			if err != nil {
				b.Fatal(err)
			}
			texts, n := sotuTexts(b)
			var e Encoding
			b.SetBytes(n)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				for _, s := range texts {
					tk.Encode(&e, s)
				}
			}
		})
	}
}

// BenchmarkEncodeShortLines encodes SOTU split into sentences-sized lines (about 120 bytes),
// the shape of text after sentence splitting.
func BenchmarkEncodeShortLines(b *testing.B) {
	tk, err := Load(vocabPath(b), false)
	if err != nil {
		b.Fatal(err)
	}
	texts, n := sotuTexts(b)
	var lines []string
	for _, s := range texts {
		lines = append(lines, strings.SplitAfter(s, ". ")...)
	}
	var e Encoding
	b.SetBytes(n)
	b.ReportAllocs()
	for b.Loop() {
		for _, s := range lines {
			tk.Encode(&e, s)
		}
	}
}

// BenchmarkEncodeBatch encodes SOTU with EncodeBatch on 1 and 2 workers.
func BenchmarkEncodeBatch(b *testing.B) {
	tk, err := Load(vocabPath(b), false)
	if err != nil {
		b.Fatal(err)
	}
	texts, n := sotuTexts(b)
	var lines []string
	for _, s := range texts {
		lines = append(lines, strings.SplitAfter(s, ". ")...)
	}
	for _, workers := range []int{1, 2} {
		b.Run(map[int]string{1: "workers=1", 2: "workers=2"}[workers], func(b *testing.B) {
			b.SetBytes(n)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := tk.EncodeBatch(context.Background(), lines, workers); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkNew measures building a tokenizer (tables and trie) from a loaded vocabulary.
func BenchmarkNew(b *testing.B) {
	v, err := LoadVocab(vocabPath(b))
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := New(v, BertOptions(false)); err != nil {
			b.Fatal(err)
		}
	}
}
