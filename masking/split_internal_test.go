package masking

import (
	"math"
	"strings"
	"testing"
)

// TestSplitCuts: the thresholds of the two draws. Google's 80/10/10 must give exactly Google's
// 0.8 and 0.5 (1-0.8-0.1 is not 0.1 in float64; without the rounding the second cut would be
// 0.49999999999999983 and a draw in between would change a shard); other splits give
// kept/(kept+random).
func TestSplitCuts(t *testing.T) {
	for _, tc := range []struct {
		s       Split
		keepCut float64
	}{
		{DefaultSplit(), 0.5},
		{Split{Mask: 0.5, Random: 0.3}, 0.4},
		{Split{Mask: 0.6, Random: 0.05}, 0.875},
		{Split{Mask: 0, Random: 0}, 1},
		{Split{Mask: 0.2, Random: 0.8}, 0},
		{Split{Mask: 1, Random: 0}, 1},
	} {
		if got := tc.s.keepCut(); math.Abs(got-tc.keepCut) > 1e-12 || tc.s == DefaultSplit() && got != 0.5 {
			t.Errorf("%+v: keep cut %.17g, want %g", tc.s, got, tc.keepCut)
		}
	}
	v := Vocab{Size: 8, CLS: 1, SEP: 2, MASK: 3, PAD: 0, Continuation: make([]bool, 8), Random: []int32{4, 5, 6, 7}}
	m, err := New(DefaultConfig(), v)
	if err != nil {
		t.Fatal(err)
	}
	if m.maskCut != 0.8 || m.keepCut != 0.5 || m.Split() != DefaultSplit() {
		t.Errorf("default masker: cuts %v, %v, split %+v", m.maskCut, m.keepCut, m.Split())
	}
	for _, tc := range []struct {
		s    Split
		want string
	}{
		{Split{Mask: -0.1, Random: 0.1}, "Split.Mask -0.1: want a probability in [0, 1]"},
		{Split{Mask: 0.5, Random: 1.5}, "Split.Random 1.5: want a probability in [0, 1]"},
		{Split{Mask: math.NaN(), Random: 0}, "Split.Mask NaN: want a probability in [0, 1]"},
		{Split{Mask: 0.6, Random: 0.5}, "Split.Mask 0.6 and Split.Random 0.5: want shares that add up to at most 1"},
	} {
		cfg := DefaultConfig()
		cfg.Split = &tc.s
		if _, err := New(cfg, v); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %v, want %q", tc.s, err, tc.want)
		}
	}
}
