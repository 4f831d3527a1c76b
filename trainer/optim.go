package trainer

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
)

// OptimizerConfig holds BERT's optimisation recipe: AdamW with decoupled weight decay (none on
// biases and LayerNorm weights), global-norm gradient clipping, and a learning rate that rises
// linearly over Warmup steps from 0 to LR and then falls linearly to 0 at TotalSteps, as Hugging
// Face's get_linear_schedule_with_warmup. tools/torchref's step command runs the same recipe
// with torch.optim.AdamW, clip_grad_norm_ and LambdaLR; TestTorchOptimizerParity compares them.
type OptimizerConfig struct {
	LR          float64 // peak learning rate
	Beta1       float64 // 0.9
	Beta2       float64 // 0.999
	Eps         float64 // 1e-6 as BERT (PyTorch's default is 1e-8)
	WeightDecay float64 // 0.01
	ClipNorm    float64 // global gradient norm limit, 1.0; 0 disables clipping
	Warmup      int     // warm-up steps
	TotalSteps  int     // steps of the whole run (the decay reaches 0 there); 0: no decay
}

// DefaultOptimizer returns BERT's settings for the given peak learning rate, warm-up and length.
func DefaultOptimizer(lr float64, warmup, total int) OptimizerConfig {
	return OptimizerConfig{LR: lr, Beta1: 0.9, Beta2: 0.999, Eps: 1e-6, WeightDecay: 0.01, ClipNorm: 1, Warmup: warmup, TotalSteps: total}
}

// LRAt returns the learning rate of update number step (0 for the first update), as Hugging
// Face's get_linear_schedule_with_warmup with LambdaLR (and Google's optimization.py): LR·step/
// Warmup during the warm-up, so 0 for the first update, then LR·(TotalSteps-step)/(TotalSteps-
// Warmup) down to 0 at TotalSteps. TotalSteps 0 (or not above Warmup) keeps LR after the
// warm-up.
func (c OptimizerConfig) LRAt(step int) float64 {
	if c.Warmup > 0 && step < c.Warmup {
		return c.LR * float64(step) / float64(c.Warmup)
	}
	if c.TotalSteps <= 0 || c.TotalSteps <= c.Warmup {
		return c.LR
	}
	return c.LR * math.Max(0, float64(c.TotalSteps-step)/float64(c.TotalSteps-c.Warmup))
}

// ErrNonFinite is returned (wrapped) when a loss or gradient is NaN or infinite; the model is
// left unchanged.
var ErrNonFinite = errors.New("loss or gradient is not finite")

// AdamW is the optimiser state: first and second moments per parameter and the update count.
type AdamW struct {
	cfg  OptimizerConfig
	m, v [][]float32
	step int
}

// NewAdamW returns a fresh optimiser for model.
func NewAdamW(cfg OptimizerConfig, model *Model) *AdamW {
	o := &AdamW{cfg: cfg}
	for _, p := range model.params {
		n := p.value.Shape().TotalSize()
		o.m = append(o.m, make([]float32, n))
		o.v = append(o.v, make([]float32, n))
	}
	return o
}

// Step returns the number of updates done so far.
func (o *AdamW) Step() int { return o.step }

// Config returns the optimiser's configuration.
func (o *AdamW) Config() OptimizerConfig { return o.cfg }

// StepResult is what one training step reports.
type StepResult struct {
	StepStats
	LR       float64 // learning rate of the update
	GradNorm float64 // global gradient norm before clipping
}

// TrainStep runs the forward and backward pass on rows with dropout drawn from rng, clips the
// gradients and applies one AdamW update. A non-finite loss or gradient returns an error
// wrapping ErrNonFinite and changes nothing.
func (m *Model) TrainStep(ctx context.Context, rows []Example, opt *AdamW, rng *rand.Rand) (StepResult, error) {
	gr, st, err := m.run(ctx, rows, true, rng)
	if err != nil {
		return StepResult{}, err
	}
	res := StepResult{StepStats: st, LR: opt.cfg.LRAt(opt.step)}
	if math.IsNaN(st.Loss) || math.IsInf(st.Loss, 0) {
		return res, fmt.Errorf("step %d: loss %v: %w", opt.step+1, st.Loss, ErrNonFinite)
	}
	grads := make([]any, len(gr.grads))
	var sq float64
	for i, g := range gr.grads {
		grads[i] = g.Value().Data()
		switch d := grads[i].(type) {
		case []float32:
			sq += sumSquares(d)
		case []float64:
			sq += sumSquares(d)
		}
	}
	res.GradNorm = math.Sqrt(sq)
	if math.IsNaN(res.GradNorm) || math.IsInf(res.GradNorm, 0) {
		return res, fmt.Errorf("step %d: gradient norm %v: %w", opt.step+1, res.GradNorm, ErrNonFinite)
	}
	scale := 1.0
	if c := opt.cfg.ClipNorm; c > 0 {
		scale = min(1, c/(res.GradNorm+1e-6)) // as torch.nn.utils.clip_grad_norm_
	}
	opt.step++
	b1, b2 := opt.cfg.Beta1, opt.cfg.Beta2
	c1 := 1 - math.Pow(b1, float64(opt.step))
	c2 := 1 - math.Pow(b2, float64(opt.step))
	for i, p := range m.params {
		wd := 0.0
		if p.decay {
			wd = opt.cfg.WeightDecay
		}
		u := adamUpdate{lr: res.LR, wd: wd, b1: b1, b2: b2, c1: c1, c2: c2, eps: opt.cfg.Eps, scale: scale}
		switch w := p.value.Data().(type) {
		case []float32:
			update(u, w, grads[i].([]float32), opt.m[i], opt.v[i])
		case []float64:
			update(u, w, grads[i].([]float64), opt.m[i], opt.v[i])
		}
	}
	return res, nil
}

// sumSquares returns Σ x², summed in fixed blocks on GOMAXPROCS goroutines and then in block
// order, so the result does not depend on the number of goroutines.
func sumSquares[T float](x []T) float64 {
	const block = 1 << 16
	var parts [64]float64
	nb := (len(x) + block - 1) / block
	if nb > len(parts) {
		return sumSquares(x[:len(parts)*block]) + sumSquares(x[len(parts)*block:])
	}
	parallel(nb, 1, func(lo, hi int) {
		for b := lo; b < hi; b++ {
			var s float64
			for _, v := range x[b*block : min((b+1)*block, len(x))] {
				s += float64(v) * float64(v)
			}
			parts[b] = s
		}
	})
	var s float64
	for _, p := range parts[:nb] {
		s += p
	}
	return s
}

type adamUpdate struct{ lr, wd, b1, b2, c1, c2, eps, scale float64 }

// update applies one AdamW step to w, as torch.optim.AdamW: decay first, then the Adam step
// with bias-corrected moments.
// The elements are independent and updated on GOMAXPROCS goroutines.
func update[T float](u adamUpdate, w, g []T, m, v []float32) {
	decay := 1 - u.lr*u.wd
	parallel(len(w), 1<<15, func(lo, hi int) {
		for j := lo; j < hi; j++ {
			gj := float64(g[j]) * u.scale
			mj := u.b1*float64(m[j]) + (1-u.b1)*gj
			vj := u.b2*float64(v[j]) + (1-u.b2)*gj*gj
			m[j], v[j] = float32(mj), float32(vj)
			w[j] = T(float64(w[j])*decay - u.lr*(mj/u.c1)/(math.Sqrt(vj/u.c2)+u.eps))
		}
	})
}
