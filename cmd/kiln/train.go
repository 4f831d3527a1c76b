package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/kiln-bert/kiln/masking"
	"github.com/kiln-bert/kiln/pipeline"
	"github.com/kiln-bert/kiln/shards"
	"github.com/kiln-bert/kiln/tokenize"
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
	fs.Var(&intFlag{&v.steps, 1}, "steps", "optimizer steps in the whole run (`N` >= 1)")
	fs.Var(&intFlag{&v.batchSize, 1}, "batch-size", "rows per step (`B` >= 1)")
	fs.Var(&floatFlag{&v.lr, false}, "lr", "peak learning rate `LR` > 0 (linear warm-up, then linear decay to 0)")
	fs.Var(&intFlag{&v.warmup, 0}, "warmup", "warm-up steps (`N` >= 0)")
	fs.Var(&floatFlag{&v.weightDecay, true}, "weight-decay", "AdamW's decoupled weight decay `W` >= 0 (not on biases and LayerNorm)")
	fs.Uint64Var(&v.seed, "seed", 42, "random seed: initial weights, dropout, data order, dynamic masks")
	fs.StringVar(&v.evalData, "eval-data", "", "shards `DIR` to evaluate at each checkpoint")
	fs.Var(&intFlag{&v.checkpointEvery, 1}, "checkpoint-every", "steps between checkpoints (`N` >= 1; one is also written at the end)")
	fs.Var(&intFlag{&v.logEvery, 1}, "log-every", "steps between metric lines (`N` >= 1)")
	fs.BoolVar(&v.resume, "resume", false, "continue from the newest complete checkpoint in --out (starting from step 0, with a note, when there is none)")
	return v
}

// intFlag is an int flag that refuses values below min.
type intFlag struct {
	p   *int
	min int
}

func (f *intFlag) String() string {
	if f == nil || f.p == nil {
		return "0"
	}
	return strconv.Itoa(*f.p)
}

func (f *intFlag) Set(s string) error {
	n, err := strconv.ParseInt(s, 0, strconv.IntSize)
	if err != nil {
		return errors.New("not an integer")
	}
	if n < int64(f.min) {
		return fmt.Errorf("must be at least %d", f.min)
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
	if f == nil || f.p == nil {
		return "0"
	}
	return strconv.FormatFloat(*f.p, 'g', -1, 64)
}

func (f *floatFlag) Set(s string) error {
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
	if cfg.Tokenizer, err = dataTokenizer(*data, m, *vocab); err != nil {
		fmt.Fprintf(stderr, "kiln train: warning: the checkpoints will hold no tokenizer files (AutoTokenizer will not find one there): %v\n", err)
	}
	if tv.evalData != "" {
		if _, cfg.EvalMasker, err = shardsMasker(tv.evalData, *vocab); err != nil {
			return fmt.Errorf("--eval-data: %w", err)
		}
	}
	res, err := trainer.Train(ctx, cfg)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "kiln train: step %d, loss %.4f (mlm %.4f, nsp %.4f); checkpoint %s; metrics %s/%s; loss curve %s/%s\n",
		res.Steps, res.Last.Loss, res.Last.MLMLoss, res.Last.NSPLoss, res.Checkpoint, tv.out, trainer.MetricsFile, tv.out, trainer.LossPlotFile)
	return nil
}

// shardsMasker reads and checks the manifest of the shards in dir (trainer.CheckShards) and,
// when they are stored unmasked, builds the masker the trainer masks them with (nil for masked
// shards).
func shardsMasker(dir, vocab string) (*shards.Manifest, *masking.Masker, error) {
	m, err := trainer.CheckShards(dir)
	if err != nil || m.Info.Static {
		return m, nil, err
	}
	masker, err := dynamicMasker(dir, m, vocab)
	return m, masker, err
}

// dynamicMasker builds the masker for the shards in dir, stored without masks, with the masking
// settings recorded in their config and the vocabulary they were made with (vocabPath, or else
// the one their config names).
func dynamicMasker(dir string, m *shards.Manifest, vocabPath string) (*masking.Masker, error) {
	mpath := filepath.Join(dir, shards.ManifestName)
	var cfg pipeline.ExampleConfig
	if err := json.Unmarshal(m.Config, &cfg); err != nil {
		return nil, fmt.Errorf("%s: config: %w", mpath, err)
	}
	path := cmp.Or(vocabPath, cfg.Vocab)
	if path == "" {
		return nil, fmt.Errorf("%s: the shards are not masked and their config names no vocab.txt: give --vocab FILE", mpath)
	}
	v, err := tokenize.LoadVocab(path)
	switch {
	case err != nil && vocabPath == "":
		return nil, fmt.Errorf("the vocabulary named in %s (the shards are not masked and need it): %w (if it has moved, give --vocab FILE)", mpath, err)
	case err != nil:
		return nil, fmt.Errorf("--vocab: %w", err)
	}
	if want := m.Metadata[shards.MetaVocabSHA256]; want != "" && want != v.SHA256() {
		return nil, fmt.Errorf("%s is not the vocabulary the shards in %s were made with (sha256 %s, want %s)", path, dir, v.SHA256(), want)
	}
	mv, err := pipeline.MaskingVocab(v)
	if err != nil {
		return nil, err
	}
	return masking.New(cfg.MaskingConfig(), mv)
}

func runLoss(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("loss", "--checkpoint DIR --data DIR [--limit N] [--batch-size B]", stderr)
	ckpt := fs.String("checkpoint", "", "checkpoint `DIR` holding config.json and model.safetensors (kiln's or another tool's)")
	data := fs.String("data", "", "shards `DIR`")
	limit, batch := int64(1000), 32
	fs.Var(&int64Flag{&limit}, "limit", "evaluate the first `N` rows (0: all)")
	fs.Var(&intFlag{&batch, 1}, "batch-size", "rows per forward pass (`B` >= 1; the result does not depend on it)")
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
