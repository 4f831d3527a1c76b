package trainer

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"time"

	"github.com/kiln-bert/kiln/internal/atomicfile"
)

// Add adds the sums of o to s (the losses too: a window's mean is its sum over its steps).
func (s *StepStats) Add(o StepStats) {
	s.Loss += o.Loss
	s.MLMLoss += o.MLMLoss
	s.NSPLoss += o.NSPLoss
	s.MLMCorrect += o.MLMCorrect
	s.MLMCount += o.MLMCount
	s.NSPCorrect += o.NSPCorrect
	s.NSPCount += o.NSPCount
	s.Tokens += o.Tokens
}

// window sums the steps between two metrics lines.
type window struct {
	sum      StepStats
	gradNorm float64
	steps    int
	wait     time.Duration // spent waiting for batches
	start    time.Time
}

func newWindow() window { return window{start: time.Now()} }

// add adds one step.
func (w *window) add(r StepResult) {
	w.sum.Add(r.StepStats)
	w.gradNorm += r.GradNorm
	w.steps++
}

// metrics returns the window's line for step, whose learning rate was lr, in a run started at
// runStart: the means of the window's steps, its speed and its share of time waiting for data.
func (w *window) metrics(step int, lr float64, runStart time.Time) Metrics {
	el := time.Since(w.start).Seconds()
	n := float64(w.steps)
	s := w.sum
	return Metrics{Step: step, Loss: s.Loss / n, MLMLoss: s.MLMLoss / n, NSPLoss: s.NSPLoss / n,
		MLMAccuracy: ratio(s.MLMCorrect, s.MLMCount), NSPAccuracy: ratio(s.NSPCorrect, s.NSPCount),
		LR: lr, GradNorm: w.gradNorm / n, TokensPerSec: float64(s.Tokens) / el, DataWait: w.wait.Seconds() / el,
		Elapsed: time.Since(runStart).Seconds()}
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
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
		if err := writeMetric(&buf, m); err != nil {
			return err
		}
	}
	return atomicfile.WriteBytes(path, buf.Bytes())
}

// writeMetric appends m to w as one JSON line.
func writeMetric(w io.Writer, m Metrics) error {
	line, err := json.Marshal(m)
	if err != nil {
		return err
	}
	_, err = w.Write(append(line, '\n'))
	return err
}
