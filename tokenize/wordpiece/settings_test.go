package wordpiece

import (
	"context"
	"maps"
	"slices"
	"strings"
	"testing"
)

// Settings the npm binding cannot set (it trains with WordPieceTrainer's built-in defaults)
// are checked two ways: against references derived from a real Hugging Face run where the
// algorithm makes them exact, and on small word counts worked out by hand.

// A vocabulary size is a stop condition checked before each merge, so the run with
// vocab_size N is the first N tokens of the unbounded run.
func TestTrainVocabSizeIsPrefixOfHuggingFace(t *testing.T) {
	files := sampleFiles(t, "moby_dick_")
	want := hfTrain(t, false, files)
	counts := countFiles(t, false, files, 2, 0)
	for _, n := range []int{200, 5000} {
		cfg := HFDefaults()
		cfg.VocabSize = n
		cfg.contOrder = contTokens(want)
		res, err := Train(context.Background(), counts.Counts(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		firstDiff(t, want[:n], res.Tokens)
	}
}

// Special tokens come first and shift every other id by the same amount, which keeps every
// comparison of ids, so the merges are those of the run without them.
func TestTrainSpecialTokensFirst(t *testing.T) {
	files := sampleFiles(t, "moby_dick_")
	want := hfTrain(t, true, files)
	counts := countFiles(t, true, files, 2, 0)
	cfg := BertDefaults()
	cfg.MinFrequency, cfg.LimitAlphabet = 0, 0
	cfg.contOrder = contTokens(want)
	res, err := Train(context.Background(), counts.Counts(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	firstDiff(t, append(slices.Clone(cfg.SpecialTokens), want...), res.Tokens)
	if res.Specials != 5 {
		t.Errorf("Specials = %d, want 5", res.Specials)
	}
}

func TestTrainSmall(t *testing.T) {
	for _, tc := range []struct {
		name   string
		counts map[string]int64
		cfg    Config
		want   string
	}{
		{
			name:   "min frequency stops the merges",
			counts: map[string]int64{"hug": 5, "hu": 2, "ab": 1},
			cfg:    Config{VocabSize: 100, MinFrequency: 2},
			// alphabet a b g h u; continuations ##b ##g ##u (code point order);
			// (h,##u) 7 -> hu; then (hu,##g) 5 -> hug; (a,##b) 1 < 2: stop.
			want: "a b g h u ##b ##g ##u hu hug",
		},
		{
			name:   "min frequency 0 merges every pair seen",
			counts: map[string]int64{"hug": 5, "hu": 2, "ab": 1},
			cfg:    Config{VocabSize: 100},
			want:   "a b g h u ##b ##g ##u hu hug ab",
		},
		{
			name:   "vocab size",
			counts: map[string]int64{"hug": 5, "hu": 2, "ab": 1},
			cfg:    Config{VocabSize: 9},
			want:   "a b g h u ##b ##g ##u hu",
		},
		{
			// Ties on count: the pair of smaller ids first. (a,##b) and (c,##d) both 3:
			// a < c, so ab first.
			name:   "ties go to the smaller pair",
			counts: map[string]int64{"cd": 3, "ab": 3},
			cfg:    Config{VocabSize: 100},
			want:   "a b c d ##b ##d ab cd",
		},
		{
			// The alphabet keeps the 3 most frequent characters: x (9), y (6), then the
			// tie z/w (3 each) goes to the smaller code point, w. z is left out of the words.
			name:   "limit alphabet",
			counts: map[string]int64{"xy": 3, "xyz": 3, "xw": 3},
			cfg:    Config{VocabSize: 100, LimitAlphabet: 3},
			want:   "w x y ##w ##y xy xw",
		},
		{
			// An initial alphabet is kept before the corpus's characters: with a limit of 3,
			// q (never seen) and z (rarest) stay, y (more frequent than z) goes.
			name:   "initial alphabet",
			counts: map[string]int64{"xy": 5, "xz": 1},
			cfg:    Config{VocabSize: 100, LimitAlphabet: 3, InitialAlphabet: []rune{'q', 'z'}},
			want:   "q x z ##z xz",
		},
		{
			name:   "special tokens first, repeated ones once",
			counts: map[string]int64{"ab": 2},
			cfg:    Config{VocabSize: 100, SpecialTokens: []string{"[UNK]", "b", "[UNK]"}},
			want:   "[UNK] b a ##b ab",
		},
		{
			// Overlapping pairs merge left to right: "aaa" -> aa ##a.
			name:   "overlapping pairs",
			counts: map[string]int64{"aaa": 1},
			cfg:    Config{VocabSize: 100},
			want:   "a ##a aa aaa",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := Train(context.Background(), tc.counts, tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(res.Tokens, " "); got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

func TestTrainRefusesBadSettings(t *testing.T) {
	for _, cfg := range []Config{{VocabSize: 0}, {VocabSize: 10, LimitAlphabet: -1}, {VocabSize: 10, MinFrequency: -1}} {
		if _, err := Train(context.Background(), map[string]int64{"a": 1}, cfg); err == nil {
			t.Errorf("Train(%+v) took it", cfg)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Train(ctx, map[string]int64{"ab": 1}, HFDefaults()); err == nil {
		t.Error("Train with a cancelled context did not stop")
	}
}

// With a bounded table the counts do not depend on the workers, stay within the bound, never
// exceed the true counts, and lose at most MaxLoss occurrences of any word.
func TestCountBounded(t *testing.T) {
	files := sampleFiles(t, "")
	exact := countFiles(t, false, files, 1, 0)
	if s := exact.Stats(); s.Prunes != 0 || s.Distinct < 10000 {
		t.Fatalf("unbounded count: %+v", s)
	}
	const maxWords = 3000
	var runs []*Counter
	for _, workers := range []int{1, 3} {
		runs = append(runs, countFiles(t, false, files, workers, maxWords))
	}
	if !maps.Equal(runs[0].Counts(), runs[1].Counts()) || runs[0].Stats() != runs[1].Stats() {
		t.Fatalf("bounded counts differ between 1 and 3 workers: %+v vs %+v", runs[0].Stats(), runs[1].Stats())
	}
	b := runs[0]
	s := b.Stats()
	if s.Prunes == 0 || s.Distinct > maxWords || s.Words != exact.Stats().Words {
		t.Fatalf("bounded count: %+v (want prunes, at most %d words, %d occurrences counted)", s, maxWords, exact.Stats().Words)
	}
	for w, c := range b.Counts() {
		if c > exact.Counts()[w] {
			t.Fatalf("%q counted %d times, more than its %d", w, c, exact.Counts()[w])
		}
	}
	// Pruning takes at most MaxLoss occurrences of any word: every word seen more often is
	// kept, with a count at most MaxLoss below the true one.
	if s.MaxLoss < 1 || s.MaxLoss > 100 {
		t.Fatalf("MaxLoss %d after %d prunes", s.MaxLoss, s.Prunes)
	}
	kept := 0
	for w, c := range exact.Counts() {
		got := b.Counts()[w]
		if c-got > s.MaxLoss {
			t.Fatalf("%q: counted %d of its %d occurrences, more than MaxLoss %d lost", w, got, c, s.MaxLoss)
		}
		if c > s.MaxLoss {
			kept++
		}
	}
	if kept < 500 {
		t.Fatalf("only %d words are above MaxLoss %d: the bound says little", kept, s.MaxLoss)
	}
	t.Logf("bounded to %d: %+v", maxWords, s)
}
