// Package lossplot draws the loss curve of a training run (loss.png) from its metrics.
package lossplot

import (
	"fmt"
	"math"
	"os"

	"github.com/kiln-bert/kiln/trainer"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// Save draws total, MLM and NSP loss against the step into the PNG file path, replacing it
// atomically (a temporary file renamed); losses that are not finite are left out. With no
// metrics it writes nothing.
func Save(path string, ms []trainer.Metrics) error {
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
		f    func(trainer.Metrics) float64
	}{
		{"total", func(m trainer.Metrics) float64 { return m.Loss }},
		{"mlm", func(m trainer.Metrics) float64 { return m.MLMLoss }},
		{"nsp", func(m trainer.Metrics) float64 { return m.NSPLoss }},
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
			return fmt.Errorf("%s: %s loss: %w", path, s.name, err)
		}
		l.Color = plotutil.Color(i)
		l.Width = vg.Points(1.5)
		p.Add(l)
		p.Legend.Add(s.name, l)
	}
	p.Legend.Top = true
	tmp := path + ".tmp.png"
	if err := p.Save(8*vg.Inch, 5*vg.Inch, tmp); err != nil {
		return fmt.Errorf("%s: %w", tmp, err)
	}
	return os.Rename(tmp, path)
}
