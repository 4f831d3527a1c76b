"""BERT for pretraining in plain PyTorch (no transformers): kiln's reference for loss parity.

The model is Hugging Face's BertForPreTraining written out as one function over a dict of
tensors keyed by the Hugging Face parameter names (Linear weights [out, in]):

    embeddings (word + position + token type) -> LayerNorm -> dropout
    L x post-LN encoder layer:
        x = LayerNorm(x + dropout(dense(self_attention(x, padding mask))))
        x = LayerNorm(x + dropout(dense(gelu(dense(x)))))
    pooler: tanh(dense(x[:, 0]))          -> NSP head: 2-way linear
    MLM head at the masked positions only: LayerNorm(gelu(dense(x))) @ word_embeddings.T + bias

gelu is the exact erf form ("gelu" in transformers). The decoder is tied to the word
embeddings. Losses: MLM = cross-entropy over the masked positions, NSP = cross-entropy over the
rows whose next_sentence_label is 0 or 1; total = MLM + NSP.
"""

import json
import math
import os

import torch
import torch.nn.functional as F

import safetensors_io

# Preset shapes: (layers, hidden, heads, intermediate), as kiln's --model presets.
PRESETS = {
    "tiny": (2, 128, 2, 512),
    "mini": (4, 256, 4, 1024),
    "small": (4, 512, 8, 2048),
    "base": (12, 768, 12, 3072),
}

# Names a checkpoint may hold besides the parameters, which the reference ignores as
# transformers does: the position_ids buffer older versions saved, and the decoder's copies of
# the tied weights.
IGNORED = {"bert.embeddings.position_ids", "cls.predictions.decoder.weight",
           "cls.predictions.decoder.bias"}


def preset_config(preset, vocab_size=30522, max_position_embeddings=512):
    """A Hugging Face BertConfig dict for one of PRESETS."""
    layers, hidden, heads, inter = PRESETS[preset]
    return {
        "architectures": ["BertForPreTraining"],
        "attention_probs_dropout_prob": 0.1,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "hidden_size": hidden,
        "initializer_range": 0.02,
        "intermediate_size": inter,
        "layer_norm_eps": 1e-12,
        "max_position_embeddings": max_position_embeddings,
        "model_type": "bert",
        "num_attention_heads": heads,
        "num_hidden_layers": layers,
        "pad_token_id": 0,
        "position_embedding_type": "absolute",
        "torch_dtype": "float32",
        "type_vocab_size": 2,
        "vocab_size": vocab_size,
    }


def param_shapes(cfg):
    """The parameter names of BertForPreTraining (tied decoder omitted) and their shapes."""
    V, H, I = cfg["vocab_size"], cfg["hidden_size"], cfg["intermediate_size"]
    P, T = cfg["max_position_embeddings"], cfg["type_vocab_size"]
    s = {
        "bert.embeddings.word_embeddings.weight": (V, H),
        "bert.embeddings.position_embeddings.weight": (P, H),
        "bert.embeddings.token_type_embeddings.weight": (T, H),
        "bert.embeddings.LayerNorm.weight": (H,),
        "bert.embeddings.LayerNorm.bias": (H,),
    }
    for l in range(cfg["num_hidden_layers"]):
        p = f"bert.encoder.layer.{l}."
        for name in ("attention.self.query", "attention.self.key", "attention.self.value",
                     "attention.output.dense"):
            s[p + name + ".weight"] = (H, H)
            s[p + name + ".bias"] = (H,)
        for name in ("attention.output.LayerNorm", "output.LayerNorm"):
            s[p + name + ".weight"] = (H,)
            s[p + name + ".bias"] = (H,)
        s[p + "intermediate.dense.weight"] = (I, H)
        s[p + "intermediate.dense.bias"] = (I,)
        s[p + "output.dense.weight"] = (H, I)
        s[p + "output.dense.bias"] = (H,)
    s.update({
        "bert.pooler.dense.weight": (H, H),
        "bert.pooler.dense.bias": (H,),
        "cls.predictions.transform.dense.weight": (H, H),
        "cls.predictions.transform.dense.bias": (H,),
        "cls.predictions.transform.LayerNorm.weight": (H,),
        "cls.predictions.transform.LayerNorm.bias": (H,),
        "cls.predictions.bias": (V,),
        "cls.seq_relationship.weight": (2, H),
        "cls.seq_relationship.bias": (2,),
    })
    return s


def check_config(cfg, where="config"):
    for k in ("vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads",
              "intermediate_size", "max_position_embeddings", "type_vocab_size"):
        if not isinstance(cfg.get(k), int) or cfg[k] <= 0:
            raise ValueError(f"{where}: {k} must be a positive integer, got {cfg.get(k)!r}")
    if cfg["hidden_size"] % cfg["num_attention_heads"]:
        raise ValueError(f"{where}: hidden_size is not a multiple of num_attention_heads")
    if cfg.get("hidden_act", "gelu") != "gelu":
        raise ValueError(f"{where}: hidden_act {cfg['hidden_act']!r} is not the exact gelu")
    if cfg.get("position_embedding_type", "absolute") != "absolute":
        raise ValueError(f"{where}: only absolute position embeddings are supported")
    if cfg.get("tie_word_embeddings", True) is not True:
        raise ValueError(f"{where}: an untied decoder is not supported")


def load_checkpoint(ckpt_dir, dtype=torch.float64):
    """Reads DIR/config.json and DIR/model.safetensors; returns (cfg, params in dtype)."""
    cfg_path = os.path.join(ckpt_dir, "config.json")
    with open(cfg_path) as f:
        cfg = json.load(f)
    defaults = preset_config("base")  # BertConfig's defaults fill missing fields, as in HF
    cfg = {**defaults, **cfg}
    check_config(cfg, cfg_path)
    st_path = os.path.join(ckpt_dir, "model.safetensors")
    raw, _ = safetensors_io.load(st_path)
    # Old checkpoints (TF conversions) name LayerNorm parameters gamma and beta.
    raw = {k.replace("LayerNorm.gamma", "LayerNorm.weight").replace("LayerNorm.beta", "LayerNorm.bias"): v
           for k, v in raw.items()}
    shapes = param_shapes(cfg)
    missing = sorted(set(shapes) - set(raw))
    unknown = sorted(set(raw) - set(shapes) - IGNORED)
    if missing or unknown:
        raise ValueError(f"{st_path}: missing tensors {missing[:5]}{'...' if len(missing) > 5 else ''}, "
                         f"unexpected tensors {unknown[:5]}{'...' if len(unknown) > 5 else ''}")
    params = {}
    for name, shape in shapes.items():
        t = raw[name]
        if tuple(t.shape) != shape:
            raise ValueError(f"{st_path}: tensor {name} has shape {list(t.shape)}, config says {list(shape)}")
        params[name] = t.to(dtype)
    return cfg, params


def init_params(cfg, generator, random_biases=False, dtype=torch.float32):
    """Random weights as transformers' BertPreTrainedModel._init_weights: Linear and Embedding
    weights normal(0, initializer_range), the pad row of the word embeddings zero, biases 0,
    LayerNorm weight 1 and bias 0. random_biases instead draws every bias and LayerNorm
    parameter at random too (normal(0, 0.1) around its usual value), so a test exercises them."""
    std = cfg["initializer_range"]
    params = {}
    for name, shape in param_shapes(cfg).items():
        if name.endswith("LayerNorm.weight"):
            t = torch.ones(shape, dtype=torch.float64)
            if random_biases:
                t += 0.1 * torch.randn(shape, generator=generator, dtype=torch.float64)
        elif name.endswith("bias"):
            t = torch.zeros(shape, dtype=torch.float64)
            if random_biases:
                t += 0.1 * torch.randn(shape, generator=generator, dtype=torch.float64)
        else:
            t = std * torch.randn(shape, generator=generator, dtype=torch.float64)
            if name == "bert.embeddings.word_embeddings.weight":
                t[cfg["pad_token_id"]] = 0
        params[name] = t.to(dtype)
    return params


def save_checkpoint(out_dir, cfg, params, metadata=None):
    os.makedirs(out_dir, exist_ok=True)
    safetensors_io.save(os.path.join(out_dir, "model.safetensors"),
                        {k: v.to(torch.float32).contiguous() for k, v in params.items()}, metadata)
    with open(os.path.join(out_dir, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2, sort_keys=True)
        f.write("\n")


def gelu(x):
    """The exact GELU, x * Phi(x) = 0.5 x (1 + erf(x / sqrt 2)) (torch's fused kernel; the
    tests check it against math.erf)."""
    return F.gelu(x, approximate="none")


def _linear(p, x, name):
    return F.linear(x, p[name + ".weight"], p[name + ".bias"])  # x W^T + b, W [out, in]


def _norm(p, cfg, x, name):
    return F.layer_norm(x, (x.shape[-1],), p[name + ".weight"], p[name + ".bias"], cfg["layer_norm_eps"])


def _dropout(x, rate, training):
    return F.dropout(x, rate, True) if training and rate > 0 else x


def padding_bias(attention_mask, dtype):
    """[B, 1, 1, T] additive score bias: the most negative number on padding keys, as
    transformers does."""
    return (1.0 - attention_mask[:, None, None, :].to(dtype)) * torch.finfo(dtype).min


def encoder_layer(p, cfg, l, x, bias, dropout=0.0, training=False):
    """Post-LN encoder layer l on x [B, T, H] with the padding bias from padding_bias."""
    B, T, H = x.shape
    A = cfg["num_attention_heads"]
    D = H // A
    pre = f"bert.encoder.layer.{l}."

    def heads(t):
        return t.view(B, T, A, D).transpose(1, 2)  # [B, A, T, D]

    q = heads(_linear(p, x, pre + "attention.self.query"))
    k = heads(_linear(p, x, pre + "attention.self.key"))
    v = heads(_linear(p, x, pre + "attention.self.value"))
    scores = q @ k.transpose(-1, -2) / math.sqrt(D) + bias
    probs = _dropout(torch.softmax(scores, dim=-1), dropout, training)
    ctx = (probs @ v).transpose(1, 2).reshape(B, T, H)
    a = _dropout(_linear(p, ctx, pre + "attention.output.dense"), dropout, training)
    x = _norm(p, cfg, x + a, pre + "attention.output.LayerNorm")
    h = gelu(_linear(p, x, pre + "intermediate.dense"))
    h = _dropout(_linear(p, h, pre + "output.dense"), dropout, training)
    return _norm(p, cfg, x + h, pre + "output.LayerNorm")


def forward(p, cfg, input_ids, token_type_ids, attention_mask, mlm_rows, mlm_cols,
            dropout=0.0, training=False):
    """Returns (mlm_logits [M, vocab] at the masked positions (mlm_rows[i], mlm_cols[i]),
    nsp_logits [B, 2]). Dropout (hidden and attention) only when training."""
    T = input_ids.shape[1]
    e = "bert.embeddings."
    x = (F.embedding(input_ids, p[e + "word_embeddings.weight"])
         + p[e + "position_embeddings.weight"][:T].unsqueeze(0)
         + F.embedding(token_type_ids, p[e + "token_type_embeddings.weight"]))
    x = _dropout(_norm(p, cfg, x, e + "LayerNorm"), dropout, training)
    bias = padding_bias(attention_mask, x.dtype)
    for l in range(cfg["num_hidden_layers"]):
        x = encoder_layer(p, cfg, l, x, bias, dropout, training)
    pooled = torch.tanh(_linear(p, x[:, 0], "bert.pooler.dense"))
    nsp_logits = _linear(p, pooled, "cls.seq_relationship")
    m = x[mlm_rows, mlm_cols]
    m = _norm(p, cfg, gelu(_linear(p, m, "cls.predictions.transform.dense")), "cls.predictions.transform.LayerNorm")
    mlm_logits = m @ p[e + "word_embeddings.weight"].t() + p["cls.predictions.bias"]
    return mlm_logits, nsp_logits


def collate(rows, pad_id=0):
    """Pads rows (dicts as in the JSON-lines file) to the longest in the batch. Returns tensors
    input_ids, token_type_ids, attention_mask [B, T], mlm_rows, mlm_cols, mlm_labels [M] and
    nsp_labels [B] (-1 where a row has no NSP label)."""
    T = max(len(r["input_ids"]) for r in rows)
    B = len(rows)
    ids = torch.full((B, T), pad_id, dtype=torch.long)
    types = torch.zeros((B, T), dtype=torch.long)
    mask = torch.zeros((B, T), dtype=torch.long)
    mrows, mcols, mlabels, nsp = [], [], [], []
    for i, r in enumerate(rows):
        n = len(r["input_ids"])
        ids[i, :n] = torch.tensor(r["input_ids"], dtype=torch.long)
        types[i, :n] = torch.tensor(r["token_type_ids"], dtype=torch.long)
        mask[i, :n] = 1
        mrows += [i] * len(r["masked_lm_positions"])
        mcols += list(r["masked_lm_positions"])
        mlabels += list(r["masked_lm_ids"])
        nsp.append(r.get("next_sentence_label", -1))
    t = lambda a: torch.tensor(a, dtype=torch.long)
    return ids, types, mask, t(mrows), t(mcols), t(mlabels), t(nsp)


def check_row(r, cfg, where):
    for k in ("input_ids", "token_type_ids", "masked_lm_positions", "masked_lm_ids"):
        if not isinstance(r.get(k), list):
            raise ValueError(f"{where}: {k} missing or not a list")
    n = len(r["input_ids"])
    if n == 0 or n > cfg["max_position_embeddings"]:
        raise ValueError(f"{where}: {n} tokens, want 1..{cfg['max_position_embeddings']}")
    if len(r["token_type_ids"]) != n:
        raise ValueError(f"{where}: {len(r['token_type_ids'])} token_type_ids for {n} tokens")
    if len(r["masked_lm_positions"]) != len(r["masked_lm_ids"]):
        raise ValueError(f"{where}: masked_lm_positions and masked_lm_ids differ in length")
    V = cfg["vocab_size"]
    if any(not 0 <= i < V for i in r["input_ids"] + r["masked_lm_ids"]):
        raise ValueError(f"{where}: token id outside the vocabulary of {V}")
    if any(not 0 <= t < cfg["type_vocab_size"] for t in r["token_type_ids"]):
        raise ValueError(f"{where}: token type outside 0..{cfg['type_vocab_size'] - 1}")
    if any(not 0 <= q < n for q in r["masked_lm_positions"]):
        raise ValueError(f"{where}: masked position outside the row of {n} tokens")
    if r.get("next_sentence_label", -1) not in (-1, 0, 1):
        raise ValueError(f"{where}: next_sentence_label must be 0, 1 or -1")


def evaluate(params, cfg, rows, batch_size=32, batch_mean=False):
    """Loss over rows, in batches of batch_size, without dropout. By default the MLM loss is the
    mean over all masked positions of all rows and the NSP loss the mean over all labelled rows
    (so it does not depend on batch_size); batch_mean instead averages each batch's means."""
    mlm_sum = nsp_sum = 0.0
    mlm_n = nsp_n = 0
    batch_mlm, batch_nsp = [], []
    with torch.no_grad():
        for s in range(0, len(rows), batch_size):
            ids, types, mask, mr, mc, ml, nsp = collate(rows[s:s + batch_size], cfg["pad_token_id"])
            mlm_logits, nsp_logits = forward(params, cfg, ids, types, mask, mr, mc)
            m = F.cross_entropy(mlm_logits, ml, reduction="sum").item() if len(ml) else 0.0
            keep = nsp >= 0
            n = F.cross_entropy(nsp_logits[keep], nsp[keep], reduction="sum").item() if keep.any() else 0.0
            mlm_sum, mlm_n, nsp_sum, nsp_n = mlm_sum + m, mlm_n + len(ml), nsp_sum + n, nsp_n + int(keep.sum())
            if len(ml):
                batch_mlm.append(m / len(ml))
            if keep.any():
                batch_nsp.append(n / int(keep.sum()))
    if batch_mean:
        mlm = sum(batch_mlm) / len(batch_mlm) if batch_mlm else 0.0
        nsp = sum(batch_nsp) / len(batch_nsp) if batch_nsp else 0.0
    else:
        mlm = mlm_sum / mlm_n if mlm_n else 0.0
        nsp = nsp_sum / nsp_n if nsp_n else 0.0
    return {"mlm_loss": mlm, "nsp_loss": nsp, "total_loss": mlm + nsp, "rows": len(rows)}
