// Package trainer is kiln's BERT pretraining: the model, its loss, the optimiser, the loader
// over kiln shards, the training loop with checkpoints, and evaluation.
//
// The model is BERT for pretraining as in Hugging Face's BertForPreTraining (post-LN encoder,
// exact erf GELU, pooler, NSP head, MLM head with the decoder tied to the word embeddings),
// built with gorgonia (TapeMachine, symbolic gradients) from custom fused ops (linear, LayerNorm,
// GELU, masked softmax, cross-entropy) whose gradients are checked against finite differences.
// The loss is BERT's: MLM cross-entropy averaged over the masked positions of the batch plus
// NSP cross-entropy averaged over its rows. A graph is built once per padded batch shape and
// reused for every batch of that shape.
//
// Parameters carry Hugging Face names and PyTorch layouts (Linear weight [out, in]), so a
// checkpoint directory (config.json + model.safetensors) loads in transformers, and one written
// by transformers or tools/torchref loads here.
//
// Not here: tokenisation, pairing and static masking (tokenize/, pairing/, masking/), the shard
// format (shards/), the command line (cmd/kiln).
package trainer
