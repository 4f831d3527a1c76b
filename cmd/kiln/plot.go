package main

import (
	"path/filepath"

	"github.com/kiln-bert/kiln/internal/lossplot"
	"github.com/kiln-bert/kiln/trainer"
)

// plotLoss returns the trainer's AfterCheckpoint hook of a run into out: it redraws
// out/loss.png from the run's metrics at each checkpoint.
func plotLoss(out string) func(string, []trainer.Metrics) error {
	path := filepath.Join(out, trainer.LossPlotFile)
	return func(_ string, history []trainer.Metrics) error { return lossplot.Save(path, history) }
}
