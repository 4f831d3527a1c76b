//go:build unix

package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestPrepLockedOutput: kiln prep into a directory that another kiln prep holds (its lock
// file, flock(2)-locked, here by the test) exits 1 at once, naming the holder and the lock
// file, and writes nothing there; it used to run alongside and fail on a raw rename error.
func TestPrepLockedOutput(t *testing.T) {
	out := t.TempDir()
	lock := filepath.Join(out, ".kiln-prep.lock")
	f, err := os.OpenFile(lock, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(f, `{"pid": 4242, "host": "elsewhere", "start": "2026-12-01T22:00:00Z"}`+"\n")
	code, _, stderr := kiln(t, "prep", "--input", "sample/corpus/moby_dick_chapter_001.txt", "--vocab", sampleVocab,
		"--output", out, "--no-progress")
	for _, want := range []string{"in use by another kiln prep", "pid 4242 on host elsewhere, started 2026-12-01T22:00:00Z", lock} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr %q does not say %q", stderr, want)
		}
	}
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	if entries, _ := os.ReadDir(out); len(entries) != 1 {
		t.Errorf("kiln prep wrote into the locked %s (%d entries)", out, len(entries))
	}
}
