package main

import (
	"runtime/debug"
	"testing"
)

// startupGC raises the collector's target to startupGCPercent and its restore puts back the
// target it found; a higher target, or GOGC=off (-1), is left as it is.
func TestStartupGC(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	for _, before := range []int{100, 50, -1, 800} {
		debug.SetGCPercent(before)
		restore := startupGC()
		during := debug.SetGCPercent(0)
		debug.SetGCPercent(during)
		want := startupGCPercent
		if before < 0 || before > startupGCPercent {
			want = before
		}
		if during != want {
			t.Errorf("GOGC %d: %d while building the tables, want %d", before, during, want)
		}
		restore()
		if after := debug.SetGCPercent(0); after != before {
			t.Errorf("GOGC %d: %d after restore", before, after)
		}
	}
}
