"""Training steps with PyTorch's own optimiser: kiln's reference for AdamW, clipping and the
learning-rate schedule.

Each step: forward without dropout (dropout masks are random draws that no two programs share),
loss = MLM mean over the batch's masked positions + NSP mean over its labelled rows, backward,
torch.nn.utils.clip_grad_norm_, torch.optim.AdamW, then LambdaLR.step(). The schedule is
transformers' get_linear_schedule_with_warmup, written out (transformers is not installed):

    lambda(s) = s / max(1, warmup)                                       s < warmup
                max(0, (total - s) / max(1, total - warmup))             otherwise

so the first update (s = 0) has learning rate 0. Weight decay follows transformers' examples
(no_decay = ["bias", "LayerNorm.weight"]; Google's optimization.py excludes "LayerNorm" and
"bias", the same parameters of BERT).
"""

import torch
import torch.nn.functional as F

import bert

NO_DECAY = ("bias", "LayerNorm.weight")


def linear_schedule_with_warmup(warmup, total):
    """transformers.get_linear_schedule_with_warmup's lr_lambda."""
    def lr_lambda(s):
        if s < warmup:
            return float(s) / float(max(1, warmup))
        return max(0.0, float(total - s) / float(max(1, total - warmup)))
    return lr_lambda


def batch_loss(params, cfg, rows):
    ids, types, mask, mr, mc, ml, nsp = bert.collate(rows, cfg["pad_token_id"])
    mlm_logits, nsp_logits = bert.forward(params, cfg, ids, types, mask, mr, mc)
    zero = mlm_logits.sum() * 0
    mlm = F.cross_entropy(mlm_logits, ml) if len(ml) else zero
    keep = nsp >= 0
    nsp_loss = F.cross_entropy(nsp_logits[keep], nsp[keep]) if keep.any() else zero
    return mlm, nsp_loss


def train(params, cfg, rows, steps, batch_size, lr, warmup, total, weight_decay=0.01,
          betas=(0.9, 0.999), eps=1e-6, clip_norm=1.0):
    """Runs steps updates on params (modified in place; they become leaf tensors that require
    grad). Step i trains on rows[i*batch_size : (i+1)*batch_size], wrapping around. Returns one
    dict per step: lr, the losses before the update and the gradient norm before clipping."""
    for p in params.values():
        p.requires_grad_(True)
    decay = [p for n, p in params.items() if not any(nd in n for nd in NO_DECAY)]
    no_decay = [p for n, p in params.items() if any(nd in n for nd in NO_DECAY)]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=lr, betas=betas, eps=eps)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, linear_schedule_with_warmup(warmup, total))
    log = []
    for s in range(steps):
        at = (s * batch_size) % len(rows)
        batch = (rows + rows)[at:at + min(batch_size, len(rows))]
        opt.zero_grad(set_to_none=True)
        mlm, nsp = batch_loss(params, cfg, batch)
        loss = mlm + nsp
        loss.backward()
        step_lr = opt.param_groups[0]["lr"]
        norm = torch.nn.utils.clip_grad_norm_(list(params.values()), clip_norm) if clip_norm > 0 else None
        opt.step()
        sched.step()
        log.append({"step": s + 1, "lr": step_lr, "loss": loss.item(), "mlm_loss": mlm.item(),
                    "nsp_loss": nsp.item(), "grad_norm": None if norm is None else norm.item()})
    for p in params.values():
        p.requires_grad_(False)
    return log
