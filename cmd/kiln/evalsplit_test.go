package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPrepEvalFraction: kiln prep --eval-fraction writes a held-out shard set in DIR/eval that
// kiln verify accepts and kiln train --eval-data reads as it is (a 2-step tiny train that
// evaluates at its checkpoint); a fraction outside [0, 1) is a usage error naming the flag.
func TestPrepEvalFraction(t *testing.T) {
	tmp := t.TempDir()
	data, out := filepath.Join(tmp, "shards"), filepath.Join(tmp, "model")
	evalDir := filepath.Join(data, "eval")
	code, stdout, stderr := kiln(t, "prep", "--input", "sample/corpus", "--vocab", sampleVocab, "--output", data,
		"--max-seq-len", "32", "--max-predictions", "5", "--eval-fraction", "0.2", "--no-progress")
	if code != 0 {
		t.Fatalf("prep: exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "held out: ") || !strings.Contains(stdout, evalDir) {
		t.Errorf("prep's summary does not say what it held out:\n%s", stdout)
	}
	for _, d := range []string{data, evalDir} {
		if code, stdout, stderr := kiln(t, "verify", d); code != 0 || !strings.Contains(stdout, ": ok:") {
			t.Errorf("verify %s: exit %d: %s %s", d, code, stdout, stderr)
		}
	}
	if code, _, stderr := kiln(t, "train", "--data", data, "--out", out, "--model", "tiny", "--steps", "2", "--batch-size", "4",
		"--warmup", "1", "--checkpoint-every", "2", "--eval-data", evalDir); code != 0 {
		t.Fatalf("train --eval-data %s: exit %d: %s", evalDir, code, stderr)
	}
	b, err := os.ReadFile(filepath.Join(out, "metrics.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	evaluated := false
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var m struct {
			Eval *struct {
				Total float64 `json:"total_loss"`
			} `json:"eval"`
		}
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatal(err)
		}
		if m.Eval != nil && m.Eval.Total > 0 {
			evaluated = true
		}
	}
	if !evaluated {
		t.Errorf("train --eval-data %s logged no evaluation:\n%s", evalDir, b)
	}

	for _, v := range []string{"-0.1", "1", "2", "NaN"} {
		code, _, stderr := kiln(t, "prep", "--input", "sample/corpus", "--vocab", sampleVocab,
			"--output", filepath.Join(tmp, "bad"), "--eval-fraction", v)
		if code != 2 || !strings.Contains(stderr, "--eval-fraction") {
			t.Errorf("--eval-fraction %s: exit %d, want 2 naming the flag: %s", v, code, stderr)
		}
	}
}
