package masking

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/kiln-bert/kiln/internal/setting"
)

// TestConfigValidate: each Config field out of range is refused by Validate, and by New, with
// an error naming the field (Split's as Split.Mask and Split.Random).
func TestConfigValidate(t *testing.T) {
	v, err := NewVocab([]string{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "b", "##c"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		edit  func(*Config)
		field string // "" for a valid config
		msg   string
	}{
		{"default", func(c *Config) {}, "", ""},
		{"prob 0", func(c *Config) { c.MaskedLMProb = 0 }, "MaskedLMProb", "MaskedLMProb 0: want a share in (0, 1]"},
		{"prob 1", func(c *Config) { c.MaskedLMProb = 1 }, "", ""},
		{"prob NaN", func(c *Config) { c.MaskedLMProb = math.NaN() }, "MaskedLMProb", "MaskedLMProb NaN"},
		{"predictions", func(c *Config) { c.MaxPredictions = 0 }, "MaxPredictions", "MaxPredictions 0: want at least 1"},
		{"split mask", func(c *Config) { c.Split = &Split{Mask: 1.1} }, "Split.Mask", "Split.Mask 1.1: want a probability in [0, 1]"},
		{"split random", func(c *Config) { c.Split = &Split{Mask: 0.5, Random: -1} }, "Split.Random", "Split.Random -1"},
		{"split sum", func(c *Config) { c.Split = &Split{Mask: 0.9, Random: 0.2} }, "Split.Mask", "Split.Mask 0.9 and Split.Random 0.2: want shares that add up to at most 1"},
		{"split all mask", func(c *Config) { c.Split = &Split{Mask: 1} }, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultConfig()
			tc.edit(&c)
			_, newErr := New(c, v)
			for i, err := range []error{c.Validate(), newErr} {
				if tc.field == "" {
					if err != nil {
						t.Fatalf("call %d refused: %v", i, err)
					}
					continue
				}
				var fe *setting.Error
				if !errors.As(err, &fe) || fe.Field != tc.field || !strings.Contains(err.Error(), tc.msg) {
					t.Fatalf("call %d: %v, want an error of field %s saying %q", i, err, tc.field, tc.msg)
				}
			}
		})
	}
}

// TestModeText: a mode reads and writes "static" and "dynamic"; anything else is refused.
func TestModeText(t *testing.T) {
	for _, m := range []Mode{Static, Dynamic} {
		b, err := json.Marshal(struct{ M Mode }{m})
		if err != nil || string(b) != `{"M":"`+m.String()+`"}` {
			t.Errorf("%v: %s, %v", m, b, err)
		}
		var back struct{ M Mode }
		if err := json.Unmarshal(b, &back); err != nil || back.M != m {
			t.Errorf("%s read back as %v, %v", b, back.M, err)
		}
	}
	var back struct{ M Mode }
	if err := json.Unmarshal([]byte(`{"M":"later"}`), &back); err == nil || err.Error() != `Masking "later": want static or dynamic` {
		t.Errorf("unknown mode: %v", err)
	}
	if _, err := json.Marshal(struct{ M Mode }{Mode(2)}); err == nil {
		t.Error("Mode(2) was written")
	}
}
