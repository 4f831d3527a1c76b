package prepflags

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"testing"
)

// Exit gives each kind of error its exit status and prints it once after the command's name,
// with the flags named and the remedy appended.
func TestExit(t *testing.T) {
	remedy := func(error) string { return " (kiln verify d)" }
	for _, tc := range []struct {
		err    error
		remedy func(error) string
		code   int
		out    string
	}{
		{nil, remedy, 0, ""},
		{flag.ErrHelp, remedy, 0, ""},
		{fmt.Errorf("x: %w", ErrUsage), remedy, 2, ""},
		{BadFlag("--workers 0: want 1 to 256"), remedy, 2, "kiln prep: --workers 0: want 1 to 256\n"},
		{fmt.Errorf("step 3: %w", context.Canceled), remedy, 130, "kiln prep: interrupted\n"},
		{errors.New("a.parquet: more than SourceOptions.MaxRowGroupBytes 10"), remedy, 1,
			"kiln prep: a.parquet: more than --max-row-group-bytes 10 (kiln verify d)\n"},
		{errors.New("a.txt: line 2: bad"), nil, 1, "kiln prep: a.txt: line 2: bad\n"},
	} {
		var stderr bytes.Buffer
		if code := Exit(&stderr, "kiln prep", tc.err, tc.remedy); code != tc.code || stderr.String() != tc.out {
			t.Errorf("Exit(%v) = %d, printed %q; want %d, %q", tc.err, code, stderr.String(), tc.code, tc.out)
		}
	}
}
