"""Reading and writing safetensors files with plain torch (no `safetensors` package).

The format (https://github.com/huggingface/safetensors): an 8-byte little-endian header
length N, N bytes of JSON mapping each tensor name to {"dtype", "shape", "data_offsets"}
(offsets relative to the first byte after the header) plus an optional "__metadata__"
object of strings, padded with spaces to a multiple of 8 bytes; then the tensors' bytes,
little-endian, row-major. save() lays a file out as the safetensors library does: compact
JSON, "__metadata__" first, tensors ordered by element size (largest first) then name.
"""

import json
import struct

import torch

DTYPES = {
    torch.float64: "F64", torch.float32: "F32", torch.float16: "F16",
    torch.bfloat16: "BF16", torch.int64: "I64", torch.int32: "I32",
    torch.int16: "I16", torch.int8: "I8", torch.uint8: "U8", torch.bool: "BOOL",
}
TORCH = {v: k for k, v in DTYPES.items()}
MAX_HEADER = 100 << 20


def tensor_bytes(t):
    """Row-major little-endian bytes of t (this host is little-endian, as torch assumes)."""
    t = t.detach().cpu().contiguous().reshape(-1)
    if t.dtype == torch.bfloat16:
        t = t.view(torch.int16)
    return t.numpy().tobytes()


def save(path, tensors, metadata=None):
    """Writes a dict name -> tensor to path; metadata is a dict of strings (default format=pt)."""
    if metadata is None:
        metadata = {"format": "pt"}
    order = sorted(tensors, key=lambda n: (-tensors[n].element_size(), n))
    header = {"__metadata__": dict(metadata)} if metadata else {}
    blobs, off = [], 0
    for name in order:
        t = tensors[name]
        b = tensor_bytes(t)
        header[name] = {"dtype": DTYPES[t.dtype], "shape": list(t.shape),
                        "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def load(path):
    """Reads path, returning (dict name -> tensor in its stored dtype, metadata dict or {})."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 8:
        raise ValueError(f"{path}: too short for a safetensors file")
    (n,) = struct.unpack("<Q", data[:8])
    if n > MAX_HEADER or 8 + n > len(data):
        raise ValueError(f"{path}: bad header length {n}")
    header = json.loads(data[8:8 + n])
    meta = header.pop("__metadata__", None) or {}
    buf = memoryview(data)[8 + n:]
    out, spans = {}, []
    for name, e in header.items():
        if set(e) != {"dtype", "shape", "data_offsets"} or e["dtype"] not in TORCH:
            raise ValueError(f"{path}: tensor {name}: bad entry {e}")
        dt = TORCH[e["dtype"]]
        b, end = e["data_offsets"]
        count = 1
        for d in e["shape"]:
            count *= d
        size = torch.empty(0, dtype=dt).element_size()
        if not 0 <= b <= end <= len(buf) or end - b != count * size:
            raise ValueError(f"{path}: tensor {name}: offsets {e['data_offsets']} do not fit "
                             f"shape {e['shape']} {e['dtype']} in {len(buf)} data bytes")
        spans.append((b, end, name))
        raw = bytearray(buf[b:end])
        if dt == torch.bfloat16:
            t = torch.frombuffer(raw, dtype=torch.int16).view(torch.bfloat16) if raw else torch.empty(0, dtype=dt)
        else:
            t = torch.frombuffer(raw, dtype=dt) if raw else torch.empty(0, dtype=dt)
        out[name] = t.reshape(e["shape"])
    pos = 0
    for b, end, name in sorted(spans):
        if b != pos:
            raise ValueError(f"{path}: tensor {name}: data_offsets overlap or leave a gap")
        pos = end
    if pos != len(buf):
        raise ValueError(f"{path}: tensors cover {pos} of {len(buf)} data bytes")
    return out, meta
