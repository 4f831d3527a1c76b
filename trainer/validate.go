package trainer

import (
	"cmp"
	"math"

	"github.com/kiln-bert/kiln/internal/setting"
	"github.com/kiln-bert/kiln/shards"
)

// Upper bounds of the run settings: far above any real run, low enough that nothing derived
// from them overflows or asks for absurd memory before the memory check.
const (
	// MaxSteps bounds the steps of a run, its warm-up and its checkpoint and log intervals.
	MaxSteps = 1_000_000_000
	// MaxBatchSize bounds the rows of a step or a forward pass; the memory check refuses what
	// this machine cannot hold.
	MaxBatchSize = 1 << 24
)

// Validate reports the first setting of c that cannot train, naming its field (a
// *setting.Error): a learning rate that is not positive and finite, a negative or non-finite
// weight decay, betas
// outside [0, 1), a non-positive epsilon, a negative clipping norm, a warm-up or total steps
// outside 0 to MaxSteps.
func (c OptimizerConfig) Validate() error {
	finite := func(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }
	switch {
	case !(c.LR > 0) || !finite(c.LR):
		return setting.Errorf("LR", c.LR, "a positive, finite learning rate")
	case !(c.WeightDecay >= 0) || !finite(c.WeightDecay):
		return setting.Errorf("WeightDecay", c.WeightDecay, "a finite weight decay, 0 or more")
	case !(c.Beta1 >= 0 && c.Beta1 < 1):
		return setting.Errorf("Beta1", c.Beta1, "a value in [0, 1)")
	case !(c.Beta2 >= 0 && c.Beta2 < 1):
		return setting.Errorf("Beta2", c.Beta2, "a value in [0, 1)")
	case !(c.Eps > 0) || !finite(c.Eps):
		return setting.Errorf("Eps", c.Eps, "a positive, finite epsilon")
	case !(c.ClipNorm >= 0) || !finite(c.ClipNorm):
		return setting.Errorf("ClipNorm", c.ClipNorm, "a finite clipping norm, 0 or more")
	case c.Warmup < 0 || c.Warmup > MaxSteps:
		return setting.Errorf("Warmup", c.Warmup, "0 to %d warm-up steps", MaxSteps)
	case c.TotalSteps < 0 || c.TotalSteps > MaxSteps:
		return setting.Errorf("TotalSteps", c.TotalSteps, "0 to %d", MaxSteps)
	}
	return nil
}

// Validate reports the first run setting of c out of range, naming its field (a
// *setting.Error; the optimizer's as "Optimizer.LR" and so on): Steps, BatchSize, LogEvery or
// CheckpointEvery outside 1 to MaxSteps (MaxBatchSize), a negative ShuffleBuffer or EvalRows,
// a bad Optimizer. It checks c as Train uses it: Train fills in the zero values it documents
// (LogEvery, CheckpointEvery, Optimizer.TotalSteps) first. The model (Config.Validate) and the
// data are checked against each other by Train.
func (c TrainConfig) Validate() error {
	if err := cmp.Or(
		setting.InRange("Steps", c.Steps, 1, MaxSteps),
		setting.InRange("BatchSize", c.BatchSize, 1, MaxBatchSize),
		setting.InRange("LogEvery", c.LogEvery, 1, MaxSteps),
		setting.InRange("CheckpointEvery", c.CheckpointEvery, 1, MaxSteps),
	); err != nil {
		return err
	}
	switch {
	case c.ShuffleBuffer < 0:
		return setting.Errorf("ShuffleBuffer", c.ShuffleBuffer, "0 (the default, %d rows) or more", shards.DefaultShuffleBuffer)
	case c.EvalRows < 0:
		return setting.Errorf("EvalRows", c.EvalRows, "0 (the default) or more")
	}
	if err := c.Optimizer.Validate(); err != nil {
		fe, _ := setting.Rename(err, optimizerFields)
		return fe
	}
	return nil
}

// optimizerFields names OptimizerConfig's fields as TrainConfig's.
var optimizerFields = map[string]string{
	"LR": "Optimizer.LR", "WeightDecay": "Optimizer.WeightDecay", "Beta1": "Optimizer.Beta1",
	"Beta2": "Optimizer.Beta2", "Eps": "Optimizer.Eps", "ClipNorm": "Optimizer.ClipNorm",
	"Warmup": "Optimizer.Warmup", "TotalSteps": "Optimizer.TotalSteps",
}

// Validate reports the first setting of c out of range, naming its field (a *setting.Error):
// a BatchSize outside 1 to MaxBatchSize, a negative Limit. Eval fills in BatchSize 0 (32)
// first.
func (c EvalConfig) Validate() error {
	switch {
	case c.BatchSize < 1 || c.BatchSize > MaxBatchSize:
		return setting.Errorf("BatchSize", c.BatchSize, "1 to %d", MaxBatchSize)
	case c.Limit < 0:
		return setting.Errorf("Limit", c.Limit, "0 (all rows) or more")
	}
	return nil
}
