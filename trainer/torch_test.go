package trainer

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/kiln-bert/kiln/internal/testenv"
)

// torchref returns the command of the plain-PyTorch reference (tools/torchref), skipping the
// test when PyTorch is not installed (failing instead when CI is set).
func torchref(t *testing.T) []string {
	t.Helper()
	script := filepath.Join(testenv.Root(t), "tools", "torchref", "torchref.py")
	if _, err := os.Stat(script); err != nil {
		t.Fatalf("the PyTorch reference, part of the repository, is missing: %v", err)
	}
	return []string{testenv.Torch(t), script}
}

func runTorchref(t *testing.T, ref []string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(ref[0], append(ref[1:], args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("torchref %v: %v\n%s", args, err, stderr.String())
	}
	return out
}

func writeRowsJSONL(t *testing.T, path string, rows []Example) {
	t.Helper()
	var buf bytes.Buffer
	for _, r := range rows {
		types := make([]int, len(r.TokenTypeIDs))
		for i, v := range r.TokenTypeIDs {
			types[i] = int(v)
		}
		b, err := json.Marshal(map[string]any{"input_ids": r.InputIDs, "token_type_ids": types,
			"next_sentence_label": r.NextSentenceLabel, "masked_lm_positions": r.MaskedPositions, "masked_lm_ids": r.MaskedIDs})
		if err != nil {
			t.Fatal(err)
		}
		buf.Write(append(b, '\n'))
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestTorchParity checks kiln's losses against the plain-PyTorch reference on the same rows:
// for a checkpoint written by the reference (random weights, biases and LayerNorms) and for
// one written by kiln after training, within 1e-4 relative.
func TestTorchParity(t *testing.T) {
	ref := torchref(t)
	ctx := context.Background()
	tmp := t.TempDir()

	torchCk := filepath.Join(tmp, "torch")
	runTorchref(t, ref, "init", "--out", torchCk, "--preset", "tiny", "--vocab-size", "30522", "--seed", "3",
		"--random-biases", "--initializer-range", "0.1")
	kilnCk := filepath.Join(tmp, "kiln")
	{
		m, err := NewModel(testConfig(), rand.New(rand.NewPCG(4, 4)))
		if err != nil {
			t.Fatal(err)
		}
		rows := randomBatch(rand.New(rand.NewPCG(5, 5)), 16, 40, 120)
		opt := NewAdamW(DefaultOptimizer(3e-3, 5, 60), m)
		rng := rand.New(rand.NewPCG(6, 6))
		for i := 0; i < 60; i++ {
			if _, err := m.TrainStep(ctx, rows, opt, rng); err != nil {
				t.Fatal(err)
			}
		}
		if err := m.Save(kilnCk); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name, dir string
		rows      []Example
	}{
		{"torch-init", torchCk, benchRowsVaried(24, 128, 30522)},
		{"kiln-trained", kilnCk, randomBatch(rand.New(rand.NewPCG(5, 5)), 16, 40, 120)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := LoadModel(tc.dir)
			if err != nil {
				t.Fatal(err)
			}
			got, err := EvalSource(ctx, m, NewSliceSource(tc.rows, 7))
			if err != nil {
				t.Fatal(err)
			}
			rowsPath := filepath.Join(tmp, tc.name+".jsonl")
			writeRowsJSONL(t, rowsPath, tc.rows)
			var want EvalResult
			if err := json.Unmarshal(runTorchref(t, ref, "loss", "--checkpoint", tc.dir, "--rows", rowsPath), &want); err != nil {
				t.Fatal(err)
			}
			t.Logf("kiln  %v\ntorch %v", got, want)
			for _, c := range []struct {
				name      string
				got, want float64
			}{{"mlm", got.MLMLoss, want.MLMLoss}, {"nsp", got.NSPLoss, want.NSPLoss}, {"total", got.TotalLoss, want.TotalLoss}} {
				rel := math.Abs(c.got-c.want) / math.Abs(c.want)
				t.Logf("%s loss: relative difference %.2g", c.name, rel)
				if !(rel < 1e-4) {
					t.Errorf("%s loss: kiln %.8f, torch %.8f (rel %.2g)", c.name, c.got, c.want, rel)
				}
			}
			if got.Rows != want.Rows {
				t.Errorf("rows: kiln %d, torch %d", got.Rows, want.Rows)
			}
		})
	}
}

// benchRowsVaried is benchRows with rows of different lengths, so that batches are padded.
func benchRowsVaried(n, seq, vocab int) []Example {
	rows := benchRows(n, seq, vocab)
	for i := range rows {
		r := &rows[i]
		cut := seq - 11*(i%7)
		r.InputIDs = append(r.InputIDs[:cut-1:cut-1], 102)
		r.TokenTypeIDs = r.TokenTypeIDs[:cut]
		k := 0
		for k < len(r.MaskedPositions) && int(r.MaskedPositions[k]) < cut-1 {
			k++
		}
		r.MaskedPositions, r.MaskedIDs = r.MaskedPositions[:k], r.MaskedIDs[:k]
	}
	return rows
}
