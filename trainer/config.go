package trainer

import (
	"bufio"
	"bytes"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
)

// Config is the shape of a BERT model, with the fields of Hugging Face's BertConfig.
type Config struct {
	VocabSize        int     `json:"vocab_size"`
	HiddenSize       int     `json:"hidden_size"`
	NumLayers        int     `json:"num_hidden_layers"`
	NumHeads         int     `json:"num_attention_heads"`
	IntermediateSize int     `json:"intermediate_size"`
	MaxPositions     int     `json:"max_position_embeddings"`
	TypeVocabSize    int     `json:"type_vocab_size"`
	HiddenDropout    float64 `json:"hidden_dropout_prob"`
	AttentionDropout float64 `json:"attention_probs_dropout_prob"`
	LayerNormEps     float64 `json:"layer_norm_eps"`
	InitializerRange float64 `json:"initializer_range"`
}

// Preset returns the configuration of a named model size: tiny (L2/H128/A2), mini (L4/H256/A4),
// small (L4/H512/A8) or base (L12/H768/A12), with the given vocabulary size, 512 positions,
// 2 token types, dropout 0.1, intermediate size 4·H (as Google's BERT miniatures).
func Preset(name string, vocabSize int) (Config, error) {
	var l, h, a int
	switch strings.ToLower(name) {
	case "tiny":
		l, h, a = 2, 128, 2
	case "mini":
		l, h, a = 4, 256, 4
	case "small":
		l, h, a = 4, 512, 8
	case "base":
		l, h, a = 12, 768, 12
	default:
		return Config{}, fmt.Errorf("unknown model preset %q (want tiny, mini, small or base)", name)
	}
	c := Config{
		VocabSize: vocabSize, HiddenSize: h, NumLayers: l, NumHeads: a, IntermediateSize: 4 * h,
		MaxPositions: 512, TypeVocabSize: 2, HiddenDropout: 0.1, AttentionDropout: 0.1,
		LayerNormEps: 1e-12, InitializerRange: 0.02,
	}
	if err := c.Validate(); err != nil {
		return c, fmt.Errorf("model preset %s: %w", name, err)
	}
	return c, nil
}

// MaxParams is the largest number of parameters kiln accepts in a model configuration
// (2^34, 64 GiB of float32 weights), whatever the machine.
const MaxParams = 1 << 34

// Validate reports the first inconsistency in c, or a model too large for kiln (more than
// MaxParams parameters, or a dimension beyond 2^31-1).
func (c Config) Validate() error {
	switch {
	case c.VocabSize <= 0:
		return fmt.Errorf("vocab_size %d must be positive", c.VocabSize)
	case c.HiddenSize <= 0 || c.NumLayers <= 0 || c.NumHeads <= 0 || c.IntermediateSize <= 0:
		return fmt.Errorf("hidden_size %d, num_hidden_layers %d, num_attention_heads %d and intermediate_size %d must be positive",
			c.HiddenSize, c.NumLayers, c.NumHeads, c.IntermediateSize)
	case c.HiddenSize%c.NumHeads != 0:
		return fmt.Errorf("hidden_size %d is not a multiple of num_attention_heads %d", c.HiddenSize, c.NumHeads)
	case c.MaxPositions <= 0 || c.TypeVocabSize <= 0:
		return fmt.Errorf("max_position_embeddings %d and type_vocab_size %d must be positive", c.MaxPositions, c.TypeVocabSize)
	case !(c.HiddenDropout >= 0 && c.HiddenDropout < 1 && c.AttentionDropout >= 0 && c.AttentionDropout < 1):
		return fmt.Errorf("dropout probabilities %g, %g must be in [0, 1)", c.HiddenDropout, c.AttentionDropout)
	case !(c.LayerNormEps > 0) || math.IsInf(c.LayerNormEps, 0):
		return fmt.Errorf("layer_norm_eps %g must be positive and finite", c.LayerNormEps)
	case !(c.InitializerRange >= 0) || math.IsInf(c.InitializerRange, 0):
		return fmt.Errorf("initializer_range %g must be finite and not negative", c.InitializerRange)
	}
	for _, d := range []struct {
		name string
		v    int
	}{{"vocab_size", c.VocabSize}, {"hidden_size", c.HiddenSize}, {"num_hidden_layers", c.NumLayers},
		{"intermediate_size", c.IntermediateSize}, {"max_position_embeddings", c.MaxPositions}, {"type_vocab_size", c.TypeVocabSize}} {
		if d.v > math.MaxInt32 {
			return fmt.Errorf("%s %d is more than kiln supports (2^31-1)", d.name, d.v)
		}
	}
	if _, ok := c.NumParams(); !ok {
		return fmt.Errorf("the model has more than %d (2^34) parameters, the most kiln supports", int64(MaxParams))
	}
	return nil
}

// NumParams returns the number of parameters of a model of shape c (the tied decoder counted
// once), computed without overflow: ok is false when it exceeds MaxParams (n is then only a
// lower bound) or when a dimension is not positive.
func (c Config) NumParams() (n int64, ok bool) {
	// mul multiplies positive factors, stopping just past MaxParams.
	mul := func(xs ...int) int64 {
		p := int64(1)
		for _, x := range xs {
			if x <= 0 {
				return -1
			}
			if p > MaxParams/int64(x) {
				return MaxParams + 1
			}
			p *= int64(x)
		}
		return p
	}
	v, h, in := c.VocabSize, c.HiddenSize, c.IntermediateSize
	// Per layer: query, key, value and attention output (H×H + H each), two LayerNorms (2H
	// each), intermediate (I×H + I) and output (H×I + H).
	layer := 4*mul(h, h) + 4*mul(h) + 2*mul(2, h) + mul(in, h) + mul(in) + mul(h, in) + mul(h)
	terms := []int64{
		mul(v, h), mul(c.MaxPositions, h), mul(c.TypeVocabSize, h), mul(2, h), // embeddings and their LayerNorm
		mul(c.NumLayers, int(min(layer, MaxParams+1))),
		2 * (mul(h, h) + mul(h)), mul(2, h), // pooler, MLM transform and its LayerNorm
		mul(v),        // MLM output bias (the decoder weight is tied to the word embeddings)
		mul(2, h) + 2, // NSP head
	}
	for _, t := range terms {
		if t < 0 {
			return 0, false
		}
		n += t // at most a few times MaxParams: no overflow
	}
	return n, n <= MaxParams
}

// MemoryNeed returns a lower bound of the bytes a model of shape c needs: its float32 weights
// (4 bytes per parameter; for training also their gradients and AdamW's two moments, 16 bytes
// in all) and the activations of one batch of rows of seqLen tokens. The activation estimate
// counts only tensors that must exist at once — for training, each layer's query, key, value,
// attention context, intermediate output and attention probabilities, kept for the backward
// pass; for evaluation, one layer's — so that the estimate never exceeds what a run really
// uses. It is an error when c is invalid.
func (c Config) MemoryNeed(batch, seqLen int, training bool) (params, need int64, err error) {
	if err := c.Validate(); err != nil {
		return 0, 0, err
	}
	params, _ = c.NumParams()
	perParam := int64(4)
	if training {
		perParam = 16
	}
	// Floats per token of one layer; float64 arithmetic cannot overflow here and the result
	// is only compared against the machine's memory.
	perToken := 4*float64(c.HiddenSize) + float64(c.IntermediateSize) + float64(c.NumHeads)*float64(max(seqLen, 0))
	layers := 1.0
	if training {
		layers = float64(c.NumLayers)
	}
	act := 4 * float64(max(batch, 0)) * float64(max(seqLen, 0)) * perToken * layers
	total := float64(params*perParam) + act
	if total > math.MaxInt64/2 {
		return params, math.MaxInt64 / 2, nil
	}
	return params, int64(total), nil
}

// CheckMemory refuses a model of shape c, run on batches of batch rows of seqLen tokens, whose
// MemoryNeed exceeds this machine's total memory (MemTotal in /proc/meminfo; the comparison is
// skipped where that cannot be read).
func (c Config) CheckMemory(batch, seqLen int, training bool) error {
	params, need, err := c.MemoryNeed(batch, seqLen, training)
	if err != nil {
		return err
	}
	total, ok := MemTotal()
	if !ok {
		return nil
	}
	return checkMemory(params, need, total, batch, seqLen, training)
}

func checkMemory(params, need, total int64, batch, seqLen int, training bool) error {
	if need <= total {
		return nil
	}
	what := "its weights"
	switch {
	case training:
		what = fmt.Sprintf("training with batches of %d rows of %d tokens", batch, seqLen)
	case batch > 0:
		what = fmt.Sprintf("evaluation with batches of %d rows of %d tokens", batch, seqLen)
	}
	return fmt.Errorf("%d parameters need at least %s for %s; this machine has %s", params, gib(need), what, gib(total))
}

func gib(b int64) string { return fmt.Sprintf("%.1f GiB", float64(b)/(1<<30)) }

// MemTotal returns the machine's total memory in bytes, from MemTotal in /proc/meminfo; ok is
// false where that cannot be read.
func MemTotal() (total int64, ok bool) {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0, false
	}
	return parseMemTotal(b)
}

func parseMemTotal(b []byte) (int64, bool) {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 3 && f[0] == "MemTotal:" && f[2] == "kB" {
			kb, err := strconv.ParseInt(f[1], 10, 64)
			if err != nil || kb <= 0 || kb > math.MaxInt64/1024 {
				return 0, false
			}
			return kb * 1024, true
		}
	}
	return 0, false
}

// ReadConfig reads a Hugging Face BertConfig config.json (see ReadHFConfig): fields left out
// take BertConfig's defaults, a model kiln cannot compute is an error.
func ReadConfig(path string) (Config, error) {
	h, err := ReadHFConfig(path)
	if err != nil {
		return Config{}, err
	}
	c := ConfigFromHF(h)
	if err := c.Validate(); err != nil {
		return Config{}, fmt.Errorf("config %s: %w", path, err)
	}
	return c, nil
}
