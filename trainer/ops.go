package trainer

import (
	"fmt"
	"hash"
	"hash/fnv"
	"math"

	"github.com/chewxy/hm"
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
	"gonum.org/v1/gonum/blas/blas64"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// This file holds the custom gorgonia ops of the model: fused linear layer (PyTorch weight layout
// [out, in]), LayerNorm, exact GELU, head split/merge, masked softmax and weighted cross-entropy,
// each with the ops that compute its gradient. Gorgonia differentiates symbolically: an op's
// SymDiff adds gradient nodes built from other ops of this file.

// float is the element type of the model: float32 for training, float64 for the gradient check.
type float interface{ ~float32 | ~float64 }

// kop is a generic gorgonia op described by functions. Its name must encode every parameter:
// gorgonia deduplicates nodes whose ops hash alike and whose children are the same.
type kop struct {
	name  string
	arity int
	dt    tensor.Dtype
	dims  int // dimensions of the output; 0 for a scalar
	shape func(in []tensor.Shape) (tensor.Shape, error)
	do    func(in []G.Value) (G.Value, error)
	diff  func(in G.Nodes, out, dy *G.Node) (G.Nodes, error) // nil: not differentiable
	wrt   []bool
	buf   *tensor.Dense // output of the previous run, reused when the shape is the same
}

// reuse returns the op's output tensor of the previous run when it has the wanted shape, or a
// new zeroed one. A graph runs its ops in the same order every time and nothing keeps an
// output from one run to the next, so an op may overwrite its last output; ops must write every
// element (or clear the tensor first).
func reuse[T float](o *kop, shape ...int) *tensor.Dense {
	if o.buf != nil && o.buf.Shape().Eq(tensor.Shape(shape)) {
		if _, ok := o.buf.Data().([]T); ok {
			return o.buf
		}
	}
	o.buf = newDense[T](shape...)
	return o.buf
}

// Arity and the methods below implement gorgonia's Op and SDOp interfaces.
func (o *kop) Arity() int { return o.arity }

func (o *kop) Type() hm.Type {
	ts := make(hm.Types, 0, o.arity+1)
	for i := 0; i < o.arity; i++ {
		ts = append(ts, hm.TypeVariable(rune('k'+i))) // not 'b': gorgonia's inference uses it
	}
	if o.dims == 0 {
		ts = append(ts, o.dt)
	} else {
		ts = append(ts, G.TensorType{Dims: o.dims, Of: o.dt})
	}
	return hm.NewFnType(ts...)
}

func (o *kop) InferShape(ds ...G.DimSizer) (tensor.Shape, error) {
	in := make([]tensor.Shape, len(ds))
	for i, d := range ds {
		s, ok := d.(tensor.Shape)
		if !ok {
			return nil, fmt.Errorf("%s: input %d has no shape", o.name, i)
		}
		in[i] = s
	}
	return o.shape(in)
}

func (o *kop) Do(in ...G.Value) (G.Value, error) {
	if len(in) != o.arity {
		return nil, fmt.Errorf("%s: got %d inputs, want %d", o.name, len(in), o.arity)
	}
	return o.do(in)
}

func (o *kop) ReturnsPtr() bool      { return false }
func (o *kop) CallsExtern() bool     { return false }
func (o *kop) OverwritesInput() int  { return -1 }
func (o *kop) WriteHash(h hash.Hash) { fmt.Fprint(h, o.name) }
func (o *kop) String() string        { return o.name }

func (o *kop) Hashcode() uint32 {
	h := fnv.New32a()
	o.WriteHash(h)
	return h.Sum32()
}

func (o *kop) DiffWRT(n int) []bool {
	if o.diff == nil {
		return make([]bool, n)
	}
	return o.wrt
}

func (o *kop) SymDiff(in G.Nodes, out, dy *G.Node) (G.Nodes, error) {
	if o.diff == nil {
		return nil, fmt.Errorf("%s is not differentiable", o.name)
	}
	return o.diff(in, out, dy)
}

// data returns the backing slice of a tensor value.
func data[T float](v G.Value) []T {
	return v.(*tensor.Dense).Data().([]T)
}

// scalar returns the value of a scalar gorgonia value as float64.
func scalar(v G.Value) float64 {
	switch s := v.(type) {
	case *G.F32:
		return float64(*s)
	case *G.F64:
		return float64(*s)
	case *tensor.Dense:
		switch d := s.Data().(type) {
		case []float32:
			return float64(d[0])
		case []float64:
			return d[0]
		case float32:
			return float64(d)
		case float64:
			return d
		}
	}
	panic(fmt.Sprintf("trainer: not a scalar: %T", v)) // programming error: graph built wrongly
}

func newScalar[T float](x float64) G.Value {
	var z T
	if _, ok := any(z).(float32); ok {
		return G.NewF32(float32(x))
	}
	return G.NewF64(x)
}

func newDense[T float](shape ...int) *tensor.Dense {
	n := 1
	for _, s := range shape {
		n *= s
	}
	return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(make([]T, n)))
}

func dtypeOf[T float]() tensor.Dtype {
	var z T
	if _, ok := any(z).(float32); ok {
		return tensor.Float32
	}
	return tensor.Float64
}

// gemm computes c = alpha*op(a)*op(b) + beta*c on row-major matrices through gonum's BLAS
// (the registered implementation: pure Go by default).
func gemm[T float](tA, tB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	ta, tb := blas.NoTrans, blas.NoTrans
	ar, ac, br, bc := m, k, k, n
	if tA {
		ta, ar, ac = blas.Trans, k, m
	}
	if tB {
		tb, br, bc = blas.Trans, n, k
	}
	switch a := any(a).(type) {
	case []float32:
		blas32.Gemm(ta, tb, float32(alpha),
			blas32.General{Rows: ar, Cols: ac, Stride: lda, Data: a},
			blas32.General{Rows: br, Cols: bc, Stride: ldb, Data: any(b).([]float32)},
			float32(beta), blas32.General{Rows: m, Cols: n, Stride: ldc, Data: any(c).([]float32)})
	case []float64:
		blas64.Gemm(ta, tb, float64(alpha),
			blas64.General{Rows: ar, Cols: ac, Stride: lda, Data: a},
			blas64.General{Rows: br, Cols: bc, Stride: ldb, Data: any(b).([]float64)},
			float64(beta), blas64.General{Rows: m, Cols: n, Stride: ldc, Data: any(c).([]float64)})
	}
}

func want2D(name string, s tensor.Shape) error {
	if len(s) != 2 {
		return fmt.Errorf("%s: want a matrix, got shape %v", name, s)
	}
	return nil
}

// linear returns x·Wᵀ + b for x [R, in], W [out, in] (PyTorch layout), b [out].
func linear[T float](x, w, b *G.Node) (*G.Node, error) {
	op := &kop{name: "kLinear", arity: 3, dt: dtypeOf[T](), dims: 2, wrt: []bool{true, true, true}}
	op.shape = func(in []tensor.Shape) (tensor.Shape, error) {
		if err := want2D("linear x", in[0]); err != nil {
			return nil, err
		}
		if err := want2D("linear W", in[1]); err != nil {
			return nil, err
		}
		if in[0][1] != in[1][1] || in[2].TotalSize() != in[1][0] {
			return nil, fmt.Errorf("linear: shapes x %v, W %v, b %v do not match", in[0], in[1], in[2])
		}
		return tensor.Shape{in[0][0], in[1][0]}, nil
	}
	op.do = func(in []G.Value) (G.Value, error) {
		xs, ws := in[0].Shape(), in[1].Shape()
		r, k, n := xs[0], xs[1], ws[0]
		out := reuse[T](op, r, n)
		y, bias := data[T](out), data[T](in[2])
		for i := 0; i < r; i++ {
			copy(y[i*n:(i+1)*n], bias)
		}
		gemm(false, true, r, n, k, 1, data[T](in[0]), k, data[T](in[1]), k, 1, y, n)
		return out, nil
	}
	op.diff = func(in G.Nodes, _, dy *G.Node) (G.Nodes, error) {
		dx, err := G.ApplyOp(linearGradX[T](), dy, in[1])
		if err != nil {
			return nil, err
		}
		dw, err := G.ApplyOp(linearGradW[T](), dy, in[0])
		if err != nil {
			return nil, err
		}
		db, err := G.ApplyOp(colSum[T](), dy)
		if err != nil {
			return nil, err
		}
		return G.Nodes{dx, dw, db}, nil
	}
	return G.ApplyOp(op, x, w, b)
}

// linearGradX computes dy·W: [R, out]·[out, in] -> [R, in].
func linearGradX[T float]() *kop {
	op := &kop{name: "kLinearGradX", arity: 2, dt: dtypeOf[T](), dims: 2}
	op.shape = func(in []tensor.Shape) (tensor.Shape, error) { return tensor.Shape{in[0][0], in[1][1]}, nil }
	op.do = func(in []G.Value) (G.Value, error) {
		r, n, k := in[0].Shape()[0], in[0].Shape()[1], in[1].Shape()[1]
		out := reuse[T](op, r, k)
		gemm(false, false, r, k, n, 1, data[T](in[0]), n, data[T](in[1]), k, 0, data[T](out), k)
		return out, nil
	}
	return op
}

// linearGradW computes dyᵀ·x: [out, R]·[R, in] -> [out, in].
func linearGradW[T float]() *kop {
	op := &kop{name: "kLinearGradW", arity: 2, dt: dtypeOf[T](), dims: 2}
	op.shape = func(in []tensor.Shape) (tensor.Shape, error) { return tensor.Shape{in[0][1], in[1][1]}, nil }
	op.do = func(in []G.Value) (G.Value, error) {
		r, n, k := in[0].Shape()[0], in[0].Shape()[1], in[1].Shape()[1]
		out := reuse[T](op, n, k)
		gemm(true, false, n, k, r, 1, data[T](in[0]), n, data[T](in[1]), k, 0, data[T](out), k)
		return out, nil
	}
	return op
}

// colSum sums a matrix [R, C] over its rows -> [C] (the gradient of a bias).
func colSum[T float]() *kop {
	op := &kop{name: "kColSum", arity: 1, dt: dtypeOf[T](), dims: 1}
	op.shape = func(in []tensor.Shape) (tensor.Shape, error) { return tensor.Shape{in[0][1]}, nil }
	op.do = func(in []G.Value) (G.Value, error) {
		r, c := in[0].Shape()[0], in[0].Shape()[1]
		out := reuse[T](op, c)
		x, y := data[T](in[0]), data[T](out)
		clear(y)
		for i := 0; i < r; i++ {
			row := x[i*c : (i+1)*c]
			for j, v := range row {
				y[j] += v
			}
		}
		return out, nil
	}
	return op
}

// layerNorm normalises each row of x [R, H] and applies gamma and beta [H].
func layerNorm[T float](x, gamma, beta *G.Node, eps float64) (*G.Node, error) {
	op := &kop{name: fmt.Sprintf("kLayerNorm{%g}", eps), arity: 3, dt: dtypeOf[T](), dims: 2, wrt: []bool{true, true, true}}
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
		for i := 0; i < r; i++ {
			xr, yr := x[i*h:(i+1)*h], y[i*h:(i+1)*h]
			mean, rstd := rowStats(xr, eps)
			for j, v := range xr {
				yr[j] = T((float64(v)-mean)*rstd)*g[j] + b[j]
			}
		}
		return out, nil
	}
	op.diff = func(in G.Nodes, _, dy *G.Node) (G.Nodes, error) {
		dx, err := G.ApplyOp(layerNormGradX[T](eps), in[0], in[1], dy)
		if err != nil {
			return nil, err
		}
		dg, err := G.ApplyOp(layerNormGradGamma[T](eps), in[0], dy)
		if err != nil {
			return nil, err
		}
		db, err := G.ApplyOp(colSum[T](), dy)
		if err != nil {
			return nil, err
		}
		return G.Nodes{dx, dg, db}, nil
	}
	return G.ApplyOp(op, x, gamma, beta)
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
	op := &kop{name: fmt.Sprintf("kLayerNormGradX{%g}", eps), arity: 3, dt: dtypeOf[T](), dims: 2}
	op.shape = func(in []tensor.Shape) (tensor.Shape, error) { return in[0].Clone(), nil }
	op.do = func(in []G.Value) (G.Value, error) {
		r, h := in[0].Shape()[0], in[0].Shape()[1]
		out := reuse[T](op, r, h)
		x, g, dy, dx := data[T](in[0]), data[T](in[1]), data[T](in[2]), data[T](out)
		for i := 0; i < r; i++ {
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
		return out, nil
	}
	return op
}

// layerNormGradGamma computes dL/dgamma = Σ_rows dy·x̂.
func layerNormGradGamma[T float](eps float64) *kop {
	op := &kop{name: fmt.Sprintf("kLayerNormGradGamma{%g}", eps), arity: 2, dt: dtypeOf[T](), dims: 1}
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

// gelu applies the exact GELU, x·Φ(x) = 0.5·x·(1 + erf(x/√2)), as Hugging Face's "gelu".
func gelu[T float](x *G.Node) (*G.Node, error) {
	op := &kop{name: "kGELU", arity: 1, dt: dtypeOf[T](), dims: x.Dims(), wrt: []bool{true}}
	op.shape = func(in []tensor.Shape) (tensor.Shape, error) { return in[0].Clone(), nil }
	op.do = func(in []G.Value) (G.Value, error) {
		out := reuse[T](op, in[0].Shape()...)
		y := data[T](out)
		for i, v := range data[T](in[0]) {
			f := float64(v)
			y[i] = T(0.5 * f * (1 + math.Erf(f/math.Sqrt2)))
		}
		return out, nil
	}
	op.diff = func(in G.Nodes, _, dy *G.Node) (G.Nodes, error) {
		g := &kop{name: "kGELUGrad", arity: 2, dt: dtypeOf[T](), dims: in[0].Dims()}
		g.shape = func(in []tensor.Shape) (tensor.Shape, error) { return in[0].Clone(), nil }
		g.do = func(in []G.Value) (G.Value, error) {
			out := reuse[T](g, in[0].Shape()...)
			dx, dyv := data[T](out), data[T](in[1])
			const invSqrt2Pi = 0.3989422804014327
			for i, v := range data[T](in[0]) {
				f := float64(v)
				d := 0.5*(1+math.Erf(f/math.Sqrt2)) + f*invSqrt2Pi*math.Exp(-0.5*f*f)
				dx[i] = T(d * float64(dyv[i]))
			}
			return out, nil
		}
		dx, err := G.ApplyOp(g, in[0], dy)
		return G.Nodes{dx}, err
	}
	return G.ApplyOp(op, x)
}

// splitHeads rearranges x [B·S, A·D] into [B·A, S, D]; merge does the inverse.
func splitHeads[T float](x *G.Node, b, s, a int, merge bool) (*G.Node, error) {
	name := "kSplitHeads"
	dims := 3
	if merge {
		name, dims = "kMergeHeads", 2
	}
	op := &kop{name: fmt.Sprintf("%s{%d,%d,%d}", name, b, s, a), arity: 1, dt: dtypeOf[T](), dims: dims, wrt: []bool{true}}
	op.shape = func(in []tensor.Shape) (tensor.Shape, error) {
		n := in[0].TotalSize()
		if n%(b*s*a) != 0 {
			return nil, fmt.Errorf("%s: shape %v does not split into %d×%d×%d", op.name, in[0], b, s, a)
		}
		d := n / (b * s * a)
		if merge {
			return tensor.Shape{b * s, a * d}, nil
		}
		return tensor.Shape{b * a, s, d}, nil
	}
	op.do = func(in []G.Value) (G.Value, error) {
		n := in[0].Shape().TotalSize()
		d := n / (b * s * a)
		var out *tensor.Dense
		if merge {
			out = reuse[T](op, b*s, a*d)
		} else {
			out = reuse[T](op, b*a, s, d)
		}
		x, y := data[T](in[0]), data[T](out)
		h := a * d
		for bi := 0; bi < b; bi++ {
			for si := 0; si < s; si++ {
				for ai := 0; ai < a; ai++ {
					flat := (bi*s+si)*h + ai*d     // in [B·S, A·D]
					head := ((bi*a+ai)*s + si) * d // in [B·A, S, D]
					if merge {
						copy(y[flat:flat+d], x[head:head+d])
					} else {
						copy(y[head:head+d], x[flat:flat+d])
					}
				}
			}
		}
		return out, nil
	}
	op.diff = func(_ G.Nodes, _, dy *G.Node) (G.Nodes, error) {
		dx, err := splitHeads[T](dy, b, s, a, !merge)
		return G.Nodes{dx}, err
	}
	return G.ApplyOp(op, x)
}

// maskedSoftmax computes softmax(scale·scores + mask) over the last axis of scores [B·A, S, S],
// where mask [B, S] is additive (0 for real tokens, a large negative number for padding).
func maskedSoftmax[T float](scores, mask *G.Node, heads int, scale float64) (*G.Node, error) {
	op := &kop{name: fmt.Sprintf("kMaskedSoftmax{%d,%g}", heads, scale), arity: 2, dt: dtypeOf[T](), dims: 3, wrt: []bool{true, false}}
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
		for zi := 0; zi < z; zi++ {
			mr := m[(zi/heads)*k : (zi/heads+1)*k]
			for qi := 0; qi < q; qi++ {
				off := (zi*q + qi) * k
				xr, yr := x[off:off+k], y[off:off+k]
				mx := math.Inf(-1)
				for j, v := range xr {
					t := scale*float64(v) + float64(mr[j])
					if t > mx {
						mx = t
					}
				}
				var sum float64
				for j, v := range xr {
					e := math.Exp(scale*float64(v) + float64(mr[j]) - mx)
					yr[j] = T(e)
					sum += e
				}
				inv := 1 / sum
				for j := range yr {
					yr[j] = T(float64(yr[j]) * inv)
				}
			}
		}
		return out, nil
	}
	op.diff = func(_ G.Nodes, out, dy *G.Node) (G.Nodes, error) {
		g := &kop{name: fmt.Sprintf("kMaskedSoftmaxGrad{%g}", scale), arity: 2, dt: dtypeOf[T](), dims: 3}
		g.shape = func(in []tensor.Shape) (tensor.Shape, error) { return in[0].Clone(), nil }
		g.do = func(in []G.Value) (G.Value, error) {
			sh := in[0].Shape()
			k := sh[2]
			res := reuse[T](g, sh...)
			p, dp, dx := data[T](in[0]), data[T](in[1]), data[T](res)
			for off := 0; off < len(p); off += k {
				pr, dpr, dxr := p[off:off+k], dp[off:off+k], dx[off:off+k]
				var dot float64
				for j, v := range pr {
					dot += float64(v) * float64(dpr[j])
				}
				for j, v := range pr {
					dxr[j] = T(scale * float64(v) * (float64(dpr[j]) - dot))
				}
			}
			return res, nil
		}
		dx, err := G.ApplyOp(g, out, dy)
		return G.Nodes{dx, nil}, err
	}
	return G.ApplyOp(op, scores, mask)
}

// crossEntropy returns Σᵢ wᵢ·(−log softmax(logitsᵢ)[targetᵢ]) / Σᵢ wᵢ (0 when Σ w = 0), for
// logits [M, C] and targets and weights [M] (targets hold class ids as floats; rows with weight
// 0 are padding and ignored).
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
	// lse holds each row's log-sum-exp from the forward pass for the backward pass, which runs
	// after it in the same run of the graph.
	var lse []float64
	op.do = func(in []G.Value) (G.Value, error) {
		m, c := in[0].Shape()[0], in[0].Shape()[1]
		x, t, w := data[T](in[0]), data[T](in[1]), data[T](in[2])
		if len(lse) != m {
			lse = make([]float64, m)
		}
		var loss, wsum float64
		for i := 0; i < m; i++ {
			if w[i] == 0 {
				continue
			}
			ti := int(t[i])
			if ti < 0 || ti >= c {
				return nil, fmt.Errorf("cross-entropy: target %d out of range [0, %d)", ti, c)
			}
			row := x[i*c : (i+1)*c]
			lse[i] = logSumExp(row)
			loss += float64(w[i]) * (lse[i] - float64(row[ti]))
			wsum += float64(w[i])
		}
		if wsum > 0 {
			loss /= wsum
		}
		return newScalar[T](loss), nil
	}
	op.diff = func(in G.Nodes, _, dy *G.Node) (G.Nodes, error) {
		g := &kop{name: "kCrossEntropyGrad", arity: 4, dt: dtypeOf[T](), dims: 2}
		g.shape = func(in []tensor.Shape) (tensor.Shape, error) { return in[0].Clone(), nil }
		g.do = func(in []G.Value) (G.Value, error) {
			m, c := in[0].Shape()[0], in[0].Shape()[1]
			res := reuse[T](g, m, c)
			x, t, w, dx := data[T](in[0]), data[T](in[1]), data[T](in[2]), data[T](res)
			var wsum float64
			for _, v := range w {
				wsum += float64(v)
			}
			if len(lse) != m {
				return nil, fmt.Errorf("cross-entropy gradient: the forward pass has not run")
			}
			for i := 0; i < m; i++ {
				row, drow := x[i*c:(i+1)*c], dx[i*c:(i+1)*c]
				if w[i] == 0 {
					clear(drow)
					continue
				}
				f := scalar(in[3]) / wsum * float64(w[i])
				for j, v := range row {
					drow[j] = T(f * math.Exp(float64(v)-lse[i]))
				}
				drow[int(t[i])] -= T(f)
			}
			return res, nil
		}
		dx, err := G.ApplyOp(g, in[0], in[1], in[2], dy)
		return G.Nodes{dx, nil, nil}, err
	}
	return G.ApplyOp(op, logits, target, weight)
}

func logSumExp[T float](row []T) float64 {
	mx := math.Inf(-1)
	for _, v := range row {
		if float64(v) > mx {
			mx = float64(v)
		}
	}
	var s float64
	for _, v := range row {
		s += math.Exp(float64(v) - mx)
	}
	return mx + math.Log(s)
}

// dropoutMul multiplies x elementwise by a mask of the same shape (the inverted-dropout factors
// drawn for the run); its gradient is dy times the same mask.
func dropoutMul[T float](x, mask *G.Node) (*G.Node, error) {
	op := &kop{name: "kDropout", arity: 2, dt: dtypeOf[T](), dims: x.Dims(), wrt: []bool{true, false}}
	op.shape = func(in []tensor.Shape) (tensor.Shape, error) {
		if !in[0].Eq(in[1]) {
			return nil, fmt.Errorf("dropout: input %v and mask %v differ in shape", in[0], in[1])
		}
		return in[0].Clone(), nil
	}
	op.do = func(in []G.Value) (G.Value, error) {
		out := reuse[T](op, in[0].Shape()...)
		y, m := data[T](out), data[T](in[1])
		for i, v := range data[T](in[0]) {
			y[i] = v * m[i]
		}
		return out, nil
	}
	op.diff = func(in G.Nodes, _, dy *G.Node) (G.Nodes, error) {
		dx, err := dropoutMul[T](dy, in[1])
		return G.Nodes{dx, nil}, err
	}
	return G.ApplyOp(op, x, mask)
}

// gather returns the rows of table [R, H] at the indices idx [n] (ints): [n, H]. Its gradient
// adds each row of dy into the row it came from.
func gather[T float](table, idx *G.Node) (*G.Node, error) {
	op := &kop{name: "kGather", arity: 2, dt: dtypeOf[T](), dims: 2, wrt: []bool{true, false}}
	op.shape = func(in []tensor.Shape) (tensor.Shape, error) {
		if err := want2D("gather table", in[0]); err != nil {
			return nil, err
		}
		return tensor.Shape{in[1].TotalSize(), in[0][1]}, nil
	}
	op.do = func(in []G.Value) (G.Value, error) {
		rows, h := in[0].Shape()[0], in[0].Shape()[1]
		ix := in[1].Data().([]int)
		out := reuse[T](op, len(ix), h)
		t, y := data[T](in[0]), data[T](out)
		for i, r := range ix {
			if r < 0 || r >= rows {
				return nil, fmt.Errorf("gather: index %d outside [0, %d)", r, rows)
			}
			copy(y[i*h:(i+1)*h], t[r*h:(r+1)*h])
		}
		return out, nil
	}
	op.diff = func(in G.Nodes, _, dy *G.Node) (G.Nodes, error) {
		rows := in[0].Shape()[0]
		g := &kop{name: fmt.Sprintf("kScatterAdd{%d}", rows), arity: 2, dt: dtypeOf[T](), dims: 2}
		g.shape = func(s []tensor.Shape) (tensor.Shape, error) { return tensor.Shape{rows, s[0][1]}, nil }
		g.do = func(v []G.Value) (G.Value, error) {
			h := v[0].Shape()[1]
			out := reuse[T](g, rows, h)
			d, y := data[T](v[0]), data[T](out)
			clear(y)
			for i, r := range v[1].Data().([]int) {
				dst, src := y[r*h:(r+1)*h], d[i*h:(i+1)*h]
				for j, s := range src {
					dst[j] += s
				}
			}
			return out, nil
		}
		dx, err := G.ApplyOp(g, dy, in[1])
		return G.Nodes{dx, nil}, err
	}
	return G.ApplyOp(op, table, idx)
}
