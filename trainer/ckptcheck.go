package trainer

import (
	"fmt"
	"slices"
	"strings"

	"github.com/kiln-bert/kiln/internal/fileio"
)

// paramShapes returns the name and shape of every parameter of a model of shape c, in the
// order of Hugging Face's BertForPreTraining: the one list of parameters that NewModel
// allocates and that a checkpoint's header is checked against before anything is allocated.
func paramShapes(c Config) ([]string, [][]int) {
	var names []string
	var shapes [][]int
	h, in := c.HiddenSize, c.IntermediateSize
	add := func(name string, shape ...int) {
		names = append(names, name)
		shapes = append(shapes, shape)
	}
	lin := func(prefix string, out, in int) {
		add(prefix+".weight", out, in)
		add(prefix+".bias", out)
	}
	ln := func(prefix string) {
		add(prefix+".weight", h)
		add(prefix+".bias", h)
	}
	add("bert.embeddings.word_embeddings.weight", c.VocabSize, h)
	add("bert.embeddings.position_embeddings.weight", c.MaxPositions, h)
	add("bert.embeddings.token_type_embeddings.weight", c.TypeVocabSize, h)
	ln("bert.embeddings.LayerNorm")
	for l := 0; l < c.NumLayers; l++ {
		p := fmt.Sprintf("bert.encoder.layer.%d.", l)
		lin(p+"attention.self.query", h, h)
		lin(p+"attention.self.key", h, h)
		lin(p+"attention.self.value", h, h)
		lin(p+"attention.output.dense", h, h)
		ln(p + "attention.output.LayerNorm")
		lin(p+"intermediate.dense", in, h)
		lin(p+"output.dense", h, in)
		ln(p + "output.LayerNorm")
	}
	lin("bert.pooler.dense", h, h)
	lin("cls.predictions.transform.dense", h, h)
	ln("cls.predictions.transform.LayerNorm")
	add("cls.predictions.bias", c.VocabSize)
	lin("cls.seq_relationship", 2, h)
	return names, shapes
}

// CheckWeights checks, from the header of the safetensors file at path alone, that it holds
// the weights of a model of shape c (the tensors SetTensors takes, with their shapes), before
// the model is allocated: a config.json that describes another model than its
// model.safetensors is refused without allocating what the config describes.
func CheckWeights(path string, c Config) error {
	f, err := fileio.OpenRegular(path)
	if err != nil {
		return err
	}
	defer f.Close()
	entries, _, _, err := readSafetensorsHeader(f, path)
	if err != nil {
		return err
	}
	// A config of many layers must not make the check itself allocate: the header holds at
	// least one entry a parameter, so count first (14 parameters outside the layers, 16 in each).
	if need := 14 + 16*int64(c.NumLayers); int64(len(entries)) < need {
		return fmt.Errorf("%s: %d tensors, but the model its config describes (%d layers) has %d parameters (config.json and model.safetensors disagree)",
			path, len(entries), c.NumLayers, need)
	}
	names, shapes := paramShapes(c)
	want := make(map[string][]int, len(names))
	for i, n := range names {
		want[n] = shapes[i]
	}
	tied := map[string][]int{
		"cls.predictions.decoder.weight": {c.VocabSize, c.HiddenSize},
		"cls.predictions.decoder.bias":   {c.VocabSize},
	}
	tiedTo := map[string]string{
		"cls.predictions.decoder.weight": "bert.embeddings.word_embeddings.weight",
		"cls.predictions.decoder.bias":   "cls.predictions.bias",
	}
	seen := map[string]bool{}
	for _, e := range entries {
		name := e.name
		if strings.Contains(name, "LayerNorm.") {
			name = strings.Replace(strings.Replace(name, "LayerNorm.gamma", "LayerNorm.weight", 1), "LayerNorm.beta", "LayerNorm.bias", 1)
		}
		if name == "bert.embeddings.position_ids" {
			continue
		}
		shape, ok := want[name]
		if t, isTied := tied[name]; isTied {
			shape, ok = t, true
		}
		if !ok {
			return fmt.Errorf("%s: tensor %q is not a parameter of the model its config describes (%d layers, hidden %d)", path, e.name, c.NumLayers, c.HiddenSize)
		}
		got := make([]int, len(e.Shape))
		for i, d := range e.Shape {
			got[i] = int(d)
		}
		if !slices.Equal(got, shape) {
			return fmt.Errorf("%s: tensor %q has shape %v, but the model its config describes needs %v (config.json and model.safetensors disagree)", path, e.name, e.Shape, shape)
		}
		if to, isTied := tiedTo[name]; isTied {
			name = to
		}
		seen[name] = true
	}
	var missing []string
	for _, n := range names {
		if !seen[n] {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		if len(missing) > 5 {
			missing = append(missing[:5], fmt.Sprintf("and %d more", len(missing)-5))
		}
		return fmt.Errorf("%s: missing tensors of the model its config describes: %s", path, strings.Join(missing, ", "))
	}
	return nil
}
