package trainer

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/kiln-bert/kiln/internal/setting"
)

// TestTrainConfigValidate: each run setting out of range is refused by TrainConfig.Validate,
// and by Train before it reads anything, with an error naming the field.
func TestTrainConfigValidate(t *testing.T) {
	ok := TrainConfig{Steps: 10, BatchSize: 8, LogEvery: 1, CheckpointEvery: 5, Optimizer: DefaultOptimizer(1e-3, 2, 10)}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		edit  func(*TrainConfig)
		field string
		msg   string
	}{
		{"steps", func(c *TrainConfig) { c.Steps = 0 }, "Steps", "Steps 0: want 1 to 1000000000"},
		{"steps above", func(c *TrainConfig) { c.Steps = MaxSteps + 1 }, "Steps", "Steps 1000000001"},
		{"batch", func(c *TrainConfig) { c.BatchSize = MaxBatchSize + 1 }, "BatchSize", "BatchSize 16777217: want 1 to 16777216"},
		{"log every", func(c *TrainConfig) { c.LogEvery = -1 }, "LogEvery", "LogEvery -1: want 1 to 1000000000"},
		{"checkpoint every", func(c *TrainConfig) { c.CheckpointEvery = -3 }, "CheckpointEvery", "CheckpointEvery -3"},
		{"shuffle", func(c *TrainConfig) { c.ShuffleBuffer = -1 }, "ShuffleBuffer", "ShuffleBuffer -1: want 0 (the default, 10000 rows) or more"},
		{"eval rows", func(c *TrainConfig) { c.EvalRows = -1 }, "EvalRows", "EvalRows -1"},
		{"lr", func(c *TrainConfig) { c.Optimizer.LR = math.Inf(1) }, "Optimizer.LR", "Optimizer.LR +Inf: want a positive, finite learning rate"},
		{"weight decay", func(c *TrainConfig) { c.Optimizer.WeightDecay = -0.5 }, "Optimizer.WeightDecay", "Optimizer.WeightDecay -0.5"},
		{"beta2", func(c *TrainConfig) { c.Optimizer.Beta2 = 1 }, "Optimizer.Beta2", "Optimizer.Beta2 1: want a value in [0, 1)"},
		{"eps", func(c *TrainConfig) { c.Optimizer.Eps = 0 }, "Optimizer.Eps", "Optimizer.Eps 0"},
		{"clip", func(c *TrainConfig) { c.Optimizer.ClipNorm = math.NaN() }, "Optimizer.ClipNorm", "Optimizer.ClipNorm NaN"},
		{"warmup", func(c *TrainConfig) { c.Optimizer.Warmup = MaxSteps + 1 }, "Optimizer.Warmup", "Optimizer.Warmup 1000000001: want 0 to 1000000000 warm-up steps"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := ok
			tc.edit(&c)
			err := c.Validate()
			var fe *setting.Error
			if !errors.As(err, &fe) || fe.Field != tc.field || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("Validate: %v, want an error of field %s saying %q", err, tc.field, tc.msg)
			}
			c.Data, c.Out = "no-such-shards", t.TempDir()
			if _, err := Train(context.Background(), c); !errors.As(err, &fe) || fe.Field != tc.field {
				t.Fatalf("Train: %v, want an error of field %s", err, tc.field)
			}
		})
	}
}

// TestEvalConfigValidate: Eval refuses a batch size out of range or a negative limit, naming
// the field, and takes BatchSize 0 as its default.
func TestEvalConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		c     EvalConfig
		field string
	}{
		{EvalConfig{BatchSize: 32}, ""},
		{EvalConfig{BatchSize: 0}, "BatchSize"},
		{EvalConfig{BatchSize: MaxBatchSize + 1}, "BatchSize"},
		{EvalConfig{BatchSize: 1, Limit: -1}, "Limit"},
	} {
		err := tc.c.Validate()
		var fe *setting.Error
		if tc.field == "" && err != nil || tc.field != "" && (!errors.As(err, &fe) || fe.Field != tc.field) {
			t.Errorf("%+v: %v, want field %q", tc.c, err, tc.field)
		}
	}
	_, err := Eval(context.Background(), nil, EvalConfig{Data: "no-such-shards", Limit: -2})
	if err == nil || !strings.Contains(err.Error(), "Limit -2") {
		t.Errorf("Eval with a negative limit: %v", err)
	}
}
