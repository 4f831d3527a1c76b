package trainer

import (
	"fmt"
	"hash"
	"hash/fnv"
	"math"
	"runtime"

	"github.com/chewxy/hm"
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
	"gonum.org/v1/gonum/blas/blas64"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// This file and ops_*.go hold the custom gorgonia ops of the model: fused linear layer (PyTorch
// weight layout [out, in]), residual addition, LayerNorm, exact GELU, tanh, embeddings, row
// gathers, attention on the fused query/key/value projection, masked softmax and weighted
// cross-entropy, each with the ops that compute its gradient. Gorgonia differentiates
// symbolically: an op's SymDiff adds gradient nodes built from other ops of these files.
//
// The graph uses no gorgonia op of its own on tensors, so that a run allocates nothing: every op
// writes into the buffer it used in the previous run, and matrix products go straight to
// gonum's BLAS (blas32/blas64: pure Go, or OpenBLAS in a build with -tags openblas). Gorgonia
// sums the gradients of a node used by two ops with its own Add, which allocates; the model's
// only such nodes (the input of each residual block, the word embeddings shared with the
// decoder, the encoder output read by both heads) use a stash instead (see stash); what is left
// is one small Add of [batch, hidden] (see gatherAfter).

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
// element (or clear the tensor first). A forward op may fill its gradient op's buffer with what
// the gradient needs (GELU, cross-entropy): the gradient op runs later in the same run.
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
// (the registered implementation: pure Go by default, OpenBLAS with -tags openblas). With
// OpenBLAS, which then runs single-threaded (see blas_openblas.go), a large product is cut into
// column (or row) blocks computed on GOMAXPROCS goroutines; gonum's BLAS spreads its work over
// goroutines itself.
func gemm[T float](tA, tB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	if w := min(runtime.GOMAXPROCS(0), 8); splitGemm && w > 1 && m*n*k >= 1<<21 {
		if n >= m && n >= 2*w {
			parallel(n, (n+w-1)/w, func(j0, j1 int) {
				bo := j0 // op(B)[:, j0:]: columns of B, or rows of Bᵀ
				if tB {
					bo = j0 * ldb
				}
				gemm1(tA, tB, m, j1-j0, k, alpha, a, lda, b[bo:], ldb, beta, c[j0:], ldc)
			})
			return
		}
		if m >= 2*w {
			parallel(m, (m+w-1)/w, func(i0, i1 int) {
				ao := i0 * lda // op(A)[i0:, :]: rows of A, or columns of Aᵀ
				if tA {
					ao = i0
				}
				gemm1(tA, tB, i1-i0, n, k, alpha, a[ao:], lda, b, ldb, beta, c[i0*ldc:], ldc)
			})
			return
		}
	}
	gemm1(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

func gemm1[T float](tA, tB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
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

// stash hands a gradient node from the op that makes it to the op that needs it. When a node x
// feeds two ops, one of them declares x not differentiable and, in its SymDiff, leaves its part
// of x's gradient here; the other adds it into the gradient it returns for x. Gorgonia calls
// SymDiff in reverse topological order, so the op that fills a stash must come after the one
// that reads it in the forward pass (a residual addition after its block; the decoder after
// the embeddings; a second row gather made to depend on the first).
type stash struct {
	what string
	n    *G.Node // the gradient (part)
	idx  *G.Node // for a row gather: the indices the gradient rows go back to
}

func (s *stash) get() (*G.Node, error) {
	if s.n == nil {
		return nil, fmt.Errorf("gradient of %s not made yet: graph built in the wrong order", s.what)
	}
	return s.n, nil
}

func trues(n int) []bool {
	b := make([]bool, n)
	for i := range b {
		b[i] = true
	}
	return b
}

// linear returns [x·W₁ᵀ + b₁ | x·W₂ᵀ + b₂ | ...] for x [R, in] and pairs W_i [out_i, in]
// (PyTorch layout), b_i [out_i] given as wb = W₁, b₁, W₂, b₂, ...: one dense layer, or the
// query, key and value projections fused. resid, when not nil, holds the gradient of x from its
// other consumer (a residual addition), added into dx. tied, when not nil, receives the
// gradient of the (single) weight instead of its being returned: the decoder is tied to the
// word embeddings, whose op adds it into the gradient of the table.
func linear[T float](x *G.Node, wb []*G.Node, resid, tied *stash) (*G.Node, error) {
	k := len(wb) / 2
	op := &kop{name: fmt.Sprintf("kLinear{%d}", k), arity: 1 + 2*k, dt: dtypeOf[T](), dims: 2, wrt: trues(1 + 2*k)}
	if tied != nil {
		op.wrt[1] = false
	}
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
	op.diff = func(in G.Nodes, _, dy *G.Node) (G.Nodes, error) {
		grads := make(G.Nodes, len(in))
		dxIn := G.Nodes{dy}
		for j := 0; j < k; j++ {
			dxIn = append(dxIn, in[1+2*j])
		}
		if resid != nil {
			r, err := resid.get()
			if err != nil {
				return nil, err
			}
			dxIn = append(dxIn, r)
		}
		var err error
		if grads[0], err = G.ApplyOp(linearGradX[T](k, resid != nil), dxIn...); err != nil {
			return nil, err
		}
		for j, c := 0, 0; j < k; j++ {
			o := in[1+2*j].Shape()[0]
			dw, err := G.ApplyOp(linearGradW[T](c, o), dy, in[0])
			if err != nil {
				return nil, err
			}
			if tied != nil {
				tied.n = dw
			} else {
				grads[1+2*j] = dw
			}
			if grads[2+2*j], err = G.ApplyOp(colSum[T](c, o), dy); err != nil {
				return nil, err
			}
			c += o
		}
		return grads, nil
	}
	return G.ApplyOp(op, append(G.Nodes{x}, wb...)...)
}

// linearGradX computes Σ_i dy_i·W_i (+ resid) for dy [R, Σout_i] and W_i [out_i, in]: [R, in].
func linearGradX[T float](k int, hasResid bool) *kop {
	arity := 1 + k
	if hasResid {
		arity++
	}
	op := &kop{name: fmt.Sprintf("kLinearGradX{%d,%t}", k, hasResid), arity: arity, dt: dtypeOf[T](), dims: 2}
	op.shape = func(in []tensor.Shape) (tensor.Shape, error) { return tensor.Shape{in[0][0], in[1][1]}, nil }
	op.do = func(in []G.Value) (G.Value, error) {
		r, n, d := in[0].Shape()[0], in[0].Shape()[1], in[1].Shape()[1]
		out := reuse[T](op, r, d)
		dx, dy := data[T](out), data[T](in[0])
		var beta T
		if hasResid {
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
	op := &kop{name: fmt.Sprintf("kLinearGradW{%d,%d}", c, o), arity: 2, dt: dtypeOf[T](), dims: 2}
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

// transpose writes the transpose of the r×c matrix a (row stride lda) into t (c×r), in tiles
// on GOMAXPROCS goroutines.
func transpose[T float](t, a []T, r, c, lda int) {
	const tile = 32
	parallel((c+tile-1)/tile, 1, func(lo, hi int) {
		for j0 := lo * tile; j0 < min(hi*tile, c); j0 += tile {
			for i0 := 0; i0 < r; i0 += tile {
				for j := j0; j < min(j0+tile, c); j++ {
					tr := t[j*r : (j+1)*r]
					for i := i0; i < min(i0+tile, r); i++ {
						tr[i] = a[i*lda+j]
					}
				}
			}
		}
	})
}

// colSum sums columns [c, c+o) of a matrix [R, C] over its rows -> [o] (a bias gradient).
func colSum[T float](c, o int) *kop {
	op := &kop{name: fmt.Sprintf("kColSum{%d,%d}", c, o), arity: 1, dt: dtypeOf[T](), dims: 1}
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

// residual returns a + x, where x is also the input of the block that computed a. The
// gradient of x is left in st for the first op of that block (see linear's resid).
func residual[T float](a, x *G.Node, st *stash) (*G.Node, error) {
	op := &kop{name: "kResidual", arity: 2, dt: dtypeOf[T](), dims: 2, wrt: []bool{true, false}}
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
	op.diff = func(_ G.Nodes, _, dy *G.Node) (G.Nodes, error) {
		st.n = dy
		return G.Nodes{dy, nil}, nil
	}
	return G.ApplyOp(op, a, x)
}

// addScalars returns a + b for two scalars (the total loss).
func addScalars[T float](a, b *G.Node) (*G.Node, error) {
	op := &kop{name: "kAddScalars", arity: 2, dt: dtypeOf[T](), dims: 0, wrt: []bool{true, true}}
	op.shape = func([]tensor.Shape) (tensor.Shape, error) { return tensor.ScalarShape(), nil }
	op.do = func(in []G.Value) (G.Value, error) { return newScalar[T](scalar(in[0]) + scalar(in[1])), nil }
	op.diff = func(_ G.Nodes, _, dy *G.Node) (G.Nodes, error) { return G.Nodes{dy, dy}, nil }
	return G.ApplyOp(op, a, b)
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
	op.diff = func(in G.Nodes, _, dy *G.Node) (G.Nodes, error) {
		dx, err := G.ApplyOp(layerNormGradX[T](eps), in[0], in[1], dy)
		if err != nil {
			return nil, err
		}
		dg, err := G.ApplyOp(layerNormGradGamma[T](eps), in[0], dy)
		if err != nil {
			return nil, err
		}
		db, err := G.ApplyOp(colSum[T](0, in[0].Shape()[1]), dy)
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

// isF32 reports whether T is float32: the float32 model uses the float32-exact kernels of
// mathf.go, the float64 one (the gradient check) math.Exp and math.Erf.
func isF32[T float]() bool {
	var z T
	_, ok := any(z).(float32)
	return ok
}

// gelu applies the exact GELU, x·Φ(x) = 0.5·x·(1 + erf(x/√2)), as Hugging Face's "gelu". In
// a training graph the forward pass also leaves the derivative Φ(x) + x·φ(x) in the gradient
// op's buffer, which the gradient op multiplies by dy in place.
func gelu[T float](x *G.Node) (*G.Node, error) {
	op := &kop{name: "kGELU", arity: 1, dt: dtypeOf[T](), dims: x.Dims(), wrt: []bool{true}}
	var grad *kop // the gradient op; nil in an evaluation graph
	op.shape = func(in []tensor.Shape) (tensor.Shape, error) { return in[0].Clone(), nil }
	op.do = func(in []G.Value) (G.Value, error) {
		out := reuse[T](op, in[0].Shape()...)
		x, y := data[T](in[0]), data[T](out)
		var d []T
		if grad != nil {
			d = data[T](reuse[T](grad, in[0].Shape()...))
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
	op.diff = func(in G.Nodes, _, dy *G.Node) (G.Nodes, error) {
		g := &kop{name: "kGELUGrad", arity: 2, dt: dtypeOf[T](), dims: in[0].Dims()}
		grad = g
		g.shape = func(in []tensor.Shape) (tensor.Shape, error) { return in[0].Clone(), nil }
		g.do = func(in []G.Value) (G.Value, error) {
			if g.buf == nil || !g.buf.Shape().Eq(in[0].Shape()) {
				return nil, fmt.Errorf("GELU gradient: the forward pass has not run")
			}
			dx, dyv := data[T](g.buf), data[T](in[1])
			parallel(len(dx), 1<<14, func(lo, hi int) {
				for i := lo; i < hi; i++ {
					dx[i] *= dyv[i]
				}
			})
			return g.buf, nil
		}
		dx, err := G.ApplyOp(g, in[0], dy)
		return G.Nodes{dx}, err
	}
	return G.ApplyOp(op, x)
}

// tanh applies tanh element-wise (the pooler's activation).
func tanh[T float](x *G.Node) (*G.Node, error) {
	op := &kop{name: "kTanh", arity: 1, dt: dtypeOf[T](), dims: x.Dims(), wrt: []bool{true}}
	op.shape = func(in []tensor.Shape) (tensor.Shape, error) { return in[0].Clone(), nil }
	op.do = func(in []G.Value) (G.Value, error) {
		out := reuse[T](op, in[0].Shape()...)
		y := data[T](out)
		for i, v := range data[T](in[0]) {
			y[i] = T(math.Tanh(float64(v)))
		}
		return out, nil
	}
	op.diff = func(_ G.Nodes, out, dy *G.Node) (G.Nodes, error) {
		g := &kop{name: "kTanhGrad", arity: 2, dt: dtypeOf[T](), dims: out.Dims()}
		g.shape = func(in []tensor.Shape) (tensor.Shape, error) { return in[0].Clone(), nil }
		g.do = func(in []G.Value) (G.Value, error) {
			res := reuse[T](g, in[0].Shape()...)
			y, d, dx := data[T](in[0]), data[T](in[1]), data[T](res)
			for i, v := range y {
				dx[i] = d[i] * (1 - v*v)
			}
			return res, nil
		}
		dx, err := G.ApplyOp(g, out, dy)
		return G.Nodes{dx}, err
	}
	return G.ApplyOp(op, x)
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
		y, x, m := data[T](out), data[T](in[0]), data[T](in[1])
		for i, v := range x {
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
