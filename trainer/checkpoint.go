package trainer

import (
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/kiln-bert/kiln/shards"
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
		return fmt.Errorf("save model: %w", err)
	}
	if err := WriteHFConfig(filepath.Join(dir, ConfigFile), m.cfg.HF()); err != nil {
		return fmt.Errorf("save model: %w", err)
	}
	if err := WriteSafetensors(filepath.Join(dir, WeightsFile), m.Tensors(), nil); err != nil {
		return fmt.Errorf("save model: %w", err)
	}
	return nil
}

// LoadModel reads a model directory: config.json (Hugging Face BertConfig) and
// model.safetensors (BertForPreTraining names), as written by Save or by transformers.
func LoadModel(dir string) (*Model, error) {
	cfg, err := ReadConfig(filepath.Join(dir, ConfigFile))
	if err != nil {
		return nil, fmt.Errorf("load model: %w", err)
	}
	m, err := NewModel(cfg, rand.New(rand.NewPCG(0, 0)))
	if err != nil {
		return nil, fmt.Errorf("load model %s: %w", dir, err)
	}
	path := filepath.Join(dir, WeightsFile)
	ts, _, err := ReadSafetensors(path)
	if err != nil {
		return nil, fmt.Errorf("load model: %w", err)
	}
	if err := m.SetTensors(ts); err != nil {
		return nil, fmt.Errorf("load model %s: %w", path, err)
	}
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
}

// saveCheckpoint writes OUT/checkpoint-STEP: it is built under a temporary name, synced and
// renamed, so a checkpoint directory either is complete or does not exist. Older checkpoints
// beyond the last keepCkpts are removed afterwards.
func saveCheckpoint(out string, m *Model, opt *AdamW, st trainerState) (string, error) {
	final := filepath.Join(out, fmt.Sprintf("%s%08d", ckptPrefix, st.Step))
	tmp := filepath.Join(out, fmt.Sprintf(".%s%08d.tmp", ckptPrefix, st.Step))
	if err := os.RemoveAll(tmp); err != nil {
		return "", fmt.Errorf("checkpoint: %w", err)
	}
	if err := m.Save(tmp); err != nil {
		return "", fmt.Errorf("checkpoint: %w", err)
	}
	var ts []Tensor
	for i, p := range m.params {
		ts = append(ts,
			Tensor{Name: "exp_avg." + p.name, Shape: p.shape, Data: opt.m[i]},
			Tensor{Name: "exp_avg_sq." + p.name, Shape: p.shape, Data: opt.v[i]})
	}
	if err := WriteSafetensors(filepath.Join(tmp, OptimizerFile), ts, map[string]string{"step": strconv.Itoa(opt.step)}); err != nil {
		return "", fmt.Errorf("checkpoint: %w", err)
	}
	sb, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return "", fmt.Errorf("checkpoint: %w", err)
	}
	if err := writeFile(filepath.Join(tmp, StateFile), append(sb, '\n')); err != nil {
		return "", fmt.Errorf("checkpoint: %w", err)
	}
	if err := shards.SyncDir(tmp); err != nil {
		return "", fmt.Errorf("checkpoint: %w", err)
	}
	if err := os.RemoveAll(final); err != nil {
		return "", fmt.Errorf("checkpoint: %w", err)
	}
	if err := os.Rename(tmp, final); err != nil {
		return "", fmt.Errorf("checkpoint: %w", err)
	}
	if err := shards.SyncDir(out); err != nil {
		return "", fmt.Errorf("checkpoint: %w", err)
	}
	all, err := listCheckpoints(out)
	if err != nil {
		return final, err
	}
	for len(all) > keepCkpts {
		if err := os.RemoveAll(all[0]); err != nil {
			return final, fmt.Errorf("checkpoint: remove old: %w", err)
		}
		all = all[1:]
	}
	return final, nil
}

// listCheckpoints returns the complete checkpoint directories of out, oldest first.
func listCheckpoints(out string) ([]string, error) {
	ents, err := os.ReadDir(out)
	if err != nil {
		return nil, fmt.Errorf("list checkpoints: %w", err)
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

// loadCheckpoint restores the model weights, the optimiser and the trainer state from dir.
func loadCheckpoint(dir string, opt OptimizerConfig) (*Model, *AdamW, trainerState, error) {
	var st trainerState
	b, err := os.ReadFile(filepath.Join(dir, StateFile))
	if err != nil {
		return nil, nil, st, fmt.Errorf("resume: %w", err)
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, nil, st, fmt.Errorf("resume: %s: %w", filepath.Join(dir, StateFile), err)
	}
	if st.Format != stateFormat {
		return nil, nil, st, fmt.Errorf("resume: %s: format %q, want %q", filepath.Join(dir, StateFile), st.Format, stateFormat)
	}
	m, err := LoadModel(dir)
	if err != nil {
		return nil, nil, st, fmt.Errorf("resume: %w", err)
	}
	o := NewAdamW(opt, m)
	path := filepath.Join(dir, OptimizerFile)
	ts, meta, err := ReadSafetensors(path)
	if err != nil {
		return nil, nil, st, fmt.Errorf("resume: %w", err)
	}
	if o.step, err = strconv.Atoi(meta["step"]); err != nil || o.step != st.Step {
		return nil, nil, st, fmt.Errorf("resume: %s: step %q does not match trainer state step %d", path, meta["step"], st.Step)
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
				return nil, nil, st, fmt.Errorf("resume: %s: missing tensor %s", path, s.prefix+p.name)
			}
			if err := checkShape(t, p.shape); err != nil {
				return nil, nil, st, fmt.Errorf("resume: %s: %w", path, err)
			}
			copy(s.dst, t.Data)
		}
	}
	return m, o, st, nil
}

// writeFile writes b to path with shards.WriteFileAtomic.
func writeFile(path string, b []byte) error {
	return shards.WriteFileAtomic(path, func(w io.Writer) error {
		_, err := w.Write(b)
		return err
	})
}
