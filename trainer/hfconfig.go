package trainer

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/kiln-bert/kiln/internal/atomicfile"
	"github.com/kiln-bert/kiln/internal/fileio"
)

// HFConfig is a Hugging Face BertConfig as stored in config.json beside model.safetensors, so
// that transformers' BertForPreTraining.from_pretrained(dir) can load a kiln checkpoint and
// kiln can load one written by transformers (or any tool that writes the same form). Fields are
// in the sorted order transformers writes them.
type HFConfig struct {
	Architectures             []string `json:"architectures,omitempty"`
	AttentionProbsDropoutProb float64  `json:"attention_probs_dropout_prob"`
	HiddenAct                 string   `json:"hidden_act"`
	HiddenDropoutProb         float64  `json:"hidden_dropout_prob"`
	HiddenSize                int      `json:"hidden_size"`
	InitializerRange          float64  `json:"initializer_range"`
	IntermediateSize          int      `json:"intermediate_size"`
	LayerNormEps              float64  `json:"layer_norm_eps"`
	MaxPositionEmbeddings     int      `json:"max_position_embeddings"`
	ModelType                 string   `json:"model_type"`
	NumAttentionHeads         int      `json:"num_attention_heads"`
	NumHiddenLayers           int      `json:"num_hidden_layers"`
	PadTokenID                int      `json:"pad_token_id"`
	// PositionEmbeddingType must be "absolute" (the only kind BERT pretraining uses).
	PositionEmbeddingType string `json:"position_embedding_type,omitempty"`
	// TieWordEmbeddings, when present, must be true: the MLM decoder is the word embeddings.
	TieWordEmbeddings *bool  `json:"tie_word_embeddings,omitempty"`
	TorchDtype        string `json:"torch_dtype,omitempty"`
	// TransformersVersion is the transformers version whose config.json layout kiln writes.
	TransformersVersion string `json:"transformers_version,omitempty"`
	TypeVocabSize       int    `json:"type_vocab_size"`
	VocabSize           int    `json:"vocab_size"`
}

// DefaultHFConfig returns BertConfig's defaults (bert-base-uncased), which transformers uses
// for any field a config.json leaves out.
func DefaultHFConfig() HFConfig {
	return HFConfig{
		Architectures:             []string{"BertForPreTraining"},
		AttentionProbsDropoutProb: 0.1,
		HiddenAct:                 "gelu",
		HiddenDropoutProb:         0.1,
		HiddenSize:                768,
		InitializerRange:          0.02,
		IntermediateSize:          3072,
		LayerNormEps:              1e-12,
		MaxPositionEmbeddings:     512,
		ModelType:                 "bert",
		NumAttentionHeads:         12,
		NumHiddenLayers:           12,
		PadTokenID:                0,
		PositionEmbeddingType:     "absolute",
		TorchDtype:                "float32",
		TypeVocabSize:             2,
		VocabSize:                 30522,
	}
}

// Validate reports the first field that is out of range or names a variant kiln's BERT does
// not implement (an activation other than the exact "gelu", relative positions, untied
// decoder).
func (c HFConfig) Validate() error {
	positive := []struct {
		name string
		v    int
	}{
		{"vocab_size", c.VocabSize}, {"hidden_size", c.HiddenSize},
		{"num_hidden_layers", c.NumHiddenLayers}, {"num_attention_heads", c.NumAttentionHeads},
		{"intermediate_size", c.IntermediateSize}, {"max_position_embeddings", c.MaxPositionEmbeddings},
		{"type_vocab_size", c.TypeVocabSize},
	}
	for _, p := range positive {
		if p.v <= 0 {
			return fmt.Errorf("%s must be positive, got %d", p.name, p.v)
		}
	}
	if c.HiddenSize%c.NumAttentionHeads != 0 {
		return fmt.Errorf("hidden_size %d is not a multiple of num_attention_heads %d", c.HiddenSize, c.NumAttentionHeads)
	}
	if c.ModelType != "bert" {
		return fmt.Errorf("model_type is %q, want \"bert\"", c.ModelType)
	}
	if c.HiddenAct != "gelu" {
		return fmt.Errorf("hidden_act %q is not supported (kiln implements \"gelu\", the exact erf form)", c.HiddenAct)
	}
	if c.PositionEmbeddingType != "" && c.PositionEmbeddingType != "absolute" {
		return fmt.Errorf("position_embedding_type %q is not supported (want \"absolute\")", c.PositionEmbeddingType)
	}
	if c.TieWordEmbeddings != nil && !*c.TieWordEmbeddings {
		return errors.New("tie_word_embeddings false is not supported: the MLM decoder is tied to the word embeddings")
	}
	if !(c.LayerNormEps > 0) {
		return fmt.Errorf("layer_norm_eps must be positive, got %g", c.LayerNormEps)
	}
	for _, p := range []struct {
		name string
		v    float64
	}{{"hidden_dropout_prob", c.HiddenDropoutProb}, {"attention_probs_dropout_prob", c.AttentionProbsDropoutProb}} {
		if !(p.v >= 0 && p.v < 1) {
			return fmt.Errorf("%s must be in [0, 1), got %g", p.name, p.v)
		}
	}
	if c.PadTokenID < 0 || c.PadTokenID >= c.VocabSize {
		return fmt.Errorf("pad_token_id %d is outside the vocabulary of %d", c.PadTokenID, c.VocabSize)
	}
	return nil
}

// ReadHFConfig reads a Hugging Face BertConfig config.json. Fields it leaves out take
// BertConfig's defaults (as transformers does), fields kiln does not use are ignored, and the
// result is validated.
func ReadHFConfig(path string) (HFConfig, error) {
	b, err := fileio.ReadRegular(path, fileio.MaxConfig)
	if err != nil {
		return HFConfig{}, err
	}
	c := DefaultHFConfig()
	c.Architectures = nil
	if err := json.Unmarshal(b, &c); err != nil {
		return HFConfig{}, fmt.Errorf("config %s: %w", path, err)
	}
	if err := c.Validate(); err != nil {
		return HFConfig{}, fmt.Errorf("config %s: %w", path, err)
	}
	return c, nil
}

// TransformersVersion is the transformers release whose config.json and tokenizer files kiln
// writes (and was checked against).
const TransformersVersion = "4.31.0"

// WriteHFConfig validates c and writes it to path as transformers does (sorted keys, two-space
// indent, final newline), atomically. An empty Architectures, ModelType or TransformersVersion
// is filled in with ["BertForPreTraining"], "bert" and TransformersVersion.
func WriteHFConfig(path string, c HFConfig) error {
	if len(c.Architectures) == 0 {
		c.Architectures = []string{"BertForPreTraining"}
	}
	if c.ModelType == "" {
		c.ModelType = "bert"
	}
	if c.TransformersVersion == "" {
		c.TransformersVersion = TransformersVersion
	}
	if err := c.Validate(); err != nil {
		return fmt.Errorf("config %s: %w", path, err)
	}
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return fmt.Errorf("config %s: %w", path, err)
	}
	return atomicfile.WriteBytes(path, append(b, '\n'))
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
