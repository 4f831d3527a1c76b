package trainer

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// linear returns [x·W₁ᵀ + b₁ | x·W₂ᵀ + b₂ | ...] for x [R, in] and pairs W_i [out_i, in]
// (PyTorch layout), b_i [out_i] given as wb = W₁, b₁, W₂, b₂, ...: one dense layer, or the
// query, key and value projections fused.
func linear[T float](x *G.Node, wb []*G.Node) (*G.Node, error) {
	k := len(wb) / 2
	op := newOp[T](fmt.Sprintf("kLinear{%d}", k), 1+2*k, 2)
	op.shape = func(in []tensor.Shape) (tensor.Shape, error) {
		if err := want2D("linear x", in[0]); err != nil {
			return nil, err
		}
		out := 0
		for j := 0; j < k; j++ {
			w, b := in[1+2*j], in[2+2*j]
			if err := want2D("linear W", w); err != nil {
				return nil, err
			}
			if in[0][1] != w[1] || b.TotalSize() != w[0] {
				return nil, fmt.Errorf("linear: shapes x %v, W %v, b %v do not match", in[0], w, b)
			}
			out += w[0]
		}
		return tensor.Shape{in[0][0], out}, nil
	}
	var biases any // the biases side by side, when k > 1
	op.do = func(in []G.Value) (G.Value, error) {
		r, d := in[0].Shape()[0], in[0].Shape()[1]
		n := 0
		for j := 0; j < k; j++ {
			n += in[1+2*j].Shape()[0]
		}
		out := reuse[T](op, r, n)
		y, x := data[T](out), data[T](in[0])
		bias := data[T](in[2])
		if k > 1 {
			b, _ := biases.([]T)
			b = b[:0]
			for j := 0; j < k; j++ {
				b = append(b, data[T](in[2+2*j])...)
			}
			bias, biases = b, b
		}
		for i := 0; i < r; i++ {
			copy(y[i*n:(i+1)*n], bias)
		}
		for j, c := 0, 0; j < k; j++ {
			o := in[1+2*j].Shape()[0]
			gemm(false, true, r, o, d, 1, x, d, data[T](in[1+2*j]), d, 1, y[c:], n)
			c += o
		}
		return out, nil
	}
	return G.ApplyOp(op, append(G.Nodes{x}, wb...)...)
}

// linearBackward returns the gradients of linear(x, wb) from dy [R, Σout_i], the gradient of
// its output: dx = Σ_i dy_i·W_i and, in wb's order, dW_i = dy_iᵀ·x and db_i = Σ_rows dy_i.
// dxAcc, when not nil, is the gradient x has from its other consumer (a residual addition):
// dx is accumulated onto it (dx = dxAcc + Σ_i dy_i·W_i, as llm.c's +=).
func linearBackward[T float](x *G.Node, wb []*G.Node, dy, dxAcc *G.Node) (dx *G.Node, dwb G.Nodes, err error) {
	k := len(wb) / 2
	dxIn := G.Nodes{dy}
	for j := 0; j < k; j++ {
		dxIn = append(dxIn, wb[2*j])
	}
	if dxAcc != nil {
		dxIn = append(dxIn, dxAcc)
	}
	if dx, err = G.ApplyOp(linearGradX[T](k, dxAcc != nil), dxIn...); err != nil {
		return nil, nil, err
	}
	dwb = make(G.Nodes, 2*k)
	for j, c := 0, 0; j < k; j++ {
		o := wb[2*j].Shape()[0]
		if dwb[2*j], err = G.ApplyOp(linearGradW[T](c, o), dy, x); err != nil {
			return nil, nil, err
		}
		if dwb[2*j+1], err = G.ApplyOp(colSum[T](c, o), dy); err != nil {
			return nil, nil, err
		}
		c += o
	}
	return dx, dwb, nil
}

// linearGradX computes Σ_i dy_i·W_i (+ acc) for dy [R, Σout_i] and W_i [out_i, in]: [R, in].
// Inputs: dy, W₁, ..., W_k, then acc if hasAcc.
func linearGradX[T float](k int, hasAcc bool) *kop {
	arity := 1 + k
	if hasAcc {
		arity++
	}
	op := newOp[T](fmt.Sprintf("kLinearGradX{%d,%t}", k, hasAcc), arity, 2)
	op.shape = func(in []tensor.Shape) (tensor.Shape, error) { return tensor.Shape{in[0][0], in[1][1]}, nil }
	op.do = func(in []G.Value) (G.Value, error) {
		r, n, d := in[0].Shape()[0], in[0].Shape()[1], in[1].Shape()[1]
		out := reuse[T](op, r, d)
		dx, dy := data[T](out), data[T](in[0])
		var beta T
		if hasAcc {
			copy(dx, data[T](in[1+k]))
			beta = 1
		}
		for j, c := 0, 0; j < k; j++ {
			o := in[1+j].Shape()[0]
			gemm(false, false, r, d, o, 1, dy[c:], n, data[T](in[1+j]), d, beta, dx, d)
			beta = 1
			c += o
		}
		return out, nil
	}
	return op
}

// linearGradW computes dy[:, c:c+o]ᵀ·x: [o, R]·[R, in] -> [o, in].
func linearGradW[T float](c, o int) *kop {
	op := newOp[T](fmt.Sprintf("kLinearGradW{%d,%d}", c, o), 2, 2)
	op.shape = func(in []tensor.Shape) (tensor.Shape, error) { return tensor.Shape{o, in[1][1]}, nil }
	var dyT []T
	op.do = func(in []G.Value) (G.Value, error) {
		r, n, d := in[0].Shape()[0], in[0].Shape()[1], in[1].Shape()[1]
		out := reuse[T](op, o, d)
		dy := data[T](in[0])
		if splitGemm {
			gemm(true, false, o, d, r, 1, dy[c:], n, data[T](in[1]), d, 0, data[T](out), d)
			return out, nil
		}
		// gonum's kernel for Aᵀ·B is several times slower than its A·B one: transpose first.
		if len(dyT) != o*r {
			dyT = make([]T, o*r)
		}
		transpose(dyT, dy[c:], r, o, n)
		gemm(false, false, o, d, r, 1, dyT, r, data[T](in[1]), d, 0, data[T](out), d)
		return out, nil
	}
	return op
}

// colSum sums columns [c, c+o) of a matrix [R, C] over its rows -> [o] (a bias gradient).
func colSum[T float](c, o int) *kop {
	op := newOp[T](fmt.Sprintf("kColSum{%d,%d}", c, o), 1, 1)
	op.shape = func(in []tensor.Shape) (tensor.Shape, error) { return tensor.Shape{o}, nil }
	op.do = func(in []G.Value) (G.Value, error) {
		r, n := in[0].Shape()[0], in[0].Shape()[1]
		out := reuse[T](op, o)
		x, y := data[T](in[0]), data[T](out)
		clear(y)
		for i := 0; i < r; i++ {
			row := x[i*n+c : i*n+c+o]
			for j, v := range row {
				y[j] += v
			}
		}
		return out, nil
	}
	return op
}

// residual returns a + x, where x is the input of the block that computed a.
func residual[T float](a, x *G.Node) (*G.Node, error) {
	op := newOp[T]("kResidual", 2, 2)
	op.shape = func(in []tensor.Shape) (tensor.Shape, error) {
		if !in[0].Eq(in[1]) {
			return nil, fmt.Errorf("residual: shapes %v and %v differ", in[0], in[1])
		}
		return in[0].Clone(), nil
	}
	op.do = func(in []G.Value) (G.Value, error) {
		out := reuse[T](op, in[0].Shape()...)
		y, a, x := data[T](out), data[T](in[0]), data[T](in[1])
		for i, v := range a {
			y[i] = v + x[i]
		}
		return out, nil
	}
	return G.ApplyOp(op, a, x)
}

// residualBackward returns the gradients of residual(a, x) from dy: dy for both. The one of x
// is the part of x's gradient that the block's first op accumulates its own onto
// (linearBackward's dxAcc).
func residualBackward(dy *G.Node) (da, dx *G.Node) { return dy, dy }
