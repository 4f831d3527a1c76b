package trainer

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// embed returns word[wordIdx] + position[posIdx] + type[typeIdx], the sum of BERT's three
// embeddings for each token: [N, H].
func embed[T float](word, pos, typ, wordIdx, posIdx, typeIdx *G.Node) (*G.Node, error) {
	op := newOp[T]("kEmbed", 6, 2)
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
	return G.ApplyOp(op, word, pos, typ, wordIdx, posIdx, typeIdx)
}

// embedBackward returns the gradients of the three tables of embed from dy, the gradient of
// its output: each row of dy added into the row of each table its token read. The word table
// is also the MLM decoder's weight: its gradient is accumulated onto dWordAcc, the decoder's
// (dWord = dWordAcc + the rows of dy).
func embedBackward[T float](word, pos, typ, wordIdx, posIdx, typeIdx, dy, dWordAcc *G.Node) (dWord, dPos, dType *G.Node, err error) {
	if dWord, err = G.ApplyOp(scatterAdd[T](word.Shape()[0], 1, true), dy, wordIdx, dWordAcc); err != nil {
		return nil, nil, nil, err
	}
	if dPos, err = G.ApplyOp(scatterAdd[T](pos.Shape()[0], 1, false), dy, posIdx); err != nil {
		return nil, nil, nil, err
	}
	if dType, err = G.ApplyOp(scatterAdd[T](typ.Shape()[0], 1, false), dy, typeIdx); err != nil {
		return nil, nil, nil, err
	}
	return dWord, dPos, dType, nil
}

// scatterAdd returns a [rows, H] matrix (base, or zeros) to which each row i of each dy_k is
// added at row idx_k[i]: the gradient of a row gather. Inputs: dy₁, idx₁, dy₂, idx₂, ...,
// then base if hasBase.
func scatterAdd[T float](rows, pairs int, hasBase bool) *kop {
	arity := 2 * pairs
	if hasBase {
		arity++
	}
	op := newOp[T](fmt.Sprintf("kScatterAdd{%d,%d,%t}", rows, pairs, hasBase), arity, 2)
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

// gather returns the rows of table [R, H] at the indices idx [n] (ints): [n, H].
func gather[T float](table, idx *G.Node) (*G.Node, error) {
	op := newOp[T]("kGather", 2, 2)
	op.shape = gatherShape
	op.do = func(in []G.Value) (G.Value, error) {
		return gatherRows[T](op, in[0], in[1])
	}
	return G.ApplyOp(op, table, idx)
}

// gatherBackward returns the gradient of table from gathers of it: given dyIdx = dy₁, idx₁,
// dy₂, idx₂, ..., the gradients of the gathers' outputs and their indices, each row of each
// dy_k added into the row it came from, in that order.
func gatherBackward[T float](table *G.Node, dyIdx ...*G.Node) (*G.Node, error) {
	return G.ApplyOp(scatterAdd[T](table.Shape()[0], len(dyIdx)/2, false), dyIdx...)
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
