// Command kiln turns raw text corpora into BERT pretraining data and trains BERT on it.
//
// Usage:
//
//	kiln <command> [flags]
//
// Run "kiln help" for the list of commands and "kiln <command> --help" for each one's flags.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/kiln-bert/kiln/internal/prepflags"
	"github.com/kiln-bert/kiln/internal/version"
)

// command is one kiln subcommand.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

func commands() []command {
	return []command{
		{"demo", "the end-to-end first run on the bundled sample: prep, inspect, train", runDemo},
		{"prep", "turn a corpus into BERT pretraining shards (Arrow IPC, zstd)", runPrep},
		{"pretrain", "train BERT straight from a corpus: the prep stages feed the trainer", runPretrain},
		{"inspect", "print decoded examples and statistics of shards", runInspect},
		{"verify", "check shards against their manifest and every row invariant", runVerify},
		{"train", "train BERT (MLM + NSP) on shards", runTrain},
		{"loss", "evaluate a checkpoint on shards: MLM, NSP and total loss as JSON", runLoss},
		{"vocab", "train a WordPiece vocabulary (vocab.txt) on a corpus, as Hugging Face's WordPieceTrainer", runVocab},
		{"tokenize", "print WordPiece ids (or pieces) for each input line", runTokenize},
		{"version", "print kiln's version", runVersion},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// run executes one kiln command line and returns the process exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, c := range commands() {
		if c.name != args[0] {
			continue
		}
		return prepflags.Exit(stderr, "kiln "+c.name, c.run(ctx, args[1:], stdout, stderr), remedy)
	}
	fmt.Fprintf(stderr, "kiln: unknown command %q\n\n", args[0])
	usage(stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintf(w, "kiln %s: BERT pretraining data from raw text, and BERT trained on it.\n\nUsage: kiln <command> [flags]\n\nCommands:\n", version.Kiln)
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, "\nRun \"kiln <command> --help\" for a command's flags.\n")
}

func runVersion(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fmt.Fprintf(stdout, "kiln %s\n", version.Kiln)
	return nil
}
