package main

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kiln-bert/kiln/internal/prepflags"
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
		return prepflags.BadFlag("--dir %s is a file: give a directory that does not exist yet", dir)
	default:
		entries, err := os.ReadDir(dir)
		if err != nil {
			return err
		}
		if len(entries) > 0 {
			if _, err := os.Stat(filepath.Join(dir, demoMarker)); err != nil {
				return prepflags.BadFlag("--dir %s already holds files that kiln demo did not make: give another --dir (kiln demo empties its directory)", dir)
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
	fs := prepflags.NewFlagSet("kiln", "demo", "[--dir DIR] [--steps N]", stderr)
	dir := fs.String("dir", "kiln-demo", "working `DIR` for the sample, the shards and the model (made anew; an existing DIR must be empty or an earlier demo's)")
	steps, batch, seqLen := 300, 16, 64
	fs.IntVar(&steps, "steps", steps, "training steps for the tiny model (`N` from 1 to 1e9)")
	fs.IntVar(&batch, "batch-size", batch, "rows per step (`B` from 1 to 16777216)")
	fs.IntVar(&seqLen, "max-seq-len", seqLen, "sequence length of the demo's examples (`N` from 8 to 512)")
	if err := prepflags.Parse(fs, args); err != nil {
		return err
	}
	// The settings of step 3, checked as kiln train checks its flags.
	tv := trainFlagValues{steps: steps, batchSize: batch, lr: 2e-3, warmup: steps / 10, checkpointEvery: steps, logEvery: max(1, steps/15)}
	if err := tv.check(); err != nil {
		return err
	}
	if seqLen < 8 || seqLen > 512 {
		return prepflags.BadFlag("--max-seq-len %d: want 8 to 512 (the demo's tiny model has 512 positions)", seqLen)
	}
	start := time.Now()
	if err := freshDemoDir(*dir); err != nil {
		return err
	}
	corpus, vocab, err := unpackSample(*dir)
	if err != nil {
		return fmt.Errorf("unpacking the sample: %w", err)
	}
	fmt.Fprintf(stdout, "kiln demo: the bundled sample (21 State of the Union addresses, Moby Dick chapters 1-30) is in %s\n", corpus)

	// Each step is a kiln command: demo prints its command line and runs that argument list
	// through the function the command runs (runPrep, runInspect, runVerify, runTrain), so that
	// a printed line, copied, does what the demo did.
	step := func(n int, name string, args []string, note string) {
		fmt.Fprintf(stdout, "\n== %d. kiln %s %s%s\n", n, name, shellLine(args), note)
	}

	// 1. Prepare: raw text to shards.
	shardDir := filepath.Join(*dir, "shards")
	prepArgs := []string{"--input", corpus, "--format", "text", "--vocab", vocab, "--max-seq-len", strconv.Itoa(seqLen),
		"--max-predictions", strconv.Itoa(max(1, seqLen*20/128)), "--output", shardDir}
	step(1, "prep", prepArgs, "")
	if err := runPrep(ctx, prepArgs, stdout, stderr); err != nil {
		return err
	}

	// 2. Look at what was made.
	inspectArgs := []string{"--examples", "3", shardDir}
	step(2, "inspect", inspectArgs, " (a few examples decoded: [MASK:orig] masked, {orig→random} replaced, <orig> kept)")
	if err := runInspect(ctx, inspectArgs, stdout, stderr); err != nil {
		return err
	}
	verifyArgs := []string{shardDir}
	step(3, "verify", verifyArgs, "")
	if err := runVerify(ctx, verifyArgs, stdout, stderr); err != nil {
		return err
	}

	// 4. Train a tiny BERT on the shards. Its log goes to stdout with the rest of the demo.
	modelDir := filepath.Join(*dir, "model")
	trainArgs := []string{"--data", shardDir, "--out", modelDir, "--model", "tiny", "--steps", strconv.Itoa(steps),
		"--batch-size", strconv.Itoa(batch), "--lr", "2e-3", "--warmup", strconv.Itoa(steps / 10),
		"--log-every", strconv.Itoa(max(1, steps/15)), "--checkpoint-every", strconv.Itoa(steps), "--seed", "42"}
	step(4, "train", trainArgs, "")
	if err := runTrain(ctx, trainArgs, stdout, stdout); err != nil {
		return err
	}
	history, err := readMetricsFile(filepath.Join(modelDir, trainer.MetricsFile))
	if err != nil {
		return err
	}
	if len(history) == 0 {
		return fmt.Errorf("training logged no step")
	}
	first, last := history[0], history[len(history)-1]
	ckpts, _ := filepath.Glob(filepath.Join(modelDir, "checkpoint-*"))
	ckpt := modelDir
	if len(ckpts) > 0 {
		ckpt = slices.Max(ckpts) // the names hold the step, zero-padded
	}
	fmt.Fprintf(stdout, "\nkiln demo: done in %.0fs. The loss went from %.2f (step %d) to %.2f (step %d): MLM %.2f -> %.2f, NSP %.3f -> %.3f.\n",
		time.Since(start).Seconds(), first.Loss, first.Step, last.Loss, last.Step, first.MLMLoss, last.MLMLoss, first.NSPLoss, last.NSPLoss)
	fmt.Fprintf(stdout, "  shards:      %s (manifest.json, prep-stats.json)\n", shardDir)
	fmt.Fprintf(stdout, "  model:       %s (Hugging Face BertForPreTraining: config.json + model.safetensors)\n", ckpt)
	fmt.Fprintf(stdout, "  metrics:     %s\n", filepath.Join(modelDir, trainer.MetricsFile))
	fmt.Fprintf(stdout, "  loss curve:  %s\n", filepath.Join(modelDir, trainer.LossPlotFile))
	return nil
}

// readMetricsFile reads the metric lines kiln train wrote to path (trainer.MetricsFile).
func readMetricsFile(path string) ([]trainer.Metrics, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var ms []trainer.Metrics
	for i, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var m trainer.Metrics
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			return nil, fmt.Errorf("%s: line %d: %w", path, i+1, err)
		}
		ms = append(ms, m)
	}
	return ms, nil
}

// shellLine returns args as a shell would need them typed: each argument that holds anything
// but letters, digits and -_./,:=+@% single-quoted.
func shellLine(args []string) string {
	out := make([]string, len(args))
	for i, a := range args {
		safe := a != ""
		for _, r := range a {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./,:=+@%", r)) {
				safe = false
				break
			}
		}
		if safe {
			out[i] = a
		} else {
			out[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
	}
	return strings.Join(out, " ")
}
