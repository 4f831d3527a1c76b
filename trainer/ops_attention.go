package trainer

import (
	"fmt"
	"math"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Self-attention on the fused projection qkv [B·S, 3H] (per row: query, key, value, each A heads
// of D = H/A values). The heads are read in place through the BLAS leading dimension: the
// scores of batch row b, head a are Q_ba·K_baᵀ with Q_ba the S×D block of qkv at row b·S,
// column a·D (stride 3H). No head split or merge copies.

type attnDims struct{ b, s, a int }

func (d attnDims) String() string { return fmt.Sprintf("%d,%d,%d", d.b, d.s, d.a) }

// blocks calls fn for each (batch row, head) with z its index in [B·A, S, S] and the offsets
// of its query (q), key (k = q+H) and value (v = q+2H) blocks in qkv and of its block in a
// [B·S, H] context (c).
// The blocks are independent and run on GOMAXPROCS goroutines.
func (d attnDims) blocks(h int, fn func(z, q, k, v, c int)) {
	dd := h / d.a
	parallel(d.b*d.a, 1, func(lo, hi int) {
		for z := lo; z < hi; z++ {
			b, a := z/d.a, z%d.a
			q := b*d.s*3*h + a*dd
			fn(z, q, q+h, q+2*h, b*d.s*h+a*dd)
		}
	})
}

// attnScores returns the raw scores Q_ba·K_baᵀ of every batch row and head: [B·A, S, S].
func attnScores[T float](qkv *G.Node, d attnDims) (*G.Node, error) {
	op := newOp[T]("kAttnScores{"+d.String()+"}", 1, 3)
	op.shape = func(in []tensor.Shape) (tensor.Shape, error) {
		if len(in[0]) != 2 || in[0][0] != d.b*d.s || in[0][1]%(3*d.a) != 0 {
			return nil, fmt.Errorf("attention scores: qkv %v does not match batch %d×%d, %d heads", in[0], d.b, d.s, d.a)
		}
		return tensor.Shape{d.b * d.a, d.s, d.s}, nil
	}
	op.do = func(in []G.Value) (G.Value, error) {
		h := in[0].Shape()[1] / 3
		dd, s := h/d.a, d.s
		out := reuse[T](op, d.b*d.a, s, s)
		x, y := data[T](in[0]), data[T](out)
		d.blocks(h, func(z, q, k, _, _ int) {
			gemm(false, true, s, s, dd, 1, x[q:], 3*h, x[k:], 3*h, 0, y[z*s*s:], s)
		})
		return out, nil
	}
	return G.ApplyOp(op, qkv)
}

// attnContext returns P_ba·V_ba of every batch row and head for the probabilities probs
// [B·A, S, S], the heads side by side: [B·S, H].
func attnContext[T float](probs, qkv *G.Node, d attnDims) (*G.Node, error) {
	op := newOp[T]("kAttnContext{"+d.String()+"}", 2, 2)
	op.shape = func(in []tensor.Shape) (tensor.Shape, error) {
		if len(in[0]) != 3 || in[0][0] != d.b*d.a || in[0][1] != d.s || in[0][2] != d.s || len(in[1]) != 2 || in[1][0] != d.b*d.s {
			return nil, fmt.Errorf("attention context: probabilities %v and qkv %v do not match", in[0], in[1])
		}
		return tensor.Shape{d.b * d.s, in[1][1] / 3}, nil
	}
	op.do = func(in []G.Value) (G.Value, error) {
		h := in[1].Shape()[1] / 3
		dd, s := h/d.a, d.s
		out := reuse[T](op, d.b*s, h)
		p, x, y := data[T](in[0]), data[T](in[1]), data[T](out)
		d.blocks(h, func(z, _, _, v, c int) {
			gemm(false, false, s, dd, s, 1, p[z*s*s:], s, x[v:], 3*h, 0, y[c:], h)
		})
		return out, nil
	}
	return G.ApplyOp(op, probs, qkv)
}

// attnContextBackward returns the gradient of attnContext's probabilities from dC, the
// gradient of its output: dP = dC_ba·V_baᵀ, [B·A, S, S]. The gradient of the values is part
// of attnBackward's.
func attnContextBackward[T float](dC, qkv *G.Node, d attnDims) (*G.Node, error) {
	op := newOp[T]("kAttnGradProbs{"+d.String()+"}", 2, 3)
	op.shape = func([]tensor.Shape) (tensor.Shape, error) { return tensor.Shape{d.b * d.a, d.s, d.s}, nil }
	op.do = func(in []G.Value) (G.Value, error) {
		h := in[1].Shape()[1] / 3
		dd, s := h/d.a, d.s
		out := reuse[T](op, d.b*d.a, s, s)
		dC, x, dp := data[T](in[0]), data[T](in[1]), data[T](out)
		d.blocks(h, func(z, _, _, v, c int) {
			gemm(false, true, s, s, dd, 1, dC[c:], h, x[v:], 3*h, 0, dp[z*s*s:], s) // dP = dC·Vᵀ
		})
		return out, nil
	}
	return G.ApplyOp(op, dC, qkv)
}

// attnBackward returns the gradient of qkv, which the attention reads twice (queries and keys
// in attnScores, values in attnContext): dQ = dS·K and dK = dSᵀ·Q from dS, the gradient of
// the scores, and dV = Pᵀ·dC from dC, the gradient of the context, with P the probabilities
// attnContext read.
func attnBackward[T float](dS, qkv, dC, probs *G.Node, d attnDims) (*G.Node, error) {
	op := newOp[T]("kAttnGradQKV{"+d.String()+"}", 4, 2)
	op.shape = func(in []tensor.Shape) (tensor.Shape, error) { return in[1].Clone(), nil }
	op.do = func(in []G.Value) (G.Value, error) {
		h := in[1].Shape()[1] / 3
		dd, s := h/d.a, d.s
		out := reuse[T](op, in[1].Shape()...)
		dS, x, dC, p, dx := data[T](in[0]), data[T](in[1]), data[T](in[2]), data[T](in[3]), data[T](out)
		d.blocks(h, func(z, q, k, v, c int) {
			ds, pz := dS[z*s*s:], p[z*s*s:]
			gemm(false, false, s, dd, s, 1, ds, s, x[k:], 3*h, 0, dx[q:], 3*h) // dQ = dS·K
			gemm(true, false, s, dd, s, 1, ds, s, x[q:], 3*h, 0, dx[k:], 3*h)  // dK = dSᵀ·Q
			gemm(true, false, s, dd, s, 1, pz, s, dC[c:], h, 0, dx[v:], 3*h)   // dV = Pᵀ·dC
		})
		return out, nil
	}
	return G.ApplyOp(op, dS, qkv, dC, probs)
}

// expRow sets dst[j] = exp(src[j]·scale + add[j] - shift) (add may be nil) and returns the sum,
// with the float32-exact expf for float32 and math.Exp for float64.
func expRow[T float](dst, src, add []T, scale, shift float64) float64 {
	var sum float64
	switch {
	case isF32[T]() && add == nil:
		for j, v := range src {
			e := expf(scale*float64(v) - shift)
			dst[j] = T(e)
			sum += e
		}
	case isF32[T]():
		for j, v := range src {
			e := expf(scale*float64(v) - shift + float64(add[j]))
			dst[j] = T(e)
			sum += e
		}
	default:
		for j, v := range src {
			t := scale*float64(v) - shift
			if add != nil {
				t += float64(add[j])
			}
			e := math.Exp(t)
			dst[j] = T(e)
			sum += e
		}
	}
	return sum
}

// maskedSoftmax computes softmax(scale·scores + mask) over the last axis of scores [B·A, S, S],
// where mask [B, S] is additive (0 for real tokens, a large negative number for padding).
func maskedSoftmax[T float](scores, mask *G.Node, heads int, scale float64) (*G.Node, error) {
	op := newOp[T](fmt.Sprintf("kMaskedSoftmax{%d,%g}", heads, scale), 2, 3)
	op.shape = func(in []tensor.Shape) (tensor.Shape, error) {
		s := in[0]
		if len(s) != 3 || len(in[1]) != 2 || s[0] != in[1][0]*heads || s[2] != in[1][1] {
			return nil, fmt.Errorf("masked softmax: scores %v and mask %v do not match (%d heads)", s, in[1], heads)
		}
		return s.Clone(), nil
	}
	op.do = func(in []G.Value) (G.Value, error) {
		sh := in[0].Shape()
		z, q, k := sh[0], sh[1], sh[2]
		out := reuse[T](op, z, q, k)
		x, m, y := data[T](in[0]), data[T](in[1]), data[T](out)
		parallel(z*q, 64, func(lo, hi int) {
			for row := lo; row < hi; row++ {
				zi := row / q
				mr := m[(zi/heads)*k : (zi/heads+1)*k]
				xr, yr := x[row*k:(row+1)*k], y[row*k:(row+1)*k]
				mx := math.Inf(-1)
				for j, v := range xr {
					if t := scale*float64(v) + float64(mr[j]); t > mx {
						mx = t
					}
				}
				inv := 1 / expRow(yr, xr, mr, scale, mx)
				for j := range yr {
					yr[j] = T(float64(yr[j]) * inv)
				}
			}
		})
		return out, nil
	}
	return G.ApplyOp(op, scores, mask)
}

// maskedSoftmaxBackward returns the gradient of the scores from probs = maskedSoftmax(scores,
// mask, heads, scale) and dP, the gradient of probs: scale·P·(dP − Σ_k P·dP) row by row.
func maskedSoftmaxBackward[T float](probs, dP *G.Node, scale float64) (*G.Node, error) {
	op := newOp[T](fmt.Sprintf("kMaskedSoftmaxGrad{%g}", scale), 2, 3)
	op.shape = sameShape
	op.do = func(in []G.Value) (G.Value, error) {
		sh := in[0].Shape()
		k := sh[2]
		res := reuse[T](op, sh...)
		p, dp, dx := data[T](in[0]), data[T](in[1]), data[T](res)
		parallel(len(p)/k, 64, func(lo, hi int) {
			for off := lo * k; off < hi*k; off += k {
				pr, dpr, dxr := p[off:off+k], dp[off:off+k], dx[off:off+k]
				var dot float64
				for j, v := range pr {
					dot += float64(v) * float64(dpr[j])
				}
				for j, v := range pr {
					dxr[j] = T(scale * float64(v) * (float64(dpr[j]) - dot))
				}
			}
		})
		return res, nil
	}
	return G.ApplyOp(op, probs, dP)
}
