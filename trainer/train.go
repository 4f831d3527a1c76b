package trainer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"github.com/kiln-bert/kiln/masking"
	"github.com/kiln-bert/kiln/shards"
	"github.com/kiln-bert/kiln/tokenize"
)

// Output files of a training run, in TrainConfig.Out. Train writes MetricsFile; LossPlotFile is
// the loss curve a front end draws there from the metrics (kiln train does, in
// TrainConfig.AfterCheckpoint), which Train counts as a file of the run (see ErrForeignOut).
const (
	MetricsFile  = "metrics.jsonl"
	LossPlotFile = "loss.png"
)

// TrainConfig describes a training run.
type TrainConfig struct {
	Data string // directory of kiln shards (ignored when Source is set)
	// Out is the output directory: checkpoints, metrics.jsonl, loss.png. It must be missing,
	// empty or a training run's (it holds OutMarker, or checkpoints); else Train refuses it
	// (ErrForeignOut) before it writes anything.
	Out string
	// Model is the configuration of a fresh model; a resumed run takes the checkpoint's, and
	// refuses it when CheckModel is set and it differs from Model (the user named a model).
	Model      Config
	CheckModel bool
	// ModelSource says where Model came from (a preset name or a config.json path), for messages.
	ModelSource string
	// SeqLen is the longest row NewSource produces, for the memory estimate (Config.CheckMemory);
	// 0: unknown (only the weights are counted). With Data, the manifest's max_seq_len is used.
	SeqLen    int
	Optimizer OptimizerConfig // TotalSteps defaults to Steps
	Steps     int             // number of updates in the whole run
	BatchSize int
	Seed      uint64
	// LogEvery is the number of steps between metric lines (default 10); CheckpointEvery the
	// number between checkpoints (default 1000; a checkpoint is also written at the end).
	LogEvery, CheckpointEvery int
	// Resume continues from the newest complete checkpoint in Out (a fresh start, said in Log,
	// when there is none): weights, optimiser moments, step, dropout generator and data
	// position. The checkpoint's seed, batch size, optimizer settings and, where it records
	// them, the vocabulary and identity of its training shards must match cfg's.
	Resume        bool
	ShuffleBuffer int             // rows; default shards.DefaultShuffleBuffer
	Masker        *masking.Masker // for unmasked shards
	// EvalMasker masks unmasked EvalData shards; nil means Masker.
	EvalMasker *masking.Masker
	// Source, when set, replaces the shard loader (e.g. the pipelined pretrain command); it
	// must start at the position it is given through NewSource.
	NewSource func(ctx context.Context, start Position) (Source, error)
	// SourceConfig, with NewSource, is what makes the source's data (e.g. the pretrain
	// command's corpus and prep settings, as JSON). Checkpoints record it, and a resume with
	// another one is refused, naming the settings that differ.
	SourceConfig json.RawMessage
	// EvalData, when set, is evaluated (first EvalRows rows, default 1000) at each checkpoint.
	EvalData string
	EvalRows int64
	Log      io.Writer // one line per logging step; nil: none
	// Tokenizer, when set, is the tokenizer of the training data: every checkpoint then also
	// holds its files as transformers saves a BertTokenizerFast (vocab.txt, tokenizer.json,
	// tokenizer_config.json, special_tokens_map.json), so that AutoTokenizer.from_pretrained
	// and pipeline("fill-mask") load the checkpoint directory as it is.
	Tokenizer *tokenize.Tokenizer
	// AfterCheckpoint, when set, is called after each checkpoint is written (and evaluated)
	// with its directory and the metrics of the whole run so far (kiln train draws
	// LossPlotFile from them). An error stops the run.
	AfterCheckpoint func(checkpoint string, history []Metrics) error
}

// Metrics is one logging step, as written to metrics.jsonl.
type Metrics struct {
	Step         int         `json:"step"`
	Loss         float64     `json:"loss"`
	MLMLoss      float64     `json:"mlm_loss"`
	NSPLoss      float64     `json:"nsp_loss"`
	MLMAccuracy  float64     `json:"mlm_accuracy"`
	NSPAccuracy  float64     `json:"nsp_accuracy"`
	LR           float64     `json:"lr"`
	GradNorm     float64     `json:"grad_norm"`
	TokensPerSec float64     `json:"tokens_per_sec"`
	DataWait     float64     `json:"data_wait"` // share of wall time spent waiting for batches
	Elapsed      float64     `json:"elapsed_s"`
	Eval         *EvalResult `json:"eval,omitempty"`
}

// TrainResult summarises a finished run.
type TrainResult struct {
	Steps      int       // step reached
	Last       Metrics   // last logged metrics
	Checkpoint string    // last checkpoint written
	History    []Metrics // metrics of the whole run (resumed runs included)
}

// Train trains a BERT model for pretraining as cfg says. It stops at cfg.Steps, when ctx is
// cancelled (returning ctx's error, the last checkpoint kept), or when the loss turns NaN or
// infinite (returning an error wrapping ErrNonFinite; no checkpoint is written after the last
// good one). Before anything is written or allocated it checks the settings, the data's
// manifest (see CheckShards) against the model, and the model's memory need against this
// machine's memory (see Config.CheckMemory).
//
// Errors name the file, row or setting at fault; settings are named as TrainConfig's fields
// (TrainConfig.Validate's *setting.Error: "BatchSize", "Optimizer.LR"; elsewhere qualified:
// "TrainConfig.Seed"), for a front end to name its own.
func Train(ctx context.Context, cfg TrainConfig) (*TrainResult, error) {
	r, err := setup(cfg)
	if err != nil {
		return nil, err
	}
	if err := r.resumeOrInit(); err != nil {
		return nil, err
	}
	if r.opt.step >= r.cfg.Steps {
		return &r.res, nil
	}
	// The source starts before a fresh model's weights are drawn: its goroutines read and
	// prepare the first batches meanwhile, so that the first step waits for the slower of the
	// two, not for both one after the other.
	src, err := r.openSource(ctx)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	if r.model == nil { // a fresh run: init checked its model, made now
		if err := r.initModel(); err != nil {
			return nil, err
		}
	}
	metrics, err := os.OpenFile(filepath.Join(r.cfg.Out, MetricsFile), os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, err
	}
	defer metrics.Close()
	err = r.loop(ctx, src, metrics)
	return &r.res, err
}

// trainRun is one call of Train: its settings, the data it reads, and the state a checkpoint
// saves.
type trainRun struct {
	cfg          TrainConfig // with the defaults filled in
	man, evalMan *shards.Manifest
	seqLen       int             // longest row, for the memory check
	evalMasker   *masking.Masker // masks unmasked EvalData shards
	dataVocab    string          // the training shards' kiln.vocab_sha256, when known

	model *Model // nil in a fresh run until initModel makes it, once the source has started
	opt   *AdamW
	pos   Position  // the data position after the last step
	drng  *rand.PCG // dropout generator
	res   TrainResult
}

// setup checks the settings and the data's manifests (nothing is written yet) and fills in the
// defaults.
func setup(cfg TrainConfig) (*trainRun, error) {
	if cfg.LogEvery == 0 {
		cfg.LogEvery = 10
	}
	if cfg.CheckpointEvery == 0 {
		cfg.CheckpointEvery = 1000
	}
	if cfg.EvalRows == 0 {
		cfg.EvalRows = 1000
	}
	if cfg.Optimizer.TotalSteps == 0 {
		cfg.Optimizer.TotalSteps = cfg.Steps
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Tokenizer != nil { // fail now, not at the first checkpoint
		if err := cfg.Tokenizer.CanWriteHF(); err != nil {
			return nil, fmt.Errorf("TrainConfig.Tokenizer: %w", err)
		}
	}
	r := &trainRun{cfg: cfg, seqLen: cfg.SeqLen, evalMasker: cfg.EvalMasker, drng: rand.NewPCG(cfg.Seed, 0x64726f70)}
	if r.evalMasker == nil {
		r.evalMasker = cfg.Masker
	}
	var err error
	if cfg.NewSource == nil {
		if r.man, err = CheckShards(cfg.Data); err != nil {
			return nil, err
		}
		r.seqLen = r.man.Info.MaxSeqLen
		r.dataVocab = r.man.Metadata[shards.MetaVocabSHA256]
	}
	if cfg.EvalData != "" { // fail now, not at the first checkpoint
		if r.evalMan, err = CheckShards(cfg.EvalData); err != nil {
			return nil, fmt.Errorf("TrainConfig.EvalData: %w", err)
		}
		for _, sh := range r.evalMan.Shards { // read at every checkpoint: check them once, now
			if err := shards.CheckFile(cfg.EvalData, sh); err != nil {
				return nil, fmt.Errorf("TrainConfig.EvalData: %w", err)
			}
		}
		if !r.evalMan.Info.Static && r.evalMasker == nil {
			return nil, fmt.Errorf("TrainConfig.EvalData %s is not masked and no masker was given for it", cfg.EvalData)
		}
	}
	return r, nil
}

// checkModel checks a model configuration (from source; trained on shards of the vocabulary
// vocabSHA256, when known) against the data and the memory.
func (r *trainRun) checkModel(mc Config, source, vocabSHA256 string) error {
	if vocabSHA256 == "" {
		vocabSHA256 = r.dataVocab
	}
	if r.man != nil {
		if err := checkModelData(r.cfg.Data, r.man, mc, vocabSHA256); err != nil {
			return fmt.Errorf("model config %s: %w", source, err)
		}
	}
	if r.evalMan != nil {
		if err := checkModelData(r.cfg.EvalData, r.evalMan, mc, vocabSHA256); err != nil {
			return fmt.Errorf("TrainConfig.EvalData: model config %s: %w", source, err)
		}
	}
	if err := mc.CheckMemory(r.cfg.BatchSize, r.seqLen, true); err != nil {
		return fmt.Errorf("model config %s: %w", source, err)
	}
	return nil
}

// resumeOrInit checks the output directory, then loads the newest checkpoint there
// (TrainConfig.Resume) or makes a fresh model, and claims the directory for the run.
func (r *trainRun) resumeOrInit() error {
	out := r.cfg.Out
	// Nothing is replaced in a directory that another tool, or the user, filled.
	if err := checkOut(out); err != nil {
		return err
	}
	// Checkpoints cut short by a kill are left under temporary names: remove them.
	if tmps, err := filepath.Glob(filepath.Join(out, "."+ckptPrefix+"*.tmp")); err == nil {
		for _, p := range tmps {
			if err := os.RemoveAll(p); err != nil {
				return err
			}
		}
	}
	ckpts, err := listCheckpoints(out)
	if err != nil {
		return err
	}
	switch {
	case r.cfg.Resume && len(ckpts) > 0:
		last := ckpts[len(ckpts)-1]
		if err := r.resume(last); err != nil {
			return fmt.Errorf("resume %s: %w", last, err)
		}
		logf(r.cfg.Log, "resuming from %s (step %d)\n", last, r.opt.step)
	case len(ckpts) > 0:
		return fmt.Errorf("%s already holds checkpoints: resume them (TrainConfig.Resume) or choose another TrainConfig.Out", out)
	default:
		if err := r.init(); err != nil {
			return err
		}
		if r.cfg.Resume {
			logf(r.cfg.Log, "no checkpoint in %s: starting from step 0\n", out)
		}
	}
	if err := claimOut(out); err != nil {
		return err
	}
	if err := writeMetrics(filepath.Join(out, MetricsFile), r.res.History); err != nil {
		return err
	}
	r.res.Steps = r.opt.step
	return nil
}

// resume restores the run from the checkpoint in dir: weights, optimiser, dropout generator,
// data position and the metrics logged up to it.
func (r *trainRun) resume(dir string) error {
	if err := checkResume(dir, r.cfg, r.man, r.checkModel); err != nil {
		return err
	}
	model, opt, st, err := loadCheckpoint(dir, r.cfg.Optimizer)
	if err != nil {
		return err
	}
	if err := r.drng.UnmarshalBinary(st.DropoutRNG); err != nil {
		return fmt.Errorf("%s: dropout generator: %w", StateFile, err)
	}
	if model.vocabSHA256 == "" {
		model.vocabSHA256 = r.dataVocab
	}
	r.model, r.opt, r.pos = model, opt, st.Position
	r.res.Checkpoint = dir
	if r.res.History, err = readMetrics(filepath.Join(r.cfg.Out, MetricsFile), opt.step); err != nil {
		return err
	}
	if n := len(r.res.History); n > 0 {
		r.res.Last = r.res.History[n-1]
	}
	return nil
}

// init checks TrainConfig.Model for a fresh run, whose model and optimiser initModel makes
// once the source has started; until then r.opt is an optimiser at step 0 without moments.
func (r *trainRun) init() error {
	source := r.cfg.ModelSource
	if source == "" {
		source = "(TrainConfig.Model)"
	}
	if err := r.checkModel(r.cfg.Model, source, ""); err != nil {
		return err
	}
	// Checked now, as NewModel would (the same error), so that initModel cannot fail.
	if err := r.cfg.Model.Validate(); err != nil {
		return fmt.Errorf("model config %s: model config: %w", source, err)
	}
	r.opt = &AdamW{cfg: r.cfg.Optimizer}
	return nil
}

// initModel makes the fresh model of TrainConfig.Model (init checked it), its weights drawn
// as NewModel draws them from the run's seed, and its optimiser.
func (r *trainRun) initModel() error {
	model, err := NewModel(r.cfg.Model, rand.New(rand.NewPCG(r.cfg.Seed, 0x696e6974)))
	if err != nil {
		return err
	}
	model.vocabSHA256 = r.dataVocab
	r.model, r.opt = model, NewAdamW(r.cfg.Optimizer, model)
	return nil
}

// openSource starts the data at the run's position: TrainConfig.NewSource, or a shuffling
// Loader over TrainConfig.Data.
func (r *trainRun) openSource(ctx context.Context) (Source, error) {
	if r.cfg.NewSource != nil {
		return r.cfg.NewSource(ctx, r.pos)
	}
	return NewLoader(ctx, LoaderConfig{Dir: r.cfg.Data, BatchSize: r.cfg.BatchSize, Seed: r.cfg.Seed,
		Shuffle: true, ShuffleBuffer: r.cfg.ShuffleBuffer, Masker: r.cfg.Masker, Start: r.pos})
}

// loop trains from the run's step to TrainConfig.Steps on batches of src: one update per
// batch; every LogEvery steps a metrics line (to Log and metrics), every CheckpointEvery steps
// and at the end a checkpoint.
func (r *trainRun) loop(ctx context.Context, src Source, metrics io.Writer) error {
	dropRNG := rand.New(r.drng)
	runStart := time.Now()
	win := newWindow()
	for r.opt.step < r.cfg.Steps {
		t0 := time.Now()
		b, err := src.Next(ctx)
		win.wait += time.Since(t0)
		if err == io.EOF {
			return fmt.Errorf("the data ended at step %d of %d", r.opt.step, r.cfg.Steps)
		}
		if err != nil {
			return err
		}
		if len(b.Rows) < r.cfg.BatchSize {
			// The last, partial batch of a finite source: train on it all the same.
			logf(r.cfg.Log, "step %d: partial batch of %d rows\n", r.opt.step+1, len(b.Rows))
		}
		st, err := r.model.TrainStep(ctx, b.Rows, r.opt, dropRNG)
		if err != nil {
			return r.stepError(err)
		}
		r.pos = b.Next
		r.res.Steps = r.opt.step
		win.add(st)
		ckpt := r.opt.step%r.cfg.CheckpointEvery == 0 || r.opt.step == r.cfg.Steps
		// A checkpoint step is also a logging step, so that its evaluation has a line.
		if r.opt.step%r.cfg.LogEvery != 0 && !ckpt {
			continue
		}
		r.res.History = append(r.res.History, win.metrics(r.opt.step, st.LR, runStart))
		r.logLine(r.res.History[len(r.res.History)-1])
		if ckpt { // before the line is written: the evaluation goes into it
			if err := r.checkpoint(ctx); err != nil {
				return fmt.Errorf("checkpoint at step %d: %w", r.opt.step, err)
			}
		}
		r.res.Last = r.res.History[len(r.res.History)-1]
		if err := writeMetric(metrics, r.res.Last); err != nil {
			return err
		}
		// The next window starts after the checkpoint: its time is not training time.
		win = newWindow()
	}
	return nil
}

// stepError is the error that ends the run after a failed update; a non-finite loss also goes
// to Log, with the last good checkpoint.
func (r *trainRun) stepError(err error) error {
	if !errors.Is(err, ErrNonFinite) {
		return err
	}
	if r.res.Checkpoint == "" {
		err = fmt.Errorf("training stopped: %w; no checkpoint was written before it", err)
	} else {
		err = fmt.Errorf("training stopped: %w; the last good checkpoint is %s", err, r.res.Checkpoint)
	}
	logf(r.cfg.Log, "%v\n", err)
	return err
}

// logLine writes a metrics line to Log.
func (r *trainRun) logLine(mt Metrics) {
	logf(r.cfg.Log, "step %6d  loss %.4f  mlm %.4f  nsp %.4f  mlm_acc %.3f  nsp_acc %.3f  lr %.3g  %.0f tok/s\n",
		mt.Step, mt.Loss, mt.MLMLoss, mt.NSPLoss, mt.MLMAccuracy, mt.NSPAccuracy, mt.LR, mt.TokensPerSec)
}

// checkpoint saves the run at its step; with EvalData, evaluates the model and adds the result
// to the step's metrics; then calls AfterCheckpoint.
func (r *trainRun) checkpoint(ctx context.Context) error {
	st := trainerState{Format: stateFormat, Step: r.opt.step, Position: r.pos, Seed: r.cfg.Seed, BatchSize: r.cfg.BatchSize,
		Optimizer: r.opt.cfg, VocabSHA256: r.model.vocabSHA256}
	if r.man != nil {
		st.DataSHA256, st.Data = dataIdentity(r.man), r.cfg.Data
	}
	if r.cfg.NewSource != nil {
		st.SourceConfig = r.cfg.SourceConfig
	}
	var err error
	if st.DropoutRNG, err = r.drng.MarshalBinary(); err != nil {
		return err
	}
	path, err := saveCheckpoint(r.cfg.Out, r.model, r.opt, st, r.cfg.Tokenizer)
	if err != nil {
		return err
	}
	r.res.Checkpoint = path
	if r.cfg.EvalData != "" {
		ev, err := Eval(ctx, r.model, EvalConfig{Data: r.cfg.EvalData, Limit: r.cfg.EvalRows, BatchSize: r.cfg.BatchSize,
			Masker: r.evalMasker, Seed: r.cfg.Seed})
		if err != nil {
			return fmt.Errorf("TrainConfig.EvalData: %w", err)
		}
		logf(r.cfg.Log, "eval at step %d: %s\n", r.opt.step, ev)
		if h := r.res.History; len(h) > 0 && h[len(h)-1].Step == r.opt.step {
			h[len(h)-1].Eval = &ev
		}
	}
	if r.cfg.AfterCheckpoint != nil {
		return r.cfg.AfterCheckpoint(path, r.res.History)
	}
	return nil
}

func logf(w io.Writer, format string, args ...any) {
	if w != nil {
		fmt.Fprintf(w, format, args...)
	}
}
