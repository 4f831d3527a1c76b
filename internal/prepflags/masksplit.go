package prepflags

import (
	"errors"
	"flag"
	"strconv"

	"github.com/kiln-bert/kiln/pipeline"
)

// shareFlag is a float flag stored through a pointer that stays nil while the flag is not
// given (pipeline.ExampleConfig's MaskTokenProb and RandomTokenProb). Its range is checked
// with the rest of the config (ExampleConfig.Validate).
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
	if err != nil {
		return errors.New("not a number")
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
