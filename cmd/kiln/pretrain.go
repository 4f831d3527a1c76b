package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/kiln-bert/kiln/internal/prepflags"
	"github.com/kiln-bert/kiln/pipeline"
	"github.com/kiln-bert/kiln/trainer"
)

func runPretrain(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := prepflags.NewFlagSet("kiln", "pretrain", "--input PATH... --format lines|text|jsonl|parquet|arrow --vocab FILE --out DIR [train flags] [prep flags] [--save-shards DIR]", stderr)
	cfg, inputs := prepflags.RegisterExample(fs, true)
	tv := trainFlags(fs)
	saveDir := fs.String("save-shards", "", "also write the shards of the first pass over the corpus to `DIR`, as kiln prep --masking dynamic --seed (this --seed) would; when training ends first, the rest of the pass is prepared after it")
	so := prepflags.RegisterShard(fs)
	if err := prepflags.Parse(fs, prepflags.SpreadMulti(args, "input")); err != nil {
		return err
	}
	if err := prepflags.FinishExample(fs, cfg, inputs); err != nil {
		return err
	}
	if err := tv.check(); err != nil {
		return err
	}
	if tv.out == "" {
		fmt.Fprintln(stderr, "no output: give --out DIR")
		fs.Usage()
		return prepflags.ErrUsage
	}
	cfg.Seed = tv.seed

	sc := pipeline.StreamConfig{BatchSize: tv.batchSize, Seed: tv.seed}
	if *saveDir != "" {
		opts, err := so.Options(*saveDir, cfg.MaxSeqLen)
		if err != nil {
			return err
		}
		sc.SaveShards = &opts
	}
	// Check the inputs and the vocabulary before anything is written. The output directories
	// are never read as input, should they lie inside an input directory.
	cfg.Exclude = []string{tv.out, *saveDir}
	restoreGC := startupGC()
	ex, err := pipeline.NewExamples(*cfg)
	restoreGC()
	if err != nil {
		return err
	}
	printNotes("pretrain", ex, stderr)
	warnVocab("pretrain", ex.Tokenizer(), stderr)
	model, err := modelConfig(tv.model, ex.Tokenizer().Vocab().Size())
	if err != nil {
		return err
	}
	var stream *pipeline.Stream
	tc := tv.config(model, stderr)
	tc.SeqLen = cfg.MaxSeqLen // for the memory check: the data comes from the stream, not shards
	tc.Tokenizer = checkpointTokenizer("pretrain", ex.Tokenizer(), stderr)
	// A resume must read the same corpus the same way: the checkpoints record how.
	if tc.SourceConfig, err = json.Marshal(ex.Config()); err != nil {
		return err
	}
	if tv.evalData != "" {
		if _, tc.EvalMasker, err = shardsMasker(tv.evalData, cfg.Vocab); err != nil {
			return fmt.Errorf("--eval-data: %w", err)
		}
	}
	tc.NewSource = func(ctx context.Context, start trainer.Position) (trainer.Source, error) {
		s, err := pipeline.NewStream(ctx, ex, sc, start)
		stream = s
		return s, err
	}
	start := time.Now()
	res, err := trainer.Train(ctx, tc)
	if err != nil {
		return outError(flagNames(err))
	}
	if stream == nil {
		return errors.New("the trainer asked for no data: nothing to do (is --steps already reached in --out?)")
	}
	wall := time.Since(start)
	fmt.Fprintf(stdout, "kiln pretrain: step %d, loss %.4f (mlm %.4f, nsp %.4f); the trainer waited for data %.2f%% of %.0fs\n",
		res.Steps, res.Last.Loss, res.Last.MLMLoss, res.Last.NSPLoss, 100*stream.Wait().Seconds()/wall.Seconds(), wall.Seconds())
	fmt.Fprintf(stdout, "  checkpoint %s; metrics %s/%s; loss curve %s/%s\n", res.Checkpoint, tv.out, trainer.MetricsFile, tv.out, trainer.LossPlotFile)
	saved := stream.Saved()
	if saved == nil && sc.SaveShards != nil {
		// Training ended before the first pass over the corpus did (or a resumed run started
		// past it): the stream left the shards resumable, and Prep finishes them as kiln prep
		// would.
		fmt.Fprintf(stderr, "kiln pretrain: training ended before the first pass over the corpus; finishing the shards in %s\n", *saveDir)
		rest, err := ex.WithSeed(ex.Config().Seed) // the first pass's run again, nothing reloaded
		if err != nil {
			return err
		}
		stop := startProgress(rest, stderr, false)
		saved, err = pipeline.Prep(ctx, rest, *sc.SaveShards)
		stop()
		if err != nil {
			return fmt.Errorf("finishing the shards in %s (the model is saved; kiln prep with the same input and prep flags, --masking dynamic --seed %d --output %s resumes them): %w",
				*saveDir, tv.seed, *saveDir, err)
		}
	}
	if saved != nil {
		fmt.Fprintf(stdout, "  shards of the first pass: %s (%d rows in %d shards)\n", *saveDir, saved.Examples.Rows, saved.Shards)
	}
	return nil
}
