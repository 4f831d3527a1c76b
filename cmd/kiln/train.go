package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/kiln-bert/kiln/masking"
	"github.com/kiln-bert/kiln/pipeline"
	"github.com/kiln-bert/kiln/shards"
	"github.com/kiln-bert/kiln/trainer"
)

// trainFlagValues holds the flags shared by train and pretrain.
type trainFlagValues struct {
	fs                                 *flag.FlagSet
	out, model, evalData               string
	steps, batchSize, warmup, logEvery int
	checkpointEvery                    int
	lr, weightDecay                    float64
	seed                               uint64
	resume                             bool
}

// trainFlags defines the training flags on fs. Their values are checked as they are parsed
// (see intFlag and floatFlag), so that a bad value is a usage error naming the flag, in every
// command that shares them, before anything starts.
func trainFlags(fs *flag.FlagSet) *trainFlagValues {
	v := &trainFlagValues{fs: fs, steps: 1000, batchSize: 32, lr: 1e-3, warmup: 100, weightDecay: 0.01, checkpointEvery: 500, logEvery: 10}
	fs.StringVar(&v.out, "out", "", "output `DIR`: checkpoints, metrics.jsonl, loss.png")
	fs.StringVar(&v.model, "model", "tiny", "model size: tiny (L2/H128), mini (L4/H256), small (L4/H512), base (L12/H768), or a Hugging Face config.json (with --resume: the checkpoint's, unless given)")
	fs.Var(&boundedIntFlag{&v.steps, 1, maxSteps}, "steps", "optimizer steps in the whole run (`N` from 1 to 1e9)")
	fs.Var(&boundedIntFlag{&v.batchSize, 1, maxBatchSize}, "batch-size", "rows per step (`B` from 1 to 16777216)")
	fs.Var(&boundedFloatFlag{&v.lr, false, 1}, "lr", "peak learning rate `LR` in (0, 1] (linear warm-up from 0 at the first step, then linear decay to 0, as Hugging Face)")
	fs.Var(&boundedIntFlag{&v.warmup, 0, maxSteps}, "warmup", "warm-up steps (`N` from 0 to 1e9)")
	fs.Var(&boundedFloatFlag{&v.weightDecay, true, 1}, "weight-decay", "AdamW's decoupled weight decay `W` in [0, 1] (not on biases and LayerNorm)")
	fs.Uint64Var(&v.seed, "seed", 42, "random seed: initial weights, dropout, data order, dynamic masks")
	fs.StringVar(&v.evalData, "eval-data", "", "shards `DIR` to evaluate at each checkpoint")
	fs.Var(&boundedIntFlag{&v.checkpointEvery, 1, maxSteps}, "checkpoint-every", "steps between checkpoints (`N` from 1 to 1e9; one is also written at the end)")
	fs.Var(&boundedIntFlag{&v.logEvery, 1, maxSteps}, "log-every", "steps between metric lines (`N` from 1 to 1e9)")
	fs.BoolVar(&v.resume, "resume", false, "continue from the newest complete checkpoint in --out (starting from step 0, with a note, when there is none)")
	return v
}

// Upper bounds of the training flags: far above any real run, low enough that nothing
// derived from them overflows or asks for absurd memory before the memory check.
const (
	maxSteps     = 1_000_000_000 // steps, warm-up, checkpoint and log intervals
	maxBatchSize = 1 << 24       // rows per step; the memory check refuses what this machine cannot hold
)

// intFlag is an int flag that refuses values below min.
type intFlag struct {
	p   *int
	min int
}

func (f *intFlag) String() string {
	if f == nil {
		return "0"
	}
	return (&boundedIntFlag{p: f.p}).String()
}

func (f *intFlag) Set(s string) error { return (&boundedIntFlag{f.p, f.min, 0}).Set(s) }

// boundedIntFlag is an int flag that refuses values below min or, when max > 0, above max.
type boundedIntFlag struct {
	p        *int
	min, max int
}

func (f *boundedIntFlag) String() string {
	if f == nil || f.p == nil {
		return "0"
	}
	return strconv.Itoa(*f.p)
}

func (f *boundedIntFlag) Set(s string) error {
	n, err := strconv.ParseInt(s, 0, strconv.IntSize)
	if err != nil {
		return errors.New("not an integer")
	}
	if n < int64(f.min) {
		return fmt.Errorf("must be at least %d", f.min)
	}
	if f.max > 0 && n > int64(f.max) {
		return fmt.Errorf("must be at most %d", f.max)
	}
	*f.p = int(n)
	return nil
}

// floatFlag is a float flag that must be finite and positive (or, with zero, not negative).
type floatFlag struct {
	p    *float64
	zero bool // 0 is allowed
}

func (f *floatFlag) String() string {
	if f == nil {
		return "0"
	}
	return (&boundedFloatFlag{p: f.p}).String()
}

func (f *floatFlag) Set(s string) error { return (&boundedFloatFlag{f.p, f.zero, 0}).Set(s) }

// boundedFloatFlag is a floatFlag that, when max > 0, must also be at most max.
type boundedFloatFlag struct {
	p    *float64
	zero bool // 0 is allowed
	max  float64
}

func (f *boundedFloatFlag) String() string {
	if f == nil || f.p == nil {
		return "0"
	}
	return strconv.FormatFloat(*f.p, 'g', -1, 64)
}

func (f *boundedFloatFlag) Set(s string) error {
	x, err := strconv.ParseFloat(s, 64)
	switch {
	case err != nil:
		return errors.New("not a number")
	case math.IsNaN(x) || math.IsInf(x, 0):
		return errors.New("must be finite")
	case f.zero && x < 0:
		return errors.New("must not be negative")
	case !f.zero && x <= 0:
		return errors.New("must be positive")
	case f.max > 0 && x > f.max:
		return fmt.Errorf("must be at most %g", f.max)
	}
	*f.p = x
	return nil
}

// modelConfig returns the model configuration named by --model for a vocabulary size.
func modelConfig(name string, vocabSize int) (trainer.Config, error) {
	if strings.HasSuffix(name, ".json") {
		cfg, err := trainer.ReadConfig(name)
		if err != nil {
			return cfg, fmt.Errorf("--model: %w", err)
		}
		if cfg.VocabSize < vocabSize {
			return cfg, fmt.Errorf("--model %s: vocab_size %d is smaller than the data's vocabulary (%d)", name, cfg.VocabSize, vocabSize)
		}
		return cfg, nil
	}
	cfg, err := trainer.Preset(name, vocabSize)
	if err != nil {
		return cfg, fmt.Errorf("--model: %w", err)
	}
	return cfg, nil
}

// config returns the trainer's configuration for the flags and the model they name. With
// --resume, the checkpoint's model is used; --model, when given, must be the same.
func (v *trainFlagValues) config(model trainer.Config, stderr io.Writer) trainer.TrainConfig {
	opt := trainer.DefaultOptimizer(v.lr, v.warmup, v.steps)
	opt.WeightDecay = v.weightDecay
	modelGiven := false
	if v.fs != nil {
		v.fs.Visit(func(f *flag.Flag) { modelGiven = modelGiven || f.Name == "model" })
	}
	return trainer.TrainConfig{
		Out: v.out, Model: model, CheckModel: modelGiven, ModelSource: v.model, Optimizer: opt, Steps: v.steps,
		BatchSize: v.batchSize, Seed: v.seed, LogEvery: v.logEvery, CheckpointEvery: v.checkpointEvery,
		Resume: v.resume, EvalData: v.evalData, Log: stderr,
	}
}

func runTrain(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("train", "--data DIR --out DIR [--model tiny|mini|small|base|config.json] [--steps N] [--batch-size B] [--lr LR] [--warmup N] [--weight-decay W] [--seed N] [--eval-data DIR] [--checkpoint-every N] [--resume]", stderr)
	data := fs.String("data", "", "shards `DIR` (written by kiln prep)")
	vocab := fs.String("vocab", "", "vocabulary `FILE` for dynamically masked shards (default: the one named in the shards' config)")
	tv := trainFlags(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *data == "" || tv.out == "" {
		fmt.Fprintln(stderr, "give --data DIR and --out DIR")
		fs.Usage()
		return errUsage
	}
	m, masker, err := shardsMasker(*data, *vocab)
	if err != nil {
		return err
	}
	model, err := modelConfig(tv.model, m.Info.VocabSize)
	if err != nil {
		return err
	}
	cfg := tv.config(model, stderr)
	cfg.Data, cfg.Masker = *data, masker
	if cfg.Tokenizer, err = pipeline.ShardsTokenizer(*data, m, *vocab); err != nil {
		fmt.Fprintf(stderr, "kiln train: warning: the checkpoints will hold no tokenizer files (AutoTokenizer will not find one there): %v\n", err)
	}
	if tv.evalData != "" {
		if _, cfg.EvalMasker, err = shardsMasker(tv.evalData, *vocab); err != nil {
			return fmt.Errorf("--eval-data: %w", err)
		}
	}
	res, err := trainer.Train(ctx, cfg)
	if err != nil {
		return outError(err)
	}
	fmt.Fprintf(stdout, "kiln train: step %d, loss %.4f (mlm %.4f, nsp %.4f); checkpoint %s; metrics %s/%s; loss curve %s/%s\n",
		res.Steps, res.Last.Loss, res.Last.MLMLoss, res.Last.NSPLoss, res.Checkpoint, tv.out, trainer.MetricsFile, tv.out, trainer.LossPlotFile)
	return nil
}

// outError makes a refused --out directory (trainer.ErrForeignOut) a usage error (exit 2), as
// kiln demo's --dir is; other errors are returned as they are.
func outError(err error) error {
	if errors.Is(err, trainer.ErrForeignOut) {
		return badFlag("--out: %v", err)
	}
	return err
}

// shardsMasker reads and checks the manifest of the shards in dir (trainer.CheckShards) and,
// when they are stored unmasked, builds the masker the trainer masks them with (nil for masked
// shards).
func shardsMasker(dir, vocab string) (*shards.Manifest, *masking.Masker, error) {
	m, err := trainer.CheckShards(dir)
	if err != nil || m.Info.Static {
		return m, nil, err
	}
	masker, err := pipeline.ShardsMasker(dir, m, vocab)
	return m, masker, err
}

func runLoss(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("loss", "--checkpoint DIR --data DIR [--limit N] [--batch-size B]", stderr)
	ckpt := fs.String("checkpoint", "", "checkpoint `DIR` holding config.json and model.safetensors (kiln's or another tool's)")
	data := fs.String("data", "", "shards `DIR`")
	limit, batch := int64(1000), 32
	fs.Var(&int64Flag{&limit}, "limit", "evaluate the first `N` rows (0: all)")
	fs.Var(&boundedIntFlag{&batch, 1, maxBatchSize}, "batch-size", "rows per forward pass (`B` from 1 to 16777216; the result does not depend on it)")
	vocab := fs.String("vocab", "", "vocabulary `FILE` for dynamically masked shards")
	seed := fs.Uint64("seed", 42, "seed of the masks of dynamically masked shards")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *ckpt == "" || *data == "" {
		fmt.Fprintln(stderr, "give --checkpoint DIR and --data DIR")
		fs.Usage()
		return errUsage
	}
	_, masker, err := shardsMasker(*data, *vocab)
	if err != nil {
		return err
	}
	model, err := trainer.LoadModel(*ckpt)
	if err != nil {
		return err
	}
	cfg := trainer.EvalConfig{Data: *data, Limit: limit, BatchSize: batch, Seed: *seed, Masker: masker}
	res, err := trainer.Eval(ctx, model, cfg)
	if err != nil {
		return err
	}
	b, err := json.Marshal(res)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, string(b))
	return nil
}

// int64Flag is an int64 flag that refuses negative values.
type int64Flag struct{ p *int64 }

func (f *int64Flag) String() string {
	if f == nil || f.p == nil {
		return "0"
	}
	return strconv.FormatInt(*f.p, 10)
}

func (f *int64Flag) Set(s string) error {
	n, err := strconv.ParseInt(s, 0, 64)
	if err != nil {
		return errors.New("not an integer")
	}
	if n < 0 {
		return errors.New("must not be negative")
	}
	*f.p = n
	return nil
}
