package main

import "runtime/debug"

// startupGCPercent is the garbage collector's target while a command builds its tables.
const startupGCPercent = 400

// startupGC raises the garbage collector's target while a command loads the vocabulary and
// builds its tables (many allocations that stay live, little garbage: collecting then is most
// of a short run's start-up), and returns the function that restores the target, which the
// command calls before its first document, so that a run's memory is bounded as usual. A
// higher target set by GOGC, or GOGC=off, is kept.
func startupGC() (restore func()) {
	old := debug.SetGCPercent(startupGCPercent)
	if old < 0 || old > startupGCPercent {
		debug.SetGCPercent(old)
	}
	return func() { debug.SetGCPercent(old) }
}
