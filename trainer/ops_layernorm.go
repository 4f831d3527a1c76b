package trainer

import (
	"fmt"
	"math"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// layerNorm normalises each row of x [R, H] and applies gamma and beta [H].
func layerNorm[T float](x, gamma, beta *G.Node, eps float64) (*G.Node, error) {
	op := newOp[T](fmt.Sprintf("kLayerNorm{%g}", eps), 3, 2)
	op.shape = func(in []tensor.Shape) (tensor.Shape, error) {
		if err := want2D("layernorm", in[0]); err != nil {
			return nil, err
		}
		if in[1].TotalSize() != in[0][1] || in[2].TotalSize() != in[0][1] {
			return nil, fmt.Errorf("layernorm: shapes x %v, gamma %v, beta %v do not match", in[0], in[1], in[2])
		}
		return in[0].Clone(), nil
	}
	op.do = func(in []G.Value) (G.Value, error) {
		r, h := in[0].Shape()[0], in[0].Shape()[1]
		out := reuse[T](op, r, h)
		x, g, b, y := data[T](in[0]), data[T](in[1]), data[T](in[2]), data[T](out)
		parallel(r, 64, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				xr, yr := x[i*h:(i+1)*h], y[i*h:(i+1)*h]
				mean, rstd := rowStats(xr, eps)
				for j, v := range xr {
					yr[j] = T((float64(v)-mean)*rstd)*g[j] + b[j]
				}
			}
		})
		return out, nil
	}
	return G.ApplyOp(op, x, gamma, beta)
}

// layerNormBackward returns the gradients of layerNorm(x, gamma, beta, eps) from dy: dx,
// dgamma = Σ_rows dy·x̂ and dbeta = Σ_rows dy. The row statistics are recomputed from x.
func layerNormBackward[T float](x, gamma, dy *G.Node, eps float64) (dx, dgamma, dbeta *G.Node, err error) {
	if dx, err = G.ApplyOp(layerNormGradX[T](eps), x, gamma, dy); err != nil {
		return nil, nil, nil, err
	}
	if dgamma, err = G.ApplyOp(layerNormGradGamma[T](eps), x, dy); err != nil {
		return nil, nil, nil, err
	}
	if dbeta, err = G.ApplyOp(colSum[T](0, x.Shape()[1]), dy); err != nil {
		return nil, nil, nil, err
	}
	return dx, dgamma, dbeta, nil
}

// rowStats returns the mean and 1/sqrt(variance+eps) of a row, accumulated in float64.
func rowStats[T float](x []T, eps float64) (mean, rstd float64) {
	var s float64
	for _, v := range x {
		s += float64(v)
	}
	mean = s / float64(len(x))
	var ss float64
	for _, v := range x {
		d := float64(v) - mean
		ss += d * d
	}
	return mean, 1 / math.Sqrt(ss/float64(len(x))+eps)
}

// layerNormGradX computes dL/dx of LayerNorm from x, gamma and dy.
func layerNormGradX[T float](eps float64) *kop {
	op := newOp[T](fmt.Sprintf("kLayerNormGradX{%g}", eps), 3, 2)
	op.shape = sameShape
	op.do = func(in []G.Value) (G.Value, error) {
		r, h := in[0].Shape()[0], in[0].Shape()[1]
		out := reuse[T](op, r, h)
		x, g, dy, dx := data[T](in[0]), data[T](in[1]), data[T](in[2]), data[T](out)
		parallel(r, 64, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				xr, dyr, dxr := x[i*h:(i+1)*h], dy[i*h:(i+1)*h], dx[i*h:(i+1)*h]
				mean, rstd := rowStats(xr, eps)
				var m1, m2 float64 // mean(dxhat), mean(dxhat*xhat)
				for j, v := range xr {
					dxh := float64(dyr[j]) * float64(g[j])
					m1 += dxh
					m2 += dxh * (float64(v) - mean) * rstd
				}
				m1 /= float64(h)
				m2 /= float64(h)
				for j, v := range xr {
					xh := (float64(v) - mean) * rstd
					dxr[j] = T(rstd * (float64(dyr[j])*float64(g[j]) - m1 - xh*m2))
				}
			}
		})
		return out, nil
	}
	return op
}

// layerNormGradGamma computes dL/dgamma = Σ_rows dy·x̂.
func layerNormGradGamma[T float](eps float64) *kop {
	op := newOp[T](fmt.Sprintf("kLayerNormGradGamma{%g}", eps), 2, 1)
	op.shape = func(in []tensor.Shape) (tensor.Shape, error) { return tensor.Shape{in[0][1]}, nil }
	op.do = func(in []G.Value) (G.Value, error) {
		r, h := in[0].Shape()[0], in[0].Shape()[1]
		out := reuse[T](op, h)
		x, dy, dg := data[T](in[0]), data[T](in[1]), data[T](out)
		clear(dg)
		for i := 0; i < r; i++ {
			xr, dyr := x[i*h:(i+1)*h], dy[i*h:(i+1)*h]
			mean, rstd := rowStats(xr, eps)
			for j, v := range xr {
				dg[j] += T((float64(v) - mean) * rstd * float64(dyr[j]))
			}
		}
		return out, nil
	}
	return op
}
