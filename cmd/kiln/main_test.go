package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const sampleVocab = "sample/vocab.txt"

// kiln runs one command line in-process and returns its exit code, stdout and stderr.
func kiln(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// TestTokenizeContract checks `kiln tokenize`'s output format: one line per input line, an
// empty line for an empty one, ids without special tokens. The expected ids were printed by
// Hugging Face tokenizers 0.23.2 (npm) for bert-base-uncased; tokenize/ checks the ids on whole
// corpora.
func TestTokenizeContract(t *testing.T) {
	in := filepath.Join(t.TempDir(), "in.txt")
	text := "Hello, World!\nThe unaffable café costs $3.50 — really?\n\nÇa va très bien, Mr. Smith.\n"
	if err := os.WriteFile(in, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := kiln(t, "tokenize", "--vocab", sampleVocab, "--workers", "2", in)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	want := "7592 1010 2088 999\n" +
		"1996 14477 20961 3468 7668 5366 1002 1017 1012 2753 1517 2428 1029\n" +
		"\n" +
		"6187 12436 24403 29316 1010 2720 1012 3044 1012\n"
	if out != want {
		t.Errorf("ids:\n%s\nwant:\n%s", out, want)
	}
	if !strings.Contains(errOut, "4 lines, 26 tokens") {
		t.Errorf("summary %q lacks the line and token counts", errOut)
	}

	code, out, _ = kiln(t, "tokenize", "--vocab", sampleVocab, "--output", "tokens", "--quiet", in)
	if code != 0 || !strings.HasPrefix(out, "hello , world !\nthe una ##ffa ##ble cafe") {
		t.Errorf("--output tokens: exit %d, %q", code, out)
	}
}

func TestUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"no command", nil, 2, "Usage"},
		{"unknown command", []string{"bake"}, 2, "unknown command"},
		{"help", []string{"prep", "--help"}, 0, "--max-seq-len"},
		{"no vocab", []string{"tokenize"}, 1, "no vocabulary"},
		{"missing file", []string{"tokenize", "--vocab", sampleVocab, "nope.txt"}, 1, "nope.txt"},
		{"prep without input", []string{"prep", "--vocab", sampleVocab, "--output", "x"}, 2, "no input"},
		{"prep missing input", []string{"prep", "--input", "missing-dir", "--vocab", sampleVocab, "--output", "x"}, 1, "missing-dir"},
		{"prep bad task", []string{"prep", "--input", "sample/corpus", "--task", "mlm", "--vocab", sampleVocab, "--output", "x"}, 2, "--task \"mlm\""},
		{"verify nothing", []string{"verify", "no-such-dir"}, 1, "no-such-dir"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := kiln(t, tc.args...)
			if code != tc.code || !strings.Contains(out+errOut, tc.msg) {
				t.Errorf("exit %d, output %q; want exit %d and %q", code, out+errOut, tc.code, tc.msg)
			}
		})
	}
	if _, err := os.Stat("x"); err == nil {
		t.Error("a failed prep created its output directory")
	}
}

// TestPrepVerifyInspect runs the main job on the bundled sample, then verify and inspect, and
// checks that the same command again (a resume of a finished run) changes nothing.
func TestPrepVerifyInspect(t *testing.T) {
	out := filepath.Join(t.TempDir(), "shards")
	args := []string{"prep", "--input", "sample/corpus", "--format", "text", "--vocab", sampleVocab, "--output", out, "--seed", "7"}
	code, stdout, stderr := kiln(t, args...)
	if code != 0 {
		t.Fatalf("prep: exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "51 files, 51 documents") {
		t.Errorf("prep summary: %s", stdout)
	}
	first, err := os.ReadFile(filepath.Join(out, "shard-00000.arrow"))
	if err != nil {
		t.Fatal(err)
	}
	if code, stdout, _ := kiln(t, "verify", out); code != 0 || !strings.Contains(stdout, "ok") {
		t.Fatalf("verify: exit %d: %s", code, stdout)
	}
	code, stdout, stderr = kiln(t, "inspect", "--examples", "2", out)
	if code != 0 {
		t.Fatalf("inspect: exit %d: %s", code, stderr)
	}
	for _, want := range []string{"--- example 2", "[CLS] ", "[MASK:", "masking:", "NotNext"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("inspect output lacks %q:\n%s", want, stdout)
		}
	}

	if code, _, stderr := kiln(t, args...); code != 0 {
		t.Fatalf("prep again: exit %d: %s", code, stderr)
	}
	again, err := os.ReadFile(filepath.Join(out, "shard-00000.arrow"))
	if err != nil || !bytes.Equal(first, again) {
		t.Fatalf("the same command again changed the shard (err %v)", err)
	}

	// A shard that no longer matches its checksum fails verify.
	path := filepath.Join(out, "shard-00000.arrow")
	again[len(again)/2] ^= 0xff
	if err := os.WriteFile(path, again, 0o644); err != nil {
		t.Fatal(err)
	}
	if code, stdout, _ := kiln(t, "verify", out); code != 1 || !strings.Contains(stdout, "FAIL shard-00000.arrow") {
		t.Errorf("verify of a corrupt shard: exit %d: %s", code, stdout)
	}
}

// TestPretrain runs the pipelined command for a few steps on Moby Dick chapters: the loss
// falls, the share of time the trainer waited for data is reported, and the shards it saves
// of its first pass are byte for byte those kiln prep writes with the same settings.
func TestPretrain(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a model")
	}
	corpus := t.TempDir()
	for _, ch := range []string{"moby_dick_chapter_001.txt", "moby_dick_chapter_002.txt", "moby_dick_chapter_003.txt"} {
		b, err := os.ReadFile(filepath.Join("sample", "corpus", ch))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(corpus, ch), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tmp := t.TempDir()
	out, saved, prepped := filepath.Join(tmp, "model"), filepath.Join(tmp, "saved"), filepath.Join(tmp, "prep")
	common := []string{"--input", corpus, "--format", "text", "--vocab", sampleVocab, "--max-seq-len", "64", "--max-predictions", "10"}
	args := append([]string{"pretrain"}, common...)
	args = append(args, "--out", out, "--steps", "60", "--batch-size", "8", "--lr", "2e-3", "--warmup", "6",
		"--log-every", "6", "--seed", "3", "--save-shards", saved)
	code, stdout, stderr := kiln(t, args...)
	if code != 0 {
		t.Fatalf("pretrain: exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "the trainer waited for data") || !strings.Contains(stdout, "shards of the first pass") {
		t.Errorf("pretrain summary lacks the data-wait share or the saved shards:\n%s", stdout)
	}
	metrics := readMetrics(t, filepath.Join(out, "metrics.jsonl"))
	first, last := metrics[0], metrics[len(metrics)-1]
	if last.Step != 60 || !(last.MLMLoss < first.MLMLoss-1) || !(last.Loss < first.Loss-1) {
		t.Errorf("loss did not fall: step %d loss %.3f (mlm %.3f) -> step %d loss %.3f (mlm %.3f)",
			first.Step, first.Loss, first.MLMLoss, last.Step, last.Loss, last.MLMLoss)
	}
	if _, err := os.Stat(filepath.Join(out, "loss.png")); err != nil {
		t.Error(err)
	}

	prepArgs := append([]string{"prep"}, common...)
	prepArgs = append(prepArgs, "--output", prepped, "--masking", "dynamic", "--seed", "3")
	if code, _, stderr := kiln(t, prepArgs...); code != 0 {
		t.Fatalf("prep: exit %d: %s", code, stderr)
	}
	sameShards := func(saved string) {
		t.Helper()
		for _, name := range []string{"shard-00000.arrow", "manifest.json"} {
			a, errA := os.ReadFile(filepath.Join(saved, name))
			b, errB := os.ReadFile(filepath.Join(prepped, name))
			if errA != nil || errB != nil || !bytes.Equal(a, b) {
				t.Errorf("%s: pretrain --save-shards and kiln prep differ (%v, %v)", name, errA, errB)
			}
		}
	}
	sameShards(saved)

	// Training that ends long before the first pass does: the shards are finished after it.
	early := filepath.Join(tmp, "saved-early")
	args = append([]string{"pretrain"}, common...)
	args = append(args, "--out", filepath.Join(tmp, "model-early"), "--steps", "2", "--batch-size", "4", "--seed", "3", "--save-shards", early)
	code, stdout, stderr = kiln(t, args...)
	if code != 0 {
		t.Fatalf("pretrain --steps 2: exit %d: %s", code, stderr)
	}
	if !strings.Contains(stderr, "finishing the shards") || !strings.Contains(stdout, "shards of the first pass") {
		t.Errorf("pretrain --steps 2 did not say it finished the shards:\nstdout:\n%s\nstderr:\n%s", stdout, stderr)
	}
	sameShards(early)
}

type metricLine struct {
	Step     int     `json:"step"`
	Loss     float64 `json:"loss"`
	MLMLoss  float64 `json:"mlm_loss"`
	DataWait float64 `json:"data_wait"`
}

func readMetrics(t *testing.T, path string) []metricLine {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []metricLine
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var m metricLine
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		out = append(out, m)
	}
	if len(out) < 2 {
		t.Fatalf("%s: %d metric lines", path, len(out))
	}
	return out
}

// TestTrainSOTU prepares the sample's 21 State of the Union addresses and trains a tiny model
// on them for 200 steps: the total loss starts near ln(vocab) + ln 2 = 11.0 and falls well
// below it, the MLM part with it. (The NSP part stays near ln 2 this early on SOTU alone; it falls in
// longer runs: see BENCHMARKS.md.)
func TestTrainSOTU(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a model")
	}
	tmp := t.TempDir()
	data, out := filepath.Join(tmp, "shards"), filepath.Join(tmp, "model")
	sotu, err := filepath.Glob("sample/corpus/sotu_*.txt")
	if err != nil || len(sotu) != 21 {
		t.Fatalf("%d SOTU files in the sample, want 21 (%v)", len(sotu), err)
	}
	prep := append(append([]string{"prep", "--input"}, sotu...), "--format", "text", "--vocab", sampleVocab,
		"--output", data, "--max-seq-len", "64", "--max-predictions", "10")
	code, _, stderr := kiln(t, prep...)
	if code != 0 {
		t.Fatalf("prep: exit %d: %s", code, stderr)
	}
	code, _, stderr = kiln(t, "train", "--data", data, "--out", out, "--model", "tiny", "--steps", "200",
		"--batch-size", "32", "--lr", "1e-3", "--warmup", "20", "--log-every", "10", "--checkpoint-every", "100")
	if code != 0 {
		t.Fatalf("train: exit %d: %s", code, stderr)
	}
	m := readMetrics(t, filepath.Join(out, "metrics.jsonl"))
	first, last := m[0], m[len(m)-1]
	t.Logf("step %d: loss %.3f mlm %.3f; step %d: loss %.3f mlm %.3f", first.Step, first.Loss, first.MLMLoss, last.Step, last.Loss, last.MLMLoss)
	if first.Loss < 10 || first.Loss > 11.5 {
		t.Errorf("first logged loss %.3f: want about 11.0 (10 steps in)", first.Loss)
	}
	if last.Step != 200 || last.Loss > 8.5 || last.MLMLoss > first.MLMLoss-2 {
		t.Errorf("loss did not fall well below its start: step %d loss %.3f (mlm %.3f)", last.Step, last.Loss, last.MLMLoss)
	}
	if code, stdout, stderr := kiln(t, "loss", "--checkpoint", filepath.Join(out, "checkpoint-00000200"), "--data", data, "--limit", "256"); code != 0 ||
		!strings.Contains(stdout, `"total_loss"`) {
		t.Errorf("kiln loss: exit %d: %s %s", code, stdout, stderr)
	}
}

// TestTrainEvalAndResume trains on dynamically masked shards with --eval-data on the same
// shards: every checkpoint's evaluation lands in metrics.jsonl; --resume continues the run and
// refuses other settings than the checkpoint's.
func TestTrainEvalAndResume(t *testing.T) {
	tmp := t.TempDir()
	data, out := filepath.Join(tmp, "shards"), filepath.Join(tmp, "model")
	if code, _, stderr := kiln(t, "prep", "--input", "sample/corpus/moby_dick_chapter_001.txt", "--vocab", sampleVocab,
		"--output", data, "--max-seq-len", "32", "--max-predictions", "5", "--masking", "dynamic"); code != 0 {
		t.Fatalf("prep: exit %d: %s", code, stderr)
	}
	train := []string{"train", "--data", data, "--out", out, "--steps", "4", "--batch-size", "4", "--warmup", "1",
		"--log-every", "3", "--checkpoint-every", "2", "--eval-data", data}
	if code, _, stderr := kiln(t, train...); code != 0 {
		t.Fatalf("train: exit %d: %s", code, stderr)
	}
	b, err := os.ReadFile(filepath.Join(out, "metrics.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	var steps []string
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var m struct {
			Step int `json:"step"`
			Eval *struct {
				Total float64 `json:"total_loss"`
			} `json:"eval"`
		}
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatal(err)
		}
		steps = append(steps, fmt.Sprintf("%d:%v", m.Step, m.Eval != nil && m.Eval.Total > 0))
	}
	if got := strings.Join(steps, " "); got != "2:true 3:false 4:true" {
		t.Errorf("metrics.jsonl steps:eval = %s, want 2:true 3:false 4:true", got)
	}

	resume := append(train[:len(train):len(train)], "--resume")
	resume[6] = "6" // --steps
	if code, _, stderr := kiln(t, resume...); code != 1 || !strings.Contains(stderr, "resume with the same settings") {
		t.Errorf("resume with other --steps: exit %d: %s", code, stderr)
	}
	resume[6] = "4"
	if code, _, stderr := kiln(t, append(resume, "--seed", "99")...); code != 1 || !strings.Contains(stderr, "resume with the same settings") {
		t.Errorf("resume with another --seed: exit %d: %s", code, stderr)
	}
	if code, stdout, stderr := kiln(t, resume...); code != 0 || !strings.Contains(stdout, "step 4") {
		t.Errorf("resume of a finished run: exit %d: %s %s", code, stdout, stderr)
	}
}
