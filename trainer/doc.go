// Package trainer is kiln's BERT pretraining: the model, its loss, the optimiser, the loader
// over kiln shards, the training loop with checkpoints, and evaluation.
//
// The model is BERT for pretraining as in Hugging Face's BertForPreTraining (post-LN encoder,
// exact erf GELU, pooler, NSP head, MLM head with the decoder tied to the word embeddings),
// built from custom fused ops (linear, LayerNorm, GELU, masked softmax, cross-entropy) on
// gorgonia's graph and tape machine. Each op's backward constructor sits beside its forward
// one (ops_*.go), and the backward pass is written out as llm.c's: the forward ops in reverse,
// with the gradients of shared nodes accumulated explicitly (graph.go); the gradients are
// checked against finite differences. The loss is BERT's: MLM cross-entropy averaged over the
// masked positions of the batch plus NSP cross-entropy averaged over its rows. A graph is built
// once per padded batch shape and reused for every batch of that shape.
//
// # One step of kiln train
//
// Train (train.go) runs setup (settings and manifests checked), resumeOrInit (the newest
// checkpoint, or a fresh model) and loop. Each step of loop takes a batch from the Source (a
// Loader, loader.go: shard rows, shuffled, masked) and calls Model.TrainStep (optim.go):
// Model.run (graph.go) picks the batch's padded shape (graphKey), takes that shape's graph from
// the cache or builds it once (forward, then backward, in one gorgonia graph), fills in the rows
// and fresh dropout masks, and runs the tape machine, each op writing into its buffer of the
// previous run; TrainStep clips the gradients by global norm and applies AdamW in place. The
// step's StepStats join the logging window (metrics.go); on schedule loop writes a metrics line,
// and checkpoint saves the run, evaluates it and calls TrainConfig.AfterCheckpoint.
//
// # Errors
//
// Errors say what is wrong and where once (the file, row, tensor or setting), with no package
// prefix; settings are named as their Go fields (TrainConfig.BatchSize), commands never (see
// the README's Errors section).
//
// # Speed
//
// A training step is the matrix products plus a few passes over memory: the graph allocates
// nothing per step (every op writes into the buffer of its previous run, no gorgonia tensor op
// is used), query, key and value are one fused product and the attention heads are read in
// place through BLAS strides (no split or merge copies), the cross-entropy and GELU forward
// ops keep what their backward ops need (each logit's exponential is computed once), exp and
// the normal CDF of the float32 model are float32-exact kernels (relative error below 4e-8,
// under float32's rounding step; see mathf.go) instead of math.Exp and math.Erf, and the
// element-wise work, the attention blocks and the AdamW update run on GOMAXPROCS goroutines.
// bench/train_step.sh measures steps beside PyTorch (see BENCHMARKS.md).
//
// The matrix products go through gonum's BLAS interface (blas32/blas64). The default build
// uses gonum's pure-Go implementation: nothing to install. For several times faster products,
// build with OpenBLAS, a C library used through cgo (gonum.org/v1/netlib):
//
//	apt-get install libopenblas-dev      # Debian/Ubuntu; needs a C compiler (gcc) too
//	go build -tags openblas ./cmd/kiln   # or go test -tags openblas ./trainer, go run -tags openblas ...
//
// BLASImplementation says which one a binary uses. In the OpenBLAS build, OpenBLAS runs
// single-threaded and kiln cuts each large product over GOMAXPROCS goroutines itself: OpenBLAS's
// own threads spin while they wait for work, and on 2 cores they took the cores from the Go code
// running between two products. So OPENBLAS_NUM_THREADS has no effect on kiln; GOMAXPROCS
// (default: all cores) sets the parallelism. Other processes on the same cores (PyTorch's OpenMP
// threads also spin) slow both down more than their share: benchmark on an idle machine.
//
// Parameters carry Hugging Face names and PyTorch layouts (Linear weight [out, in]), so a
// checkpoint directory (config.json + model.safetensors) loads in transformers, and one written
// by transformers or tools/torchref loads here.
//
// Not here: tokenisation, pairing and static masking (tokenize/, pairing/, masking/), the shard
// format (shards/), the loss curve (internal/lossplot), the command line (cmd/kiln).
package trainer
