package trainer

import (
	"fmt"
	"math"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// crossEntropy returns Σᵢ wᵢ·(−log softmax(logitsᵢ)[targetᵢ]) / Σᵢ wᵢ (0 when Σ w = 0), for
// logits [M, C] and targets and weights [M] (targets hold class ids as floats; rows with weight
// 0 are padding and ignored). In a training graph the forward pass leaves exp(logit − max) of
// every row in the gradient's buffer, and the gradient op scales it into softmax − one-hot, so
// each logit's exponential is computed once.
func crossEntropy[T float](logits, target, weight *G.Node) (*G.Node, error) {
	op := &kop{name: "kCrossEntropy", arity: 3, dt: dtypeOf[T](), dims: 0, wrt: []bool{true, false, false}}
	op.shape = func(in []tensor.Shape) (tensor.Shape, error) {
		if err := want2D("cross-entropy logits", in[0]); err != nil {
			return nil, err
		}
		if in[1].TotalSize() != in[0][0] || in[2].TotalSize() != in[0][0] {
			return nil, fmt.Errorf("cross-entropy: logits %v, targets %v, weights %v do not match", in[0], in[1], in[2])
		}
		return tensor.ScalarShape(), nil
	}
	// Per row, from the forward pass for the backward pass (which runs after it in the same run
	// of the graph): the row's loss and 1/Σ exp(logit − max); exps is the gradient op (nil in
	// an evaluation graph), whose buffer receives the exponentials.
	var rowLoss, invSum []float64
	var exps *kop
	op.do = func(in []G.Value) (G.Value, error) {
		m, c := in[0].Shape()[0], in[0].Shape()[1]
		x, t, w := data[T](in[0]), data[T](in[1]), data[T](in[2])
		if len(rowLoss) != m {
			rowLoss, invSum = make([]float64, m), make([]float64, m)
		}
		for i := 0; i < m; i++ {
			if ti := int(t[i]); w[i] != 0 && (ti < 0 || ti >= c) {
				return nil, fmt.Errorf("cross-entropy: target %d out of range [0, %d)", ti, c)
			}
		}
		into := exps
		if into == nil {
			into = op // an evaluation graph: the exponentials are not kept, but need a place
		}
		e := data[T](reuse[T](into, m, c))
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
				invSum[i] = 1 / sum
				rowLoss[i] = float64(w[i]) * (mx + math.Log(sum) - float64(row[int(t[i])]))
			}
		})
		var loss, wsum float64
		for i := 0; i < m; i++ {
			if w[i] != 0 {
				loss += rowLoss[i]
				wsum += float64(w[i])
			}
		}
		if wsum > 0 {
			loss /= wsum
		}
		return newScalar[T](loss), nil
	}
	op.diff = func(in G.Nodes, _, dy *G.Node) (G.Nodes, error) {
		g := &kop{name: "kCrossEntropyGrad", arity: 4, dt: dtypeOf[T](), dims: 2}
		exps = g
		g.shape = func(in []tensor.Shape) (tensor.Shape, error) { return in[0].Clone(), nil }
		g.do = func(in []G.Value) (G.Value, error) {
			m, c := in[0].Shape()[0], in[0].Shape()[1]
			if len(invSum) != m || g.buf == nil || !g.buf.Shape().Eq(in[0].Shape()) {
				return nil, fmt.Errorf("cross-entropy gradient: the forward pass has not run")
			}
			res := g.buf
			t, w, dx := data[T](in[1]), data[T](in[2]), data[T](res)
			var wsum float64
			for _, v := range w {
				wsum += float64(v)
			}
			d := scalar(in[3])
			parallel(m, 8, func(lo, hi int) {
				for i := lo; i < hi; i++ {
					drow := dx[i*c : (i+1)*c]
					if w[i] == 0 {
						clear(drow)
						continue
					}
					f := d / wsum * float64(w[i])
					s := f * invSum[i]
					for j, v := range drow {
						drow[j] = T(s * float64(v))
					}
					drow[int(t[i])] -= T(f)
				}
			})
			return res, nil
		}
		dx, err := G.ApplyOp(g, in[0], in[1], in[2], dy)
		return G.Nodes{dx, nil, nil}, err
	}
	return G.ApplyOp(op, logits, target, weight)
}
