package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/kiln-bert/kiln/masking"
	"github.com/kiln-bert/kiln/pipeline"
	"github.com/kiln-bert/kiln/shards"
	"github.com/kiln-bert/kiln/tokenize"
	"github.com/kiln-bert/kiln/trainer"
)

// trainFlagValues holds the flags shared by train and pretrain.
type trainFlagValues struct {
	out, model, evalData               string
	steps, batchSize, warmup, logEvery int
	checkpointEvery                    int
	lr, weightDecay                    float64
	seed                               uint64
	resume                             bool
}

func trainFlags(fs *flag.FlagSet) *trainFlagValues {
	v := &trainFlagValues{}
	fs.StringVar(&v.out, "out", "", "output `DIR`: checkpoints, metrics.jsonl, loss.png")
	fs.StringVar(&v.model, "model", "tiny", "model size: tiny (L2/H128), mini (L4/H256), small (L4/H512), base (L12/H768), or a Hugging Face config.json")
	fs.IntVar(&v.steps, "steps", 1000, "optimizer steps in the whole run")
	fs.IntVar(&v.batchSize, "batch-size", 32, "rows per step")
	fs.Float64Var(&v.lr, "lr", 1e-3, "peak learning rate (linear warm-up, then linear decay to 0)")
	fs.IntVar(&v.warmup, "warmup", 100, "warm-up steps")
	fs.Float64Var(&v.weightDecay, "weight-decay", 0.01, "AdamW's decoupled weight decay (not on biases and LayerNorm)")
	fs.Uint64Var(&v.seed, "seed", 42, "random seed: initial weights, dropout, data order, dynamic masks")
	fs.StringVar(&v.evalData, "eval-data", "", "shards `DIR` to evaluate at each checkpoint")
	fs.IntVar(&v.checkpointEvery, "checkpoint-every", 500, "steps between checkpoints (one is also written at the end)")
	fs.IntVar(&v.logEvery, "log-every", 10, "steps between metric lines")
	fs.BoolVar(&v.resume, "resume", false, "continue from the newest complete checkpoint in --out")
	return v
}

// modelConfig returns the model configuration named by --model for a vocabulary size.
func modelConfig(name string, vocabSize int) (trainer.Config, error) {
	if strings.HasSuffix(name, ".json") {
		cfg, err := trainer.ReadConfig(name)
		if err != nil {
			return cfg, err
		}
		if cfg.VocabSize < vocabSize {
			return cfg, fmt.Errorf("%s: vocab_size %d is smaller than the data's vocabulary (%d)", name, cfg.VocabSize, vocabSize)
		}
		return cfg, nil
	}
	return trainer.Preset(name, vocabSize)
}

func (v *trainFlagValues) config(model trainer.Config, stderr io.Writer) trainer.TrainConfig {
	opt := trainer.DefaultOptimizer(v.lr, v.warmup, v.steps)
	opt.WeightDecay = v.weightDecay
	return trainer.TrainConfig{
		Out: v.out, Model: model, Optimizer: opt, Steps: v.steps, BatchSize: v.batchSize, Seed: v.seed,
		LogEvery: v.logEvery, CheckpointEvery: v.checkpointEvery, Resume: v.resume,
		EvalData: v.evalData, Log: stderr,
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
	if tv.evalData != "" {
		if _, cfg.EvalMasker, err = shardsMasker(tv.evalData, *vocab); err != nil {
			return err
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

// shardsMasker reads the manifest of the shards in dir and, when they are stored unmasked,
// builds the masker the trainer masks them with (nil for masked shards).
func shardsMasker(dir, vocab string) (*shards.Manifest, *masking.Masker, error) {
	m, err := shards.ReadManifest(dir)
	if err != nil || m.Info.Static {
		return m, nil, err
	}
	masker, err := dynamicMasker(m, vocab)
	return m, masker, err
}

// dynamicMasker builds the masker for shards stored without masks, with the masking settings
// recorded in their config and the vocabulary they were made with.
func dynamicMasker(m *shards.Manifest, vocabPath string) (*masking.Masker, error) {
	var cfg pipeline.ExampleConfig
	if err := json.Unmarshal(m.Config, &cfg); err != nil {
		return nil, fmt.Errorf("shards config: %w", err)
	}
	if vocabPath == "" {
		vocabPath = cfg.Vocab
	}
	if vocabPath == "" {
		return nil, fmt.Errorf("the shards are not masked and their config names no vocab.txt: give --vocab")
	}
	v, err := tokenize.LoadVocab(vocabPath)
	if err != nil {
		return nil, err
	}
	if want := m.Metadata[shards.MetaVocabSHA256]; want != "" && want != v.SHA256() {
		return nil, fmt.Errorf("%s is not the vocabulary the shards were made with (sha256 %s, want %s)", vocabPath, v.SHA256(), want)
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
	limit := fs.Int64("limit", 1000, "evaluate the first N rows (0: all)")
	batch := fs.Int("batch-size", 32, "rows per forward pass (the result does not depend on it)")
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
	cfg := trainer.EvalConfig{Data: *data, Limit: *limit, BatchSize: *batch, Seed: *seed, Masker: masker}
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
