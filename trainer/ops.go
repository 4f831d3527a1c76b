package trainer

import (
	"fmt"
	"hash"
	"hash/fnv"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// This file holds the op adapter: kop, through which gorgonia runs the model's own ops, and the
// helpers the ops share. The ops are in ops_*.go, one file per family (linear layer and
// residual addition, LayerNorm, element-wise activations and dropout, attention, embeddings and
// row gathers, losses), each op's forward constructor beside its backward constructor, as
// llm.c's foo_forward and foo_backward: the backward constructor takes the gradient of the op's
// output (dy) and the forward nodes it reads, and returns the gradient nodes of the op's inputs.
// build (graph.go) calls the backward constructors itself, in the reverse order of the forward
// pass, as llm.c's gpt2_backward: gorgonia is the graph and the tape, not the differentiator,
// and a gradient that several consumers share is accumulated where build says, in the order
// it says (see linearBackward's dxAcc).
//
// Every backward node has among its inputs what it reads of the forward pass, so the tape,
// which runs the nodes in a topological order, runs it after them. Two forward ops keep
// something for their backward op (GELU its derivative, cross-entropy the exponentials of the
// logits), in fields of their own op that the backward constructor finds through the forward
// node, which is an input of the backward node.
//
// The graph uses no gorgonia op of its own on tensors, so that a run allocates nothing: every op
// writes into the buffer it used in the previous run, and matrix products go straight to
// gonum's BLAS (ops_gemm.go).

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
	buf   *tensor.Dense // output of the previous run, reused when the shape is the same
}

// newOp returns an op of element type T named name with arity inputs and an output of dims
// dimensions; its caller sets shape and do.
func newOp[T float](name string, arity, dims int) *kop {
	return &kop{name: name, arity: arity, dt: dtypeOf[T](), dims: dims}
}

// reuse returns the op's output tensor of the previous run when it has the wanted shape, or a
// new zeroed one. A graph runs its ops in the same order every time and nothing keeps an
// output from one run to the next, so an op may overwrite its last output; ops must write every
// element (or clear the tensor first).
func reuse[T float](o *kop, shape ...int) *tensor.Dense {
	return reuseTensor[T](&o.buf, shape...)
}

// reuseTensor returns *t when it has the wanted shape and element type, or sets it to a new
// zeroed tensor and returns that.
func reuseTensor[T float](t **tensor.Dense, shape ...int) *tensor.Dense {
	if *t != nil && (*t).Shape().Eq(tensor.Shape(shape)) {
		if _, ok := (*t).Data().([]T); ok {
			return *t
		}
	}
	*t = newDense[T](shape...)
	return *t
}

// Arity and the methods below implement gorgonia's Op interface.
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

// sameShape is the shape function of an op whose output has the shape of its first input.
func sameShape(in []tensor.Shape) (tensor.Shape, error) { return in[0].Clone(), nil }

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

// isF32 reports whether T is float32: the float32 model uses the float32-exact kernels of
// mathf.go, the float64 one (the gradient check) math.Exp and math.Erf.
func isF32[T float]() bool {
	var z T
	_, ok := any(z).(float32)
	return ok
}

func want2D(name string, s tensor.Shape) error {
	if len(s) != 2 {
		return fmt.Errorf("%s: want a matrix, got shape %v", name, s)
	}
	return nil
}
