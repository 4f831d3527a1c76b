// Command kiln-beam runs kiln's prep as an Apache Beam pipeline: on Prism in-process (tests and
// small jobs), or on Flink, Spark or Google Cloud Dataflow when one machine is not enough. Its
// output is byte-identical to "kiln prep --partitions N" on the same inputs and settings.
//
// Usage:
//
//	kiln-beam prep --input PATH... --vocab FILE --output DIR --partitions N [kiln flags] [Beam flags]
//	kiln-beam beam-flags
//
// kiln-beam is a module of its own (github.com/kiln-bert/kiln/cmd/kiln-beam), so that the
// Beam SDK stays out of kiln's module and of the kiln binary. The same binary is the worker
// that the portable runners and Dataflow start (--worker_binary): Beam starts it with its
// worker flags, and beam.Init runs the worker harness.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/kiln-bert/kiln/internal/prepflags"
	"github.com/kiln-bert/kiln/internal/version"
)

func main() {
	args := os.Args[1:]
	if len(args) > 0 && strings.HasPrefix(args[0], "-") {
		// A Beam runner starts this binary as its worker (--worker --id ... --control_endpoint
		// ...): beam.Init runs the worker harness and does not return.
		flag.Parse()
		beam.Init()
		fmt.Fprintln(os.Stderr, "kiln-beam: flags without a command: give a command (kiln-beam help)")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, args, os.Stdout, os.Stderr))
}

// run executes one kiln-beam command line and returns the process exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	var err error
	switch args[0] {
	case "prep":
		err = runPrep(ctx, args[1:], stdout, stderr)
	case "beam-flags":
		fmt.Fprintln(stdout, "Beam's pipeline flags, accepted by kiln-beam prep after kiln's own:")
		prepflags.PrintDefaults(flag.CommandLine, stdout)
	case "version":
		fmt.Fprintf(stdout, "kiln-beam %s\n", version.Kiln)
	default:
		fmt.Fprintf(stderr, "kiln-beam: unknown command %q\n\n", args[0])
		usage(stderr)
		return 2
	}
	return prepflags.Exit(stderr, "kiln-beam "+args[0], err, nil)
}

func usage(w io.Writer) {
	fmt.Fprintf(w, `kiln-beam %s: kiln's prep as an Apache Beam pipeline (Prism, Flink, Spark, Dataflow).

Usage: kiln-beam <command> [flags]

Commands:
  prep        the same shards as "kiln prep --partitions N", made by a Beam pipeline
  beam-flags  list Beam's own flags (--runner, --endpoint, --environment_type, ...)
  version     print the kiln version recorded in the shards

Run "kiln-beam prep --help" for prep's flags.
`, version.Kiln)
}
