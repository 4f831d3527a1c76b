package prepflags

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
)

// Exit reports err, the error of the command named prefix ("kiln prep", "kiln-beam prep"), on
// stderr and returns the process's exit status: 0 for none (or --help); 2 for a usage error
// (its message already printed) or a bad flag value; 130 for an interrupted run; else 1, with
// the flags named for the settings the message names (FlagNames) and, when remedy is not nil,
// what it adds at the end of the line.
func Exit(stderr io.Writer, prefix string, err error, remedy func(error) string) int {
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, ErrUsage):
		return 2
	case errors.Is(err, ErrFlagValue):
		fmt.Fprintf(stderr, "%s: %v\n", prefix, err)
		return 2
	case errors.Is(err, context.Canceled):
		fmt.Fprintf(stderr, "%s: interrupted\n", prefix)
		return 130
	}
	more := ""
	if remedy != nil {
		more = remedy(err)
	}
	fmt.Fprintf(stderr, "%s: %v%s\n", prefix, FlagNames(err), more)
	return 1
}
