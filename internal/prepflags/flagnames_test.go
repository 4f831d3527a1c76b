package prepflags

import (
	"errors"
	"fmt"
	"io/fs"
	"testing"
)

// FlagNames names the flags for the pipeline settings an error names, and keeps the error
// underneath for errors.Is.
func TestFlagNames(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`a.parquet: no column "body" (the file's columns: text); name the text column in SourceOptions.TextColumn`,
			`a.parquet: no column "body" (the file's columns: text); name the text column in --text-column`},
		{"a.arrow: record batch 0: more than SourceOptions.MaxRowGroupBytes 1024",
			"a.arrow: record batch 0: more than --max-row-group-bytes 1024"},
		{"d/manifest.json: the config names no vocab.txt: give its path (vocabPath)",
			"d/manifest.json: the config names no vocab.txt: give --vocab FILE"},
		{"vocabPath: vocabulary v.txt: no such file", "--vocab: vocabulary v.txt: no such file"},
		{"a.txt: line 3: not UTF-8", "a.txt: line 3: not UTF-8"},
	} {
		err := FlagNames(fmt.Errorf("%s: %w", tc.in, fs.ErrNotExist))
		if got := err.Error(); got != tc.want+": "+fs.ErrNotExist.Error() {
			t.Errorf("FlagNames(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("FlagNames(%q) lost the error it wraps", tc.in)
		}
	}
	if FlagNames(nil) != nil {
		t.Error("FlagNames(nil) is not nil")
	}
}
