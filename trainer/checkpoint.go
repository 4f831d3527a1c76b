package trainer

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/kiln-bert/kiln/internal/atomicfile"
	"github.com/kiln-bert/kiln/internal/fielddiff"
	"github.com/kiln-bert/kiln/internal/fileio"
	"github.com/kiln-bert/kiln/shards"
	"github.com/kiln-bert/kiln/tokenize"
	"gorgonia.org/tensor"
)

// Checkpoint files. A model directory (config.json + model.safetensors) loads in Hugging Face
// transformers with BertForPreTraining.from_pretrained; a training checkpoint adds the optimiser
// state and trainer_state.json.
const (
	ConfigFile    = "config.json"
	WeightsFile   = "model.safetensors"
	OptimizerFile = "optimizer.safetensors"
	StateFile     = "trainer_state.json"
	stateFormat   = "kiln-trainer/1"
	ckptPrefix    = "checkpoint-"
	keepCkpts     = 2
)

// Save writes the model to dir as config.json and model.safetensors (each file atomically).
func (m *Model) Save(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := WriteHFConfig(filepath.Join(dir, ConfigFile), m.cfg.HF()); err != nil {
		return err
	}
	return WriteSafetensors(filepath.Join(dir, WeightsFile), m.Tensors(), nil)
}

// LoadModel reads a model directory: config.json (Hugging Face BertConfig) and
// model.safetensors (BertForPreTraining names), as written by Save or by transformers. A
// model whose weights would not fit in this machine's memory is refused before anything is
// allocated (see Config.CheckMemory), and so is a model.safetensors whose header does not hold
// the tensors of the model config.json describes (see CheckWeights), and weights that are not
// finite. When dir is a
// kiln training checkpoint whose trainer_state.json records the vocabulary of its training
// data, evaluation (Eval) refuses shards made with another vocabulary.
func LoadModel(dir string) (*Model, error) {
	cpath := filepath.Join(dir, ConfigFile)
	cfg, err := ReadConfig(cpath)
	if err != nil {
		return nil, err
	}
	if err := cfg.CheckMemory(0, 0, false); err != nil {
		return nil, fmt.Errorf("model config %s: %w", cpath, err)
	}
	var st trainerState
	if b, err := fileio.ReadRegular(filepath.Join(dir, StateFile), fileio.MaxConfig); err == nil {
		if err := json.Unmarshal(b, &st); err != nil {
			return nil, fmt.Errorf("%s: %w", filepath.Join(dir, StateFile), err)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	// The weights file's header must describe the model the config does before either is
	// allocated.
	path := filepath.Join(dir, WeightsFile)
	if err := CheckWeights(path, cfg); err != nil {
		return nil, err
	}
	m, err := allocModel(cfg, tensor.Float32) // every value is set from the file
	if err != nil {
		return nil, fmt.Errorf("model config %s: %w", cpath, err)
	}
	ts, _, err := ReadSafetensors(path)
	if err != nil {
		return nil, err
	}
	if err := m.SetTensors(ts); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	m.vocabSHA256 = st.VocabSHA256
	return m, nil
}

// trainerState is trainer_state.json: what, beside the weights and the optimiser moments, a
// resumed run needs to continue exactly where the checkpoint was taken.
type trainerState struct {
	Format     string          `json:"format"`
	Step       int             `json:"step"`
	Position   Position        `json:"data_position"`
	DropoutRNG []byte          `json:"dropout_rng"` // math/rand/v2 PCG state
	Seed       uint64          `json:"seed"`
	BatchSize  int             `json:"batch_size"`
	Optimizer  OptimizerConfig `json:"optimizer"`
	// What a resumed run must read again (absent from checkpoints of older kiln versions and
	// of runs fed by a Source): the kiln.vocab_sha256 of the training shards and their identity
	// (see dataIdentity), with the directory they were read from, for messages.
	VocabSHA256 string `json:"vocab_sha256,omitempty"`
	DataSHA256  string `json:"data_sha256,omitempty"`
	Data        string `json:"data,omitempty"`
	// SourceConfig is TrainConfig.SourceConfig of a run fed by a Source.
	SourceConfig json.RawMessage `json:"source_config,omitempty"`
}

// saveCheckpoint writes OUT/checkpoint-STEP: it is built under a temporary name, synced and
// renamed, so a checkpoint directory either is complete or does not exist. Older checkpoints
// beyond the last keepCkpts are removed afterwards. With tok, the checkpoint also holds the
// tokenizer files (see TrainConfig.Tokenizer).
func saveCheckpoint(out string, m *Model, opt *AdamW, st trainerState, tok *tokenize.Tokenizer) (string, error) {
	final := filepath.Join(out, fmt.Sprintf("%s%08d", ckptPrefix, st.Step))
	tmp := filepath.Join(out, fmt.Sprintf(".%s%08d.tmp", ckptPrefix, st.Step))
	if err := os.RemoveAll(tmp); err != nil {
		return "", err
	}
	if err := m.Save(tmp); err != nil {
		return "", err
	}
	if tok != nil {
		if err := tok.WriteHF(tmp, m.cfg.MaxPositions); err != nil {
			return "", err
		}
	}
	var ts []Tensor
	for i, p := range m.params {
		ts = append(ts,
			Tensor{Name: "exp_avg." + p.name, Shape: p.shape, Data: opt.m[i]},
			Tensor{Name: "exp_avg_sq." + p.name, Shape: p.shape, Data: opt.v[i]})
	}
	if err := WriteSafetensors(filepath.Join(tmp, OptimizerFile), ts, map[string]string{"step": strconv.Itoa(opt.step)}); err != nil {
		return "", err
	}
	sb, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return "", err
	}
	if err := atomicfile.WriteBytes(filepath.Join(tmp, StateFile), append(sb, '\n')); err != nil {
		return "", err
	}
	if err := atomicfile.SyncDir(tmp); err != nil {
		return "", err
	}
	if err := os.RemoveAll(final); err != nil {
		return "", err
	}
	if err := os.Rename(tmp, final); err != nil {
		return "", err
	}
	if err := atomicfile.SyncDir(out); err != nil {
		return "", err
	}
	all, err := listCheckpoints(out)
	if err != nil {
		return final, err
	}
	for len(all) > keepCkpts {
		if err := os.RemoveAll(all[0]); err != nil {
			return final, fmt.Errorf("removing an old checkpoint: %w", err)
		}
		all = all[1:]
	}
	return final, nil
}

// listCheckpoints returns the complete checkpoint directories of out, oldest first (none when
// out does not exist).
func listCheckpoints(out string) ([]string, error) {
	ents, err := os.ReadDir(out)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	type ck struct {
		step int
		path string
	}
	var cs []ck
	for _, e := range ents {
		name := e.Name()
		if !e.IsDir() || !strings.HasPrefix(name, ckptPrefix) {
			continue
		}
		step, err := strconv.Atoi(strings.TrimPrefix(name, ckptPrefix))
		if err != nil {
			continue
		}
		cs = append(cs, ck{step, filepath.Join(out, name)})
	}
	sort.Slice(cs, func(i, j int) bool { return cs[i].step < cs[j].step })
	paths := make([]string, len(cs))
	for i, c := range cs {
		paths[i] = c.path
	}
	return paths, nil
}

// readState reads dir's trainer_state.json.
func readState(dir string) (trainerState, error) {
	var st trainerState
	path := filepath.Join(dir, StateFile)
	b, err := fileio.ReadRegular(path, fileio.MaxConfig)
	if err != nil {
		return st, err
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return st, fmt.Errorf("%s: %w", path, err)
	}
	if st.Format != stateFormat {
		return st, fmt.Errorf("%s: format %q, want %q", path, st.Format, stateFormat)
	}
	return st, nil
}

// checkResume checks, before any weight is loaded, that the checkpoint in dir can continue the
// run cfg describes: the same seed, batch size and optimizer settings; the same model as
// cfg.Model when cfg.CheckModel is set; where the checkpoint records them, the same vocabulary
// and the same shards (man: the manifest of cfg.Data, nil for a Source); and checkModel (the
// data and memory checks of Train) on the checkpoint's model configuration. Differences are
// named as TrainConfig's and OptimizerConfig's fields.
func checkResume(dir string, cfg TrainConfig, man *shards.Manifest, checkModel func(c Config, source, vocabSHA256 string) error) error {
	st, err := readState(dir)
	if err != nil {
		return err
	}
	cpath := filepath.Join(dir, ConfigFile)
	mc, err := ReadConfig(cpath)
	if err != nil {
		return err
	}
	var diffs []string
	setting := func(field string, was, now any) {
		if was != now {
			diffs = append(diffs, fmt.Sprintf("%s %v (checkpoint) vs %v (now)", field, was, now))
		}
	}
	setting("TrainConfig.Seed", st.Seed, cfg.Seed)
	setting("TrainConfig.BatchSize", st.BatchSize, cfg.BatchSize)
	was, now := st.Optimizer, cfg.Optimizer
	setting("OptimizerConfig.TotalSteps", was.TotalSteps, now.TotalSteps)
	setting("OptimizerConfig.LR", was.LR, now.LR)
	setting("OptimizerConfig.Warmup", was.Warmup, now.Warmup)
	setting("OptimizerConfig.WeightDecay", was.WeightDecay, now.WeightDecay)
	setting("OptimizerConfig.Beta1", was.Beta1, now.Beta1)
	setting("OptimizerConfig.Beta2", was.Beta2, now.Beta2)
	setting("OptimizerConfig.Eps", was.Eps, now.Eps)
	setting("OptimizerConfig.ClipNorm", was.ClipNorm, now.ClipNorm)
	if len(diffs) > 0 {
		return fmt.Errorf("the checkpoint was trained with other settings: %s: resume with the same settings", strings.Join(diffs, ", "))
	}
	if cfg.CheckModel && mc != cfg.Model {
		src := cfg.ModelSource
		if src == "" {
			src = "the given model"
		}
		return fmt.Errorf("the checkpoint's model (%s) differs from TrainConfig.Model %s: %s: leave TrainConfig.CheckModel false to resume with the checkpoint's",
			cpath, src, strings.Join(fielddiff.Diffs(mc, cfg.Model, "(checkpoint)", "(TrainConfig.Model)"), ", "))
	}
	if len(st.SourceConfig) > 0 && len(cfg.SourceConfig) > 0 {
		if d := fielddiff.Diffs(st.SourceConfig, cfg.SourceConfig, "(checkpoint)", "(now)"); len(d) > 0 {
			return fmt.Errorf("the checkpoint's data was made with other settings: %s: resume with the same input and settings, or train in another TrainConfig.Out",
				strings.Join(d, ", "))
		}
	}
	if man != nil {
		if got := man.Metadata[shards.MetaVocabSHA256]; st.VocabSHA256 != "" && got != "" && got != st.VocabSHA256 {
			return fmt.Errorf("TrainConfig.Data %s holds shards made with another vocabulary (%s %s) than the checkpoint was trained on (%s, in %s)",
				cfg.Data, shards.MetaVocabSHA256, got, st.VocabSHA256, st.Data)
		}
		if st.DataSHA256 != "" && dataIdentity(man) != st.DataSHA256 {
			return fmt.Errorf("TrainConfig.Data %s holds other shards than the checkpoint was trained on (%s; their files and sha256s differ): resume with the same TrainConfig.Data, or train in another TrainConfig.Out",
				cfg.Data, st.Data)
		}
	}
	return checkModel(mc, cpath, st.VocabSHA256)
}

// loadCheckpoint restores the model weights, the optimiser and the trainer state from dir.
func loadCheckpoint(dir string, opt OptimizerConfig) (*Model, *AdamW, trainerState, error) {
	st, err := readState(dir)
	if err != nil {
		return nil, nil, st, err
	}
	m, err := LoadModel(dir)
	if err != nil {
		return nil, nil, st, err
	}
	o := NewAdamW(opt, m)
	path := filepath.Join(dir, OptimizerFile)
	ts, meta, err := ReadSafetensors(path)
	if err != nil {
		return nil, nil, st, err
	}
	if o.step, err = strconv.Atoi(meta["step"]); err != nil || o.step != st.Step {
		return nil, nil, st, fmt.Errorf("%s: step %q does not match trainer state step %d", path, meta["step"], st.Step)
	}
	byName := make(map[string]Tensor, len(ts))
	for _, t := range ts {
		byName[t.Name] = t
	}
	for i, p := range m.params {
		for _, s := range []struct {
			prefix string
			dst    []float32
		}{{"exp_avg.", o.m[i]}, {"exp_avg_sq.", o.v[i]}} {
			t, ok := byName[s.prefix+p.name]
			if !ok {
				return nil, nil, st, fmt.Errorf("%s: missing tensor %s", path, s.prefix+p.name)
			}
			if err := checkShape(t, p.shape); err != nil {
				return nil, nil, st, fmt.Errorf("%s: %w", path, err)
			}
			copy(s.dst, t.Data)
		}
	}
	return m, o, st, nil
}
