package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/kiln-bert/kiln/internal/prepflags"
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

// trainFlags defines the training flags on fs. Their values are checked once parsed, by
// trainer.TrainConfig.Validate (check), so that a bad value is a usage error naming the flag,
// in every command that shares them, before anything starts.
func trainFlags(fs *flag.FlagSet) *trainFlagValues {
	v := &trainFlagValues{fs: fs, steps: 1000, batchSize: 32, lr: 1e-3, warmup: 100, weightDecay: 0.01, checkpointEvery: 500, logEvery: 10}
	fs.StringVar(&v.out, "out", "", "output `DIR`: checkpoints, metrics.jsonl, loss.png")
	fs.StringVar(&v.model, "model", "tiny", "model size: tiny (L2/H128), mini (L4/H256), small (L4/H512), base (L12/H768), or a Hugging Face config.json (with --resume: the checkpoint's, unless given)")
	fs.IntVar(&v.steps, "steps", v.steps, "optimizer steps in the whole run (`N` from 1 to 1e9)")
	fs.IntVar(&v.batchSize, "batch-size", v.batchSize, "rows per step (`B` from 1 to 16777216)")
	fs.Float64Var(&v.lr, "lr", v.lr, "peak learning rate `LR` in (0, 1] (linear warm-up from 0 at the first step, then linear decay to 0, as Hugging Face)")
	fs.IntVar(&v.warmup, "warmup", v.warmup, "warm-up steps (`N` from 0 to 1e9)")
	fs.Float64Var(&v.weightDecay, "weight-decay", v.weightDecay, "AdamW's decoupled weight decay `W` in [0, 1] (not on biases and LayerNorm)")
	fs.Uint64Var(&v.seed, "seed", 42, "random seed: initial weights, dropout, data order, dynamic masks")
	fs.StringVar(&v.evalData, "eval-data", "", "shards `DIR` to evaluate at each checkpoint")
	fs.IntVar(&v.checkpointEvery, "checkpoint-every", v.checkpointEvery, "steps between checkpoints (`N` from 1 to 1e9; one is also written at the end)")
	fs.IntVar(&v.logEvery, "log-every", v.logEvery, "steps between metric lines (`N` from 1 to 1e9)")
	fs.BoolVar(&v.resume, "resume", false, "continue from the newest complete checkpoint in --out (starting from step 0, with a note, when there is none)")
	return v
}

// trainFlagNames maps trainer.TrainConfig's fields to their flags (prepflags.SettingError).
var trainFlagNames = map[string]string{
	"Steps": "--steps", "BatchSize": "--batch-size", "Optimizer.LR": "--lr", "Optimizer.Warmup": "--warmup",
	"Optimizer.TotalSteps": "--steps", "Optimizer.WeightDecay": "--weight-decay",
	"CheckpointEvery": "--checkpoint-every", "LogEvery": "--log-every",
}

// check checks the training flags (trainer.TrainConfig.Validate): a bad value is a usage error
// naming its flag. The command line also bounds --lr and --weight-decay by 1, which no real
// run exceeds (the trainer takes any finite value: its tests drive a run to NaN with a huge
// learning rate).
func (v *trainFlagValues) check() error {
	switch {
	case v.lr > 1:
		return prepflags.BadFlag("--lr %v: want a learning rate in (0, 1]", v.lr)
	case v.weightDecay > 1:
		return prepflags.BadFlag("--weight-decay %v: want a weight decay in [0, 1]", v.weightDecay)
	}
	if err := v.config(trainer.Config{}, nil).Validate(); err != nil {
		return prepflags.SettingError(err, trainFlagNames)
	}
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
		Resume: v.resume, EvalData: v.evalData, Log: stderr, AfterCheckpoint: plotLoss(v.out),
	}
}

func runTrain(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := prepflags.NewFlagSet("kiln", "train", "--data DIR --out DIR [--model tiny|mini|small|base|config.json] [--steps N] [--batch-size B] [--lr LR] [--warmup N] [--weight-decay W] [--seed N] [--eval-data DIR] [--checkpoint-every N] [--resume]", stderr)
	data := fs.String("data", "", "shards `DIR` (written by kiln prep)")
	vocab := fs.String("vocab", "", "vocabulary `FILE` for dynamically masked shards (default: the one named in the shards' config)")
	tv := trainFlags(fs)
	if err := prepflags.Parse(fs, args); err != nil {
		return err
	}
	if err := tv.check(); err != nil {
		return err
	}
	if *data == "" || tv.out == "" {
		fmt.Fprintln(stderr, "give --data DIR and --out DIR")
		fs.Usage()
		return prepflags.ErrUsage
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
		return outError(flagNames(err))
	}
	fmt.Fprintf(stdout, "kiln train: step %d, loss %.4f (mlm %.4f, nsp %.4f); checkpoint %s; metrics %s/%s; loss curve %s/%s\n",
		res.Steps, res.Last.Loss, res.Last.MLMLoss, res.Last.NSPLoss, res.Checkpoint, tv.out, trainer.MetricsFile, tv.out, trainer.LossPlotFile)
	return nil
}

// outError makes a refused --out directory (trainer.ErrForeignOut) a usage error (exit 2), as
// kiln demo's --dir is; other errors are returned as they are.
func outError(err error) error {
	if errors.Is(err, trainer.ErrForeignOut) {
		return prepflags.BadFlag("--out: %v", err)
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
	fs := prepflags.NewFlagSet("kiln", "loss", "--checkpoint DIR --data DIR [--limit N] [--batch-size B]", stderr)
	ckpt := fs.String("checkpoint", "", "checkpoint `DIR` holding config.json and model.safetensors (kiln's or another tool's)")
	data := fs.String("data", "", "shards `DIR`")
	limit := fs.Int64("limit", 1000, "evaluate the first `N` rows (0: all)")
	batch := fs.Int("batch-size", 32, "rows per forward pass (`B` from 1 to 16777216; the result does not depend on it)")
	vocab := fs.String("vocab", "", "vocabulary `FILE` for dynamically masked shards")
	seed := fs.Uint64("seed", 42, "seed of the masks of dynamically masked shards")
	if err := prepflags.Parse(fs, args); err != nil {
		return err
	}
	cfg := trainer.EvalConfig{Data: *data, Limit: *limit, BatchSize: *batch, Seed: *seed}
	if err := cfg.Validate(); err != nil {
		return prepflags.SettingError(err, map[string]string{"Limit": "--limit", "BatchSize": "--batch-size"})
	}
	if *ckpt == "" || *data == "" {
		fmt.Fprintln(stderr, "give --checkpoint DIR and --data DIR")
		fs.Usage()
		return prepflags.ErrUsage
	}
	_, masker, err := shardsMasker(*data, *vocab)
	if err != nil {
		return err
	}
	model, err := trainer.LoadModel(*ckpt)
	if err != nil {
		return err
	}
	cfg.Masker = masker
	res, err := trainer.Eval(ctx, model, cfg)
	if err != nil {
		return flagNames(err)
	}
	b, err := json.Marshal(res)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, string(b))
	return nil
}
