#!/usr/bin/python3
"""kiln's PyTorch reference for BERT pretraining losses (see README.md).

  torchref.py loss --checkpoint DIR --rows ROWS.jsonl [--limit N] [--batch-size B]
                   [--dtype float64|float32] [--batch-mean]
      Evaluates DIR/config.json + DIR/model.safetensors (Hugging Face BertForPreTraining
      names) without dropout on the rows and prints the same JSON as `kiln loss`:
      {"mlm_loss": .., "nsp_loss": .., "total_loss": .., "rows": ..}

  torchref.py init --out DIR [--preset tiny|mini|small|base] [--vocab-size V]
                   [--max-position P] [--seed S] [--initializer-range R] [--random-biases]
      Writes a randomly initialised checkpoint (config.json + model.safetensors), as
      transformers initialises BertForPreTraining, for testing kiln on a checkpoint written
      by another tool.

  torchref.py step --checkpoint DIR --rows ROWS.jsonl --out FILE.safetensors [--steps N]
                   [--batch-size B] [--lr LR] [--warmup W] [--total-steps T]
                   [--weight-decay D] [--eps E] [--clip-norm C] [--dtype float64|float32]
      Trains DIR for N steps (no dropout) with torch.optim.AdamW (no decay on biases and
      LayerNorm weights), clip_grad_norm_ and LambdaLR with transformers' linear schedule
      with warm-up (learning rate 0 at the first step); writes every parameter after the last
      step to FILE.safetensors in --dtype and prints one JSON line per step
      {"step", "lr", "loss", "mlm_loss", "nsp_loss", "grad_norm"}.

ROWS.jsonl holds one row per line: {"input_ids": [...], "token_type_ids": [...],
"next_sentence_label": 0|1|-1, "masked_lm_positions": [...], "masked_lm_ids": [...]}, unpadded.
"""

import argparse
import json
import sys

import torch

import bert
import optim
import safetensors_io


def read_rows(path, cfg, limit):
    rows = []
    with open(path) as f:
        for lineno, line in enumerate(f, 1):
            if limit and len(rows) >= limit:
                break
            if not line.strip():
                continue
            where = f"{path}:{lineno}"
            try:
                r = json.loads(line)
            except json.JSONDecodeError as e:
                raise ValueError(f"{where}: {e}") from None
            bert.check_row(r, cfg, where)
            rows.append(r)
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    sub = ap.add_subparsers(dest="cmd", required=True)
    lo = sub.add_parser("loss", help="evaluate a checkpoint on JSON-lines rows")
    lo.add_argument("--checkpoint", required=True)
    lo.add_argument("--rows", required=True)
    lo.add_argument("--limit", type=int, default=0, help="first N rows (0: all)")
    lo.add_argument("--batch-size", type=int, default=32)
    lo.add_argument("--dtype", choices=["float64", "float32"], default="float64")
    lo.add_argument("--batch-mean", action="store_true",
                    help="average per-batch means instead of means over all positions/rows")
    st = sub.add_parser("step", help="train a checkpoint for a few steps with torch.optim.AdamW")
    st.add_argument("--checkpoint", required=True)
    st.add_argument("--rows", required=True)
    st.add_argument("--out", required=True, help="safetensors file for the parameters after the last step")
    st.add_argument("--steps", type=int, default=3)
    st.add_argument("--batch-size", type=int, default=32)
    st.add_argument("--lr", type=float, default=1e-3)
    st.add_argument("--warmup", type=int, default=1)
    st.add_argument("--total-steps", type=int, default=3)
    st.add_argument("--weight-decay", type=float, default=0.01)
    st.add_argument("--beta1", type=float, default=0.9)
    st.add_argument("--beta2", type=float, default=0.999)
    st.add_argument("--eps", type=float, default=1e-6, help="AdamW epsilon (BERT's 1e-6, as kiln)")
    st.add_argument("--clip-norm", type=float, default=1.0, help="global gradient norm limit (0: none)")
    st.add_argument("--dtype", choices=["float64", "float32"], default="float64")
    ini = sub.add_parser("init", help="write a randomly initialised checkpoint")
    ini.add_argument("--out", required=True)
    ini.add_argument("--preset", choices=sorted(bert.PRESETS), default="tiny")
    ini.add_argument("--vocab-size", type=int, default=30522)
    ini.add_argument("--max-position", type=int, default=512)
    ini.add_argument("--seed", type=int, default=1)
    ini.add_argument("--initializer-range", type=float, default=0.02,
                     help="std of the normal weights (larger, e.g. 0.2, gives a far from uniform model)")
    ini.add_argument("--random-biases", action="store_true",
                     help="random biases and LayerNorm parameters too (a stronger parity test)")
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)

    try:
        if a.cmd == "loss":
            dtype = torch.float64 if a.dtype == "float64" else torch.float32
            cfg, params = bert.load_checkpoint(a.checkpoint, dtype)
            rows = read_rows(a.rows, cfg, a.limit)
            if not rows:
                raise ValueError(f"{a.rows}: no rows")
            if a.batch_size < 1:
                raise ValueError("--batch-size must be positive")
            print(json.dumps(bert.evaluate(params, cfg, rows, a.batch_size, a.batch_mean)))
        elif a.cmd == "step":
            dtype = torch.float64 if a.dtype == "float64" else torch.float32
            cfg, params = bert.load_checkpoint(a.checkpoint, dtype)
            rows = read_rows(a.rows, cfg, 0)
            if not rows:
                raise ValueError(f"{a.rows}: no rows")
            if a.steps < 1 or a.batch_size < 1 or a.warmup < 0 or a.total_steps < 0:
                raise ValueError("--steps and --batch-size must be positive, --warmup and --total-steps not negative")
            if not (a.lr > 0 and a.weight_decay >= 0 and a.eps > 0 and a.clip_norm >= 0):
                raise ValueError("--lr and --eps must be positive, --weight-decay and --clip-norm not negative")
            log = optim.train(params, cfg, rows, a.steps, a.batch_size, a.lr, a.warmup, a.total_steps,
                              a.weight_decay, (a.beta1, a.beta2), a.eps, a.clip_norm)
            for entry in log:
                print(json.dumps(entry))
            safetensors_io.save(a.out, {k: v.detach().contiguous() for k, v in params.items()},
                                {"format": "pt", "writer": "kiln tools/torchref step (torch " + torch.__version__ + ")",
                                 "steps": str(a.steps)})
        else:
            cfg = bert.preset_config(a.preset, a.vocab_size, a.max_position)
            cfg["initializer_range"] = a.initializer_range
            g = torch.Generator().manual_seed(a.seed)
            params = bert.init_params(cfg, g, a.random_biases)
            bert.save_checkpoint(a.out, cfg, params, {
                "format": "pt", "writer": "kiln tools/torchref (torch " + torch.__version__ + ")",
                "seed": str(a.seed), "preset": a.preset})
            print(json.dumps({"out": a.out, "preset": a.preset, "seed": a.seed,
                              "parameters": sum(p.numel() for p in params.values())}))
    except (OSError, ValueError) as e:
        print(f"torchref: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
