package trainer

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/kiln-bert/kiln/shards"
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

// checkRow holds a row to the model's shape (shards.RowLimits: the rule the shard writer
// holds rows to, with the model's bounds).
func (m *Model) checkRow(r Example) error {
	c := m.cfg
	lim := shards.RowLimits{MaxLen: c.MaxPositions, LenName: "max_position_embeddings", VocabSize: c.VocabSize, TypeVocab: c.TypeVocabSize}
	return lim.Check(&shards.Row{InputIDs: r.InputIDs, TokenTypeIDs: r.TokenTypeIDs, NextSentenceLabel: r.NextSentenceLabel,
		MaskedPositions: r.MaskedPositions, MaskedIDs: r.MaskedIDs})
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

// build constructs the forward pass of BERT for pretraining for one batch shape and, for a
// training graph, its backward pass (see backward).
func build[T float](m *Model, k graphKey) (gr *graph, err error) {
	c := m.cfg
	dt := dtypeOf[T]()
	B, S, M, H, A := k.batch, k.seq, k.masked, c.HiddenSize, c.NumHeads
	N := B * S
	gr = &graph{key: k, g: G.NewGraph()}
	b := &builder[T]{cfg: c, g: gr.g, train: k.train, params: make(map[string]*G.Node, len(m.params)),
		dims: attnDims{b: B, s: S, a: A}, scale: 1 / math.Sqrt(float64(H/A))}
	defer b.recover(&err)
	for _, p := range m.params {
		b.params[p.name] = G.NewTensor(gr.g, dt, len(p.shape), G.WithShape(p.shape...), G.WithName(p.name), G.WithValue(p.value))
	}

	ints := func(name string, n int) ([]int, *G.Node) {
		v := make([]int, n)
		return v, G.NewVector(gr.g, tensor.Int, G.WithShape(n), G.WithName(name),
			G.WithValue(tensor.New(tensor.WithShape(n), tensor.WithBacking(v))))
	}
	var in inputs
	gr.wordIdx, in.word = ints("input_ids", N)
	gr.typeIdx, in.typ = ints("token_type_ids", N)
	var posIdx, clsIdx []int
	posIdx, in.pos = ints("position_ids", N)
	for i := range posIdx {
		posIdx[i] = i % S
	}
	clsIdx, in.cls = ints("cls_index", B)
	for i := range clsIdx {
		clsIdx[i] = i * S
	}
	gr.mlmIdx, in.mlm = ints("masked_index", M)
	gr.mask, in.mask = b.floats("attention_mask", B, S)
	gr.mlmT, in.mlmT = b.floats("masked_lm_ids", M)
	gr.mlmW, in.mlmW = b.floats("masked_lm_weights", M)
	gr.nspT, in.nspT = b.floats("next_sentence_label", B)
	gr.nspW, in.nspW = b.floats("next_sentence_weight", B)

	f := b.forward(in)
	gr.drops = b.drops
	gr.loss, gr.mlmLoss, gr.nspLoss = f.loss, f.mlmLoss, f.nspLoss
	gr.mlmLogits, gr.nspLogits = f.mlmLogits, f.nspLogits
	if k.train {
		b.backward(in, f)
		for _, p := range m.params {
			d := b.grads[p.name]
			if d == nil {
				return nil, fmt.Errorf("gradient: none for %s", p.name)
			}
			gr.grads = append(gr.grads, d)
		}
	}
	gr.vm = G.NewTapeMachine(gr.g)
	return gr, nil
}

// inputs are the input nodes of a graph, other than the parameters.
type inputs struct {
	word, typ, pos *G.Node // per token: word id, token type, position
	cls, mlm       *G.Node // row indices of the [CLS] tokens and of the masked positions
	mask           *G.Node // additive attention mask [B, S]
	mlmT, mlmW     *G.Node // per masked position: target id, weight (0: padding)
	nspT, nspW     *G.Node // per row: next sentence label, weight (0: no label)
}

// forwardNodes are the nodes of the forward pass that the backward pass reads (llm.c's
// activations), and the outputs.
type forwardNodes struct {
	emb, embDrop           *G.Node // sum of the embeddings, dropout mask after its LayerNorm (nil: none)
	layers                 []layerNodes
	x                      *G.Node // encoder output
	cls, pooled            *G.Node // [CLS] rows, pooler output
	mlmRows, mlmAct, mlmLN *G.Node // masked rows, GELU and LayerNorm of the transform
	nspLogits, mlmLogits   *G.Node
	nspLoss, mlmLoss       *G.Node
	loss                   *G.Node
}

// layerNodes are the nodes of one encoder layer's forward pass that its backward pass reads.
type layerNodes struct {
	prefix                    string
	x, qkv, probs, probsDrop  *G.Node // input, fused projection, attention probabilities before and after dropout
	ctx, r1, x1, act          *G.Node // context, x + attention, its LayerNorm, GELU of the intermediate dense
	r2                        *G.Node // x1 + feed-forward (the output LayerNorm's input)
	dropProbs, dropAttn, drop *G.Node // dropout masks (nil: none)
}

// forward adds BERT for pretraining: embeddings, post-LN encoder layers, the NSP head on the
// pooled [CLS] vector, the MLM head at the masked positions (its decoder is the word embedding
// matrix), and the loss, MLM plus NSP.
func (b *builder[T]) forward(in inputs) forwardNodes {
	c := b.cfg
	var f forwardNodes
	f.emb = b.must(embed[T](b.P("bert.embeddings.word_embeddings.weight"), b.P("bert.embeddings.position_embeddings.weight"),
		b.P("bert.embeddings.token_type_embeddings.weight"), in.word, in.pos, in.typ))
	x, drop := b.drop(b.ln(f.emb, "bert.embeddings.LayerNorm"), c.HiddenDropout, "dropout_embeddings")
	f.embDrop = drop

	for l := 0; l < c.NumLayers; l++ {
		L := layerNodes{prefix: fmt.Sprintf("bert.encoder.layer.%d.", l), x: x}
		p := L.prefix
		L.qkv = b.lin(x, p+"attention.self.query", p+"attention.self.key", p+"attention.self.value")
		scores := b.must(attnScores[T](L.qkv, b.dims))
		L.probs = b.must(maskedSoftmax[T](scores, in.mask, b.dims.a, b.scale))
		L.probsDrop, L.dropProbs = b.drop(L.probs, c.AttentionDropout, fmt.Sprintf("dropout_attention_%d", l))
		L.ctx = b.must(attnContext[T](L.probsDrop, L.qkv, b.dims))
		a, drop := b.drop(b.lin(L.ctx, p+"attention.output.dense"), c.HiddenDropout, fmt.Sprintf("dropout_attention_output_%d", l))
		L.dropAttn = drop
		L.r1 = b.must(residual[T](a, x))
		L.x1 = b.ln(L.r1, p+"attention.output.LayerNorm")
		L.act = b.gelu(b.lin(L.x1, p+"intermediate.dense"))
		ff, drop := b.drop(b.lin(L.act, p+"output.dense"), c.HiddenDropout, fmt.Sprintf("dropout_output_%d", l))
		L.drop = drop
		L.r2 = b.must(residual[T](ff, L.x1))
		x = b.ln(L.r2, p+"output.LayerNorm")
		f.layers = append(f.layers, L)
	}
	f.x = x

	f.cls = b.must(gather[T](x, in.cls))
	f.pooled = b.must(tanh[T](b.lin(f.cls, "bert.pooler.dense")))
	f.nspLogits = b.lin(f.pooled, "cls.seq_relationship")
	f.nspLoss = b.must(crossEntropy[T](f.nspLogits, in.nspT, in.nspW, b.train))

	f.mlmRows = b.must(gather[T](x, in.mlm))
	f.mlmAct = b.gelu(b.lin(f.mlmRows, "cls.predictions.transform.dense"))
	f.mlmLN = b.ln(f.mlmAct, "cls.predictions.transform.LayerNorm")
	f.mlmLogits = b.must(linear[T](f.mlmLN, []*G.Node{b.P("bert.embeddings.word_embeddings.weight"), b.P("cls.predictions.bias")}))
	f.mlmLoss = b.must(crossEntropy[T](f.mlmLogits, in.mlmT, in.mlmW, b.train))
	f.loss = b.must(addScalars[T](f.mlmLoss, f.nspLoss))
	return f
}

// backward adds the gradient of the loss with respect to every parameter, leaving them in
// b.grads: the forward pass in reverse, op by op, as llm.c's gpt2_backward. A node read by two
// ops gets the sum of their gradients, accumulated explicitly in an order fixed here: the
// encoder output (the [CLS] and masked-row gathers: one scatter, [CLS] rows first), each
// layer's input and its attention block's output (read by a linear layer and a residual
// addition: linearBackward's dxAcc), qkv (queries and keys, values: attnBackward) and the word
// embeddings, tied to the decoder (embedBackward's dWordAcc).
func (b *builder[T]) backward(in inputs, f forwardNodes) {
	dLoss := G.NewScalar(b.g, dtypeOf[T](), G.WithName("dloss"), G.WithValue(newScalar[T](1)))
	dMLMLoss, dNSPLoss := addScalarsBackward(dLoss)

	// NSP head.
	dNSPLogits := b.must(crossEntropyBackward[T](f.nspLoss, f.nspLogits, in.nspT, in.nspW, dNSPLoss))
	dPooled := b.linBack(f.pooled, dNSPLogits, nil, "cls.seq_relationship")
	dCLS := b.linBack(f.cls, b.must(tanhBackward[T](f.pooled, dPooled)), nil, "bert.pooler.dense")

	// MLM head. The decoder's weight is the word embeddings: its gradient goes to embedBackward.
	dMLMLogits := b.must(crossEntropyBackward[T](f.mlmLoss, f.mlmLogits, in.mlmT, in.mlmW, dMLMLoss))
	word := b.P("bert.embeddings.word_embeddings.weight")
	dT, dDecoder, err := linearBackward[T](f.mlmLN, []*G.Node{word, b.P("cls.predictions.bias")}, dMLMLogits, nil)
	b.must(dT, err)
	b.grad("cls.predictions.bias", dDecoder[1])
	dAct := b.lnBack(f.mlmAct, dT, "cls.predictions.transform.LayerNorm")
	dMLMRows := b.linBack(f.mlmRows, b.geluBack(f.mlmAct, dAct), nil, "cls.predictions.transform.dense")

	// Encoder output, read by both heads' gathers; then the layers, last first.
	dx := b.must(gatherBackward[T](f.x, dCLS, in.cls, dMLMRows, in.mlm))
	for l := len(f.layers) - 1; l >= 0; l-- {
		dx = b.layerBackward(f.layers[l], dx)
	}

	// Embeddings.
	dEmb := b.lnBack(f.emb, b.dropBack(f.embDrop, dx), "bert.embeddings.LayerNorm")
	dWord, dPos, dType, err := embedBackward[T](word, b.P("bert.embeddings.position_embeddings.weight"),
		b.P("bert.embeddings.token_type_embeddings.weight"), in.word, in.pos, in.typ, dEmb, dDecoder[0])
	b.must(dWord, err)
	b.grad("bert.embeddings.word_embeddings.weight", dWord)
	b.grad("bert.embeddings.position_embeddings.weight", dPos)
	b.grad("bert.embeddings.token_type_embeddings.weight", dType)
}

// layerBackward adds the backward pass of one encoder layer and returns the gradient of its
// input from dOut, the gradient of its output.
func (b *builder[T]) layerBackward(L layerNodes, dOut *G.Node) *G.Node {
	p := L.prefix
	// Feed-forward block: LayerNorm(x1 + dropout(dense(GELU(dense(x1))))).
	dr2 := b.lnBack(L.r2, dOut, p+"output.LayerNorm")
	dff, dx1 := residualBackward(dr2)
	dAct := b.linBack(L.act, b.dropBack(L.drop, dff), nil, p+"output.dense")
	dx1 = b.linBack(L.x1, b.geluBack(L.act, dAct), dx1, p+"intermediate.dense")

	// Attention block: LayerNorm(x + dropout(dense(attention(qkv(x))))).
	dr1 := b.lnBack(L.r1, dx1, p+"attention.output.LayerNorm")
	da, dx := residualBackward(dr1)
	dCtx := b.linBack(L.ctx, b.dropBack(L.dropAttn, da), nil, p+"attention.output.dense")
	dProbs := b.dropBack(L.dropProbs, b.must(attnContextBackward[T](dCtx, L.qkv, b.dims)))
	dScores := b.must(maskedSoftmaxBackward[T](L.probs, dProbs, b.scale))
	dQKV := b.must(attnBackward[T](dScores, L.qkv, dCtx, L.probsDrop, b.dims))
	return b.linBack(L.x, dQKV, dx, p+"attention.self.query", p+"attention.self.key", p+"attention.self.value")
}

// builder adds the nodes of one graph. An op that cannot be added (an error: shapes that do
// not match, a programming error) stops the construction: must panics with a buildError,
// which build's deferred recover turns into its error, as text/template's parser does, so
// that the construction reads straight through.
type builder[T float] struct {
	cfg    Config
	g      *G.ExprGraph
	train  bool
	params map[string]*G.Node
	grads  map[string]*G.Node // gradient of the loss per parameter name, made by backward
	drops  []dropout
	dims   attnDims
	scale  float64 // of the attention scores: 1/√(head size)
}

type buildError struct{ err error }

// must returns n, or stops the construction with err.
func (b *builder[T]) must(n *G.Node, err error) *G.Node {
	if err != nil {
		panic(buildError{err})
	}
	return n
}

// recover turns a buildError into *err; any other panic goes on.
func (b *builder[T]) recover(err *error) {
	if r := recover(); r != nil {
		e, ok := r.(buildError)
		if !ok {
			panic(r)
		}
		*err = e.err
	}
}

// P returns the node of a parameter.
func (b *builder[T]) P(name string) *G.Node {
	n := b.params[name]
	if n == nil {
		b.must(nil, fmt.Errorf("no parameter %s", name))
	}
	return n
}

// grad records d as the gradient of parameter name.
func (b *builder[T]) grad(name string, d *G.Node) {
	if b.grads == nil {
		b.grads = make(map[string]*G.Node, len(b.params))
	}
	if b.grads[name] != nil {
		b.must(nil, fmt.Errorf("gradient of %s made twice", name))
	}
	b.grads[name] = d
}

// floats returns a new input tensor and its node.
func (b *builder[T]) floats(name string, shape ...int) (*tensor.Dense, *G.Node) {
	t := newDense[T](shape...)
	return t, G.NewTensor(b.g, dtypeOf[T](), len(shape), G.WithShape(shape...), G.WithName(name), G.WithValue(t))
}

// lin is the dense layer (or the fused dense layers) with the parameters named prefix.weight
// and prefix.bias for each prefix.
func (b *builder[T]) lin(x *G.Node, prefixes ...string) *G.Node {
	return b.must(linear[T](x, b.linParams(prefixes)))
}

// linBack adds lin's backward pass: it records the gradients of the parameters and returns
// that of x, accumulated onto dxAcc when not nil.
func (b *builder[T]) linBack(x, dy, dxAcc *G.Node, prefixes ...string) *G.Node {
	dx, dwb, err := linearBackward[T](x, b.linParams(prefixes), dy, dxAcc)
	b.must(dx, err)
	for i, p := range prefixes {
		b.grad(p+".weight", dwb[2*i])
		b.grad(p+".bias", dwb[2*i+1])
	}
	return dx
}

func (b *builder[T]) linParams(prefixes []string) []*G.Node {
	var wb []*G.Node
	for _, p := range prefixes {
		wb = append(wb, b.P(p+".weight"), b.P(p+".bias"))
	}
	return wb
}

// ln is the LayerNorm with the parameters prefix.weight and prefix.bias.
func (b *builder[T]) ln(x *G.Node, prefix string) *G.Node {
	return b.must(layerNorm[T](x, b.P(prefix+".weight"), b.P(prefix+".bias"), b.cfg.LayerNormEps))
}

// lnBack adds ln's backward pass: it records the gradients of the parameters and returns that
// of x.
func (b *builder[T]) lnBack(x, dy *G.Node, prefix string) *G.Node {
	dx, dg, db, err := layerNormBackward[T](x, b.P(prefix+".weight"), dy, b.cfg.LayerNormEps)
	b.must(dx, err)
	b.grad(prefix+".weight", dg)
	b.grad(prefix+".bias", db)
	return dx
}

// gelu is the GELU activation; a training graph keeps its derivative for geluBack.
func (b *builder[T]) gelu(x *G.Node) *G.Node { return b.must(gelu[T](x, b.train)) }

func (b *builder[T]) geluBack(y, dy *G.Node) *G.Node { return b.must(geluBackward[T](y, dy)) }

// drop applies dropout with probability p in a training graph and returns the result and the
// mask node (nil, and x itself, without dropout). The mask is an input tensor that fill draws.
func (b *builder[T]) drop(x *G.Node, p float64, name string) (*G.Node, *G.Node) {
	if !b.train || p == 0 {
		return x, nil
	}
	t, mask := b.floats(name, x.Shape()...)
	b.drops = append(b.drops, dropout{t: t, p: p})
	return b.must(dropoutMul[T](x, mask)), mask
}

// dropBack adds the backward pass of drop with the given mask (nil: none).
func (b *builder[T]) dropBack(mask, dy *G.Node) *G.Node {
	if mask == nil {
		return dy
	}
	return b.must(dropoutBackward[T](mask, dy))
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
