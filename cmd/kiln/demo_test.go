package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kiln-bert/kiln/trainer"
)

// TestDemoRunsWhatItPrints: every command line kiln demo prints, run as printed, does what the
// demo did: the prep line writes byte-identical shards and manifest, the train line the same
// metrics (loss, learning rate, gradient norm at every logged step) and byte-identical weights.
// Before, the demo prepared with 8192 rows per batch and trained with a learning rate of 2e-3
// that its printed lines did not say, so a copied line gave other shards and another model.
func TestDemoRunsWhatItPrints(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "demo")
	code, out, stderr := kiln(t, "demo", "--dir", dir, "--steps", "4", "--batch-size", "4", "--max-seq-len", "32")
	if code != 0 {
		t.Fatalf("demo: exit %d: %s", code, stderr)
	}
	var printed [][]string         // the printed command lines, in order
	lines := map[string][]string{} // command -> its printed arguments
	for _, l := range strings.Split(out, "\n") {
		if !strings.HasPrefix(l, "== ") {
			continue
		}
		f := strings.Fields(l)
		if len(f) < 4 || f[2] != "kiln" {
			t.Fatalf("demo step line %q: want \"== N. kiln COMMAND ARGS\"", l)
		}
		args := f[3:]
		if i := strings.Index(strings.Join(args, " "), " ("); i >= 0 { // inspect's legend
			args = strings.Fields(strings.Join(args, " ")[:i])
		}
		for _, a := range args {
			if strings.ContainsAny(a, `'"`) {
				t.Skipf("the demo's paths need quoting (%s): this test splits at spaces", a)
			}
		}
		lines[args[0]] = args
		printed = append(printed, args)
	}
	for _, c := range []string{"prep", "train"} {
		if lines[c] == nil {
			t.Fatalf("the demo printed no kiln %s line:\n%s", c, out)
		}
	}
	shardDir, modelDir := filepath.Join(dir, "shards"), filepath.Join(dir, "model")
	if !strings.Contains(strings.Join(lines["prep"], " "), "--output "+shardDir) {
		t.Fatalf("prep line %q does not write to %s", lines["prep"], shardDir)
	}
	// Keep what the demo made, then run the printed lines into the same paths.
	for _, d := range []string{shardDir, modelDir} {
		if err := os.Rename(d, d+".demo"); err != nil {
			t.Fatal(err)
		}
	}
	for _, args := range printed {
		if code, _, stderr := kiln(t, args...); code != 0 {
			t.Fatalf("%q: exit %d: %s", args, code, stderr)
		}
	}
	sameFile := func(a, b string) {
		t.Helper()
		x, errA := os.ReadFile(a)
		y, errB := os.ReadFile(b)
		if errA != nil || errB != nil || !bytes.Equal(x, y) {
			t.Errorf("%s and %s differ (%v, %v)", a, b, errA, errB)
		}
	}
	shardFiles, _ := filepath.Glob(filepath.Join(shardDir, "*.arrow"))
	if len(shardFiles) == 0 {
		t.Fatalf("no shards in %s", shardDir)
	}
	for _, f := range append(shardFiles, filepath.Join(shardDir, "manifest.json")) {
		sameFile(f, filepath.Join(shardDir+".demo", filepath.Base(f)))
	}
	ckpt := filepath.Join("checkpoint-00000004", "model.safetensors")
	sameFile(filepath.Join(modelDir, ckpt), filepath.Join(modelDir+".demo", ckpt))
	demoMetrics, gotMetrics := readMetricsFileT(t, filepath.Join(modelDir+".demo", "metrics.jsonl")), readMetricsFileT(t, filepath.Join(modelDir, "metrics.jsonl"))
	if len(demoMetrics) != 4 || len(gotMetrics) != len(demoMetrics) {
		t.Fatalf("%d metric lines from the demo, %d from its train line; want 4", len(demoMetrics), len(gotMetrics))
	}
	for i, m := range demoMetrics {
		g := gotMetrics[i]
		if g.Step != m.Step || g.Loss != m.Loss || g.LR != m.LR || g.GradNorm != m.GradNorm {
			t.Errorf("step %d: the train line gives loss %v, lr %v, grad norm %v; the demo %v, %v, %v", m.Step, g.Loss, g.LR, g.GradNorm, m.Loss, m.LR, m.GradNorm)
		}
	}
	if lr := demoMetrics[0].LR; lr != 2e-3 {
		t.Errorf("the demo trains at lr %v at step 1, want its 2e-3 (no warm-up at 4 steps)", lr)
	}
}

// readMetricsFileT is readMetricsFile, failing the test on error.
func readMetricsFileT(t *testing.T, path string) []trainer.Metrics {
	t.Helper()
	ms, err := readMetricsFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return ms
}
