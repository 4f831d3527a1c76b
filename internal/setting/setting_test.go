package setting

import (
	"errors"
	"fmt"
	"testing"
)

// TestRename: an error names its field, value and what is wanted; Rename renames the field and
// the field names its value and want mention (dotted ones whole), never inside a quoted value,
// and finds the error through wrapping.
func TestRename(t *testing.T) {
	for _, tc := range []struct {
		err    error
		rename map[string]string
		want   string
		ok     bool
	}{
		{Errorf("MaxSeqLen", 3, "at least %d for Task %s", 5, "nsp"), map[string]string{"MaxSeqLen": "--max-seq-len", "Task": "--task"},
			"--max-seq-len 3: want at least 5 for --task nsp", true},
		{Errorf("Format", "Task", "lines or text"), map[string]string{"Format": "--format", "Task": "--task"},
			`--format "Task": want lines or text`, true},
		{&Error{Field: "Split.Mask", Value: "0.9 and Split.Random 0.2", Want: "at most 1"},
			map[string]string{"Split.Mask": "MaskTokenProb", "Split.Random": "RandomTokenProb", "Split": "X"},
			"MaskTokenProb 0.9 and RandomTokenProb 0.2: want at most 1", true},
		{fmt.Errorf("train: %w", Errorf("Steps", 0, "1 to 9")), map[string]string{"BatchSize": "--batch-size"}, "Steps 0: want 1 to 9", false},
	} {
		fe, ok := Rename(tc.err, tc.rename)
		if fe == nil || fe.Error() != tc.want || ok != tc.ok {
			t.Errorf("Rename(%v) = %v, %v; want %q, %v", tc.err, fe, ok, tc.want, tc.ok)
		}
	}
	if fe, ok := Rename(errors.New("MaxSeqLen 3"), map[string]string{"MaxSeqLen": "x"}); fe != nil || ok {
		t.Errorf("Rename of a plain error: %v, %v", fe, ok)
	}
}

// InRange refuses a value below min or above max, naming the field and the range, and passes
// the bounds themselves.
func TestInRange(t *testing.T) {
	for _, tc := range []struct {
		v    int
		want string
	}{{0, "Workers 0: want 1 to 8"}, {9, "Workers 9: want 1 to 8"}, {1, ""}, {8, ""}} {
		err := InRange("Workers", tc.v, 1, 8)
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || err.Error() != tc.want) {
			t.Errorf("InRange(Workers, %d, 1, 8) = %v, want %q", tc.v, err, tc.want)
		}
		var fe *Error
		if tc.want != "" && !errors.As(err, &fe) {
			t.Errorf("InRange(Workers, %d, 1, 8): %T, want a *Error", tc.v, err)
		}
	}
}
