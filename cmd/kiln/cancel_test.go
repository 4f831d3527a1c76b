package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestCancelDuringLongLine: kiln prep and kiln tokenize reading /dev/zero (one endless line)
// stop promptly on Ctrl-C or SIGTERM (a cancelled context), exit 130, and say so. Prep used to
// check for cancellation every 4096 lines and ran on until killed; tokenize read the whole
// --max-line-bytes first.
func TestCancelDuringLongLine(t *testing.T) {
	if _, err := os.Stat("/dev/zero"); err != nil {
		t.Skip("no /dev/zero")
	}
	out := filepath.Join(t.TempDir(), "out")
	for _, args := range [][]string{
		{"prep", "--input", "/dev/zero", "--format", "lines", "--vocab", sampleVocab, "--output", out, "--no-progress"},
		{"tokenize", "--vocab", sampleVocab, "--max-line-bytes", "1073741824", "/dev/zero"},
	} {
		ctx, cancel := context.WithCancel(context.Background())
		var stdout, stderr bytes.Buffer
		done := make(chan int, 1)
		go func() { done <- run(ctx, args, &stdout, &stderr) }()
		time.Sleep(time.Second) // well into the line
		cancel()
		select {
		case code := <-done:
			if code != 130 || !strings.Contains(stderr.String(), "interrupted") {
				t.Errorf("kiln %s: exit %d, stderr %q; want exit 130, interrupted", args[0], code, stderr.String())
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("kiln %s still reads /dev/zero 5s after it was interrupted", args[0])
		}
	}
}
