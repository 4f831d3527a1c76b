package main

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/kiln-bert/kiln/pipeline"
	"github.com/kiln-bert/kiln/shards"
	"github.com/kiln-bert/kiln/trainer"
)

// sample is the corpus and vocabulary that ship inside kiln (see sample/README.md).
//
//go:embed sample/README.md sample/vocab.txt sample/corpus/*.txt
var sample embed.FS

// unpackSample writes the embedded sample under dir and returns the corpus directory and the
// vocabulary path.
func unpackSample(dir string) (corpus, vocab string, err error) {
	err = fs.WalkDir(sample, "sample", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := sample.ReadFile(p)
		if err != nil {
			return err
		}
		dst := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		return os.WriteFile(dst, b, 0o644)
	})
	return filepath.Join(dir, "sample", "corpus"), filepath.Join(dir, "sample", "vocab.txt"), err
}

// demoMarker is the file kiln demo leaves in its directory, so that a later demo may empty that
// directory again, and no other.
const demoMarker = ".kiln-demo"

// freshDemoDir makes dir an empty directory holding only demoMarker. dir may be missing, empty,
// or an earlier demo's (it holds demoMarker); anything else is refused, never removed.
func freshDemoDir(dir string) error {
	st, err := os.Stat(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return err
	case !st.IsDir():
		return badFlag("--dir %s is a file: give a directory that does not exist yet", dir)
	default:
		entries, err := os.ReadDir(dir)
		if err != nil {
			return err
		}
		if len(entries) > 0 {
			if _, err := os.Stat(filepath.Join(dir, demoMarker)); err != nil {
				return badFlag("--dir %s already holds files that kiln demo did not make: give another --dir (kiln demo empties its directory)", dir)
			}
			for _, e := range entries {
				if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
					return err
				}
			}
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, demoMarker), []byte("made by kiln demo: a later kiln demo --dir here empties this directory\n"), 0o644)
}

func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("demo", "[--dir DIR] [--steps N]", stderr)
	dir := fs.String("dir", "kiln-demo", "working `DIR` for the sample, the shards and the model (made anew; an existing DIR must be empty or an earlier demo's)")
	steps, batch, seqLen := 300, 16, 64
	fs.IntVar(&steps, "steps", steps, "training steps for the tiny model (`N` from 1 to 1e9)")
	fs.IntVar(&batch, "batch-size", batch, "rows per step (`B` from 1 to 16777216)")
	fs.IntVar(&seqLen, "max-seq-len", seqLen, "sequence length of the demo's examples (`N` from 8 to 512)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	// The settings of step 3, checked as kiln train checks its flags.
	tv := trainFlagValues{steps: steps, batchSize: batch, lr: 2e-3, warmup: steps / 10, checkpointEvery: steps, logEvery: max(1, steps/15)}
	if err := tv.check(); err != nil {
		return err
	}
	if seqLen < 8 || seqLen > 512 {
		return badFlag("--max-seq-len %d: want 8 to 512 (the demo's tiny model has 512 positions)", seqLen)
	}
	start := time.Now()
	if err := freshDemoDir(*dir); err != nil {
		return err
	}
	corpus, vocab, err := unpackSample(*dir)
	if err != nil {
		return fmt.Errorf("unpacking the sample: %w", err)
	}
	fmt.Fprintf(stdout, "kiln demo: the bundled sample (21 State of the Union addresses, Moby Dick chapters 1-30) is in %s\n\n", corpus)

	// 1. Prepare: raw text to shards.
	cfg := pipeline.DefaultExampleConfig()
	cfg.Inputs = []string{corpus}
	cfg.Format = pipeline.Text
	cfg.Vocab = vocab
	cfg.MaxSeqLen = seqLen
	cfg.MaxPredictions = max(1, seqLen*20/128)
	cfg.Workers = runtime.NumCPU()
	ex, err := pipeline.NewExamples(cfg)
	if err != nil {
		return err
	}
	shardDir := filepath.Join(*dir, "shards")
	fmt.Fprintf(stdout, "== 1. kiln prep --input %s --format text --vocab %s --max-seq-len %d --output %s\n", corpus, vocab, seqLen, shardDir)
	sum, err := pipeline.Prep(ctx, ex, pipeline.ShardOptions{Dir: shardDir, Version: version})
	if err != nil {
		return err
	}
	printPrepSummary(stdout, sum, shardDir)

	// 2. Look at what was made.
	fmt.Fprintf(stdout, "\n== 2. kiln inspect %s (a few examples decoded: [MASK:orig] masked, {orig→random} replaced, <orig> kept)\n", shardDir)
	rows, info, err := shards.Sample(shardDir, 3)
	if err != nil {
		return err
	}
	token, _ := decoder(shardDir, vocab)
	for i := range rows {
		fmt.Fprintf(stdout, "%s\n", shards.FormatRow(&rows[i], info, token))
	}
	if rep, err := shards.Verify(shardDir); err != nil || len(rep.Failures) > 0 {
		return fmt.Errorf("verify %s: %v %v", shardDir, err, rep.Failures)
	}
	fmt.Fprintf(stdout, "kiln verify %s: ok\n", shardDir)

	// 3. Train a tiny BERT on the shards.
	modelDir := filepath.Join(*dir, "model")
	fmt.Fprintf(stdout, "\n== 3. kiln train --data %s --out %s --model tiny --steps %d --batch-size %d\n", shardDir, modelDir, steps, batch)
	m, err := shards.ReadManifest(shardDir)
	if err != nil {
		return err
	}
	model, err := trainer.Preset("tiny", m.Info.VocabSize)
	if err != nil {
		return err
	}
	opt := trainer.DefaultOptimizer(2e-3, steps/10, steps)
	res, err := trainer.Train(ctx, trainer.TrainConfig{
		Data: shardDir, Out: modelDir, Model: model, Optimizer: opt, Steps: steps, BatchSize: batch,
		Seed: 42, LogEvery: max(1, steps/15), CheckpointEvery: steps, Log: stdout, Tokenizer: checkpointTokenizer("demo", ex.Tokenizer(), stdout),
		AfterCheckpoint: plotLoss(modelDir),
	})
	if err != nil {
		return err
	}
	if len(res.History) == 0 {
		return fmt.Errorf("training logged no step")
	}
	first, last := res.History[0], res.Last
	fmt.Fprintf(stdout, "\nkiln demo: done in %.0fs. The loss went from %.2f (step %d) to %.2f (step %d): MLM %.2f -> %.2f, NSP %.3f -> %.3f.\n",
		time.Since(start).Seconds(), first.Loss, first.Step, last.Loss, last.Step, first.MLMLoss, last.MLMLoss, first.NSPLoss, last.NSPLoss)
	fmt.Fprintf(stdout, "  shards:      %s (manifest.json, prep-stats.json)\n", shardDir)
	fmt.Fprintf(stdout, "  model:       %s (Hugging Face BertForPreTraining: config.json + model.safetensors)\n", res.Checkpoint)
	fmt.Fprintf(stdout, "  metrics:     %s\n", filepath.Join(modelDir, trainer.MetricsFile))
	fmt.Fprintf(stdout, "  loss curve:  %s\n", filepath.Join(modelDir, trainer.LossPlotFile))
	return nil
}
