package main

import (
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
)

// startupGCPercent is the garbage collector's target while a command builds its tables.
const startupGCPercent = 400

// startupGC raises the garbage collector's target while a command loads the vocabulary and
// builds its tables (many allocations that stay live, little garbage: collecting then is most
// of a short run's start-up), and returns the function that restores the process's own target
// (GOGC, default 100), which the command calls before its first document, so that a run's
// memory is bounded as usual. A higher target set by GOGC, or GOGC=off, is kept.
//
// Restoring the target before any collection has run would start one at once: until the
// first collection the heap goal is the heap minimum (4 MiB at 100), which the tables alone
// exceed, so a 50-line prep or a 1-line tokenize would collect a heap that is nearly all
// live tables. So when no collection ran while the tables were built, restore leaves the
// raised target in place until the end of the first collection (the heap goal until then is
// the heap minimum at the raised target, 16 MiB) and restores it from there: a short run
// never collects, and a long one collects as usual from its first collection on.
func startupGC() (restore func()) {
	target := gcPercentOfEnv(os.Getenv("GOGC"))
	if target < 0 || target >= startupGCPercent {
		return func() {}
	}
	before := gcCycles()
	debug.SetGCPercent(startupGCPercent)
	return func() {
		if gcCycles() != before {
			debug.SetGCPercent(target) // the heap goal is already based on a marked heap
			return
		}
		// The sentinel is unreachable at once: its cleanup runs after the next collection.
		runtime.AddCleanup(new(gcSentinel), func(target int) { debug.SetGCPercent(target) }, target)
	}
}

// gcSentinel is an object whose cleanup marks the end of a collection. It is large enough
// not to come from the tiny allocator, whose objects may never be cleaned up.
type gcSentinel struct{ _ [64]byte }

// gcPercentOfEnv returns the collector's target that the runtime reads from GOGC: -1 for
// "off", the number given, or 100.
func gcPercentOfEnv(v string) int {
	if v == "off" {
		return -1
	}
	if n, err := strconv.Atoi(v); err == nil {
		return n
	}
	return 100
}

// gcCycles returns the number of completed collections.
func gcCycles() uint64 {
	s := []metrics.Sample{{Name: "/gc/cycles/total:gc-cycles"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s[0].Value.Uint64()
}
