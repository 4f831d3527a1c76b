package main

import (
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/kiln-bert/kiln/internal/prepflags"
)

// splitBeamArgs separates Beam's flags (those of flag.CommandLine, such as --runner and
// --endpoint) from the command's own (those of fs), keeping the order of each. A flag that is
// neither goes with the command's, whose parser reports it. "--" ends the flags: what follows
// goes with the command's.
func splitBeamArgs(fs *flag.FlagSet, args []string) (own, beam []string) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return append(own, args[i:]...), beam
		}
		name, hasValue := flagName(a)
		if name == "" || fs.Lookup(name) != nil {
			own = append(own, a)
			continue
		}
		f := flag.CommandLine.Lookup(name)
		if f == nil {
			own = append(own, a)
			continue
		}
		beam = append(beam, a)
		if b, ok := f.Value.(interface{ IsBoolFlag() bool }); hasValue || (ok && b.IsBoolFlag()) {
			continue
		}
		if i+1 < len(args) {
			i++
			beam = append(beam, args[i])
		}
	}
	return own, beam
}

// flagName returns the name of the flag that a spells ("-name", "--name" or "--name=value")
// and whether it carries its value; "" when a is not a flag.
func flagName(a string) (name string, hasValue bool) {
	if len(a) < 2 || a[0] != '-' {
		return "", false
	}
	name = strings.TrimPrefix(strings.TrimPrefix(a, "-"), "-")
	if name == "" || name[0] == '-' || name[0] == '=' {
		return "", false
	}
	if k, _, ok := strings.Cut(name, "="); ok {
		return k, true
	}
	return name, false
}

// parseBeamFlags parses Beam's flags into flag.CommandLine, where the Beam SDK reads them.
func parseBeamFlags(args []string, stderr io.Writer) error {
	flag.CommandLine.Init(flag.CommandLine.Name(), flag.ContinueOnError)
	flag.CommandLine.SetOutput(stderr)
	flag.CommandLine.Usage = func() {
		fmt.Fprintln(stderr, `Run "kiln-beam beam-flags" for Beam's flags.`)
	}
	if err := flag.CommandLine.Parse(args); err != nil {
		return prepflags.ErrUsage
	}
	if rest := flag.CommandLine.Args(); len(rest) > 0 {
		return prepflags.BadFlag("unexpected argument %q among Beam's flags", rest[0])
	}
	return nil
}
