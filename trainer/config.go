package trainer

import (
	"fmt"
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
	return c, c.Validate()
}

// Validate reports the first inconsistency in c.
func (c Config) Validate() error {
	switch {
	case c.VocabSize <= 0:
		return fmt.Errorf("config: vocab_size %d must be positive", c.VocabSize)
	case c.HiddenSize <= 0 || c.NumLayers <= 0 || c.NumHeads <= 0 || c.IntermediateSize <= 0:
		return fmt.Errorf("config: hidden_size %d, num_hidden_layers %d, num_attention_heads %d and intermediate_size %d must be positive",
			c.HiddenSize, c.NumLayers, c.NumHeads, c.IntermediateSize)
	case c.HiddenSize%c.NumHeads != 0:
		return fmt.Errorf("config: hidden_size %d is not a multiple of num_attention_heads %d", c.HiddenSize, c.NumHeads)
	case c.MaxPositions <= 0 || c.TypeVocabSize <= 0:
		return fmt.Errorf("config: max_position_embeddings %d and type_vocab_size %d must be positive", c.MaxPositions, c.TypeVocabSize)
	case c.HiddenDropout < 0 || c.HiddenDropout >= 1 || c.AttentionDropout < 0 || c.AttentionDropout >= 1:
		return fmt.Errorf("config: dropout probabilities %g, %g must be in [0, 1)", c.HiddenDropout, c.AttentionDropout)
	case c.LayerNormEps <= 0:
		return fmt.Errorf("config: layer_norm_eps %g must be positive", c.LayerNormEps)
	}
	return nil
}

// HF returns c as a Hugging Face BertConfig (for config.json; see WriteHFConfig).
func (c Config) HF() HFConfig {
	h := DefaultHFConfig()
	h.VocabSize, h.HiddenSize, h.NumHiddenLayers, h.NumAttentionHeads = c.VocabSize, c.HiddenSize, c.NumLayers, c.NumHeads
	h.IntermediateSize, h.MaxPositionEmbeddings, h.TypeVocabSize = c.IntermediateSize, c.MaxPositions, c.TypeVocabSize
	h.HiddenDropoutProb, h.AttentionProbsDropoutProb = c.HiddenDropout, c.AttentionDropout
	h.LayerNormEps, h.InitializerRange = c.LayerNormEps, c.InitializerRange
	return h
}

// ConfigFromHF returns the model configuration of a Hugging Face BertConfig.
func ConfigFromHF(h HFConfig) Config {
	return Config{
		VocabSize: h.VocabSize, HiddenSize: h.HiddenSize, NumLayers: h.NumHiddenLayers, NumHeads: h.NumAttentionHeads,
		IntermediateSize: h.IntermediateSize, MaxPositions: h.MaxPositionEmbeddings, TypeVocabSize: h.TypeVocabSize,
		HiddenDropout: h.HiddenDropoutProb, AttentionDropout: h.AttentionProbsDropoutProb,
		LayerNormEps: h.LayerNormEps, InitializerRange: h.InitializerRange,
	}
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
