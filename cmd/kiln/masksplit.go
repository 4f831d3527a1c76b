package main

import (
	"errors"
	"flag"
	"math"
	"strconv"

	"github.com/kiln-bert/kiln/pipeline"
)

// shareFlag is a probability flag in [0, 1] stored through a pointer that stays nil while the
// flag is not given (pipeline.ExampleConfig's MaskTokenProb and RandomTokenProb).
type shareFlag struct {
	p   **float64
	def float64 // shown in --help
}

func (f *shareFlag) String() string {
	if f == nil || f.p == nil {
		return "0"
	}
	if *f.p == nil {
		return strconv.FormatFloat(f.def, 'g', -1, 64)
	}
	return strconv.FormatFloat(**f.p, 'g', -1, 64)
}

func (f *shareFlag) Set(s string) error {
	x, err := strconv.ParseFloat(s, 64)
	switch {
	case err != nil:
		return errors.New("not a number")
	case math.IsNaN(x) || !(x >= 0 && x <= 1):
		return errors.New("want a probability in [0, 1]")
	}
	*f.p = &x
	return nil
}

// maskSplitFlags registers --mask-token-prob and --random-token-prob (prep and pretrain).
func maskSplitFlags(fs *flag.FlagSet, cfg *pipeline.ExampleConfig) {
	fs.Var(&shareFlag{&cfg.MaskTokenProb, 0.8}, "mask-token-prob",
		"share of the masked positions replaced by [MASK] (`P` in [0, 1]; Hugging Face's mask_replace_prob)")
	fs.Var(&shareFlag{&cfg.RandomTokenProb, 0.1}, "random-token-prob",
		"share of the masked positions replaced by a random token (`P` in [0, 1], with --mask-token-prob at most 1; the rest keep their token; Hugging Face's random_replace_prob)")
}

// checkMaskSplit checks that the two shares add up to at most 1.
func checkMaskSplit(cfg *pipeline.ExampleConfig) error {
	s := cfg.MaskSplit()
	if err := s.Validate(); err != nil {
		return badFlag("--mask-token-prob %v and --random-token-prob %v: want shares that add up to at most 1 (the rest keep their token)", s.Mask, s.Random)
	}
	return nil
}
