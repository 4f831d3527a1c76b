package main

import (
	"flag"
	"path/filepath"
	"strings"
	"testing"
)

// resetBeamFlags sets Beam's flags names to their defaults for one test and restores them after
// it: they live in flag.CommandLine, which the whole test binary shares (and Prism sets
// --endpoint and --environment_type when it starts its in-process job server).
func resetBeamFlags(t *testing.T, names ...string) {
	t.Helper()
	for _, name := range names {
		f := flag.CommandLine.Lookup(name)
		if f == nil {
			t.Fatalf("Beam has no flag --%s", name)
		}
		old := f.Value.String()
		t.Cleanup(func() { f.Value.Set(old) })
		if err := f.Value.Set(f.DefValue); err != nil {
			t.Fatal(err)
		}
	}
}

// TestDataflowDryRun translates the pipeline into a Dataflow job without submitting it
// (--dry_run works offline): every DoFn must serialize, and the job must build.
func TestDataflowDryRun(t *testing.T) {
	resetBeamFlags(t, "runner", "dry_run", "project", "region", "staging_location", "endpoint", "environment_type")
	code, out := runBeam(t, "prep", "--input", sampleCorpus, "--vocab", sampleVocab,
		"--output", filepath.Join(t.TempDir(), "out"), "--partitions", "4",
		"--runner", "dataflow", "--project", "kiln-test", "--region", "us-central1",
		"--staging_location", "gs://kiln-test/staging", "--dry_run")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, out)
	}
	if !strings.Contains(out, "dry run: the job was printed") {
		t.Errorf("no dry-run line in:\n%s", out)
	}
}
