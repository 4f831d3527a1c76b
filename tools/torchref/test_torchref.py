"""Checks of the reference against independent computations.

Run:  cd tools/torchref && /usr/bin/python3 -m unittest -v test_torchref
"""

import json
import math
import os
import random
import subprocess
import sys
import tempfile
import unittest

import numpy as np
import torch

import bert
import optim
import safetensors_io

torch.set_num_threads(2)
HERE = os.path.dirname(os.path.abspath(__file__))


def random_rows(n, cfg, rng, min_len=3, max_len=12):
    """Rows shaped like kiln's: [CLS] A [SEP] B [SEP], ~15% masked positions, NSP labels."""
    rows = []
    for _ in range(n):
        T = rng.randint(min_len, max_len)
        ids = [rng.randrange(1, cfg["vocab_size"]) for _ in range(T)]
        split = rng.randint(1, T - 1)
        types = [0] * split + [1] * (T - split)
        k = max(1, round(0.15 * T))
        pos = sorted(rng.sample(range(1, T), min(k, T - 1)))
        rows.append({"input_ids": ids, "token_type_ids": types,
                     "next_sentence_label": rng.randint(0, 1),
                     "masked_lm_positions": pos,
                     "masked_lm_ids": [rng.randrange(cfg["vocab_size"]) for _ in pos]})
    return rows


def numpy_loss(p, cfg, rows):
    """An independent float64 implementation, one row and one head at a time, with math.erf:
    returns (mean MLM cross-entropy over all masked positions, mean NSP cross-entropy)."""
    P = {k: v.double().numpy() for k, v in p.items()}
    eps, H, A = cfg["layer_norm_eps"], cfg["hidden_size"], cfg["num_attention_heads"]
    D = H // A
    erf = np.vectorize(math.erf)

    def ln(x, name):
        mu = x.mean(-1, keepdims=True)
        var = ((x - mu) ** 2).mean(-1, keepdims=True)
        return (x - mu) / np.sqrt(var + eps) * P[name + ".weight"] + P[name + ".bias"]

    def dense(x, name):
        return x @ P[name + ".weight"].T + P[name + ".bias"]

    def g(x):
        return x * 0.5 * (1 + erf(x / math.sqrt(2)))

    def xent(logits, label):
        m = logits.max()
        return m + math.log(np.exp(logits - m).sum()) - logits[label]

    mlm, nsp = [], []
    for r in rows:
        ids = np.array(r["input_ids"])
        T = len(ids)  # no padding at all: a row on its own
        x = (P["bert.embeddings.word_embeddings.weight"][ids]
             + P["bert.embeddings.position_embeddings.weight"][np.arange(T)]
             + P["bert.embeddings.token_type_embeddings.weight"][np.array(r["token_type_ids"])])
        x = ln(x, "bert.embeddings.LayerNorm")
        for l in range(cfg["num_hidden_layers"]):
            pre = f"bert.encoder.layer.{l}."
            q = dense(x, pre + "attention.self.query")
            k = dense(x, pre + "attention.self.key")
            v = dense(x, pre + "attention.self.value")
            ctx = np.zeros((T, H))
            for h in range(A):
                s = slice(h * D, (h + 1) * D)
                sc = q[:, s] @ k[:, s].T / math.sqrt(D)
                sc = np.exp(sc - sc.max(-1, keepdims=True))
                ctx[:, s] = (sc / sc.sum(-1, keepdims=True)) @ v[:, s]
            x = ln(x + dense(ctx, pre + "attention.output.dense"), pre + "attention.output.LayerNorm")
            x = ln(x + dense(g(dense(x, pre + "intermediate.dense")), pre + "output.dense"), pre + "output.LayerNorm")
        pooled = np.tanh(dense(x[0], "bert.pooler.dense"))
        nsp.append(xent(dense(pooled, "cls.seq_relationship"), r["next_sentence_label"]))
        for pos, label in zip(r["masked_lm_positions"], r["masked_lm_ids"]):
            t = ln(g(dense(x[pos], "cls.predictions.transform.dense")), "cls.predictions.transform.LayerNorm")
            logits = P["bert.embeddings.word_embeddings.weight"] @ t + P["cls.predictions.bias"]
            mlm.append(xent(logits, label))
    return sum(mlm) / len(mlm), sum(nsp) / len(nsp)


def small_cfg():
    cfg = bert.preset_config("tiny", vocab_size=50, max_position_embeddings=16)
    cfg.update(hidden_size=8, num_attention_heads=2, intermediate_size=12, num_hidden_layers=2)
    return cfg


class TestReference(unittest.TestCase):
    def test_matches_numpy(self):
        """Padded batches through bert.evaluate == row-by-row numpy, to float64 precision."""
        cfg = small_cfg()
        p = bert.init_params(cfg, torch.Generator().manual_seed(3), random_biases=True, dtype=torch.float64)
        # Larger weights than the 0.02 init so attention and GELU are far from linear.
        p = {k: v * 10 if v.dim() == 2 else v for k, v in p.items()}
        rows = random_rows(7, cfg, random.Random(5))
        want_mlm, want_nsp = numpy_loss(p, cfg, rows)
        for bs in (1, 3, 7):
            got = bert.evaluate(p, cfg, rows, batch_size=bs)
            self.assertAlmostEqual(got["mlm_loss"], want_mlm, delta=1e-11 * want_mlm)
            self.assertAlmostEqual(got["nsp_loss"], want_nsp, delta=1e-11 * want_nsp)
            self.assertEqual(got["total_loss"], got["mlm_loss"] + got["nsp_loss"])
        self.assertGreater(abs(want_mlm - math.log(cfg["vocab_size"])), 0.05)  # not a trivial model

    def test_encoder_matches_torch_transformer_layer(self):
        """One encoder layer == torch.nn.TransformerEncoderLayer (post-LN, erf gelu) on the
        real tokens of a padded batch."""
        cfg = small_cfg()
        cfg["num_hidden_layers"] = 1
        p = bert.init_params(cfg, torch.Generator().manual_seed(4), random_biases=True, dtype=torch.float64)
        p = {k: v * 10 if v.dim() == 2 else v for k, v in p.items()}
        H = cfg["hidden_size"]
        layer = torch.nn.TransformerEncoderLayer(H, cfg["num_attention_heads"], cfg["intermediate_size"],
                                                 dropout=0.0, activation="gelu", layer_norm_eps=cfg["layer_norm_eps"],
                                                 batch_first=True, norm_first=False, dtype=torch.float64)
        pre = "bert.encoder.layer.0."
        with torch.no_grad():
            a = layer.self_attn
            a.in_proj_weight.copy_(torch.cat([p[pre + f"attention.self.{n}.weight"] for n in ("query", "key", "value")]))
            a.in_proj_bias.copy_(torch.cat([p[pre + f"attention.self.{n}.bias"] for n in ("query", "key", "value")]))
            for mod, name in ((a.out_proj, "attention.output.dense"), (layer.linear1, "intermediate.dense"),
                              (layer.linear2, "output.dense"), (layer.norm1, "attention.output.LayerNorm"),
                              (layer.norm2, "output.LayerNorm")):
                mod.weight.copy_(p[pre + name + ".weight"])
                mod.bias.copy_(p[pre + name + ".bias"])
        layer.train()  # the slow path, so padded positions are computed rather than dropped
        rows = random_rows(4, cfg, random.Random(9))
        _, _, mask, _, _, _, _ = bert.collate(rows)
        B, T = mask.shape
        x = torch.randn(B, T, H, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
        with torch.no_grad():
            want = layer(x, src_key_padding_mask=(mask == 0))
            got = bert.encoder_layer(p, cfg, 0, x, bert.padding_bias(mask, x.dtype))
        real = mask.bool()
        self.assertLess(int(real.sum()), B * T)  # the batch has padding
        torch.testing.assert_close(got[real], want[real], rtol=1e-12, atol=1e-12)

    def test_random_init_loss(self):
        """A tiny model at transformers' init predicts nearly uniformly: MLM ~ ln(30522),
        NSP ~ ln 2 (the starting loss of about 11.0 the issue names)."""
        cfg = bert.preset_config("tiny")
        p = bert.init_params(cfg, torch.Generator().manual_seed(1), dtype=torch.float32)
        rows = random_rows(16, cfg, random.Random(2), 20, 64)
        got = bert.evaluate(p, cfg, rows, batch_size=8)
        self.assertLess(abs(got["mlm_loss"] - math.log(30522)), 0.3, got)
        self.assertLess(abs(got["nsp_loss"] - math.log(2)), 0.1, got)

    def test_float32_close_to_float64(self):
        cfg = small_cfg()
        p = bert.init_params(cfg, torch.Generator().manual_seed(6), random_biases=True, dtype=torch.float64)
        rows = random_rows(9, cfg, random.Random(7))
        a = bert.evaluate(p, cfg, rows, 4)
        b = bert.evaluate({k: v.float() for k, v in p.items()}, cfg, rows, 4)
        for k in ("mlm_loss", "nsp_loss"):
            self.assertLess(abs(a[k] - b[k]) / a[k], 1e-5)

    def test_batch_mean(self):
        cfg = small_cfg()
        p = bert.init_params(cfg, torch.Generator().manual_seed(6), dtype=torch.float64)
        rows = random_rows(5, cfg, random.Random(8))
        per_batch = [bert.evaluate(p, cfg, rows[i:i + 2], 2) for i in range(0, 5, 2)]
        got = bert.evaluate(p, cfg, rows, 2, batch_mean=True)
        self.assertAlmostEqual(got["mlm_loss"], sum(r["mlm_loss"] for r in per_batch) / 3, places=12)

    def test_step_matches_handwritten_adamw(self):
        """optim.train (torch.optim.AdamW, clip_grad_norm_, LambdaLR) equals AdamW written out
        from its paper's formulas (Loshchilov & Hutter, decoupled decay), clipping and the
        schedule by hand, on torch's gradients: 3 steps, warm-up 1 of 3 (lr 0, LR, LR/2),
        biases and LayerNorm weights undecayed, clipping active."""
        cfg = small_cfg()
        p0 = bert.init_params(cfg, torch.Generator().manual_seed(9), random_biases=True, dtype=torch.float64)
        p0 = {k: v * (3 if k.endswith("weight") and "LayerNorm" not in k else 1) for k, v in p0.items()}
        rows = random_rows(6, cfg, random.Random(10))
        lr, wd, b1, b2, eps, clip = 0.01, 0.1, 0.9, 0.999, 1e-6, 0.5
        got = {k: v.clone() for k, v in p0.items()}
        log = optim.train(got, cfg, rows, 3, 2, lr, 1, 3, wd, (b1, b2), eps, clip)
        self.assertEqual([e["lr"] for e in log], [0.0, lr, lr / 2])
        self.assertTrue(any(e["grad_norm"] > clip for e in log), log)
        want = {k: v.clone() for k, v in p0.items()}
        m = {k: torch.zeros_like(v) for k, v in want.items()}
        v2 = {k: torch.zeros_like(v) for k, v in want.items()}
        for s in range(3):
            for t in want.values():
                t.requires_grad_(True)
            mlm, nsp = optim.batch_loss(want, cfg, rows[2 * s:2 * s + 2])
            grads = torch.autograd.grad(mlm + nsp, list(want.values()))
            norm = math.sqrt(sum(float((g * g).sum()) for g in grads))
            self.assertAlmostEqual(norm, log[s]["grad_norm"], places=9)
            scale = min(1.0, clip / (norm + 1e-6))
            step_lr = lr * [0, 1, 0.5][s]
            with torch.no_grad():
                for (k, w), g in zip(list(want.items()), grads):
                    g = g * scale
                    m[k] = b1 * m[k] + (1 - b1) * g
                    v2[k] = b2 * v2[k] + (1 - b2) * g * g
                    decay = 0.0 if k.endswith("bias") or "LayerNorm" in k else wd
                    mh, vh = m[k] / (1 - b1 ** (s + 1)), v2[k] / (1 - b2 ** (s + 1))
                    want[k] = w * (1 - step_lr * decay) - step_lr * mh / (vh.sqrt() + eps)
        for k in want:
            self.assertLess(float((got[k] - want[k]).abs().max()), 1e-12, k)
            self.assertGreater(float((got[k] - p0[k]).abs().max()), 1e-4 if "key.bias" not in k else -1, k)

    def test_cli_init_and_loss(self):
        """init writes a checkpoint that loss reads; the file is a valid safetensors file and
        evaluates to the same loss as the parameters in memory."""
        with tempfile.TemporaryDirectory() as d:
            ck = os.path.join(d, "ck")
            run = lambda *args: subprocess.run([sys.executable, os.path.join(HERE, "torchref.py"), *args],
                                               capture_output=True, text=True)
            r = run("init", "--out", ck, "--preset", "tiny", "--vocab-size", "97", "--seed", "5", "--random-biases")
            self.assertEqual(r.returncode, 0, r.stderr)
            cfg, params = bert.load_checkpoint(ck)
            self.assertEqual(cfg["hidden_size"], 128)
            self.assertEqual(set(params), set(bert.param_shapes(cfg)))
            rows = random_rows(10, cfg, random.Random(1), 5, 40)
            path = os.path.join(d, "rows.jsonl")
            with open(path, "w") as f:
                for row in rows:
                    f.write(json.dumps(row) + "\n")
            r = run("loss", "--checkpoint", ck, "--rows", path, "--batch-size", "4", "--limit", "8")
            self.assertEqual(r.returncode, 0, r.stderr)
            got = json.loads(r.stdout)
            want = bert.evaluate(params, cfg, rows[:8], 3)
            self.assertEqual(got["rows"], 8)
            self.assertAlmostEqual(got["total_loss"], want["total_loss"], places=12)
            # Bad input: a clear error naming the file and line.
            with open(path, "a") as f:
                f.write('{"input_ids": [1, 2], "token_type_ids": [0]}\n')
            r = run("loss", "--checkpoint", ck, "--rows", path)
            self.assertEqual(r.returncode, 1)
            self.assertIn("rows.jsonl:11", r.stderr)

    def test_reads_go_written_fixture(self):
        """The torch_f32 fixture (kiln's Go writer reproduces it byte for byte, a Go test
        checks) reads back here with the values torch wrote."""
        fx = os.path.join(HERE, "..", "..", "trainer", "testdata", "safetensors")
        got, meta = safetensors_io.load(os.path.join(fx, "torch_f32.safetensors"))
        with open(os.path.join(fx, "torch_f32.expected.json")) as f:
            want = json.load(f)
        self.assertEqual(meta, {"format": "pt"})
        for name, w in want.items():
            bits = got[name].reshape(-1).view(torch.int32).tolist()
            self.assertEqual([b & 0xFFFFFFFF for b in bits], w["f32_bits"])


if __name__ == "__main__":
    unittest.main()
