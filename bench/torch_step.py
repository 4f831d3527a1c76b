#!/usr/bin/python3
"""Seconds per BERT pretraining step in PyTorch CPU: the peer figure for kiln's step time.

One step is what kiln's trainer does per batch: forward (dropout 0.1, MLM head at the masked
positions only, decoder tied to the word embeddings), total loss = MLM + NSP, backward,
global-norm gradient clipping at 1.0, AdamW (weight decay 0.01, none on biases and LayerNorm).
The model is tools/torchref/bert.py, the same reference the loss-parity check uses, in float32.
Batches are random token ids at full length (no padding), a fixed number of masked positions
per row, random NSP labels; the data is made before timing.

Run it with Debian's torch and OpenBLAS's kernels pinned (Debian's OpenBLAS 0.3.21 may not
recognise a newer CPU and then falls back to slow generic kernels; OPENBLAS_VERBOSE=2 shows
what it picked):

  OPENBLAS_CORETYPE=SkylakeX /usr/bin/python3 bench/torch_step.py [--presets tiny,mini]
      [--batch 32] [--seq 128] [--masked 20] [--warmup 3] [--steps 10] [--threads 2]

Prints one JSON line per preset with the median, min and max wall seconds per step over
--steps timed steps after --warmup untimed ones, and the median CPU seconds per step (all
threads): on a machine busy with other work the wall figure is inflated, and a CPU figure far
above threads x wall means threads were spinning while descheduled. Benchmark on an idle machine.
"""

import argparse
import json
import os
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools", "torchref"))
import bert  # noqa: E402


def make_batch(cfg, batch, seq, masked, g):
    V = cfg["vocab_size"]
    ids = torch.randint(1000, V, (batch, seq), generator=g)
    types = torch.zeros(batch, seq, dtype=torch.long)
    types[:, seq // 2:] = 1
    mask = torch.ones(batch, seq, dtype=torch.long)
    cols = torch.stack([torch.randperm(seq - 1, generator=g)[:masked] + 1 for _ in range(batch)])
    cols = cols.sort(dim=1).values.reshape(-1)
    rows = torch.arange(batch).repeat_interleave(masked)
    labels = torch.randint(1000, V, (batch * masked,), generator=g)
    nsp = torch.randint(0, 2, (batch,), generator=g)
    return ids, types, mask, rows, cols, labels, nsp


def bench(preset, a):
    cfg = bert.preset_config(preset, vocab_size=a.vocab)
    g = torch.Generator().manual_seed(1)
    params = bert.init_params(cfg, g, dtype=torch.float32)
    for p in params.values():
        p.requires_grad_(True)
    decay = [p for n, p in params.items() if not (n.endswith("bias") or "LayerNorm" in n)]
    no_decay = [p for n, p in params.items() if n.endswith("bias") or "LayerNorm" in n]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01},
                             {"params": no_decay, "weight_decay": 0.0}], lr=1e-4, eps=1e-6)
    batches = [make_batch(cfg, a.batch, a.seq, a.masked, g) for _ in range(2)]
    times, cpu = [], []
    for step in range(a.warmup + a.steps):
        ids, types, mask, rows, cols, labels, nsp = batches[step % 2]
        t0, c0 = time.perf_counter(), time.process_time()
        opt.zero_grad(set_to_none=True)
        mlm_logits, nsp_logits = bert.forward(params, cfg, ids, types, mask, rows, cols,
                                              dropout=0.1, training=True)
        loss = (torch.nn.functional.cross_entropy(mlm_logits, labels)
                + torch.nn.functional.cross_entropy(nsp_logits, nsp))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(list(params.values()), 1.0)
        opt.step()
        dt, dc = time.perf_counter() - t0, time.process_time() - c0
        if step >= a.warmup:
            times.append(dt)
            cpu.append(dc)
    return {
        "preset": preset, "layers": cfg["num_hidden_layers"], "hidden": cfg["hidden_size"],
        "batch": a.batch, "seq": a.seq, "masked_per_row": a.masked, "vocab": a.vocab,
        "step_seconds_median": round(statistics.median(times), 4),
        "step_seconds_min": round(min(times), 4), "step_seconds_max": round(max(times), 4),
        "cpu_seconds_median": round(statistics.median(cpu), 4),
        "steps": a.steps, "warmup": a.warmup, "threads": torch.get_num_threads(),
        "tokens_per_second": round(a.batch * a.seq / statistics.median(times)),
        "torch": torch.__version__, "openblas_coretype": os.environ.get("OPENBLAS_CORETYPE", ""),
        "final_loss": round(loss.item(), 4),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--presets", default="tiny,mini")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--masked", type=int, default=20)
    ap.add_argument("--vocab", type=int, default=30522)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    if not os.environ.get("OPENBLAS_CORETYPE"):
        print("torch_step: OPENBLAS_CORETYPE is not set; Debian's OpenBLAS may use slow generic "
              "kernels on this CPU (set OPENBLAS_CORETYPE=SkylakeX)", file=sys.stderr)
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)  # dropout masks
    for preset in a.presets.split(","):
        if preset not in bert.PRESETS:
            ap.error(f"unknown preset {preset!r} (have {', '.join(bert.PRESETS)})")
        print(json.dumps(bench(preset, a)), flush=True)


if __name__ == "__main__":
    main()
