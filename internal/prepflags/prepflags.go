// Package prepflags is the one home of the command-line flags that decide what kiln's prep
// writes (the corpus, the tokenizer, pairing, masking and shard settings), of their help
// text, defaults and checks, and of the flag mechanism that every kiln command uses: flags
// parse a value's syntax, then the config's Validate checks the values, and an error naming
// a config field becomes a usage error naming the field's flag. kiln prep, kiln pretrain and
// kiln-beam prep (a nested module, which reaches internal/ through its import path) register
// the same flags from here, so they offer the same flags with the same defaults, ranges and
// messages.
package prepflags

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// ErrUsage marks an error already reported with the command's usage.
var ErrUsage = errors.New("usage error")

// ErrFlagValue marks a flag value that is out of range or malformed: exit code 2, as for a
// usage error, with the message printed.
var ErrFlagValue = errors.New("bad flag value")

// flagError is a bad flag value; BadFlag makes one.
type flagError string

func (e flagError) Error() string        { return string(e) }
func (e flagError) Is(target error) bool { return target == ErrFlagValue }

// BadFlag returns an error for a bad flag value; the message names the flag.
func BadFlag(format string, args ...any) error { return flagError(fmt.Sprintf(format, args...)) }

// NewFlagSet returns a FlagSet for the subcommand name of the command prog ("kiln",
// "kiln-beam"), whose usage lists synopsis and the flags.
func NewFlagSet(prog, name, synopsis string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(prog+" "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: %s %s %s\n\nFlags:\n", prog, name, synopsis)
		PrintDefaults(fs, stderr)
	}
	return fs
}

// PrintDefaults prints the flags of fs to w as the flag package does, but spelt "--name": the
// flag package prints "-name"; kiln's documentation spells flags "--name" (both are accepted).
func PrintDefaults(fs *flag.FlagSet, w io.Writer) {
	var b strings.Builder
	out := fs.Output()
	fs.SetOutput(&b)
	fs.PrintDefaults()
	fs.SetOutput(out)
	io.WriteString(w, strings.ReplaceAll("\n"+b.String(), "\n  -", "\n  --")[1:])
}

// Parse parses args, turning a parse failure into ErrUsage (the flag package has already
// printed the problem and the usage), and then the typed settings' names (see TextVar).
func Parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return ErrUsage
	}
	return settleText(fs)
}

// MultiValue lets a flag take several values: "--input a b c" as well as repeated
// "--input a --input b".
type MultiValue []string

func (m *MultiValue) String() string     { return strings.Join(*m, " ") }
func (m *MultiValue) Set(v string) error { *m = append(*m, v); return nil }

// SpreadMulti rewrites "--name a b c --other" into "--name a --name b --name c --other" for
// each named multi-value flag, so that the flag package can parse it.
func SpreadMulti(args []string, names ...string) []string {
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
