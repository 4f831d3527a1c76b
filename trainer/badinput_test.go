package trainer

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kiln-bert/kiln/pairing"
	"github.com/kiln-bert/kiln/shards"
)

// writeTestShards writes n statically masked rows like randomBatch's (vocabulary 120, rows up
// to 24 tokens, max_seq_len 64) into dir, with vocabSHA as the shards' kiln.vocab_sha256 ("":
// none), and returns the manifest.
func writeTestShards(t *testing.T, dir string, n int, vocabSHA string, compression shards.Compression) *shards.Manifest {
	t.Helper()
	rows := randomBatch(rand.New(rand.NewPCG(11, uint64(n))), n, 24, 120)
	o := shards.Options{Dir: dir, Layout: shards.Layout{Compression: compression, ShardBytes: 1 << 20, RowsPerBatch: 16}, Static: true,
		VocabSize: 120, MaxSeqLen: 64, Special: shards.Special{PAD: 0, CLS: 1, SEP: 2, MASK: 3}, Task: pairing.NSP}
	if vocabSHA != "" {
		o.Metadata = map[string]string{shards.MetaVocabSHA256: vocabSHA}
	}
	return writeRows(t, o, rows)
}

// writeRows writes rows as shards with options o (NSP labels alternating 0, 1) and returns the
// manifest.
func writeRows(t *testing.T, o shards.Options, rows []Example) *shards.Manifest {
	t.Helper()
	w, err := shards.NewWriter(o)
	if err != nil {
		t.Fatal(err)
	}
	for i := range rows {
		r := &rows[i]
		if err := w.Write(&shards.Row{InputIDs: r.InputIDs, TokenTypeIDs: r.TokenTypeIDs, NextSentenceLabel: int8(i % 2),
			MaskedPositions: r.MaskedPositions, MaskedIDs: r.MaskedIDs}); err != nil {
			t.Fatal(err)
		}
	}
	m, err := w.Close()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func wantErr(t *testing.T, err error, subs ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want one saying %q", subs)
	}
	for _, s := range subs {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not say %q", err, s)
		}
	}
}

// TestConfigTooLarge checks that configurations whose sizes overflow or exceed what kiln can
// allocate are refused by Validate (and so by NewModel and ReadConfig) instead of panicking.
func TestConfigTooLarge(t *testing.T) {
	base := testConfig()
	tests := []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"hidden 1e12", func(c *Config) { c.HiddenSize = 1e12 }, "hidden_size 1000000000000 is more than kiln supports"},
		{"vocab 1e12", func(c *Config) { c.VocabSize = 1e12 }, "vocab_size 1000000000000"},
		{"intermediate 1e12", func(c *Config) { c.IntermediateSize = 1e12 }, "intermediate_size 1000000000000"},
		{"positions 1e12", func(c *Config) { c.MaxPositions = 1e12 }, "max_position_embeddings 1000000000000"},
		{"type vocab 1e12", func(c *Config) { c.TypeVocabSize = 1e12 }, "type_vocab_size 1000000000000"},
		{"vocab 2^32", func(c *Config) { c.VocabSize = 1 << 32 }, "vocab_size 4294967296"},
		{"hidden 2^20", func(c *Config) { c.HiddenSize = 1 << 20 }, "more than 17179869184 (2^34) parameters"},
		{"layers 1e9", func(c *Config) { c.NumLayers = 1e9 }, "more than 17179869184 (2^34) parameters"},
		{"layers 2^31-1, hidden 2^14", func(c *Config) { c.NumLayers, c.HiddenSize = math.MaxInt32, 1<<14 }, "(2^34) parameters"},
		{"eps NaN", func(c *Config) { c.LayerNormEps = math.NaN() }, "layer_norm_eps NaN"},
		{"dropout NaN", func(c *Config) { c.HiddenDropout = math.NaN() }, "dropout probabilities NaN"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := base
			tc.edit(&c)
			wantErr(t, c.Validate(), tc.want)
			_, err := NewModel(c, rand.New(rand.NewPCG(1, 1)))
			wantErr(t, err, tc.want)
			path := filepath.Join(t.TempDir(), "config.json")
			b, _ := json.Marshal(map[string]any{"vocab_size": c.VocabSize, "hidden_size": c.HiddenSize, "num_hidden_layers": c.NumLayers,
				"num_attention_heads": c.NumHeads, "intermediate_size": c.IntermediateSize, "max_position_embeddings": c.MaxPositions,
				"type_vocab_size": c.TypeVocabSize})
			if err := os.WriteFile(path, b, 0o644); err != nil {
				t.Fatal(err)
			}
			if !math.IsNaN(c.LayerNormEps) && !math.IsNaN(c.HiddenDropout) {
				_, err := ReadConfig(path)
				wantErr(t, err, path, tc.want)
			}
		})
	}
}

// TestNumParams checks Config.NumParams against the parameters a model really allocates, and
// against bert-base-uncased's BertForPreTraining (110,106,428 parameters in transformers: the
// 109,482,240 of BertModel plus the MLM transform, its LayerNorm, the output bias and the NSP
// head).
func TestNumParams(t *testing.T) {
	for _, name := range []string{"tiny", "mini", "small"} {
		c, err := Preset(name, 1000)
		if err != nil {
			t.Fatal(err)
		}
		m, err := NewModel(c, rand.New(rand.NewPCG(1, 1)))
		if err != nil {
			t.Fatal(err)
		}
		if n, ok := c.NumParams(); !ok || n != int64(m.NumParams()) {
			t.Errorf("%s: NumParams %d, %v; the model holds %d", name, n, ok, m.NumParams())
		}
	}
	c, _ := Preset("base", 30522)
	if n, ok := c.NumParams(); !ok || n != 110106428 {
		t.Errorf("base: NumParams %d, %v; want 110106428", n, ok)
	}
}

// TestCheckMemory checks the refusal of models that cannot fit, and that the presets at batch
// 32 × 128 tokens are never refused on a 24 GiB machine.
func TestCheckMemory(t *testing.T) {
	const machine = 24 << 30
	for _, name := range []string{"tiny", "mini", "small", "base"} {
		c, _ := Preset(name, 30522)
		p, need, err := c.MemoryNeed(32, 128, true)
		if err != nil {
			t.Fatal(err)
		}
		if err := checkMemory(p, need, machine, 32, 128, true); err != nil {
			t.Errorf("%s at 32 × 128 refused on 24 GiB: %v", name, err)
		}
		if need < 16*p {
			t.Errorf("%s: need %d bytes, less than weights, gradients and moments (%d)", name, need, 16*p)
		}
	}
	tiny, _ := Preset("tiny", 30522)
	p, need, _ := tiny.MemoryNeed(100000, 64, true)
	wantErr(t, checkMemory(p, need, machine, 100000, 64, true),
		"4433468 parameters need at least", "GiB for training with batches of 100000 rows of 64 tokens; this machine has 24.0 GiB")

	// 11.8e9 parameters: 176 GiB for training, refused wherever /proc/meminfo says less.
	big := Config{VocabSize: 30522, HiddenSize: 32768, NumLayers: 2, NumHeads: 2, IntermediateSize: 512, MaxPositions: 512,
		TypeVocabSize: 2, LayerNormEps: 1e-12, InitializerRange: 0.02}
	if total, ok := MemTotal(); ok && total < 170<<30 {
		wantErr(t, big.CheckMemory(8, 64, true), "parameters need at least", "this machine has")
	}
	if got, ok := parseMemTotal([]byte("MemFree: 1 kB\nMemTotal:       24684100 kB\n")); !ok || got != 24684100*1024 {
		t.Errorf("parseMemTotal = %d, %v", got, ok)
	}
	if _, ok := parseMemTotal([]byte("nothing here\n")); ok {
		t.Error("parseMemTotal found a total in a file without one")
	}
}

// TestCheckShards checks the errors for directories that are not readable kiln shards: each
// names the directory, its manifest or the shard.
func TestCheckShards(t *testing.T) {
	empty := t.TempDir()
	_, err := CheckShards(empty)
	wantErr(t, err, empty+" is not a kiln shards directory (no manifest.json; an interrupted prep leaves .progress.json")
	if err := os.WriteFile(filepath.Join(empty, shards.ProgressName), []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = CheckShards(empty)
	wantErr(t, err, empty, "a prep run was interrupted: rerun it to finish")

	good := t.TempDir()
	m := writeTestShards(t, good, 40, "", "zstd")
	if _, err := CheckShards(good); err != nil {
		t.Fatal(err)
	}
	// A shard whose size no longer matches the manifest.
	trunc := t.TempDir()
	writeTestShards(t, trunc, 40, "", "zstd")
	shard := filepath.Join(trunc, filepath.FromSlash(m.Shards[0].File))
	if err := os.Truncate(shard, m.Shards[0].Bytes-3); err != nil {
		t.Fatal(err)
	}
	_, err = CheckShards(trunc)
	wantErr(t, err, shard, "manifest.json says")
	wantMismatch(t, err, trunc)

	// Manifest info edited: each is named with the manifest.
	for _, tc := range []struct {
		name string
		edit func(*shards.Info) // nil: replace "task":"nsp" by "task":"mlm" in the JSON
		want string
	}{
		{"task", nil, `Task "mlm": want nsp, sop or none`},
		{"special id", func(in *shards.Info) { in.Special.MASK = 5000 }, "special"},
		{"max_seq_len", func(in *shards.Info) { in.MaxSeqLen = 0 }, "max_seq_len 0: must be at least 3"},
		{"vocab_size", func(in *shards.Info) { in.VocabSize = 0 }, "vocab size 0: must be positive"},
		// Valid, but not what the shards' schema says.
		{"max_seq_len differs", func(in *shards.Info) { in.MaxSeqLen = 32 }, "max_seq_len 32 in the manifest vs 64 in the shard"},
		{"task differs", func(in *shards.Info) { in.Task = pairing.SOP }, `task "sop" in the manifest vs "nsp" in the shard`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeTestShards(t, dir, 40, "", "zstd")
			mpath := filepath.Join(dir, shards.ManifestName)
			if tc.edit == nil { // a task no pairing.Task holds: edit the text
				b, err := os.ReadFile(mpath)
				if err != nil {
					t.Fatal(err)
				}
				b = bytes.Replace(b, []byte(`"task": "nsp"`), []byte(`"task": "mlm"`), 1)
				if err := os.WriteFile(mpath, b, 0o644); err != nil {
					t.Fatal(err)
				}
			} else {
				editManifest(t, mpath, func(m *shards.Manifest) { tc.edit(&m.Info) })
			}
			_, err := CheckShards(dir)
			wantErr(t, err, mpath, tc.want)
		})
	}
	none := t.TempDir()
	writeTestShards(t, none, 40, "", "zstd")
	editManifest(t, filepath.Join(none, shards.ManifestName), func(m *shards.Manifest) { m.Shards = nil })
	_, err = CheckShards(none)
	wantErr(t, err, filepath.Join(none, shards.ManifestName), "lists no shards")
}

func editManifest(t *testing.T, path string, edit func(*shards.Manifest)) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m shards.Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	edit(&m)
	if b, err = json.Marshal(&m); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestLoaderNamesBadRow checks that a row whose bytes were changed in place (same size, so the
// manifest check passes) stops the loader with an error naming the shard and the row, rather
// than the model's "batch row" of an unknown file.
func TestLoaderNamesBadRow(t *testing.T) {
	dir := t.TempDir()
	m := writeTestShards(t, dir, 40, "", "none")
	path := filepath.Join(dir, filepath.FromSlash(m.Shards[0].File))
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// The first row's ids, stored uncompressed as uint16: change its second id to 65535.
	rows := randomBatch(rand.New(rand.NewPCG(11, 40)), 40, 24, 120)
	var pat []byte
	for _, id := range rows[0].InputIDs[:6] {
		pat = binary.LittleEndian.AppendUint16(pat, uint16(id))
	}
	i := bytes.Index(b, pat)
	if i < 0 || bytes.Index(b[i+1:], pat) >= 0 {
		t.Fatalf("the first row's ids are not found once in %s", path)
	}
	b[i+2], b[i+3] = 0xff, 0xff
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	// The manifest agrees with the file (a row written wrong, not a file changed later: that
	// is the sha256 check's case).
	sum := sha256.Sum256(b)
	editManifest(t, filepath.Join(dir, shards.ManifestName), func(m *shards.Manifest) { m.Shards[0].SHA256 = hex.EncodeToString(sum[:]) })
	l, err := NewLoader(context.Background(), LoaderConfig{Dir: dir, BatchSize: 8, Epochs: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, err = l.Next(context.Background())
	wantErr(t, err, path+" row 0", "id 65535 outside vocabulary of 120")
	wantMismatch(t, err, dir)
}

// TestTrainRefusesModelData checks the up-front checks of the data against the model: nothing
// is written to the output directory.
func TestTrainRefusesModelData(t *testing.T) {
	data := t.TempDir()
	writeTestShards(t, data, 40, "", "zstd")
	mpath := filepath.Join(data, shards.ManifestName)
	for _, tc := range []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"positions", func(c *Config) { c.MaxPositions = 32 }, "rows of up to max_seq_len 64 tokens, more than the model's max_position_embeddings 32"},
		{"type vocab", func(c *Config) { c.TypeVocabSize = 1 }, "task nsp rows have two segments (token types 0 and 1), but the model's type_vocab_size is 1"},
		{"vocab", func(c *Config) { c.VocabSize = 100 }, "vocabulary (120 ids) is larger than the model's vocab_size 100"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := testConfig()
			tc.edit(&c)
			out := filepath.Join(t.TempDir(), "run")
			_, err := Train(context.Background(), TrainConfig{Data: data, Out: out, Model: c, ModelSource: "x.json",
				Optimizer: DefaultOptimizer(1e-3, 0, 2), Steps: 2, BatchSize: 4})
			wantErr(t, err, "model config x.json", mpath, tc.want)
			if _, err := os.Stat(out); !os.IsNotExist(err) {
				t.Errorf("the refused run created %s", out)
			}
		})
	}
}

// TestTrainRefusesSettings checks the optimizer settings Train refuses before it starts.
func TestTrainRefusesSettings(t *testing.T) {
	data := t.TempDir()
	writeTestShards(t, data, 40, "", "zstd")
	for _, tc := range []struct {
		name string
		edit func(*OptimizerConfig)
		want string
	}{
		{"lr -1", func(o *OptimizerConfig) { o.LR = -1 }, "Optimizer.LR -1: want a positive, finite learning rate"},
		{"lr NaN", func(o *OptimizerConfig) { o.LR = math.NaN() }, "Optimizer.LR NaN"},
		{"lr Inf", func(o *OptimizerConfig) { o.LR = math.Inf(1) }, "Optimizer.LR +Inf"},
		{"Optimizer.WeightDecay NaN", func(o *OptimizerConfig) { o.WeightDecay = math.NaN() }, "Optimizer.WeightDecay NaN"},
		{"Optimizer.WeightDecay -1", func(o *OptimizerConfig) { o.WeightDecay = -1 }, "Optimizer.WeightDecay -1"},
		{"warmup -1", func(o *OptimizerConfig) { o.Warmup = -1 }, "Optimizer.Warmup -1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opt := DefaultOptimizer(1e-3, 0, 2)
			tc.edit(&opt)
			_, err := Train(context.Background(), TrainConfig{Data: data, Out: t.TempDir(), Model: testConfig(), Optimizer: opt, Steps: 2, BatchSize: 4})
			wantErr(t, err, tc.want)
		})
	}
}

// TestTrainResumeChecks checks what a resumed run must match: settings (named as flags), the
// model when one is named, the data's vocabulary and identity; that checkpoints without the
// data fields still resume; and that a resume without a checkpoint says it starts afresh.
func TestTrainResumeChecks(t *testing.T) {
	ctx := context.Background()
	data, other, otherVocab := t.TempDir(), t.TempDir(), t.TempDir()
	writeTestShards(t, data, 40, strings.Repeat("a", 64), "zstd")
	writeTestShards(t, other, 48, strings.Repeat("a", 64), "zstd")
	writeTestShards(t, otherVocab, 40, strings.Repeat("b", 64), "zstd")
	var log bytes.Buffer
	cfg := TrainConfig{Data: data, Out: t.TempDir(), Model: testConfig(), Optimizer: DefaultOptimizer(1e-3, 1, 0), Steps: 2,
		BatchSize: 4, Seed: 3, CheckpointEvery: 2, Resume: true, Log: &log}
	if _, err := Train(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), "no checkpoint in "+cfg.Out+": starting from step 0") {
		t.Errorf("a resume without a checkpoint did not say it starts afresh: %q", log.String())
	}
	ckpt := filepath.Join(cfg.Out, "checkpoint-00000002")

	more := cfg
	more.Steps = 4
	_, err := Train(ctx, more)
	wantErr(t, err, "resume "+ckpt, "OptimizerConfig.TotalSteps 2 (checkpoint) vs 4 (now)", "resume with the same settings")
	if strings.Contains(err.Error(), "{") {
		t.Errorf("the settings are dumped as Go structs: %v", err)
	}
	lr := cfg
	lr.Optimizer.LR, lr.Seed = 2e-3, 4
	_, err = Train(ctx, lr)
	wantErr(t, err, "TrainConfig.Seed 3 (checkpoint) vs 4 (now)", "OptimizerConfig.LR 0.001 (checkpoint) vs 0.002 (now)")

	bigger := cfg
	bigger.Model.HiddenSize, bigger.CheckModel, bigger.ModelSource = 64, true, "big.json"
	_, err = Train(ctx, bigger)
	wantErr(t, err, "differs from TrainConfig.Model big.json", "hidden_size 32 (checkpoint) vs 64 (TrainConfig.Model)", "leave TrainConfig.CheckModel false")
	bigger.CheckModel = false // the model was not named: the checkpoint's is used
	if _, err := Train(ctx, bigger); err != nil {
		t.Errorf("resume without a named model: %v", err)
	}

	ov := cfg
	ov.Data = otherVocab
	_, err = Train(ctx, ov)
	wantErr(t, err, "TrainConfig.Data "+otherVocab+" holds shards made with another vocabulary", strings.Repeat("b", 64), "in "+data)
	od := cfg
	od.Data = other
	_, err = Train(ctx, od)
	wantErr(t, err, "TrainConfig.Data "+other+" holds other shards than the checkpoint was trained on ("+data)

	// A checkpoint of an older kiln, without the data fields, resumes on other data.
	statePath := filepath.Join(ckpt, StateFile)
	b, err := os.ReadFile(statePath)
	if err != nil {
		t.Fatal(err)
	}
	var st map[string]any
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"vocab_sha256", "data_sha256", "data"} {
		if _, ok := st[k]; !ok {
			t.Errorf("trainer_state.json lacks %s", k)
		}
		delete(st, k)
	}
	b, _ = json.Marshal(st)
	if err := os.WriteFile(statePath, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Train(ctx, od); err != nil {
		t.Errorf("resume of a checkpoint without the data fields: %v", err)
	}
}

// TestTrainNaNWithoutCheckpoint checks the message when the loss turns non-finite before any
// checkpoint was written.
func TestTrainNaNWithoutCheckpoint(t *testing.T) {
	data := t.TempDir()
	writeTestShards(t, data, 40, "", "zstd")
	cfg := TrainConfig{Data: data, Out: t.TempDir(), Model: testConfig(), Optimizer: DefaultOptimizer(1e30, 0, 10),
		Steps: 10, BatchSize: 8, Seed: 1, CheckpointEvery: 100}
	cfg.Optimizer.ClipNorm = 0
	_, err := Train(context.Background(), cfg)
	if !errors.Is(err, ErrNonFinite) {
		t.Fatalf("err = %v, want ErrNonFinite", err)
	}
	wantErr(t, err, "no checkpoint was written before it")
	if strings.Contains(err.Error(), `""`) {
		t.Errorf("error names an empty checkpoint: %v", err)
	}
}

// TestNonFiniteWeights checks that a model directory with a NaN weight is refused when loaded,
// naming the tensor, and that Eval refuses a non-finite loss instead of returning it.
func TestNonFiniteWeights(t *testing.T) {
	m, err := NewModel(testConfig(), rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	ts := m.Tensors()
	for i := range ts {
		if ts[i].Name == "bert.pooler.dense.weight" {
			ts[i].Data[5] = float32(math.NaN())
		}
	}
	dir := t.TempDir()
	if err := m.Save(dir); err != nil {
		t.Fatal(err)
	}
	if err := WriteSafetensors(filepath.Join(dir, WeightsFile), ts, nil); err != nil {
		t.Fatal(err)
	}
	_, err = LoadModel(dir)
	wantErr(t, err, filepath.Join(dir, WeightsFile), `tensor "bert.pooler.dense.weight" holds NaN at index 5`)

	// Finite weights so large that the loss overflows.
	for i := range ts {
		for j := range ts[i].Data {
			ts[i].Data[j] = 3e38
		}
	}
	if err := m.SetTensors(ts); err != nil {
		t.Fatal(err)
	}
	data := t.TempDir()
	writeTestShards(t, data, 16, "", "zstd")
	_, err = Eval(context.Background(), m, EvalConfig{Data: data, BatchSize: 8})
	wantErr(t, err, "loss is not finite")
}

// TestEvalVocabulary checks that a kiln checkpoint, which records the vocabulary of its
// training shards, refuses shards made with another one, and that other checkpoints are held
// to the vocabulary size.
func TestEvalVocabulary(t *testing.T) {
	ctx := context.Background()
	data, otherVocab := t.TempDir(), t.TempDir()
	writeTestShards(t, data, 16, strings.Repeat("a", 64), "zstd")
	writeTestShards(t, otherVocab, 16, strings.Repeat("b", 64), "zstd")
	cfg := TrainConfig{Data: data, Out: t.TempDir(), Model: testConfig(), Optimizer: DefaultOptimizer(1e-3, 0, 1), Steps: 1, BatchSize: 4}
	res, err := Train(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	m, err := LoadModel(res.Checkpoint)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Eval(ctx, m, EvalConfig{Data: data}); err != nil {
		t.Errorf("eval on the training data: %v", err)
	}
	_, err = Eval(ctx, m, EvalConfig{Data: otherVocab})
	wantErr(t, err, filepath.Join(otherVocab, shards.ManifestName), "another vocabulary", strings.Repeat("a", 64))

	// A model directory without trainer_state.json (as transformers writes): only the size.
	small := testConfig()
	small.VocabSize = 100
	sm, err := NewModel(small, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := sm.Save(dir); err != nil {
		t.Fatal(err)
	}
	if sm, err = LoadModel(dir); err != nil {
		t.Fatal(err)
	}
	_, err = Eval(ctx, sm, EvalConfig{Data: otherVocab})
	wantErr(t, err, "vocabulary (120 ids) is larger than the model's vocab_size 100")
}
