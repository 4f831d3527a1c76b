package wordpiece

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/kiln-bert/kiln/pipeline"
	"github.com/kiln-bert/kiln/tokenize"
)

// The parity tests train the same vocabulary with kiln and with the real Hugging Face
// tokenizers (npm package 0.23.2, run by testdata/hf_train.js in the test run) on the
// bundled sample corpora, and require identical vocab.txt files, token for token.
//
// Hugging Face gives the one-character continuation tokens ("##a", ...) their ids in the
// iteration order of a hash map with a random seed, so its own output changes from run to
// run (the order of those tokens, and through the tie-breaking on ids, some merges). The
// tests read that order from Hugging Face's vocabulary and give it to kiln (contOrder):
// everything else must then agree exactly.

const sampleDir = "../../cmd/kiln/sample/corpus"

// sampleFiles returns the bundled sample files whose names start with prefix.
func sampleFiles(t *testing.T, prefix string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(sampleDir, prefix+"*.txt"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no sample files %s*.txt in %s: %v", prefix, sampleDir, err)
	}
	return files
}

// hfTrain trains with Hugging Face and returns its vocabulary in id order.
func hfTrain(t *testing.T, cased bool, files []string) []string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "hf-vocab.txt")
	casing := "uncased"
	if cased {
		casing = "cased"
	}
	if err := nodeCommand(t, "hf_train.js", append([]string{out, casing}, files...)...).Run(); err != nil {
		t.Fatalf("hf_train.js: %v", err)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
}

// countFiles counts the words of files as kiln vocab does (format lines).
func countFiles(t testing.TB, cased bool, files []string, workers, maxWords int) *Counter {
	t.Helper()
	sp, err := tokenize.NewWordSplitter(tokenize.BertOptions(cased))
	if err != nil {
		t.Fatal(err)
	}
	inputs, err := pipeline.ExpandInputs(files)
	if err != nil {
		t.Fatal(err)
	}
	src := pipeline.NewSource(inputs, pipeline.SourceOptions{Format: pipeline.Lines})
	read := func(emit func(string) error) error {
		return src.Run(context.Background(), func(d pipeline.Document) error {
			for _, u := range d.Units {
				if err := emit(u); err != nil {
					return err
				}
			}
			return nil
		})
	}
	c, err := Count(context.Background(), read, CountOptions{Splitter: sp, Workers: workers, MaxWords: maxWords, ChunkBytes: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// contTokens returns the one-character continuation tokens of a vocabulary, in id order.
func contTokens(tokens []string) []string {
	var out []string
	for _, tok := range tokens {
		if rest, ok := strings.CutPrefix(tok, "##"); ok && utf8.RuneCountInString(rest) == 1 {
			out = append(out, tok)
		}
	}
	return out
}

// firstDiff describes the first position where two vocabularies differ.
func firstDiff(t *testing.T, want, got []string) {
	t.Helper()
	for i := range min(len(want), len(got)) {
		if want[i] != got[i] {
			t.Fatalf("vocabularies differ first at id %d (line %d): Hugging Face %q, kiln %q (sizes %d and %d)",
				i, i+1, want[i], got[i], len(want), len(got))
		}
	}
	if len(want) != len(got) {
		t.Fatalf("vocabulary sizes differ: Hugging Face %d tokens, kiln %d", len(want), len(got))
	}
}

func TestTrainMatchesHuggingFace(t *testing.T) {
	for _, tc := range []struct {
		name, prefix string
		cased        bool
	}{
		{"sotu uncased", "sotu_", false},
		{"sotu cased", "sotu_", true},
		{"moby dick uncased", "moby_dick_", false},
		{"moby dick cased", "moby_dick_", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			files := sampleFiles(t, tc.prefix)
			want := hfTrain(t, tc.cased, files)
			counts := countFiles(t, tc.cased, files, 2, 0)
			cfg := HFDefaults()
			cfg.contOrder = contTokens(want)
			res, err := Train(context.Background(), counts.Counts(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			firstDiff(t, want, res.Tokens)
			if res.Merges < 1000 {
				t.Fatalf("only %d merges: the corpus should give thousands", res.Merges)
			}
			t.Logf("%d tokens (%d alphabet, %d merges), identical to Hugging Face's", len(res.Tokens), res.Alphabet, res.Merges)
		})
	}
}

// Hugging Face's output varies from run to run; kiln reproduces each run from its
// continuation order. This shows the order is the only source of the difference.
func TestTrainMatchesTwoHuggingFaceRuns(t *testing.T) {
	files := sampleFiles(t, "sotu_")
	counts := countFiles(t, false, files, 1, 0)
	var runs [][]string
	for range 2 {
		want := hfTrain(t, false, files)
		cfg := HFDefaults()
		cfg.contOrder = contTokens(want)
		res, err := Train(context.Background(), counts.Counts(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		firstDiff(t, want, res.Tokens)
		runs = append(runs, want)
	}
	if slices.Equal(runs[0], runs[1]) {
		t.Log("the two Hugging Face runs happened to agree")
	} else {
		t.Log("the two Hugging Face runs differ from each other; kiln reproduced both")
	}
}
