package trainer

import (
	"fmt"
	"math"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// geluOp is GELU's forward op. With keep (a training graph) its forward pass also leaves the
// derivative Φ(x) + x·φ(x) of each element in dydx, which geluBackward's op multiplies by dy
// in place: each element's Φ and φ are computed once, in the forward pass.
type geluOp[T float] struct {
	kop
	keep bool
	dydx *tensor.Dense
}

// gelu applies the exact GELU, x·Φ(x) = 0.5·x·(1 + erf(x/√2)), as Hugging Face's "gelu".
// keep says that geluBackward will be called on the result (see geluOp).
func gelu[T float](x *G.Node, keep bool) (*G.Node, error) {
	op := &geluOp[T]{kop: *newOp[T]("kGELU", 1, x.Dims()), keep: keep}
	op.shape = sameShape
	op.do = func(in []G.Value) (G.Value, error) {
		out := reuse[T](&op.kop, in[0].Shape()...)
		x, y := data[T](in[0]), data[T](out)
		var d []T
		if op.keep {
			d = data[T](reuseTensor[T](&op.dydx, in[0].Shape()...))
		}
		f32 := isF32[T]()
		parallel(len(x), 1<<14, func(lo, hi int) {
			const invSqrt2Pi = 0.3989422804014327
			for i := lo; i < hi; i++ {
				f := float64(x[i])
				var c, p float64 // Φ(f), φ(f)
				switch {
				case f32 && d == nil:
					c = normCDF(f)
				case f32:
					c, p = normCDFPDF(f)
				default:
					c, p = 0.5*(1+math.Erf(f/math.Sqrt2)), invSqrt2Pi*math.Exp(-0.5*f*f)
				}
				y[i] = T(f * c)
				if d != nil {
					d[i] = T(c + f*p)
				}
			}
		})
		return out, nil
	}
	return G.ApplyOp(op, x)
}

// geluBackward returns the gradient of x from y = gelu(x, true) and dy: dy times the
// derivative y's forward pass kept. The gradient is written over that derivative.
func geluBackward[T float](y, dy *G.Node) (*G.Node, error) {
	fwd, ok := y.Op().(*geluOp[T])
	if !ok || !fwd.keep {
		return nil, fmt.Errorf("GELU gradient: %v is not a GELU that keeps its derivative", y)
	}
	op := newOp[T]("kGELUGrad", 2, y.Dims())
	op.shape = sameShape
	op.do = func(in []G.Value) (G.Value, error) { // in: y (for the order), dy
		if fwd.dydx == nil || !fwd.dydx.Shape().Eq(in[1].Shape()) {
			return nil, fmt.Errorf("GELU gradient: the forward pass has not run")
		}
		dx, dyv := data[T](fwd.dydx), data[T](in[1])
		parallel(len(dx), 1<<14, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				dx[i] *= dyv[i]
			}
		})
		return fwd.dydx, nil
	}
	return G.ApplyOp(op, y, dy)
}

// tanh applies tanh element-wise (the pooler's activation).
func tanh[T float](x *G.Node) (*G.Node, error) {
	op := newOp[T]("kTanh", 1, x.Dims())
	op.shape = sameShape
	op.do = func(in []G.Value) (G.Value, error) {
		out := reuse[T](op, in[0].Shape()...)
		y := data[T](out)
		for i, v := range data[T](in[0]) {
			y[i] = T(math.Tanh(float64(v)))
		}
		return out, nil
	}
	return G.ApplyOp(op, x)
}

// tanhBackward returns the gradient of x from y = tanh(x) and dy: dy·(1 − y²).
func tanhBackward[T float](y, dy *G.Node) (*G.Node, error) {
	op := newOp[T]("kTanhGrad", 2, y.Dims())
	op.shape = sameShape
	op.do = func(in []G.Value) (G.Value, error) {
		res := reuse[T](op, in[0].Shape()...)
		y, d, dx := data[T](in[0]), data[T](in[1]), data[T](res)
		for i, v := range y {
			dx[i] = d[i] * (1 - v*v)
		}
		return res, nil
	}
	return G.ApplyOp(op, y, dy)
}

// dropoutMul multiplies x elementwise by a mask of the same shape (the inverted-dropout factors
// drawn for the run).
func dropoutMul[T float](x, mask *G.Node) (*G.Node, error) {
	op := newOp[T]("kDropout", 2, x.Dims())
	op.shape = func(in []tensor.Shape) (tensor.Shape, error) {
		if !in[0].Eq(in[1]) {
			return nil, fmt.Errorf("dropout: input %v and mask %v differ in shape", in[0], in[1])
		}
		return in[0].Clone(), nil
	}
	op.do = func(in []G.Value) (G.Value, error) {
		out := reuse[T](op, in[0].Shape()...)
		y, x, m := data[T](out), data[T](in[0]), data[T](in[1])
		for i, v := range x {
			y[i] = v * m[i]
		}
		return out, nil
	}
	return G.ApplyOp(op, x, mask)
}

// dropoutBackward returns the gradient of x from dropoutMul(x, mask) and dy: dy times the
// same mask.
func dropoutBackward[T float](mask, dy *G.Node) (*G.Node, error) { return dropoutMul[T](dy, mask) }
