"""Writes the safetensors fixtures for trainer/safetensors_test.go from real PyTorch tensors.

Run from the repository root with Debian's torch:  /usr/bin/python3 trainer/testdata/safetensors/gen.py

- torch_mixed.safetensors: F32, F16, BF16, F64 and I64 tensors (with zero, scalar, subnormal,
  infinite and extreme values) laid out as the safetensors library does (largest element first,
  then by name). torch_mixed.expected.json holds, for each tensor, its shape and the bits of the
  float32 values torch itself converts it to (tensor.to(torch.float32)), which the Go reader must
  reproduce exactly.
- torch_f32.safetensors: F32 tensors with BERT names and metadata {"format": "pt"}; the Go writer
  must produce these exact bytes from the same values.
"""

import json
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "tools", "torchref"))
import safetensors_io  # noqa: E402

torch.manual_seed(20261129)

mixed = {
    "bert.embeddings.word_embeddings.weight": torch.randn(7, 4) * 0.02,
    "cls.predictions.bias": torch.randn(7),
    "scalar": torch.tensor(3.25),
    "empty": torch.zeros(0, 3),
    "half": torch.cat([torch.randn(9), torch.tensor(
        [0.0, -0.0, 65504.0, -65504.0, 6e-8, -6.1e-5, 1e-4, float("inf"), float("-inf")])]
    ).to(torch.float16).reshape(3, 6),
    "bhalf": torch.cat([torch.randn(4), torch.tensor(
        [1e38, -3e-39, float("inf"), 0.0])]).to(torch.bfloat16).reshape(2, 2, 2),
    "double": (torch.randn(5, dtype=torch.float64) * 1e3),
    "bert.embeddings.position_ids": torch.arange(6, dtype=torch.int64).reshape(1, 6),
}
safetensors_io.save(os.path.join(HERE, "torch_mixed.safetensors"), mixed,
                    {"format": "pt", "source": "torch " + torch.__version__})
expected = {
    "metadata": {"format": "pt", "source": "torch " + torch.__version__},
    "tensors": {
        name: {"shape": list(t.shape),
               "f32_bits": [v & 0xFFFFFFFF for v in
                            t.to(torch.float32).reshape(-1).view(torch.int32).tolist()]}
        for name, t in mixed.items()
    },
}
with open(os.path.join(HERE, "torch_mixed.expected.json"), "w") as f:
    json.dump(expected, f, indent=1, sort_keys=True)
    f.write("\n")

f32 = {
    "bert.encoder.layer.0.attention.self.query.weight": torch.randn(4, 4),
    "bert.encoder.layer.0.attention.self.query.bias": torch.randn(4),
    "bert.embeddings.LayerNorm.weight": torch.ones(4),
    "bert.embeddings.LayerNorm.bias": torch.zeros(4),
    "cls.seq_relationship.weight": torch.randn(2, 4),
    "cls.seq_relationship.bias": torch.tensor([0.5, -0.5]),
}
safetensors_io.save(os.path.join(HERE, "torch_f32.safetensors"), f32, {"format": "pt"})
with open(os.path.join(HERE, "torch_f32.expected.json"), "w") as f:
    json.dump({name: {"shape": list(t.shape),
                      "f32_bits": [v & 0xFFFFFFFF for v in t.reshape(-1).view(torch.int32).tolist()]}
               for name, t in f32.items()}, f, indent=1, sort_keys=True)
    f.write("\n")

# Check what we wrote reads back identically through the independent Python reader.
for name, tensors in (("torch_mixed.safetensors", mixed), ("torch_f32.safetensors", f32)):
    back, _ = safetensors_io.load(os.path.join(HERE, name))
    assert set(back) == set(tensors)
    for k, t in tensors.items():
        assert back[k].dtype == t.dtype and back[k].shape == t.shape
        assert torch.equal(back[k].to(torch.float64).nan_to_num(), t.to(torch.float64).nan_to_num()), k
print("wrote fixtures in", HERE)

# A micro BERT checkpoint written by the PyTorch reference (tools/torchref), with rows and the
# reference's float64 losses on them, for a Go loss-parity test that needs no Python:
# torch_bert_micro/{config.json, model.safetensors, rows.jsonl, expected_loss.json}.
import random  # noqa: E402

import bert  # noqa: E402

micro = bert.preset_config("tiny", vocab_size=64, max_position_embeddings=32)
micro.update(hidden_size=16, num_attention_heads=2, intermediate_size=32, num_hidden_layers=2,
             initializer_range=0.2)
ck = os.path.join(HERE, "torch_bert_micro")
params = bert.init_params(micro, torch.Generator().manual_seed(7), random_biases=True)
params["cls.seq_relationship.weight"] *= 10  # so that NSP is far from ln 2 too
bert.save_checkpoint(ck, micro, params, {"format": "pt", "writer": "tools/torchref"})
rng = random.Random(8)
rows = []
for i in range(12):
    n = rng.randint(6, 32)
    split = rng.randint(2, n - 2)
    ids = [2] + [rng.randrange(5, 64) for _ in range(split - 2)] + [3] + [rng.randrange(5, 64) for _ in range(n - split - 1)] + [3]
    ids = ids[:n]
    pos = sorted(rng.sample(range(1, n - 1), max(1, n * 15 // 100)))
    rows.append({"input_ids": ids, "token_type_ids": [0] * split + [1] * (n - split),
                 "next_sentence_label": -1 if i == 5 else rng.randint(0, 1),
                 "masked_lm_positions": pos, "masked_lm_ids": [rng.randrange(5, 64) for _ in pos]})
with open(os.path.join(ck, "rows.jsonl"), "w") as f:
    for r in rows:
        f.write(json.dumps(r) + "\n")
_, p64 = bert.load_checkpoint(ck, torch.float64)
loss = bert.evaluate(p64, micro, rows, batch_size=len(rows))
loss["note"] = ("tools/torchref in float64, all 12 rows in one batch; MLM mean over all masked "
                "positions, NSP mean over the rows labelled 0/1 (row 5 is labelled -1)")
with open(os.path.join(ck, "expected_loss.json"), "w") as f:
    json.dump(loss, f, indent=1, sort_keys=True)
    f.write("\n")
print("micro checkpoint loss", loss)
