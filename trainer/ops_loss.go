package trainer

import (
	"fmt"
	"math"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// crossEntropyOp is the cross-entropy's forward op. Its forward pass leaves, per row, exp(logit
// − max) of every logit in exps and 1/Σ exp(logit − max) in invSum; with keep (a training
// graph) crossEntropyBackward's op turns exps into the gradient in place, so that each logit's
// exponential is computed once.
type crossEntropyOp[T float] struct {
	kop
	keep    bool
	exps    *tensor.Dense
	invSum  []float64
	rowLoss []float64
}

// crossEntropy returns Σᵢ wᵢ·(−log softmax(logitsᵢ)[targetᵢ]) / Σᵢ wᵢ (0 when Σ w = 0), for
// logits [M, C] and targets and weights [M] (targets hold class ids as floats; rows with weight
// 0 are padding and ignored). keep says that crossEntropyBackward will be called on the
// result (see crossEntropyOp).
func crossEntropy[T float](logits, target, weight *G.Node, keep bool) (*G.Node, error) {
	op := &crossEntropyOp[T]{kop: *newOp[T]("kCrossEntropy", 3, 0), keep: keep}
	op.shape = func(in []tensor.Shape) (tensor.Shape, error) {
		if err := want2D("cross-entropy logits", in[0]); err != nil {
			return nil, err
		}
		if in[1].TotalSize() != in[0][0] || in[2].TotalSize() != in[0][0] {
			return nil, fmt.Errorf("cross-entropy: logits %v, targets %v, weights %v do not match", in[0], in[1], in[2])
		}
		return tensor.ScalarShape(), nil
	}
	op.do = func(in []G.Value) (G.Value, error) {
		m, c := in[0].Shape()[0], in[0].Shape()[1]
		x, t, w := data[T](in[0]), data[T](in[1]), data[T](in[2])
		if len(op.rowLoss) != m {
			op.rowLoss, op.invSum = make([]float64, m), make([]float64, m)
		}
		for i := 0; i < m; i++ {
			if ti := int(t[i]); w[i] != 0 && (ti < 0 || ti >= c) {
				return nil, fmt.Errorf("cross-entropy: target %d out of range [0, %d)", ti, c)
			}
		}
		e := data[T](reuseTensor[T](&op.exps, m, c))
		parallel(m, 8, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				if w[i] == 0 {
					continue
				}
				row, er := x[i*c:(i+1)*c], e[i*c:(i+1)*c]
				mx := math.Inf(-1)
				for _, v := range row {
					mx = max(mx, float64(v))
				}
				sum := expRow(er, row, nil, 1, mx)
				op.invSum[i] = 1 / sum
				op.rowLoss[i] = float64(w[i]) * (mx + math.Log(sum) - float64(row[int(t[i])]))
			}
		})
		var loss, wsum float64
		for i := 0; i < m; i++ {
			if w[i] != 0 {
				loss += op.rowLoss[i]
				wsum += float64(w[i])
			}
		}
		if wsum > 0 {
			loss /= wsum
		}
		return newScalar[T](loss), nil
	}
	return G.ApplyOp(op, logits, target, weight)
}

// crossEntropyBackward returns the gradient of the logits from loss = crossEntropy(logits,
// target, weight, true) and dy, the scalar gradient of loss: row i is dy·wᵢ/Σw·(softmaxᵢ −
// one-hot(targetᵢ)), 0 for rows of weight 0. It is written over the exponentials loss's
// forward pass kept.
func crossEntropyBackward[T float](loss, logits, target, weight, dy *G.Node) (*G.Node, error) {
	fwd, ok := loss.Op().(*crossEntropyOp[T])
	if !ok || !fwd.keep {
		return nil, fmt.Errorf("cross-entropy gradient: %v is not a cross-entropy that keeps its exponentials", loss)
	}
	op := newOp[T]("kCrossEntropyGrad", 5, 2)
	op.shape = func(in []tensor.Shape) (tensor.Shape, error) { return in[1].Clone(), nil }
	op.do = func(in []G.Value) (G.Value, error) { // in: loss (for the order), logits, target, weight, dy
		m, c := in[1].Shape()[0], in[1].Shape()[1]
		if len(fwd.invSum) != m || fwd.exps == nil || !fwd.exps.Shape().Eq(in[1].Shape()) {
			return nil, fmt.Errorf("cross-entropy gradient: the forward pass has not run")
		}
		res := fwd.exps
		t, w, dx := data[T](in[2]), data[T](in[3]), data[T](res)
		var wsum float64
		for _, v := range w {
			wsum += float64(v)
		}
		d := scalar(in[4])
		parallel(m, 8, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				drow := dx[i*c : (i+1)*c]
				if w[i] == 0 {
					clear(drow)
					continue
				}
				f := d / wsum * float64(w[i])
				s := f * fwd.invSum[i]
				for j, v := range drow {
					drow[j] = T(s * float64(v))
				}
				drow[int(t[i])] -= T(f)
			}
		})
		return res, nil
	}
	return G.ApplyOp(op, loss, logits, target, weight, dy)
}

// addScalars returns a + b for two scalars (the total loss).
func addScalars[T float](a, b *G.Node) (*G.Node, error) {
	op := newOp[T]("kAddScalars", 2, 0)
	op.shape = func([]tensor.Shape) (tensor.Shape, error) { return tensor.ScalarShape(), nil }
	op.do = func(in []G.Value) (G.Value, error) { return newScalar[T](scalar(in[0]) + scalar(in[1])), nil }
	return G.ApplyOp(op, a, b)
}

// addScalarsBackward returns the gradients of addScalars(a, b) from dy: dy for both.
func addScalarsBackward(dy *G.Node) (da, db *G.Node) { return dy, dy }
