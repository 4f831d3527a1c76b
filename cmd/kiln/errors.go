package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/kiln-bert/kiln/shards"
)

// Errors (see the README's "Errors" section): the library packages name what is wrong and
// where once, settings by their Go fields (TrainConfig.BatchSize) and no command; cmd/kiln
// prefixes "kiln CMD: " once (run), names its flags for the fields (flagNames) and adds the
// remedy that is a command (remedy).

// trainerFlags returns the replacer from the trainer's setting names to the flags of kiln
// train, pretrain and loss that set them.
func trainerFlags() *strings.Replacer {
	return strings.NewReplacer(
		"TrainConfig.Data", "--data",
		"TrainConfig.Out", "--out",
		"TrainConfig.EvalData", "--eval-data",
		"TrainConfig.Steps", "--steps",
		"TrainConfig.BatchSize", "--batch-size",
		"TrainConfig.Seed", "--seed",
		"TrainConfig.Resume", "--resume",
		"TrainConfig.LogEvery", "--log-every",
		"TrainConfig.CheckpointEvery", "--checkpoint-every",
		"TrainConfig.Model", "--model",
		"leave TrainConfig.CheckModel false", "leave out --model",
		"TrainConfig.Tokenizer", "the checkpoints' tokenizer",
		"OptimizerConfig.TotalSteps", "--steps", // --steps sets the schedule's total
		"OptimizerConfig.LR", "--lr",
		"OptimizerConfig.Warmup", "--warmup",
		"OptimizerConfig.WeightDecay", "--weight-decay",
		"EvalConfig.Limit", "--limit",
	)
}

// flagNamed is a trainer error whose message names kiln's flags for the trainer's settings.
type flagNamed struct{ err error }

func (e flagNamed) Error() string { return trainerFlags().Replace(e.err.Error()) }
func (e flagNamed) Unwrap() error { return e.err }

// flagNames returns err (from the trainer) with kiln's flag names in its message; nil stays nil.
func flagNames(err error) error {
	if err == nil {
		return nil
	}
	return flagNamed{err}
}

// remedy returns what to run about err, for the end of its line: kiln verify for shards that
// differ from their manifest; "" when there is nothing to add.
func remedy(err error) string {
	if me := (*shards.MismatchError)(nil); errors.As(err, &me) {
		return fmt.Sprintf(" (kiln verify %s lists every problem)", me.Dir)
	}
	return ""
}
