package trainer

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"github.com/kiln-bert/kiln/internal/atomicfile"
	"github.com/kiln-bert/kiln/masking"
	"github.com/kiln-bert/kiln/shards"
	"github.com/kiln-bert/kiln/tokenize"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// Output files of a training run, in TrainConfig.Out.
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
	ShuffleBuffer int             // rows; default 8192
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
func Train(ctx context.Context, cfg TrainConfig) (*TrainResult, error) {
	if cfg.Steps <= 0 || cfg.BatchSize <= 0 {
		return nil, fmt.Errorf("train: steps %d and batch size %d must be positive", cfg.Steps, cfg.BatchSize)
	}
	if cfg.LogEvery <= 0 {
		cfg.LogEvery = 10
	}
	if cfg.CheckpointEvery <= 0 {
		cfg.CheckpointEvery = 1000
	}
	if cfg.Optimizer.TotalSteps == 0 {
		cfg.Optimizer.TotalSteps = cfg.Steps
	}
	if err := cfg.Optimizer.Validate(); err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	if cfg.Tokenizer != nil { // fail now, not at the first checkpoint
		if err := cfg.Tokenizer.CanWriteHF(); err != nil {
			return nil, fmt.Errorf("train: the checkpoints' tokenizer: %w", err)
		}
	}
	// The data's manifests, checked before anything is written.
	var man, evalMan *shards.Manifest
	var err error
	seqLen := cfg.SeqLen
	if cfg.NewSource == nil {
		if man, err = CheckShards(cfg.Data); err != nil {
			return nil, fmt.Errorf("train: %w", err)
		}
		seqLen = man.Info.MaxSeqLen
	}
	evalMasker := cfg.EvalMasker
	if evalMasker == nil {
		evalMasker = cfg.Masker
	}
	if cfg.EvalData != "" { // fail now, not at the first checkpoint
		if evalMan, err = CheckShards(cfg.EvalData); err != nil {
			return nil, fmt.Errorf("train: eval data (--eval-data): %w", err)
		}
		for _, sh := range evalMan.Shards { // read at every checkpoint: check them once, now
			if err := shards.CheckFile(cfg.EvalData, sh); err != nil {
				return nil, fmt.Errorf("train: eval data (--eval-data): %w", err)
			}
		}
		if !evalMan.Info.Static && evalMasker == nil {
			return nil, fmt.Errorf("train: eval data (--eval-data) %s is not masked and no masker was given for it", cfg.EvalData)
		}
	}
	var dataVocab string // the training shards' kiln.vocab_sha256, when known
	if man != nil {
		dataVocab = man.Metadata[shards.MetaVocabSHA256]
	}

	// checkModel checks a model configuration (from source; trained on shards of the
	// vocabulary vocabSHA256, when known) against the data and the memory.
	checkModel := func(mc Config, source, vocabSHA256 string) error {
		if vocabSHA256 == "" {
			vocabSHA256 = dataVocab
		}
		if man != nil {
			if err := checkModelData(cfg.Data, man, mc, vocabSHA256); err != nil {
				return fmt.Errorf("model config %s: %w", source, err)
			}
		}
		if evalMan != nil {
			if err := checkModelData(cfg.EvalData, evalMan, mc, vocabSHA256); err != nil {
				return fmt.Errorf("eval data (--eval-data): model config %s: %w", source, err)
			}
		}
		if err := mc.CheckMemory(cfg.BatchSize, seqLen, true); err != nil {
			return fmt.Errorf("model config %s: %w", source, err)
		}
		return nil
	}
	var (
		model *Model
		opt   *AdamW
		pos   Position
		drng  = rand.NewPCG(cfg.Seed, 0x64726f70)
	)
	res := &TrainResult{}
	// Nothing is replaced in a directory that another tool, or the user, filled.
	if err := checkOut(cfg.Out); err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	// Checkpoints cut short by a kill are left under temporary names: remove them.
	if tmps, err := filepath.Glob(filepath.Join(cfg.Out, "."+ckptPrefix+"*.tmp")); err == nil {
		for _, p := range tmps {
			if err := os.RemoveAll(p); err != nil {
				return nil, fmt.Errorf("train: %w", err)
			}
		}
	}
	ckpts, err := listCheckpoints(cfg.Out)
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	if cfg.Resume && len(ckpts) > 0 {
		last := ckpts[len(ckpts)-1]
		if err := checkResume(last, cfg, man, checkModel); err != nil {
			return nil, fmt.Errorf("train: resume %s: %w", last, err)
		}
		var st trainerState
		if model, opt, st, err = loadCheckpoint(last, cfg.Optimizer); err != nil {
			return nil, fmt.Errorf("train: %w", err)
		}
		if err := drng.UnmarshalBinary(st.DropoutRNG); err != nil {
			return nil, fmt.Errorf("train: resume %s: dropout generator: %w", last, err)
		}
		if model.vocabSHA256 == "" {
			model.vocabSHA256 = dataVocab
		}
		pos = st.Position
		res.Checkpoint = last
		if res.History, err = readMetrics(filepath.Join(cfg.Out, MetricsFile), opt.step); err != nil {
			return nil, fmt.Errorf("train: %w", err)
		}
		if n := len(res.History); n > 0 {
			res.Last = res.History[n-1]
		}
		logf(cfg.Log, "resuming from %s (step %d)\n", last, opt.step)
	} else {
		if len(ckpts) > 0 {
			return nil, fmt.Errorf("train: %s already holds checkpoints: resume them (kiln train --resume) or choose another output directory", cfg.Out)
		}
		source := cfg.ModelSource
		if source == "" {
			source = "(TrainConfig.Model)"
		}
		if err := checkModel(cfg.Model, source, ""); err != nil {
			return nil, fmt.Errorf("train: %w", err)
		}
		if cfg.Resume {
			logf(cfg.Log, "no checkpoint in %s: starting from step 0\n", cfg.Out)
		}
		if model, err = NewModel(cfg.Model, rand.New(rand.NewPCG(cfg.Seed, 0x696e6974))); err != nil {
			return nil, fmt.Errorf("train: %w", err)
		}
		model.vocabSHA256 = dataVocab
		opt = NewAdamW(cfg.Optimizer, model)
	}
	if err := claimOut(cfg.Out); err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	if err := writeMetrics(filepath.Join(cfg.Out, MetricsFile), res.History); err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	res.Steps = opt.step
	if opt.step >= cfg.Steps {
		return res, nil
	}

	var src Source
	if cfg.NewSource != nil {
		src, err = cfg.NewSource(ctx, pos)
	} else {
		src, err = NewLoader(ctx, LoaderConfig{Dir: cfg.Data, BatchSize: cfg.BatchSize, Seed: cfg.Seed,
			Shuffle: true, ShuffleBuffer: cfg.ShuffleBuffer, Masker: cfg.Masker, Start: pos})
	}
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	defer src.Close()

	mf, err := os.OpenFile(filepath.Join(cfg.Out, MetricsFile), os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	defer mf.Close()

	dropRNG := rand.New(drng)
	var acc StepStats // sums over the logging window
	var accN int
	var gradNorm float64
	winStart, wait := time.Now(), time.Duration(0)
	runStart := time.Now()
	checkpoint := func() error {
		st := trainerState{Format: stateFormat, Step: opt.step, Position: pos, Seed: cfg.Seed, BatchSize: cfg.BatchSize, Optimizer: opt.cfg,
			VocabSHA256: model.vocabSHA256}
		if man != nil {
			st.DataSHA256, st.Data = dataIdentity(man), cfg.Data
		}
		if cfg.NewSource != nil {
			st.SourceConfig = cfg.SourceConfig
		}
		if st.DropoutRNG, err = drng.MarshalBinary(); err != nil {
			return err
		}
		path, err := saveCheckpoint(cfg.Out, model, opt, st, cfg.Tokenizer)
		if err != nil {
			return err
		}
		res.Checkpoint = path
		if cfg.EvalData != "" {
			n := cfg.EvalRows
			if n <= 0 {
				n = 1000
			}
			ev, err := Eval(ctx, model, EvalConfig{Data: cfg.EvalData, Limit: n, BatchSize: cfg.BatchSize, Masker: evalMasker, Seed: cfg.Seed})
			if err != nil {
				return err
			}
			logf(cfg.Log, "eval at step %d: %s\n", opt.step, ev)
			if len(res.History) > 0 && res.History[len(res.History)-1].Step == opt.step {
				res.History[len(res.History)-1].Eval = &ev
			}
		}
		return plotLoss(filepath.Join(cfg.Out, LossPlotFile), res.History)
	}
	for opt.step < cfg.Steps {
		t0 := time.Now()
		b, err := src.Next(ctx)
		wait += time.Since(t0)
		if err == io.EOF {
			return res, fmt.Errorf("train: the data ended at step %d of %d", opt.step, cfg.Steps)
		}
		if err != nil {
			return res, fmt.Errorf("train: step %d: %w", opt.step+1, err)
		}
		if len(b.Rows) < cfg.BatchSize {
			// The last, partial batch of a finite source: train on it all the same.
			logf(cfg.Log, "step %d: partial batch of %d rows\n", opt.step+1, len(b.Rows))
		}
		r, err := model.TrainStep(ctx, b.Rows, opt, dropRNG)
		if err != nil {
			if errors.Is(err, ErrNonFinite) {
				if res.Checkpoint == "" {
					err = fmt.Errorf("train: stopped at step %d: %w; no checkpoint was written before it", opt.step+1, err)
				} else {
					err = fmt.Errorf("train: stopped at step %d: %w; the last good checkpoint is %s", opt.step+1, err, res.Checkpoint)
				}
				logf(cfg.Log, "%v\n", err)
				return res, err
			}
			return res, fmt.Errorf("train: %w", err)
		}
		pos = b.Next
		res.Steps = opt.step
		acc.Loss += r.Loss
		acc.MLMLoss += r.MLMLoss
		acc.NSPLoss += r.NSPLoss
		acc.MLMCorrect += r.MLMCorrect
		acc.MLMCount += r.MLMCount
		acc.NSPCorrect += r.NSPCorrect
		acc.NSPCount += r.NSPCount
		acc.Tokens += r.Tokens
		gradNorm += r.GradNorm
		accN++
		ckpt := opt.step%cfg.CheckpointEvery == 0 || opt.step == cfg.Steps
		// A checkpoint step is also a logging step, so that its evaluation has a line.
		if opt.step%cfg.LogEvery == 0 || ckpt {
			el := time.Since(winStart).Seconds()
			n := float64(accN)
			mt := Metrics{Step: opt.step, Loss: acc.Loss / n, MLMLoss: acc.MLMLoss / n, NSPLoss: acc.NSPLoss / n,
				MLMAccuracy: ratio(acc.MLMCorrect, acc.MLMCount), NSPAccuracy: ratio(acc.NSPCorrect, acc.NSPCount),
				LR: r.LR, GradNorm: gradNorm / n, TokensPerSec: float64(acc.Tokens) / el, DataWait: wait.Seconds() / el,
				Elapsed: time.Since(runStart).Seconds()}
			res.History = append(res.History, mt)
			logf(cfg.Log, "step %6d  loss %.4f  mlm %.4f  nsp %.4f  mlm_acc %.3f  nsp_acc %.3f  lr %.3g  %.0f tok/s\n",
				mt.Step, mt.Loss, mt.MLMLoss, mt.NSPLoss, mt.MLMAccuracy, mt.NSPAccuracy, mt.LR, mt.TokensPerSec)
			if ckpt { // before the line is written: the evaluation goes into it
				if err := checkpoint(); err != nil {
					return res, fmt.Errorf("train: step %d: %w", opt.step, err)
				}
			}
			res.Last = res.History[len(res.History)-1]
			line, _ := json.Marshal(res.Last)
			if _, err := mf.Write(append(line, '\n')); err != nil {
				return res, fmt.Errorf("train: %w", err)
			}
			// The next window starts after the checkpoint: its time is not training time.
			acc, accN, gradNorm, wait, winStart = StepStats{}, 0, 0, 0, time.Now()
		}
	}
	res.Steps = opt.step
	return res, nil
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

func logf(w io.Writer, format string, args ...any) {
	if w != nil {
		fmt.Fprintf(w, format, args...)
	}
}

// readMetrics reads metrics.jsonl, keeping the lines up to step (a resumed run drops what was
// logged after its checkpoint). A missing file is no history.
func readMetrics(path string, step int) ([]Metrics, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var ms []Metrics
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<20)
	for line := 1; sc.Scan(); line++ {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var m Metrics
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			// A line cut short by a kill ends the usable history.
			break
		}
		if m.Step <= step {
			ms = append(ms, m)
		}
	}
	return ms, sc.Err()
}

// writeMetrics rewrites metrics.jsonl with ms.
func writeMetrics(path string, ms []Metrics) error {
	var buf bytes.Buffer
	for _, m := range ms {
		line, err := json.Marshal(m)
		if err != nil {
			return err
		}
		buf.Write(append(line, '\n'))
	}
	return atomicfile.WriteBytes(path, buf.Bytes())
}

// plotLoss draws total, MLM and NSP loss against the step.
func plotLoss(path string, ms []Metrics) error {
	if len(ms) == 0 {
		return nil
	}
	p := plot.New()
	p.Title.Text = "kiln BERT pretraining loss"
	p.X.Label.Text = "step"
	p.Y.Label.Text = "loss"
	p.Add(plotter.NewGrid())
	series := []struct {
		name string
		f    func(Metrics) float64
	}{
		{"total", func(m Metrics) float64 { return m.Loss }},
		{"mlm", func(m Metrics) float64 { return m.MLMLoss }},
		{"nsp", func(m Metrics) float64 { return m.NSPLoss }},
	}
	for i, s := range series {
		pts := make(plotter.XYs, 0, len(ms))
		for _, m := range ms {
			if v := s.f(m); !math.IsNaN(v) && !math.IsInf(v, 0) {
				pts = append(pts, plotter.XY{X: float64(m.Step), Y: v})
			}
		}
		l, err := plotter.NewLine(pts)
		if err != nil {
			return fmt.Errorf("plot: %w", err)
		}
		l.Color = plotutil.Color(i)
		l.Width = vg.Points(1.5)
		p.Add(l)
		p.Legend.Add(s.name, l)
	}
	p.Legend.Top = true
	tmp := path + ".tmp.png"
	if err := p.Save(8*vg.Inch, 5*vg.Inch, tmp); err != nil {
		return fmt.Errorf("plot: %w", err)
	}
	return os.Rename(tmp, path)
}
