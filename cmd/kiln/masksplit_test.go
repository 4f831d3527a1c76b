package main

import (
	"context"
	"errors"
	"io"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kiln-bert/kiln/masking"
	"github.com/kiln-bert/kiln/tokenize"
	"github.com/kiln-bert/kiln/trainer"
)

// TestMaskSplitFlags: --mask-token-prob and --random-token-prob out of range, or adding up to
// more than 1, are usage errors (exit 2) naming the flag, for prep and pretrain.
func TestMaskSplitFlags(t *testing.T) {
	for _, cmd := range []string{"prep", "pretrain"} {
		for _, tc := range []struct {
			args []string
			flag string
		}{
			{[]string{"--mask-token-prob", "1.5"}, "--mask-token-prob"},
			{[]string{"--mask-token-prob", "NaN"}, "--mask-token-prob"},
			{[]string{"--random-token-prob", "-0.1"}, "--random-token-prob"},
			{[]string{"--random-token-prob", "x"}, "--random-token-prob"},
			{[]string{"--mask-token-prob", "0.7", "--random-token-prob", "0.4"}, "add up to at most 1"},
			{[]string{"--random-token-prob", "0.3"}, "--mask-token-prob 0.8 and --random-token-prob 0.3"},
		} {
			out := filepath.Join(t.TempDir(), "out")
			args := []string{cmd, "--input", "sample/corpus/moby_dick_chapter_001.txt", "--vocab", sampleVocab, "--no-progress"}
			if cmd == "prep" {
				args = append(args, "--output", out)
			} else {
				args = append(args[:len(args)-1], "--out", out, "--steps", "1")
			}
			args = append(args, tc.args...)
			code, _, stderr := kiln(t, args...)
			if code != 2 || !strings.Contains(stderr, tc.flag) {
				t.Errorf("kiln %s: exit %d, stderr %q; want exit 2 naming %s", strings.Join(args, " "), code, stderr, tc.flag)
			}
		}
	}
}

// TestMaskSplitTrainDynamic: shards prepared with --masking dynamic and a split record it in
// their manifest, and the trainer's loader masks them with it (train takes the split from the
// manifest, as it takes --masked-lm-prob); measured on the bundled sample corpus.
func TestMaskSplitTrainDynamic(t *testing.T) {
	data := filepath.Join(t.TempDir(), "shards")
	if code, _, stderr := kiln(t, "prep", "--input", "sample/corpus", "--vocab", sampleVocab, "--output", data,
		"--masking", "dynamic", "--mask-token-prob", "0.4", "--random-token-prob", "0.4", "--no-progress"); code != 0 {
		t.Fatalf("prep: exit %d: %s", code, stderr)
	}
	_, masker, err := shardsMasker(data, "")
	if err != nil {
		t.Fatal(err)
	}
	want := masking.Split{Mask: 0.4, Random: 0.4}
	if masker == nil || masker.Split() != want {
		t.Fatalf("train's masker for the shards: %v, want split %+v", masker, want)
	}
	v, err := tokenize.LoadVocab(sampleVocab)
	if err != nil {
		t.Fatal(err)
	}
	maskID, _ := v.ID("[MASK]")
	ctx := context.Background()
	l, err := trainer.NewLoader(ctx, trainer.LoaderConfig{Dir: data, BatchSize: 256, Epochs: 1, Masker: masker, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var mask, random, kept int
	for {
		b, err := l.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range b.Rows {
			for j, p := range r.MaskedPositions {
				switch r.InputIDs[p] {
				case maskID:
					mask++
				case r.MaskedIDs[j]:
					kept++
				default:
					random++
				}
			}
		}
	}
	n := float64(mask + random + kept)
	if n < 10000 {
		t.Fatalf("only %v masked positions", n)
	}
	for _, x := range []struct {
		name  string
		got   int
		share float64
	}{{"[MASK]", mask, 0.4}, {"random", random, 0.4}, {"kept", kept, 0.2}} {
		got, tol := float64(x.got)/n, 5*math.Sqrt(x.share*(1-x.share)/n)
		t.Logf("%s: %.4f of %v (want %.2f ± %.4f)", x.name, got, n, x.share, tol)
		if math.Abs(got-x.share) > tol {
			t.Errorf("%s share %.4f, want %.2f ± %.4f", x.name, got, x.share, tol)
		}
	}
}

// TestMaskSplitPretrainResume: pretrain's checkpoints record the split with the rest of the
// prep settings, so a resume with another split is refused and names it.
func TestMaskSplitPretrainResume(t *testing.T) {
	out := filepath.Join(t.TempDir(), "model")
	args := []string{"pretrain", "--input", "sample/corpus/moby_dick_chapter_001.txt", "--vocab", sampleVocab, "--out", out,
		"--max-seq-len", "32", "--max-predictions", "5", "--steps", "2", "--batch-size", "4", "--warmup", "1",
		"--mask-token-prob", "0.5", "--random-token-prob", "0.3"}
	if code, _, stderr := kiln(t, args...); code != 0 {
		t.Fatalf("pretrain: exit %d: %s", code, stderr)
	}
	other := append(args[:len(args)-4:len(args)-4], "--resume") // the same run without the split flags
	code, _, stderr := kiln(t, other...)
	t.Logf("resume without the split: exit %d: %s", code, stderr)
	if code == 0 || !strings.Contains(stderr, "mask_token_prob") {
		t.Errorf("resume without the split: exit %d, stderr %q; want a refusal naming mask_token_prob", code, stderr)
	}
}
