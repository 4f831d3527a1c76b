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
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

// version is kiln's version, stored in every shard's metadata.
const version = "0.1.0"

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
		err := c.run(ctx, args[1:], stdout, stderr)
		switch {
		case err == nil:
			return 0
		case errors.Is(err, flag.ErrHelp):
			return 0
		case errors.Is(err, errUsage):
			return 2
		case errors.Is(err, errFlagValue):
			fmt.Fprintf(stderr, "kiln %s: %v\n", c.name, err)
			return 2
		case errors.Is(err, context.Canceled):
			fmt.Fprintf(stderr, "kiln %s: interrupted\n", c.name)
			return 130
		}
		fmt.Fprintf(stderr, "kiln %s: %v%s\n", c.name, err, remedy(err))
		return 1
	}
	fmt.Fprintf(stderr, "kiln: unknown command %q\n\n", args[0])
	usage(stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintf(w, "kiln %s: BERT pretraining data from raw text, and BERT trained on it.\n\nUsage: kiln <command> [flags]\n\nCommands:\n", version)
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, "\nRun \"kiln <command> --help\" for a command's flags.\n")
}

// errUsage marks an error already reported with the command's usage.
var errUsage = errors.New("usage error")

// errFlagValue marks a flag value that is out of range or malformed: exit code 2, as for a
// usage error, with the message printed.
var errFlagValue = errors.New("bad flag value")

// flagError is a bad flag value; badFlag makes one.
type flagError string

func (e flagError) Error() string        { return string(e) }
func (e flagError) Is(target error) bool { return target == errFlagValue }

// badFlag returns an error for a bad flag value; the message names the flag.
func badFlag(format string, args ...any) error { return flagError(fmt.Sprintf(format, args...)) }

// newFlagSet returns a FlagSet for a subcommand whose usage lists synopsis and the flags.
func newFlagSet(name, synopsis string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("kiln "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: kiln %s %s\n\nFlags:\n", name, synopsis)
		// The flag package prints "-name"; kiln's documentation spells flags "--name" (both
		// are accepted).
		var b strings.Builder
		fs.SetOutput(&b)
		fs.PrintDefaults()
		fs.SetOutput(stderr)
		io.WriteString(stderr, strings.ReplaceAll("\n"+b.String(), "\n  -", "\n  --")[1:])
	}
	return fs
}

// parseFlags parses args, turning a parse failure into errUsage (the flag package has
// already printed the problem and the usage), and then the typed settings' names (settleText).
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	return settleText(fs)
}

// multiValue lets a flag take several values: "--input a b c" as well as repeated
// "--input a --input b".
type multiValue []string

func (m *multiValue) String() string     { return strings.Join(*m, " ") }
func (m *multiValue) Set(v string) error { *m = append(*m, v); return nil }

// spreadMulti rewrites "--name a b c --other" into "--name a --name b --name c --other" for
// each named multi-value flag, so that the flag package can parse it.
func spreadMulti(args []string, names ...string) []string {
	isMulti := func(a string) bool {
		for _, n := range names {
			if a == "-"+n || a == "--"+n {
				return true
			}
		}
		return false
	}
	var out []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return append(out, args[i:]...)
		}
		out = append(out, a)
		if !isMulti(a) {
			continue
		}
		first := true
		for i+1 < len(args) && (first || !strings.HasPrefix(args[i+1], "-")) {
			if !first {
				out = append(out, a)
			}
			out = append(out, args[i+1])
			i++
			first = false
		}
	}
	return out
}

func runVersion(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fmt.Fprintf(stdout, "kiln %s\n", version)
	return nil
}
