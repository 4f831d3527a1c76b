package pairing_test

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/kiln-bert/kiln/internal/setting"
	"github.com/kiln-bert/kiln/pairing"
)

// TestConfigValidate: each Config field out of range is refused by Validate, and by NewPairer,
// with an error naming the field; zero values that stand for defaults are valid.
func TestConfigValidate(t *testing.T) {
	sp := pairing.Special{CLS: 1, SEP: 2}
	for _, tc := range []struct {
		name  string
		edit  func(*pairing.Config)
		field string // "" for a valid config
		msg   string
	}{
		{"default", func(c *pairing.Config) {}, "", ""},
		{"task", func(c *pairing.Config) { c.Task = pairing.Task(3) }, "Task", "Task Task(3): want nsp, sop or none"},
		{"seq len nsp", func(c *pairing.Config) { c.MaxSeqLen = 4 }, "MaxSeqLen", "MaxSeqLen 4: want at least 5 for Task nsp"},
		{"seq len sop", func(c *pairing.Config) { c.Task, c.MaxSeqLen = pairing.SOP, 5 }, "", ""},
		{"seq len none", func(c *pairing.Config) { c.Task, c.MaxSeqLen = pairing.None, 3 }, "MaxSeqLen", "MaxSeqLen 3: want at least 4 for Task none"},
		{"short seq", func(c *pairing.Config) { c.ShortSeqProb = 1.5 }, "ShortSeqProb", "ShortSeqProb 1.5: want a probability in [0, 1]"},
		{"short seq NaN", func(c *pairing.Config) { c.ShortSeqProb = math.NaN() }, "ShortSeqProb", "ShortSeqProb NaN"},
		{"reservoir", func(c *pairing.Config) { c.ReservoirDocs = -1 }, "ReservoirDocs", "ReservoirDocs -1: want 0 (the default, 1000) to 1000000"},
		{"reservoir max", func(c *pairing.Config) { c.ReservoirDocs = pairing.MaxReservoirDocs }, "", ""},
		{"reservoir above", func(c *pairing.Config) { c.ReservoirDocs = pairing.MaxReservoirDocs + 1 }, "ReservoirDocs", "ReservoirDocs 1000001"},
		{"reservoir tokens", func(c *pairing.Config) { c.ReservoirTokens = 100 }, "ReservoirTokens", "ReservoirTokens 100: want 0 (the default) or at least MaxSeqLen - 3 = 125"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := pairing.DefaultConfig()
			tc.edit(&c)
			errs := []error{c.Validate()}
			_, err := pairing.NewPairer(c, sp)
			errs = append(errs, err)
			for i, err := range errs {
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

// TestTaskText: a task reads and writes its flag spelling, in JSON as in configs.
func TestTaskText(t *testing.T) {
	for _, task := range []pairing.Task{pairing.NSP, pairing.SOP, pairing.None} {
		b, err := json.Marshal(struct{ T pairing.Task }{task})
		if err != nil || string(b) != `{"T":"`+task.String()+`"}` {
			t.Errorf("%v: %s, %v", task, b, err)
		}
		var back struct{ T pairing.Task }
		if err := json.Unmarshal(b, &back); err != nil || back.T != task {
			t.Errorf("%s read back as %v, %v", b, back.T, err)
		}
	}
	var back struct{ T pairing.Task }
	err := json.Unmarshal([]byte(`{"T":"mlm"}`), &back)
	var fe *setting.Error
	if !errors.As(err, &fe) || err.Error() != `Task "mlm": want nsp, sop or none` {
		t.Errorf("unknown task: %v", err)
	}
}
