package fielddiff

import (
	"reflect"
	"testing"
)

func TestDiffs(t *testing.T) {
	type model struct {
		Hidden int    `json:"hidden_size"`
		Act    string `json:"hidden_act"`
	}
	type run struct {
		Seed  uint64            `json:"seed"`
		Model model             `json:"model"`
		Extra map[string]string `json:"extra,omitempty"`
	}
	a := run{Seed: 1, Model: model{Hidden: 768, Act: "gelu"}}
	b := run{Seed: 1, Model: model{Hidden: 256, Act: "gelu"}, Extra: map[string]string{"k": "v"}}
	tests := []struct {
		name string
		a, b any
		want []string
	}{
		{"same", a, a, nil},
		{"nested and missing", a, b, []string{
			`extra.k (none) (there) vs "v" (now)`,
			`model.hidden_size 768 (there) vs 256 (now)`,
		}},
		{"scalars", 1, 2, []string{` 1 (there) vs 2 (now)`}},
	}
	for _, tc := range tests {
		if got := Diffs(tc.a, tc.b, "(there)", "(now)"); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: Diffs = %q, want %q", tc.name, got, tc.want)
		}
	}
}
