package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/x/beamx"
	"github.com/kiln-bert/kiln/internal/prepflags"
	"github.com/kiln-bert/kiln/pipeline"
	"github.com/kiln-bert/kiln/shards"
)

// prepCommand is a parsed "kiln-beam prep" command line: the job, and the launcher's
// Partitioner of it (which checked every setting and listed the inputs).
type prepCommand struct {
	job Job
	p   *pipeline.Partitioner
	ex  *pipeline.Examples
}

// parsePrep parses prep's command line: kiln's flags into the job, Beam's (--runner,
// --endpoint, ...) into flag.CommandLine, where the Beam SDK reads them.
func parsePrep(args []string, stderr io.Writer) (*prepCommand, error) {
	fs := prepflags.NewFlagSet("kiln-beam", "prep", "--input PATH... --format lines|text|jsonl|parquet|arrow --vocab FILE [--tokenizer FILE] --output DIR --partitions N [flags] [Beam flags]", stderr)
	cfg, inputs := prepflags.RegisterExample(fs, false)
	out := fs.String("output", "", "output `DIR` for the shards and manifest.json: a local directory that every worker reaches, or a URL of a Beam file system (gs://bucket/run, s3://bucket/run)")
	partitions := fs.Int("partitions", 0, fmt.Sprintf("split the run into N partitions (2 to %d), each paired, shuffled and written on its own to DIR/part-NNNNN/, as kiln prep --partitions N does", pipeline.MaxPartitions))
	sf := prepflags.RegisterShard(fs)
	fs.Bool("no-progress", false, "accepted for kiln prep's command lines; kiln-beam shows no progress bar (the runner reports progress)")
	usage := fs.Usage
	fs.Usage = func() {
		usage()
		fmt.Fprintf(stderr, "\n--input, --vocab, --tokenizer and --output also take URLs of Beam's file systems:\n"+
			"gs://bucket/... and s3://bucket/... (credentials as Beam reads them; see the README).\n")
		fmt.Fprintf(stderr, "\nBeam's flags follow kiln's; the main ones:\n"+
			"  --runner NAME          prism (the default: in-process), flink, spark, universal, dataflow\n"+
			"  --endpoint HOST:PORT   the job server of a portable runner (flink, spark, universal)\n"+
			"  --environment_type T   LOOPBACK, DOCKER or PROCESS: how the runner starts kiln-beam's workers\n"+
			"  --worker_binary FILE   the worker: this program built with CGO_ENABLED=0 GOOS=linux\n"+
			"  --project, --region, --staging_location, --dry_run   Dataflow\n"+
			"Run \"kiln-beam beam-flags\" for all of them.\n")
	}
	own, beamArgs := splitBeamArgs(fs, prepflags.SpreadMulti(args, "input"))
	if err := prepflags.Parse(fs, own); err != nil {
		return nil, err
	}
	if err := parseBeamFlags(beamArgs, stderr); err != nil {
		return nil, err
	}
	if err := prepflags.FinishExample(fs, cfg, inputs); err != nil {
		return nil, err
	}
	if *out == "" {
		fmt.Fprintln(stderr, "no output: give --output DIR")
		fs.Usage()
		return nil, prepflags.ErrUsage
	}
	if *partitions == 0 {
		fmt.Fprintln(stderr, "no partitions: give --partitions N (the N of the kiln prep --partitions N run to match)")
		fs.Usage()
		return nil, prepflags.ErrUsage
	}
	if err := prepflags.CheckRange("partitions", *partitions, 2, pipeline.MaxPartitions); err != nil {
		return nil, err
	}
	so, err := sf.Options(*out, cfg.MaxSeqLen)
	if err != nil {
		return nil, err
	}
	dir := *out
	if localOutput(dir) {
		if dir, err = filepath.Abs(*out); err != nil {
			return nil, err
		}
	}
	cfg.Exclude = []string{*out} // a rerun must not read the shards as text
	// The inputs and vocabulary on Beam's file systems (beamfs.go).
	ex, err := newExamples(context.Background(), *cfg, nil, *out)
	if err != nil {
		return nil, err
	}
	so.Dir = ""
	p, err := pipeline.NewPartitioner(ex, *partitions, so)
	if err != nil {
		return nil, err
	}
	c := ex.Config()
	job := Job{
		Config: c, MaxRowGroupBytes: c.MaxRowGroupBytes, Workers: c.Workers, Exclude: c.Exclude,
		Shard: so, Partitions: *partitions, Output: dir, Inputs: ex.Inputs(),
	}
	return &prepCommand{job: job, p: p, ex: ex}, nil
}

func runPrep(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c, err := parsePrep(args, stderr)
	if err != nil {
		return err
	}
	for _, n := range c.ex.Notes() {
		fmt.Fprintf(stderr, "kiln-beam prep: note: %s\n", n)
	}
	for _, w := range c.ex.Tokenizer().Vocab().Warnings() {
		fmt.Fprintf(stderr, "kiln-beam prep: warning: %s\n", w)
	}
	if err := checkOutput(c.job.Output); err != nil {
		return err
	}
	beam.Init()
	c.job.StartUnixNano = time.Now().UnixNano()
	if err := beamx.Run(ctx, buildPipeline(c.job, c.p)); err != nil {
		return runnerError(err)
	}
	switch {
	case beamFlagSet("dry_run"):
		fmt.Fprintf(stdout, "kiln-beam prep: dry run: the job was printed (above, in the log), not submitted\n")
		return nil
	case beamFlagSet("async") || beamFlagSet("execute_async"):
		fmt.Fprintf(stdout, "kiln-beam prep: the job was submitted; %s/manifest.json is written last, once every partition is\n", c.job.Output)
		return nil
	}
	return printSummary(stdout, c.job.Output)
}

// beamFlagSet reports whether Beam's boolean flag name is true.
func beamFlagSet(name string) bool {
	f := flag.CommandLine.Lookup(name)
	return f != nil && f.Value.String() == "true"
}

// checkOutput makes the output directory, or takes an empty one, and refuses one that holds
// anything: kiln-beam does not resume a run (the runner retries a job's bundles) nor write over
// one, whose shards of other settings could be left beside the new ones.
func checkOutput(dir string) error {
	if !localOutput(dir) {
		return checkOutputURL(context.Background(), dir) // beamfs.go
	}
	ents, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return os.MkdirAll(dir, 0o755)
	case err != nil:
		return fmt.Errorf("output %s: %w", dir, err)
	case len(ents) > 0:
		what := "files"
		if _, err := os.Stat(filepath.Join(dir, shards.ManifestName)); err == nil {
			what = "a finished run"
		}
		return fmt.Errorf("output %s is not empty (it holds %s): use a new or empty directory", dir, what)
	}
	return nil
}

// printSummary prints what the run wrote, from its prep-stats.json.
func printSummary(w io.Writer, dir string) error {
	b, err := readOutput(context.Background(), dir, pipeline.StatsName)
	if err != nil {
		return fmt.Errorf("the pipeline finished but wrote no stats: %w", err)
	}
	var s pipeline.PrepSummary
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("%s: %w", filepath.Join(dir, pipeline.StatsName), err)
	}
	e := s.Examples
	fmt.Fprintf(w, "kiln-beam prep: %d files, %d documents, %d sentences, %d tokens -> %d sequences in %d shards (%.1f MB) in %.1fs (%.1f MB/s of text)\n",
		e.Source.Files, e.Source.Documents, e.Sentences, e.Tokens, e.Rows, s.Shards, float64(s.ShardBytes)/1e6, s.Seconds, s.MBPerSecond)
	fmt.Fprintf(w, "  wrote %s/manifest.json and %s/%s\n", dir, dir, pipeline.StatsName)
	return nil
}

// runnerError puts first the cause of a failed job, which the runners report last, after their
// execution plan: the error of a DoFn, which names the file (and the line) or the partition.
func runnerError(err error) error {
	msg := strings.TrimSpace(err.Error())
	i := strings.LastIndex(msg, "\n")
	if i < 0 {
		return err
	}
	return fmt.Errorf("%s\n\nthe runner's report:\n%w", strings.TrimSpace(msg[i+1:]), err)
}
