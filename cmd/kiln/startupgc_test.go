package main

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"testing"
	"time"
)

// gcPercentNow reads the collector's current target without changing it.
func gcPercentNow(t *testing.T) int {
	t.Helper()
	s := []metrics.Sample{{Name: "/gc/gogc:percent"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		t.Fatalf("/gc/gogc:percent: kind %v", s[0].Value.Kind())
	}
	return int(int64(s[0].Value.Uint64()))
}

// waitGCPercent collects until the target is want (the cleanup that restores it runs on its
// own goroutine after a collection), failing after a few seconds.
func waitGCPercent(t *testing.T, want int, what string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); gcPercentNow(t) != want; {
		if time.Now().After(deadline) {
			t.Fatalf("%s: target %d, want %d", what, gcPercentNow(t), want)
		}
		runtime.GC()
		time.Sleep(time.Millisecond)
	}
}

// startupGC raises the collector's target to startupGCPercent and restores the process's own
// (GOGC); a higher target, or GOGC=off, is left as it is. When no collection ran while the
// tables were built, the raised target stays until the first collection ends (restoring it
// at once would start a collection of the fresh tables at once); when one ran, it is
// restored at once.
func TestStartupGC(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	for _, c := range []struct {
		env    string
		target int
	}{{"", 100}, {"100", 100}, {"50", 50}, {"off", -1}, {"800", 800}, {"bad", 100}} {
		for _, collect := range []bool{false, true} {
			t.Setenv("GOGC", c.env)
			debug.SetGCPercent(c.target) // as the runtime set it from GOGC
			restore := startupGC()
			want := startupGCPercent
			if c.target < 0 || c.target > startupGCPercent {
				want = c.target
			}
			if during := gcPercentNow(t); during != want {
				t.Errorf("GOGC=%q: %d while building the tables, want %d", c.env, during, want)
			}
			before := gcCycles()
			if collect {
				runtime.GC()
			}
			restore()
			if after := gcPercentNow(t); collect && after != c.target {
				t.Errorf("GOGC=%q, a collection during start-up: %d after restore, want %d at once", c.env, after, c.target)
			} else if !collect && gcCycles() == before && after != want {
				t.Errorf("GOGC=%q, no collection during start-up: %d after restore, want %d until the first collection", c.env, after, want)
			}
			waitGCPercent(t, c.target, "after the first collection")
		}
	}
}

func TestGCPercentOfEnv(t *testing.T) {
	for v, want := range map[string]int{"": 100, "off": -1, "50": 50, "400": 400, "x": 100, "-1": -1} {
		if got := gcPercentOfEnv(v); got != want {
			t.Errorf("GOGC=%q: %d, want %d", v, got, want)
		}
	}
}
