package pipeline

import (
	"context"
	"encoding/json"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kiln-bert/kiln/masking"
	"github.com/kiln-bert/kiln/shards"
	"github.com/kiln-bert/kiln/trainer"
)

// sampleSplitConfig is the default configuration over the sample corpus bundled with the CLI
// (cmd/kiln/sample: 21 SOTU addresses and 30 Moby Dick chapters, bert-base-uncased's vocab).
func sampleSplitConfig(t *testing.T) ExampleConfig {
	t.Helper()
	cfg := DefaultExampleConfig()
	cfg.Inputs = []string{filepath.Join("..", "cmd", "kiln", "sample", "corpus")}
	cfg.Vocab = filepath.Join("..", "cmd", "kiln", "sample", "vocab.txt")
	cfg.Workers = 2
	return cfg
}

func share(x float64) *float64 { return &x }

// splitCount counts how the masked positions of rows were replaced, from the rows alone: the
// input id at a masked position is [MASK], the label (kept; a random draw of the same token
// counts here too, about 1 in 30,000) or another token (random).
type splitCount struct{ mask, random, kept int }

func (c *splitCount) add(ids, positions, labels []int32, maskID int32) {
	for j, p := range positions {
		switch ids[p] {
		case maskID:
			c.mask++
		case labels[j]:
			c.kept++
		default:
			c.random++
		}
	}
}

// check compares the measured shares with s: each within 5 standard deviations of a
// binomial count (and exactly, for a share of 0 or 1).
func (c splitCount) check(t *testing.T, s masking.Split) {
	t.Helper()
	n := c.mask + c.random + c.kept
	if n < 10000 {
		t.Fatalf("only %d masked positions: too few to measure the split", n)
	}
	kept := math.Max(0, 1-s.Mask-s.Random)
	for _, x := range []struct {
		name  string
		got   int
		share float64
	}{{"[MASK]", c.mask, s.Mask}, {"random", c.random, s.Random}, {"kept", c.kept, kept}} {
		got := float64(x.got) / float64(n)
		tol := 5 * math.Sqrt(x.share*(1-x.share)/float64(n))
		if x.share < 1e-9 || x.share > 1-1e-9 {
			tol = 1e-4 // a kept share of 0 still sees random draws of the same token, rarely
		}
		t.Logf("%s: %d of %d = %.4f (want %.4f ± %.4f)", x.name, x.got, n, got, x.share, tol)
		if math.Abs(got-x.share) > tol {
			t.Errorf("%s share %.4f of %d masked positions, want %.4f ± %.4f", x.name, got, n, x.share, tol)
		}
	}
}

// TestMaskSplitStatic runs static prep over the sample corpus with Google's 80/10/10 and with
// --mask-token-prob 0.5 --random-token-prob 0.3 (and the extreme 1/0), and measures the split
// in the shards; the non-default shares are recorded in the manifest and the default run's
// config has neither field (so its shards are byte for byte those of kiln before the flags).
func TestMaskSplitStatic(t *testing.T) {
	for _, tc := range []struct {
		name           string
		mask, random   *float64
		want           masking.Split
		recordedFields bool
	}{
		{"default", nil, nil, masking.DefaultSplit(), false},
		{"explicit-default", share(0.8), share(0.1), masking.DefaultSplit(), false},
		{"50-30-20", share(0.5), share(0.3), masking.Split{Mask: 0.5, Random: 0.3}, true},
		{"all-mask", share(1), share(0), masking.Split{Mask: 1, Random: 0}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := sampleSplitConfig(t)
			cfg.MaskTokenProb, cfg.RandomTokenProb = tc.mask, tc.random
			dir := t.TempDir()
			sum, ex := runPrep(t, cfg, ShardOptions{Dir: dir, Layout: shards.Layout{Compression: "zstd", Format: "file"}, Version: "test"})
			verifyDir(t, dir)
			maskID := ex.Tokenizer().Special().MASK
			var c splitCount
			for _, r := range readRows(t, dir) {
				c.add(r.InputIDs, r.MaskedPositions, r.MaskedIDs, maskID)
			}
			c.check(t, tc.want)
			if st := sum.Examples; st.MaskedAsMask != int64(c.mask) || st.MaskedRandom != int64(c.random) || st.MaskedKept != int64(c.kept) {
				t.Errorf("prep stats %d/%d/%d, the shards %d/%d/%d", st.MaskedAsMask, st.MaskedRandom, st.MaskedKept, c.mask, c.random, c.kept)
			}
			m, err := shards.ReadManifest(dir)
			if err != nil {
				t.Fatal(err)
			}
			hasFields := strings.Contains(string(m.Config), `"mask_token_prob"`) && strings.Contains(string(m.Config), `"random_token_prob"`)
			if hasFields != tc.recordedFields || !tc.recordedFields && strings.Contains(string(m.Config), "token_prob") {
				t.Errorf("manifest config %s: split fields recorded %v, want %v", m.Config, hasFields, tc.recordedFields)
			}
			var back ExampleConfig
			if err := json.Unmarshal(m.Config, &back); err != nil {
				t.Fatal(err)
			}
			if got := back.MaskSplit(); got != tc.want {
				t.Errorf("manifest config gives split %+v, want %+v", got, tc.want)
			}
		})
	}
}

// TestMaskSplitStream checks that pretrain's stream (dynamic masking at read time) masks with
// the configured split.
func TestMaskSplitStream(t *testing.T) {
	cfg := sampleSplitConfig(t)
	cfg.Masking = masking.Dynamic
	cfg.MaskTokenProb, cfg.RandomTokenProb = share(0.6), share(0.05)
	ex, err := NewExamples(cfg)
	if err != nil {
		t.Fatal(err)
	}
	maskID := ex.Tokenizer().Special().MASK
	ctx := context.Background()
	s, err := NewStream(ctx, ex, StreamConfig{BatchSize: 64, Seed: 3}, trainer.Position{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var c splitCount
	for c.mask+c.random+c.kept < 30000 {
		b, err := s.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range b.Rows {
			c.add(r.InputIDs, r.MaskedPositions, r.MaskedIDs, maskID)
		}
	}
	c.check(t, masking.Split{Mask: 0.6, Random: 0.05})
}

// TestMaskSplitConfig: a config written before the split was configurable (no fields) means
// 80/10/10; bad shares are refused by NewExamples with what is wrong.
func TestMaskSplitConfig(t *testing.T) {
	var old ExampleConfig
	if err := json.Unmarshal([]byte(`{"masked_lm_prob":0.15,"max_predictions":20,"masking":"dynamic"}`), &old); err != nil {
		t.Fatal(err)
	}
	if old.MaskSplit() != masking.DefaultSplit() || old.MaskingConfig().Split != nil {
		t.Errorf("a config without the split fields: split %+v, masking config split %v; want 80/10/10", old.MaskSplit(), old.MaskingConfig().Split)
	}
	for _, tc := range []struct {
		mask, random float64
		want         string
	}{
		{1.2, 0.1, "MaskTokenProb 1.2: want a probability in [0, 1]"},
		{0.8, -0.1, "RandomTokenProb -0.1: want a probability in [0, 1]"},
		{math.NaN(), 0.1, "MaskTokenProb NaN: want a probability in [0, 1]"},
		{0.7, 0.4, "MaskTokenProb 0.7 and RandomTokenProb 0.4: want shares that add up to at most 1"},
	} {
		cfg := sampleSplitConfig(t)
		cfg.MaskTokenProb, cfg.RandomTokenProb = share(tc.mask), share(tc.random)
		if _, err := NewExamples(cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("split %v/%v: error %v, want one saying %q", tc.mask, tc.random, err, tc.want)
		}
	}
}
