package trainer

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kiln-bert/kiln/masking"
	"github.com/kiln-bert/kiln/tokenize"
	"gorgonia.org/tensor"
)

// sampleRows builds n pretraining rows of at most maxLen tokens from the bundled sample corpus
// (cmd/kiln/sample), tokenized with its vocabulary: [CLS] A [SEP] B [SEP] with A a piece of a
// State of the Union address and B the piece after it (IsNext, label 0) or one from a Moby
// Dick chapter (NotNext, 1), masked as prep masks them (15%, 80/10/10, seeded).
func sampleRows(t *testing.T, n, maxLen int) []Example {
	t.Helper()
	const dir = "../cmd/kiln/sample"
	v, err := tokenize.LoadVocab(filepath.Join(dir, "vocab.txt"))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := tokenize.New(v, tokenize.BertOptions(false))
	if err != nil {
		t.Fatal(err)
	}
	half := (maxLen - 3) / 2
	// chunks tokenizes a corpus file and cuts it into consecutive pieces of half tokens.
	chunks := func(name string) [][]int32 {
		b, err := os.ReadFile(filepath.Join(dir, "corpus", name))
		if err != nil {
			t.Fatal(err)
		}
		var e tokenize.Encoding
		tok.Encode(&e, string(b))
		var out [][]int32
		for i := 0; i+half <= len(e.IDs); i += half {
			out = append(out, e.IDs[i:i+half])
		}
		return out
	}
	sotu, moby := chunks("sotu_2001_george_w_bush_r.txt"), chunks("moby_dick_chapter_001.txt")
	if len(sotu) < n+1 || len(moby) < n {
		t.Fatalf("sample corpus too short: %d and %d pieces of %d tokens", len(sotu), len(moby), half)
	}
	mv, err := masking.NewVocab(v.Tokens())
	if err != nil {
		t.Fatal(err)
	}
	mk, err := masking.New(masking.DefaultConfig(), mv)
	if err != nil {
		t.Fatal(err)
	}
	sp := tok.Special()
	rng := rand.New(rand.NewPCG(11, 12))
	rows := make([]Example, n)
	var out masking.Masked
	for i := range rows {
		a, b, label := sotu[i], sotu[i+1], int8(0)
		if i%3 == 2 {
			b, label = moby[i], 1
		}
		ids := append(append(append(append([]int32{sp.CLS}, a...), sp.SEP), b...), sp.SEP)
		types := make([]int8, len(ids))
		for j := len(a) + 2; j < len(ids); j++ {
			types[j] = 1
		}
		mk.Mask(rng, ids, &out)
		rows[i] = Example{InputIDs: append([]int32(nil), out.IDs...), TokenTypeIDs: types, NextSentenceLabel: label,
			MaskedPositions: append([]int32(nil), out.Positions...), MaskedIDs: append([]int32(nil), out.Labels...)}
	}
	return rows
}

// readF64Safetensors reads a safetensors file of F64 tensors (what torchref step writes).
func readF64Safetensors(t *testing.T, path string) map[string][]float64 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	n := binary.LittleEndian.Uint64(b)
	entries, _, err := parseSafetensorsHeader(b[8 : 8+n])
	if err != nil {
		t.Fatal(err)
	}
	data := b[8+n:]
	out := map[string][]float64{}
	for _, e := range entries {
		if e.DType != "F64" {
			t.Fatalf("%s: tensor %s is %s, want F64", path, e.name, e.DType)
		}
		raw := data[e.DataOffsets[0]:e.DataOffsets[1]]
		v := make([]float64, len(raw)/8)
		for i := range v {
			v[i] = math.Float64frombits(binary.LittleEndian.Uint64(raw[8*i:]))
		}
		out[e.name] = v
	}
	return out
}

// torchStep is one line of torchref step's output.
type torchStep struct {
	Step     int     `json:"step"`
	LR       float64 `json:"lr"`
	Loss     float64 `json:"loss"`
	GradNorm float64 `json:"grad_norm"`
}

// TestTorchOptimizerParity trains a checkpoint that tools/torchref wrote (random weights,
// biases and LayerNorms) for 3 steps on rows of real text, in kiln's float64 model and in
// PyTorch (torch.optim.AdamW with biases and LayerNorm weights in a no-decay group,
// clip_grad_norm_, LambdaLR with transformers' linear schedule with warm-up), and checks that
// every parameter agrees within 1e-5 relative, and so does what the 3 updates changed (the
// difference between the final and the initial weights, per tensor). The settings make each
// part count: warm-up 1 of 3 total steps gives learning rates 0, LR, LR/2; the gradient norm is
// above the clipping norm; the learning rate is large enough that the weights move far.
func TestTorchOptimizerParity(t *testing.T) {
	ref := torchref(t)
	ctx := context.Background()
	tmp := t.TempDir()
	ck := filepath.Join(tmp, "torch")
	runTorchref(t, ref, "init", "--out", ck, "--preset", "tiny", "--vocab-size", "30522", "--max-position", "64",
		"--seed", "7", "--random-biases", "--initializer-range", "0.1")
	rows := sampleRows(t, 24, 64)
	rowsPath := filepath.Join(tmp, "rows.jsonl")
	writeRowsJSONL(t, rowsPath, rows)

	const (
		steps, batch, warmup = 3, 8, 1
		lr, clip             = 5e-3, 1.0
	)
	opt := OptimizerConfig{LR: lr, Beta1: 0.9, Beta2: 0.999, Eps: 1e-6, WeightDecay: 0.01, ClipNorm: clip, Warmup: warmup, TotalSteps: steps}
	outPath := filepath.Join(tmp, "after.safetensors")
	var want []torchStep
	sc := bufio.NewScanner(bytes.NewReader(runTorchref(t, ref, "step", "--checkpoint", ck, "--rows", rowsPath, "--out", outPath,
		"--steps", "3", "--batch-size", "8", "--lr", "5e-3", "--warmup", "1", "--total-steps", "3",
		"--weight-decay", "0.01", "--eps", "1e-6", "--clip-norm", "1", "--dtype", "float64")))
	for sc.Scan() {
		var s torchStep
		if err := json.Unmarshal(sc.Bytes(), &s); err != nil {
			t.Fatalf("torchref step output %q: %v", sc.Text(), err)
		}
		want = append(want, s)
	}
	if len(want) != steps {
		t.Fatalf("torchref step printed %d steps, want %d", len(want), steps)
	}

	hf, err := ReadHFConfig(filepath.Join(ck, ConfigFile))
	if err != nil {
		t.Fatal(err)
	}
	cfg := ConfigFromHF(hf)
	cfg.HiddenDropout, cfg.AttentionDropout = 0, 0 // as the reference: no dropout
	m, err := newModel(cfg, tensor.Float64, rand.New(rand.NewPCG(0, 0)))
	if err != nil {
		t.Fatal(err)
	}
	ts, _, err := ReadSafetensors(filepath.Join(ck, WeightsFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := m.SetTensors(ts); err != nil {
		t.Fatal(err)
	}
	before := map[string][]float64{}
	for _, p := range m.params {
		before[p.name] = append([]float64(nil), p.value.Data().([]float64)...)
	}
	o := NewAdamW(opt, m)
	clipped := 0
	for s := 0; s < steps; s++ {
		res, err := m.TrainStep(ctx, rows[s*batch:(s+1)*batch], o, nil)
		if err != nil {
			t.Fatal(err)
		}
		w := want[s]
		t.Logf("step %d: kiln lr %g loss %.10f grad norm %.10f; torch lr %g loss %.10f grad norm %.10f",
			s+1, res.LR, res.Loss, res.GradNorm, w.LR, w.Loss, w.GradNorm)
		if math.Abs(res.LR-w.LR) > 1e-15 {
			t.Errorf("step %d: learning rate kiln %g, torch %g", s+1, res.LR, w.LR)
		}
		if rel := math.Abs(res.Loss-w.Loss) / w.Loss; !(rel < 1e-9) {
			t.Errorf("step %d: loss kiln %.12f, torch %.12f (rel %.2g)", s+1, res.Loss, w.Loss, rel)
		}
		if rel := math.Abs(res.GradNorm-w.GradNorm) / w.GradNorm; !(rel < 1e-9) {
			t.Errorf("step %d: gradient norm kiln %.12f, torch %.12f (rel %.2g)", s+1, res.GradNorm, w.GradNorm, rel)
		}
		if res.GradNorm > clip {
			clipped++
		}
	}
	if clipped == 0 {
		t.Error("no step had a gradient norm above the clipping norm: clipping is not tested")
	}

	after := readF64Safetensors(t, outPath)
	if len(after) != len(m.params) {
		t.Errorf("torch wrote %d tensors, kiln has %d parameters", len(after), len(m.params))
	}
	var worstParam, worstDelta float64
	var worstParamName, worstDeltaName string
	for _, p := range m.params {
		got, w0 := p.value.Data().([]float64), before[p.name]
		want, ok := after[p.name]
		if !ok || len(want) != len(got) {
			t.Errorf("%s: torch has %d values, kiln %d", p.name, len(want), len(got))
			continue
		}
		// Each parameter, element by element, relative to its size (elements within 1e-3 of 0
		// relative to 1e-3, so that a weight that happens to pass near 0 does not count).
		var diff2, delta2 float64
		for j := range got {
			rel := math.Abs(got[j]-want[j]) / math.Max(math.Abs(want[j]), 1e-3)
			if rel > worstParam {
				worstParam, worstParamName = rel, p.name
			}
			d := want[j] - w0[j]
			diff2 += (got[j] - want[j]) * (got[j] - want[j])
			delta2 += d * d
		}
		// What the updates changed, per tensor: |kiln's change - torch's| / |torch's change|.
		// The attention key bias gets no gradient (softmax ignores a shift shared by every key),
		// so only weight decay, which it does not get, could move it: both sides leave it within
		// rounding of where it was.
		if strings.HasSuffix(p.name, "attention.self.key.bias") {
			if math.Sqrt(diff2) > 1e-9 {
				t.Errorf("%s: kiln and torch differ by %.3g (the key bias has no gradient)", p.name, math.Sqrt(diff2))
			}
			continue
		}
		if delta2 == 0 {
			t.Errorf("%s: torch's updates did not change it", p.name)
			continue
		}
		rel := math.Sqrt(diff2 / delta2)
		if rel > worstDelta {
			worstDelta, worstDeltaName = rel, p.name
		}
		if !(rel < 1e-5) {
			t.Errorf("%s: kiln's change differs from torch's by %.3g relative", p.name, rel)
		}
	}
	t.Logf("worst parameter relative difference %.3g (%s); worst change relative difference %.3g (%s)",
		worstParam, worstParamName, worstDelta, worstDeltaName)
	if !(worstParam < 1e-5) {
		t.Errorf("parameters differ by up to %.3g relative (%s), want < 1e-5", worstParam, worstParamName)
	}
}
