package trainer

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// embed returns word[wordIdx] + position[posIdx] + type[typeIdx], the sum of BERT's three
// embeddings for each token: [N, H]. The word table is also the decoder's weight; the decoder
// leaves its gradient in tied, which the word table's gradient op adds in.
func embed[T float](word, pos, typ, wordIdx, posIdx, typeIdx *G.Node, tied *stash) (*G.Node, error) {
	op := &kop{name: "kEmbed", arity: 6, dt: dtypeOf[T](), dims: 2, wrt: []bool{true, true, true, false, false, false}}
	op.shape = func(in []tensor.Shape) (tensor.Shape, error) {
		for i := 0; i < 3; i++ {
			if err := want2D("embedding table", in[i]); err != nil {
				return nil, err
			}
			if in[i][1] != in[0][1] || in[3+i].TotalSize() != in[3].TotalSize() {
				return nil, fmt.Errorf("embeddings: tables %v %v %v and indices %v %v %v do not match", in[0], in[1], in[2], in[3], in[4], in[5])
			}
		}
		return tensor.Shape{in[3].TotalSize(), in[0][1]}, nil
	}
	op.do = func(in []G.Value) (G.Value, error) {
		h := in[0].Shape()[1]
		idx := [3][]int{in[3].Data().([]int), in[4].Data().([]int), in[5].Data().([]int)}
		out := reuse[T](op, len(idx[0]), h)
		y := data[T](out)
		var tabs [3][]T
		for t := range tabs {
			tabs[t] = data[T](in[t])
			rows := in[t].Shape()[0]
			for _, r := range idx[t] {
				if r < 0 || r >= rows {
					return nil, fmt.Errorf("embeddings: index %d of table %d outside [0, %d)", r, t, rows)
				}
			}
		}
		for i := range idx[0] {
			yr := y[i*h : (i+1)*h]
			w := tabs[0][idx[0][i]*h : (idx[0][i]+1)*h]
			p := tabs[1][idx[1][i]*h : (idx[1][i]+1)*h]
			t := tabs[2][idx[2][i]*h : (idx[2][i]+1)*h]
			for j := range yr {
				yr[j] = w[j] + p[j] + t[j]
			}
		}
		return out, nil
	}
	op.diff = func(in G.Nodes, _, dy *G.Node) (G.Nodes, error) {
		dWord, err := tied.get()
		if err != nil {
			return nil, err
		}
		grads := G.Nodes{nil, nil, nil, nil, nil, nil}
		for t := 0; t < 3; t++ {
			args := G.Nodes{dy, in[3+t]}
			if t == 0 {
				args = append(args, dWord)
			}
			if grads[t], err = G.ApplyOp(scatterAdd[T](in[t].Shape()[0], 1, t == 0), args...); err != nil {
				return nil, err
			}
		}
		return grads, nil
	}
	return G.ApplyOp(op, word, pos, typ, wordIdx, posIdx, typeIdx)
}

// scatterAdd returns a [rows, H] matrix (base, or zeros) to which each row i of each dy_k is
// added at row idx_k[i]: the gradient of a row gather. Inputs: dy₁, idx₁, dy₂, idx₂, ...,
// then base if hasBase.
func scatterAdd[T float](rows, pairs int, hasBase bool) *kop {
	arity := 2 * pairs
	if hasBase {
		arity++
	}
	op := &kop{name: fmt.Sprintf("kScatterAdd{%d,%d,%t}", rows, pairs, hasBase), arity: arity, dt: dtypeOf[T](), dims: 2}
	op.shape = func(s []tensor.Shape) (tensor.Shape, error) { return tensor.Shape{rows, s[0][1]}, nil }
	op.do = func(v []G.Value) (G.Value, error) {
		h := v[0].Shape()[1]
		out := reuse[T](op, rows, h)
		y := data[T](out)
		if hasBase {
			copy(y, data[T](v[2*pairs]))
		} else {
			clear(y)
		}
		for k := 0; k < pairs; k++ {
			d := data[T](v[2*k])
			for i, r := range v[2*k+1].Data().([]int) {
				dst, src := y[r*h:(r+1)*h], d[i*h:(i+1)*h]
				for j, s := range src {
					dst[j] += s
				}
			}
		}
		return out, nil
	}
	return op
}

// gather returns the rows of table [R, H] at the indices idx [n] (ints): [n, H]. Its gradient
// adds each row of dy into the row it came from, and the rows of a second gather of the same
// table left in also (nil: none).
func gather[T float](table, idx *G.Node, also *stash) (*G.Node, error) {
	op := &kop{name: "kGather", arity: 2, dt: dtypeOf[T](), dims: 2, wrt: []bool{true, false}}
	op.shape = gatherShape
	op.do = func(in []G.Value) (G.Value, error) {
		return gatherRows[T](op, in[0], in[1])
	}
	op.diff = func(in G.Nodes, _, dy *G.Node) (G.Nodes, error) {
		args := G.Nodes{dy, in[1]}
		if also != nil {
			d, err := also.get()
			if err != nil {
				return nil, err
			}
			args = append(args, d, also.idx)
		}
		dx, err := G.ApplyOp(scatterAdd[T](in[0].Shape()[0], len(args)/2, false), args...)
		return G.Nodes{dx, nil}, err
	}
	return G.ApplyOp(op, table, idx)
}

// gatherShape is the shape of a gather: one row of the table [R, H] per index.
func gatherShape(in []tensor.Shape) (tensor.Shape, error) {
	if err := want2D("gather table", in[0]); err != nil {
		return nil, err
	}
	return tensor.Shape{in[1].TotalSize(), in[0][1]}, nil
}

func gatherRows[T float](op *kop, table, idx G.Value) (G.Value, error) {
	rows, h := table.Shape()[0], table.Shape()[1]
	ix := idx.Data().([]int)
	out := reuse[T](op, len(ix), h)
	t, y := data[T](table), data[T](out)
	for i, r := range ix {
		if r < 0 || r >= rows {
			return nil, fmt.Errorf("gather: index %d outside [0, %d)", r, rows)
		}
		copy(y[i*h:(i+1)*h], t[r*h:(r+1)*h])
	}
	return out, nil
}

// gatherAfter is a second gather of the same table as the gather whose output is first: it
// runs after it, and leaves its gradient rows in st for the first one's gradient op (see
// stash). To gorgonia it is differentiable only through first, with a zero gradient.
func gatherAfter[T float](table, idx, first *G.Node, st *stash) (*G.Node, error) {
	op := &kop{name: "kGatherAfter", arity: 3, dt: dtypeOf[T](), dims: 2, wrt: []bool{false, false, true}}
	op.shape = gatherShape
	op.do = func(in []G.Value) (G.Value, error) {
		return gatherRows[T](op, in[0], in[1])
	}
	op.diff = func(in G.Nodes, _, dy *G.Node) (G.Nodes, error) {
		st.n, st.idx = dy, in[1]
		z := &kop{name: "kZeros", arity: 1, dt: dtypeOf[T](), dims: in[2].Dims()}
		z.shape = func(s []tensor.Shape) (tensor.Shape, error) { return s[0].Clone(), nil }
		z.do = func(v []G.Value) (G.Value, error) {
			out := reuse[T](z, v[0].Shape()...)
			clear(data[T](out))
			return out, nil
		}
		zero, err := G.ApplyOp(z, in[2])
		return G.Nodes{nil, nil, zero}, err
	}
	return G.ApplyOp(op, table, idx, first)
}
