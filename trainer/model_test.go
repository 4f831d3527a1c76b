package trainer

import (
	"context"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"

	"gorgonia.org/tensor"
)

// microConfig is a model small enough for a finite-difference check of every parameter.
func microConfig() Config {
	return Config{VocabSize: 23, HiddenSize: 8, NumLayers: 2, NumHeads: 2, IntermediateSize: 12,
		MaxPositions: 40, TypeVocabSize: 2, HiddenDropout: 0.1, AttentionDropout: 0.1,
		LayerNormEps: 1e-12, InitializerRange: 0.02}
}

// randomBatch returns rows shaped like real pretraining rows: [CLS] A [SEP] B [SEP] with
// varying lengths (so there is padding), about 15% masked positions, NSP labels 0, 1 and -1.
func randomBatch(rng *rand.Rand, rows, maxLen, vocab int) []Example {
	const cls, sep, mask = 1, 2, 3
	out := make([]Example, rows)
	for i := range out {
		n := maxLen - rng.IntN(maxLen/3+1)
		ids := make([]int32, n)
		types := make([]int8, n)
		split := 2 + rng.IntN(n-4)
		for j := range ids {
			ids[j] = int32(4 + rng.IntN(vocab-4))
			if j > split {
				types[j] = 1
			}
		}
		ids[0], ids[split], ids[n-1] = cls, sep, sep
		var pos, lab []int32
		for j := 1; j < n-1; j++ {
			if j != split && (rng.Float64() < 0.15 || len(pos) == 0 && j == n-2) {
				pos = append(pos, int32(j))
				lab = append(lab, ids[j])
				ids[j] = mask
			}
		}
		out[i] = Example{InputIDs: ids, TokenTypeIDs: types, NextSentenceLabel: int8(rng.IntN(2)),
			MaskedPositions: pos, MaskedIDs: lab}
	}
	out[rows-1].NextSentenceLabel = -1
	return out
}

// TestGradientCheck compares the gradient of the total loss with central finite differences for
// every parameter of a small float64 model, dropout on (the same masks each pass).
func TestGradientCheck(t *testing.T) {
	ctx := context.Background()
	cfg := microConfig()
	m, err := newModel(cfg, tensor.Float64, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	// Larger weights than BERT's 0.02 so that every path carries a visible gradient.
	for _, p := range m.params {
		if p.decay {
			for i := range p.value.Data().([]float64) {
				p.value.Data().([]float64)[i] *= 20
			}
		}
	}
	rows := randomBatch(rand.New(rand.NewPCG(3, 4)), 3, 13, cfg.VocabSize)
	loss := func() float64 {
		_, st, err := m.run(ctx, rows, true, rand.New(rand.NewPCG(5, 6)))
		if err != nil {
			t.Fatal(err)
		}
		return st.Loss
	}
	gr, st, err := m.run(ctx, rows, true, rand.New(rand.NewPCG(5, 6)))
	if err != nil {
		t.Fatal(err)
	}
	if st.MLMLoss <= 0 || st.NSPLoss <= 0 || math.Abs(st.Loss-st.MLMLoss-st.NSPLoss) > 1e-12 {
		t.Fatalf("losses %+v", st)
	}
	grads := make([][]float64, len(m.params))
	for i, g := range gr.grads {
		grads[i] = append([]float64(nil), g.Value().Data().([]float64)...)
	}
	const h = 1e-5
	worst, worstBig, checked := 0.0, 0.0, 0
	for i, p := range m.params {
		// Every parameter gets a gradient, except the key bias: softmax ignores a shift that is
		// the same for every key, so its true gradient is 0.
		big := 0.0
		for _, g := range grads[i] {
			big = math.Max(big, math.Abs(g))
		}
		if big < 1e-6 && !strings.Contains(p.name, "attention.self.key.bias") {
			t.Errorf("%s: gradient is zero", p.name)
		}
		w := p.value.Data().([]float64)
		for j := range w {
			orig := w[j]
			w[j] = orig + h
			up := loss()
			w[j] = orig - h
			down := loss()
			w[j] = orig
			num, ana := (up-down)/(2*h), grads[i][j]
			rel := math.Abs(num-ana) / math.Max(math.Abs(num)+math.Abs(ana), 1e-6)
			if rel > worst {
				worst = rel
			}
			if math.Abs(num)+math.Abs(ana) > 1e-3 && rel > worstBig {
				worstBig = rel
			}
			if rel > 1e-4 {
				t.Errorf("%s[%d]: analytic %.8g, numeric %.8g (rel %.2g)", p.name, j, ana, num, rel)
			}
			checked++
		}
	}
	t.Logf("checked %d parameters: max relative error %.3g; %.3g where |gradient| > 1e-3", checked, worst, worstBig)
}

// TestInitialLoss checks that a freshly initialised tiny model over the BERT vocabulary starts
// at the loss of a uniform guess: ln(30522) for MLM plus ln(2) for NSP, about 11.0.
func TestInitialLoss(t *testing.T) {
	cfg, err := Preset("tiny", 30522)
	if err != nil {
		t.Fatal(err)
	}
	m, err := NewModel(cfg, rand.New(rand.NewPCG(9, 9)))
	if err != nil {
		t.Fatal(err)
	}
	st, err := m.Loss(context.Background(), benchRows(8, 128, cfg.VocabSize))
	if err != nil {
		t.Fatal(err)
	}
	mlm, nsp := math.Log(30522), math.Log(2)
	t.Logf("initial loss %.4f (mlm %.4f, nsp %.4f); uniform guess %.4f", st.Loss, st.MLMLoss, st.NSPLoss, mlm+nsp)
	if math.Abs(st.MLMLoss-mlm) > 0.2 || math.Abs(st.NSPLoss-nsp) > 0.1 || st.MLMCount != 8*20 || st.NSPCount != 8 {
		t.Errorf("initial losses %+v, want mlm about %.3f and nsp about %.3f", st, mlm, nsp)
	}
}

// TestSetTensors checks the Hugging Face names and layouts and that a wrong checkpoint is
// refused with a clear error and leaves the model unchanged.
func TestSetTensors(t *testing.T) {
	cfg := microConfig()
	m, err := NewModel(cfg, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	ts := m.Tensors()
	byName := map[string][]int{}
	for _, tt := range ts {
		byName[tt.Name] = tt.Shape
	}
	for name, shape := range map[string][]int{
		"bert.embeddings.word_embeddings.weight":                 {23, 8},
		"bert.embeddings.LayerNorm.weight":                       {8},
		"bert.encoder.layer.1.attention.self.query.weight":       {8, 8},
		"bert.encoder.layer.0.intermediate.dense.weight":         {12, 8},
		"bert.encoder.layer.0.output.dense.weight":               {8, 12},
		"bert.encoder.layer.1.output.LayerNorm.bias":             {8},
		"bert.pooler.dense.weight":                               {8, 8},
		"cls.predictions.transform.dense.weight":                 {8, 8},
		"cls.predictions.transform.LayerNorm.weight":             {8},
		"cls.predictions.bias":                                   {23},
		"cls.seq_relationship.weight":                            {2, 8},
		"bert.encoder.layer.0.attention.output.LayerNorm.weight": {8},
	} {
		if got, ok := byName[name]; !ok || !slices.Equal(got, shape) {
			t.Errorf("%s: shape %v (present %v), want %v", name, got, ok, shape)
		}
	}
	if len(ts) != 5+2*16+2+4+1+2 {
		t.Errorf("%d tensors", len(ts))
	}
	other, _ := NewModel(cfg, rand.New(rand.NewPCG(2, 2)))
	if err := other.SetTensors(ts); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(other.Tensors(), ts) {
		t.Error("tensors differ after SetTensors")
	}
	// Tied decoder and legacy names are accepted.
	extra := append(slices.Clone(ts), Tensor{Name: "cls.predictions.decoder.weight", Shape: []int{23, 8}, Data: make([]float32, 184)})
	if err := other.SetTensors(extra); err != nil {
		t.Errorf("with the tied decoder: %v", err)
	}
	bad := func(f func([]Tensor) []Tensor) []Tensor { return f(slices.Clone(ts)) }
	for _, tc := range []struct {
		name string
		ts   []Tensor
		want string
	}{
		{"missing", bad(func(x []Tensor) []Tensor { return x[1:] }), "missing tensors"},
		{"shape", bad(func(x []Tensor) []Tensor {
			x[0] = Tensor{Name: x[0].Name, Shape: []int{1}, Data: []float32{1}}
			return x
		}), "has shape"},
		{"unknown", bad(func(x []Tensor) []Tensor {
			return append(x, Tensor{Name: "bert.encoder.layer.7.output.dense.bias", Shape: []int{8}, Data: make([]float32, 8)})
		}), "not a parameter"},
	} {
		before := other.Tensors()
		err := other.SetTensors(tc.ts)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err %v, want %q", tc.name, err, tc.want)
		}
		if !reflect.DeepEqual(other.Tensors(), before) {
			t.Errorf("%s: model changed by a failed SetTensors", tc.name)
		}
	}
}

// TestSetTensorsTiedNames checks that a file keeping the decoder's name of a tied tensor (as
// safetensors writers may, dropping one name of a shared tensor) loads.
func TestSetTensorsTiedNames(t *testing.T) {
	m, _ := NewModel(microConfig(), rand.New(rand.NewPCG(1, 1)))
	var ts []Tensor
	for _, x := range m.Tensors() {
		switch x.Name {
		case "bert.embeddings.word_embeddings.weight":
			x.Name = "cls.predictions.decoder.weight"
		case "cls.predictions.bias":
			x.Name = "cls.predictions.decoder.bias"
		}
		ts = append(ts, x)
	}
	other, _ := NewModel(microConfig(), rand.New(rand.NewPCG(2, 2)))
	if err := other.SetTensors(ts); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(other.Tensors(), m.Tensors()) {
		t.Error("tensors differ")
	}
}

// TestPresetBase checks the base preset against the config.json published with
// bert-base-uncased.
func TestPresetBase(t *testing.T) {
	got, err := ReadConfig("testdata/safetensors/bert-base-uncased.config.json")
	if err != nil {
		t.Fatal(err)
	}
	want, err := Preset("base", 30522)
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("bert-base-uncased config.json gives %+v, preset base is %+v", got, want)
	}
}
