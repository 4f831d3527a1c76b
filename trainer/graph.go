package trainer

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Example is one pretraining row: [CLS] A [SEP] B [SEP] with its masked-LM targets.
type Example struct {
	InputIDs          []int32 // token ids (already masked), no padding
	TokenTypeIDs      []int8  // segment ids, same length as InputIDs
	NextSentenceLabel int8    // 0 IsNext, 1 NotNext, -1 none (no NSP loss for the row)
	MaskedPositions   []int32 // positions of the masked-LM targets
	MaskedIDs         []int32 // original ids at MaskedPositions
}

// StepStats are the sums and averages of one forward pass over a batch.
type StepStats struct {
	Loss, MLMLoss, NSPLoss float64 // total = MLM + NSP; MLM averaged over masked positions, NSP over rows
	MLMCorrect, MLMCount   int     // masked positions predicted right / masked positions
	NSPCorrect, NSPCount   int     // rows with an NSP label predicted right / rows with a label
	Tokens                 int     // real (not padding) tokens
}

// Graphs are built once per padded shape and reused: sequence lengths are padded up to a
// multiple of seqBucket and the number of masked positions up to a multiple of mlmBucket, so a
// stream of batches padded to their longest row needs only a handful of graphs.
const (
	seqBucket   = 32
	mlmBucket   = 64
	maxGraphs   = 4
	maskPadding = -10000.0 // additive attention mask on padding, as BERT
)

type graphKey struct {
	batch, seq, masked int
	train              bool
}

// graph is the computation for one batch shape: inputs are tensors bound to input nodes and
// rewritten in place before each run; parameters are the model's own tensors.
type graph struct {
	key                      graphKey
	g                        *G.ExprGraph
	vm                       G.VM
	wordIdx, typeIdx, mlmIdx []int
	mask, mlmT, mlmW         *tensor.Dense
	nspT, nspW               *tensor.Dense
	drops                    []dropout
	loss, mlmLoss, nspLoss   *G.Node
	mlmLogits, nspLogits     *G.Node
	grads                    G.Nodes // gradient of loss per model parameter; nil for eval graphs
}

// dropout is an input tensor of inverted-dropout factors (0 or 1/(1-p)), drawn before each run.
type dropout struct {
	t *tensor.Dense
	p float64
}

type graphCache struct {
	graphs []*graph // most recently used last
}

func (c *graphCache) get(k graphKey) *graph {
	for i, g := range c.graphs {
		if g.key == k {
			c.graphs = append(append(c.graphs[:i:i], c.graphs[i+1:]...), g)
			return g
		}
	}
	return nil
}

func (c *graphCache) put(g *graph) {
	if len(c.graphs) >= maxGraphs {
		c.graphs[0].vm.Close()
		c.graphs = c.graphs[1:]
	}
	c.graphs = append(c.graphs, g)
}

func roundUp(n, k int) int { return (n + k - 1) / k * k }

// shape returns the graph key for a batch, checking every row against the configuration.
func (m *Model) shape(rows []Example, train bool) (graphKey, error) {
	if len(rows) == 0 {
		return graphKey{}, fmt.Errorf("empty batch")
	}
	seq, masked := 1, 0
	for i, r := range rows {
		if err := m.checkRow(r); err != nil {
			return graphKey{}, fmt.Errorf("batch row %d: %w", i, err)
		}
		seq = max(seq, len(r.InputIDs))
		masked += len(r.MaskedPositions)
	}
	return graphKey{
		batch: len(rows), seq: min(roundUp(seq, seqBucket), m.cfg.MaxPositions),
		masked: roundUp(max(masked, 1), mlmBucket), train: train,
	}, nil
}

func (m *Model) checkRow(r Example) error {
	c := m.cfg
	switch {
	case len(r.InputIDs) == 0:
		return fmt.Errorf("no tokens")
	case len(r.InputIDs) > c.MaxPositions:
		return fmt.Errorf("%d tokens, more than max_position_embeddings %d", len(r.InputIDs), c.MaxPositions)
	case len(r.TokenTypeIDs) != len(r.InputIDs):
		return fmt.Errorf("%d token type ids for %d tokens", len(r.TokenTypeIDs), len(r.InputIDs))
	case len(r.MaskedPositions) != len(r.MaskedIDs):
		return fmt.Errorf("%d masked positions but %d masked ids", len(r.MaskedPositions), len(r.MaskedIDs))
	case r.NextSentenceLabel < -1 || r.NextSentenceLabel > 1:
		return fmt.Errorf("next sentence label %d not in {-1, 0, 1}", r.NextSentenceLabel)
	}
	for j, id := range r.InputIDs {
		if id < 0 || int(id) >= c.VocabSize {
			return fmt.Errorf("token %d: id %d outside the vocabulary (%d)", j, id, c.VocabSize)
		}
		if t := r.TokenTypeIDs[j]; t < 0 || int(t) >= c.TypeVocabSize {
			return fmt.Errorf("token %d: token type %d outside [0, %d)", j, t, c.TypeVocabSize)
		}
	}
	for j, p := range r.MaskedPositions {
		if p < 0 || int(p) >= len(r.InputIDs) {
			return fmt.Errorf("masked position %d (%d) outside the row (%d tokens)", j, p, len(r.InputIDs))
		}
		if id := r.MaskedIDs[j]; id < 0 || int(id) >= c.VocabSize {
			return fmt.Errorf("masked id %d (%d) outside the vocabulary (%d)", j, id, c.VocabSize)
		}
	}
	return nil
}

func (m *Model) graphFor(k graphKey) (*graph, error) {
	if g := m.cache.get(k); g != nil {
		return g, nil
	}
	var g *graph
	var err error
	if m.dtype == tensor.Float32 {
		g, err = build[float32](m, k)
	} else {
		g, err = build[float64](m, k)
	}
	if err != nil {
		return nil, fmt.Errorf("build graph for batch %d×%d: %w", k.batch, k.seq, err)
	}
	m.cache.put(g)
	return g, nil
}

// build constructs the forward pass (and for training graphs the backward pass) of BERT for
// pretraining for one batch shape.
func build[T float](m *Model, k graphKey) (*graph, error) {
	c := m.cfg
	dt := dtypeOf[T]()
	B, S, M, H, A := k.batch, k.seq, k.masked, c.HiddenSize, c.NumHeads
	N := B * S
	gr := &graph{key: k, g: G.NewGraph()}
	g := gr.g

	ints := func(name string, n int) ([]int, *G.Node) {
		v := make([]int, n)
		return v, G.NewVector(g, tensor.Int, G.WithShape(n), G.WithName(name),
			G.WithValue(tensor.New(tensor.WithShape(n), tensor.WithBacking(v))))
	}
	floats := func(name string, shape ...int) (*tensor.Dense, *G.Node) {
		t := newDense[T](shape...)
		return t, G.NewTensor(g, dt, len(shape), G.WithShape(shape...), G.WithName(name), G.WithValue(t))
	}
	params := make(map[string]*G.Node, len(m.params))
	var pnodes G.Nodes
	for _, p := range m.params {
		n := G.NewTensor(g, dt, len(p.shape), G.WithShape(p.shape...), G.WithName(p.name), G.WithValue(p.value))
		params[p.name] = n
		pnodes = append(pnodes, n)
	}
	P := func(name string) *G.Node { return params[name] }

	var err error
	// must records the first error and lets the construction read straight through.
	must := func(n *G.Node, e error) *G.Node {
		if e != nil && err == nil {
			err = e
		}
		return n
	}
	drop := func(x *G.Node, p float64, name string) *G.Node {
		if !k.train || p == 0 || err != nil {
			return x
		}
		t, mn := floats(name, x.Shape()...)
		gr.drops = append(gr.drops, dropout{t: t, p: p})
		return must(dropoutMul[T](x, mn))
	}
	// lin is a dense layer; resid, when set, carries the gradient of x from the residual
	// addition that also reads x (see stash).
	lin := func(x *G.Node, resid *stash, prefixes ...string) *G.Node {
		if err != nil {
			return x
		}
		var wb []*G.Node
		for _, p := range prefixes {
			wb = append(wb, P(p+".weight"), P(p+".bias"))
		}
		return must(linear[T](x, wb, resid, nil))
	}
	ln := func(x *G.Node, prefix string) *G.Node {
		if err != nil {
			return x
		}
		return must(layerNorm[T](x, P(prefix+".weight"), P(prefix+".bias"), c.LayerNormEps))
	}
	act := func(x *G.Node) *G.Node {
		if err != nil {
			return x
		}
		return must(gelu[T](x))
	}
	add := func(a, x *G.Node, st *stash) *G.Node {
		if err != nil {
			return x
		}
		return must(residual[T](a, x, st))
	}

	var wordN, posN, typeN, clsN, mlmN *G.Node
	gr.wordIdx, wordN = ints("input_ids", N)
	gr.typeIdx, typeN = ints("token_type_ids", N)
	posIdx, posN := ints("position_ids", N)
	for i := range posIdx {
		posIdx[i] = i % S
	}
	clsIdx, clsN := ints("cls_index", B)
	for i := range clsIdx {
		clsIdx[i] = i * S
	}
	gr.mlmIdx, mlmN = ints("masked_index", M)
	var maskN, mlmTN, mlmWN, nspTN, nspWN *G.Node
	gr.mask, maskN = floats("attention_mask", B, S)
	gr.mlmT, mlmTN = floats("masked_lm_ids", M)
	gr.mlmW, mlmWN = floats("masked_lm_weights", M)
	gr.nspT, nspTN = floats("next_sentence_label", B)
	gr.nspW, nspWN = floats("next_sentence_weight", B)

	// Embeddings. The word embeddings are also the MLM decoder's weight (tied): the decoder
	// leaves its part of their gradient in tiedWord.
	tiedWord := &stash{what: "the tied decoder weight"}
	x := must(embed[T](P("bert.embeddings.word_embeddings.weight"), P("bert.embeddings.position_embeddings.weight"),
		P("bert.embeddings.token_type_embeddings.weight"), wordN, posN, typeN, tiedWord))
	x = ln(x, "bert.embeddings.LayerNorm")
	x = drop(x, c.HiddenDropout, "dropout_embeddings")

	// Encoder: post-LN layers. Query, key and value are one fused projection [N, 3H].
	scale := 1 / math.Sqrt(float64(H/A))
	dims := attnDims{b: B, s: S, a: A}
	for l := 0; l < c.NumLayers && err == nil; l++ {
		p := fmt.Sprintf("bert.encoder.layer.%d.", l)
		res1 := &stash{what: fmt.Sprintf("layer %d attention input", l)}
		qkv := lin(x, res1, p+"attention.self.query", p+"attention.self.key", p+"attention.self.value")
		if err != nil {
			break
		}
		ast := &attnState{}
		scores := must(attnScores[T](qkv, dims, ast))
		probs := must(maskedSoftmax[T](scores, maskN, A, scale))
		probs = drop(probs, c.AttentionDropout, fmt.Sprintf("dropout_attention_%d", l))
		if err != nil {
			break
		}
		ctx := must(attnContext[T](probs, qkv, dims, ast))
		a := drop(lin(ctx, nil, p+"attention.output.dense"), c.HiddenDropout, fmt.Sprintf("dropout_attention_output_%d", l))
		x = ln(add(a, x, res1), p+"attention.output.LayerNorm")
		res2 := &stash{what: fmt.Sprintf("layer %d feed-forward input", l)}
		f := lin(act(lin(x, res2, p+"intermediate.dense")), nil, p+"output.dense")
		f = drop(f, c.HiddenDropout, fmt.Sprintf("dropout_output_%d", l))
		x = ln(add(f, x, res2), p+"output.LayerNorm")
	}
	if err != nil {
		return nil, err
	}

	// NSP head on the pooled [CLS] vector.
	maskedRows := &stash{what: "the masked rows"}
	clsRows := must(gather[T](x, clsN, maskedRows))
	pooled := must(tanh[T](lin(clsRows, nil, "bert.pooler.dense")))
	gr.nspLogits = lin(pooled, nil, "cls.seq_relationship")
	gr.nspLoss = must(crossEntropy[T](gr.nspLogits, nspTN, nspWN))
	if err != nil {
		return nil, err
	}

	// MLM head at the masked positions only; the decoder is the word embedding matrix. The
	// masked rows are gathered after the [CLS] rows, and their gradient goes back through the
	// [CLS] gather's (see stash).
	mlmRows := must(gatherAfter[T](x, mlmN, clsRows, maskedRows))
	t := ln(act(lin(mlmRows, nil, "cls.predictions.transform.dense")), "cls.predictions.transform.LayerNorm")
	if err != nil {
		return nil, err
	}
	gr.mlmLogits = must(linear[T](t, []*G.Node{P("bert.embeddings.word_embeddings.weight"), P("cls.predictions.bias")}, nil, tiedWord))
	gr.mlmLoss = must(crossEntropy[T](gr.mlmLogits, mlmTN, mlmWN))
	gr.loss = must(addScalars[T](gr.mlmLoss, gr.nspLoss))
	if err != nil {
		return nil, err
	}
	if k.train {
		if gr.grads, err = G.Grad(gr.loss, pnodes...); err != nil {
			return nil, fmt.Errorf("gradient: %w", err)
		}
	}
	gr.vm = G.NewTapeMachine(g)
	return gr, nil
}

// fill writes a batch into the graph's input tensors and draws the dropout masks.
func fill[T float](gr *graph, rows []Example, rng *rand.Rand) {
	S := gr.key.seq
	mask, mlmT, mlmW := data[T](gr.mask), data[T](gr.mlmT), data[T](gr.mlmW)
	nspT, nspW := data[T](gr.nspT), data[T](gr.nspW)
	clear(gr.wordIdx)
	clear(gr.typeIdx)
	clear(gr.mlmIdx)
	clear(mlmT)
	clear(mlmW)
	j := 0
	for b, r := range rows {
		for s := 0; s < S; s++ {
			if s < len(r.InputIDs) {
				gr.wordIdx[b*S+s] = int(r.InputIDs[s])
				gr.typeIdx[b*S+s] = int(r.TokenTypeIDs[s])
				mask[b*S+s] = 0
			} else {
				mask[b*S+s] = maskPadding
			}
		}
		for i, p := range r.MaskedPositions {
			gr.mlmIdx[j] = b*S + int(p)
			mlmT[j] = T(r.MaskedIDs[i])
			mlmW[j] = 1
			j++
		}
		nspT[b], nspW[b] = 0, 0
		if r.NextSentenceLabel >= 0 {
			nspT[b], nspW[b] = T(r.NextSentenceLabel), 1
		}
	}
	// Each 64-bit draw decides two elements: dropped when its 32-bit half is below p·2³².
	for _, d := range gr.drops {
		keep := T(1 / (1 - d.p))
		thr := uint32(math.Min(d.p*(1<<32), math.MaxUint32))
		v := data[T](d.t)
		for i := 0; i < len(v); i += 2 {
			u := rng.Uint64()
			v[i] = keep
			if uint32(u) < thr {
				v[i] = 0
			}
			if i+1 < len(v) {
				v[i+1] = keep
				if uint32(u>>32) < thr {
					v[i+1] = 0
				}
			}
		}
	}
}

// run computes the loss of a batch (and, for a training graph, the gradients, left in the
// graph's gradient nodes). rng draws the dropout masks of a training graph.
func (m *Model) run(ctx context.Context, rows []Example, train bool, rng *rand.Rand) (*graph, StepStats, error) {
	if err := ctx.Err(); err != nil {
		return nil, StepStats{}, err
	}
	k, err := m.shape(rows, train)
	if err != nil {
		return nil, StepStats{}, err
	}
	gr, err := m.graphFor(k)
	if err != nil {
		return nil, StepStats{}, err
	}
	if m.dtype == tensor.Float32 {
		fill[float32](gr, rows, rng)
	} else {
		fill[float64](gr, rows, rng)
	}
	gr.vm.Reset()
	if err := gr.vm.RunAll(); err != nil {
		return nil, StepStats{}, fmt.Errorf("forward/backward pass: %w", err)
	}
	st := StepStats{
		Loss: scalar(gr.loss.Value()), MLMLoss: scalar(gr.mlmLoss.Value()), NSPLoss: scalar(gr.nspLoss.Value()),
	}
	for _, r := range rows {
		st.Tokens += len(r.InputIDs)
	}
	if m.dtype == tensor.Float32 {
		accuracy[float32](gr, &st)
	} else {
		accuracy[float64](gr, &st)
	}
	return gr, st, nil
}

// accuracy counts the argmax predictions that match the targets.
func accuracy[T float](gr *graph, st *StepStats) {
	count := func(logits *G.Node, target, weight []T, correct, n *int) {
		z := data[T](logits.Value())
		c := logits.Shape()[1]
		hit := make([]bool, len(weight))
		parallel(len(weight), 16, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				row := z[i*c : (i+1)*c]
				best := 0
				for j, v := range row {
					if v > row[best] {
						best = j
					}
				}
				hit[i] = best == int(target[i])
			}
		})
		for i, w := range weight {
			if w != 0 {
				*n++
				if hit[i] {
					*correct++
				}
			}
		}
	}
	count(gr.mlmLogits, data[T](gr.mlmT), data[T](gr.mlmW), &st.MLMCorrect, &st.MLMCount)
	count(gr.nspLogits, data[T](gr.nspT), data[T](gr.nspW), &st.NSPCorrect, &st.NSPCount)
}

// Loss evaluates a batch without dropout and returns its losses and accuracies.
func (m *Model) Loss(ctx context.Context, rows []Example) (StepStats, error) {
	_, st, err := m.run(ctx, rows, false, nil)
	return st, err
}
