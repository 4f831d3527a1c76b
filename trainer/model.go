package trainer

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strings"

	"gorgonia.org/tensor"
)

// param is one parameter of the model, stored under its Hugging Face BertForPreTraining name in
// PyTorch layout (Linear weight [out, in]). value's backing array is updated in place by the
// optimizer; every graph of the model reads it.
type param struct {
	name  string
	shape []int
	value *tensor.Dense
	decay bool // weight decay applies (not to biases and LayerNorm weights)
}

// Model is a BERT model for pretraining (masked LM + next sentence prediction). Its parameters
// map one to one onto Hugging Face BertForPreTraining's; the MLM decoder is tied to the word
// embeddings. A Model is not safe for concurrent use.
type Model struct {
	cfg    Config
	dtype  tensor.Dtype
	params []*param
	byName map[string]*param
	cache  graphCache
	// vocabSHA256 is the kiln.vocab_sha256 of the shards the model was trained on, when known
	// (a kiln training checkpoint records it): evaluation refuses shards of another vocabulary.
	vocabSHA256 string
}

// NewModel returns a float32 model with weights initialised as Hugging Face does: normal with
// standard deviation InitializerRange for linear and embedding weights (the [PAD] row, id 0,
// of the word embeddings zero), zero biases, LayerNorm weight 1 and bias 0.
func NewModel(cfg Config, rng *rand.Rand) (*Model, error) {
	return newModel(cfg, tensor.Float32, rng)
}

func newModel(cfg Config, dt tensor.Dtype, rng *rand.Rand) (*Model, error) {
	m, err := allocModel(cfg, dt)
	if err != nil {
		return nil, err
	}
	m.initWeights(rng)
	return m, nil
}

// allocModel returns a model of cfg whose parameters are all zero, for initWeights or a
// checkpoint's tensors (SetTensors) to fill.
func allocModel(cfg Config, dt tensor.Dtype) (*Model, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("model config: %w", err)
	}
	m := &Model{cfg: cfg, dtype: dt, byName: map[string]*param{}}
	names, shapes := paramShapes(cfg)
	m.params = make([]*param, 0, len(names))
	for i, name := range names {
		shape := shapes[i]
		p := &param{name: name, shape: shape, decay: !strings.HasSuffix(name, "bias") && !strings.Contains(name, "LayerNorm")}
		n := 1
		for _, s := range shape {
			n *= s
		}
		var backing any
		if dt == tensor.Float32 {
			backing = make([]float32, n)
		} else {
			backing = make([]float64, n)
		}
		p.value = tensor.New(tensor.WithShape(shape...), tensor.WithBacking(backing))
		m.params = append(m.params, p)
		m.byName[name] = p
	}
	return m, nil
}

// initWeights sets the parameters of a model fresh from allocModel as NewModel says, drawing
// one normal value from rng for each value of a linear or embedding weight, parameter by
// parameter in paramShapes' order. Each value is drawn in float64, scaled, and then rounded
// once to the model's type.
func (m *Model) initWeights(rng *rand.Rand) {
	for _, p := range m.params {
		switch d := p.value.Data().(type) {
		case []float32:
			initParam(d, p.name, m.cfg, rng)
		case []float64:
			initParam(d, p.name, m.cfg, rng)
		}
	}
}

// initParam sets the values of the parameter name (zero, as allocModel leaves them).
func initParam[T float](vals []T, name string, cfg Config, rng *rand.Rand) {
	switch {
	case strings.HasSuffix(name, ".bias"): // zeros
	case strings.HasSuffix(name, "LayerNorm.weight"):
		for i := range vals {
			vals[i] = 1
		}
	default: // linear and embedding weights
		std := cfg.InitializerRange
		for i := range vals {
			vals[i] = T(rng.NormFloat64() * std)
		}
	}
	if name == "bert.embeddings.word_embeddings.weight" {
		clear(vals[:cfg.HiddenSize]) // padding_idx 0
	}
}

// Config returns the model's configuration.
func (m *Model) Config() Config { return m.cfg }

// NumParams returns the number of scalar parameters (the tied decoder counted once).
func (m *Model) NumParams() int {
	n := 0
	for _, p := range m.params {
		n += p.value.Shape().TotalSize()
	}
	return n
}

// Tensors returns copies of the parameters under their Hugging Face BertForPreTraining names,
// sorted by name. The tied cls.predictions.decoder.weight is left out, as transformers'
// save_pretrained leaves it out; from_pretrained ties it again.
func (m *Model) Tensors() []Tensor {
	ts := make([]Tensor, 0, len(m.params))
	for _, p := range m.params {
		t := Tensor{Name: p.name, Shape: append([]int(nil), p.shape...)}
		switch d := p.value.Data().(type) {
		case []float32:
			t.Data = append([]float32(nil), d...)
		case []float64:
			t.Data = make([]float32, len(d))
			for i, v := range d {
				t.Data[i] = float32(v)
			}
		}
		ts = append(ts, t)
	}
	sort.Slice(ts, func(i, j int) bool { return ts[i].Name < ts[j].Name })
	return ts
}

// SetTensors sets every parameter from ts, which must hold each of the model's tensors under its
// Hugging Face name with the right shape. Also accepted: the tied cls.predictions.decoder.weight
// and decoder.bias (checked for shape; used only when the tensor they are tied to is absent, as
// in a file that kept the other name of a shared tensor), bert.embeddings.position_ids, and the
// old LayerNorm gamma/beta names. Any other tensor is an error, so a checkpoint of another shape
// is refused rather than half loaded, and so is a NaN or infinite value (named with its tensor
// and index). Nothing changes when an error is returned.
func (m *Model) SetTensors(ts []Tensor) error {
	seen := map[string]Tensor{}
	tied := map[string]Tensor{} // decoder tensors, used when the tensor they are tied to is absent
	for _, t := range ts {
		name := t.Name
		if strings.Contains(name, "LayerNorm.") {
			name = strings.Replace(strings.Replace(name, "LayerNorm.gamma", "LayerNorm.weight", 1), "LayerNorm.beta", "LayerNorm.bias", 1)
		}
		switch name {
		case "bert.embeddings.position_ids":
			continue
		case "cls.predictions.decoder.weight":
			if err := checkShape(t, []int{m.cfg.VocabSize, m.cfg.HiddenSize}); err != nil {
				return err
			}
			tied["bert.embeddings.word_embeddings.weight"] = t
			continue
		case "cls.predictions.decoder.bias":
			if err := checkShape(t, []int{m.cfg.VocabSize}); err != nil {
				return err
			}
			tied["cls.predictions.bias"] = t
			continue
		}
		p, ok := m.byName[name]
		if !ok {
			return fmt.Errorf("tensor %q is not a parameter of this model (%d layers, hidden %d)", t.Name, m.cfg.NumLayers, m.cfg.HiddenSize)
		}
		if _, dup := seen[name]; dup {
			return fmt.Errorf("tensor %q given twice", t.Name)
		}
		if err := checkShape(t, p.shape); err != nil {
			return err
		}
		seen[name] = t
	}
	for name, t := range tied {
		if _, ok := seen[name]; !ok {
			seen[name] = t
		}
	}
	var missing []string
	for _, p := range m.params {
		if _, ok := seen[p.name]; !ok {
			missing = append(missing, p.name)
		}
	}
	if len(missing) > 0 {
		if len(missing) > 5 {
			missing = append(missing[:5], fmt.Sprintf("and %d more", len(missing)-5))
		}
		return fmt.Errorf("missing tensors: %s", strings.Join(missing, ", "))
	}
	for _, p := range m.params {
		t := seen[p.name]
		for i, v := range t.Data {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return fmt.Errorf("tensor %q holds %v at index %d: the weights are not finite (a diverged run?)", t.Name, v, i)
			}
		}
	}
	for _, p := range m.params {
		t := seen[p.name]
		switch d := p.value.Data().(type) {
		case []float32:
			copy(d, t.Data)
		case []float64:
			for i, v := range t.Data {
				d[i] = float64(v)
			}
		}
	}
	return nil
}

func checkShape(t Tensor, want []int) error {
	n := 1
	for _, s := range t.Shape {
		n *= s
	}
	if fmt.Sprint(t.Shape) != fmt.Sprint(want) || n != len(t.Data) {
		return fmt.Errorf("tensor %q has shape %v (%d values), want %v", t.Name, t.Shape, len(t.Data), want)
	}
	return nil
}
