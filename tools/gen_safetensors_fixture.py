#!/usr/bin/env python3
"""Safetensors fixtures from PyTorch, and a PyTorch-side check of files aelab writes.

    python3 tools/gen_safetensors_fixture.py            # writes test/fixtures/torch_small.*
    python3 tools/gen_safetensors_fixture.py --check F  # reads F strictly, loads it into PyTorch

The `safetensors` Python package is not installable here (no PyPI), so the format is written and
read by hand below, following the reference implementation's rules: an 8-byte little-endian
header length; a compact JSON header with "__metadata__" first and then the tensors in data
order; tensors sorted by decreasing dtype alignment, then by name; the header padded with spaces
to a multiple of 8; data back to back, C order, little-endian. A file written this way is
byte-identical to `safetensors.torch.save_file`'s output for the same tensors and metadata.

The fixture holds a real PyTorch state_dict (Linear + BatchNorm1d, seeded) plus one tensor of
each dtype aelab cares about, so the TypeScript test can check names, dtypes, shapes and every
value. Expected values go to a JSON file next to it (float32 values print exactly as doubles).
"""

import json
import struct
import sys
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "test" / "fixtures" / "torch_small.safetensors"
EXPECTED = ROOT / "test" / "fixtures" / "torch_small.json"

# Reference alignment order (ascending); the writer sorts by it descending.
DTYPE_ORDER = ["BOOL", "U8", "I8", "F8_E5M2", "F8_E4M3", "I16", "U16", "F16", "BF16",
               "I32", "U32", "F32", "F64", "I64", "U64"]
TORCH_TO_ST = {
    torch.bool: "BOOL", torch.uint8: "U8", torch.int8: "I8", torch.int16: "I16",
    torch.float16: "F16", torch.bfloat16: "BF16", torch.int32: "I32", torch.float32: "F32",
    torch.float64: "F64", torch.int64: "I64",
}
ST_TO_TORCH = {v: k for k, v in TORCH_TO_ST.items()}
SIZE = {"BOOL": 1, "U8": 1, "I8": 1, "I16": 2, "U16": 2, "F16": 2, "BF16": 2, "I32": 4,
        "U32": 4, "F32": 4, "F64": 8, "I64": 8, "U64": 8}


def model():
    torch.manual_seed(0)
    m = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.BatchNorm1d(3))
    # One training step so the BatchNorm buffers are not their defaults.
    m.train()
    m(torch.randn(5, 4))
    return m


def raw_bytes(t: torch.Tensor) -> bytes:
    t = t.detach().contiguous().cpu()
    if t.dtype == torch.bfloat16:  # numpy has no bfloat16: take the bits
        t = t.view(torch.int16)
    return t.numpy().astype(t.numpy().dtype.newbyteorder("<"), copy=False).tobytes()


def save(tensors: dict, path: Path, metadata: dict | None = None) -> None:
    items = sorted(tensors.items(),
                   key=lambda kv: (-DTYPE_ORDER.index(TORCH_TO_ST[kv[1].dtype]), kv[0].encode()))
    header, chunks, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = metadata
    for name, t in items:
        b = raw_bytes(t)
        header[name] = {"dtype": TORCH_TO_ST[t.dtype], "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(b)]}
        chunks.append(b)
        offset += len(b)
    h = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    path.write_bytes(struct.pack("<Q", len(h)) + h + b"".join(chunks))


def load(path: Path):
    """Strict reader: the reference implementation's checks, in Python."""
    buf = path.read_bytes()
    (n,) = struct.unpack("<Q", buf[:8])
    assert n <= 100_000_000 and 8 + n <= len(buf), "bad header length"
    text = buf[8:8 + n].decode("utf-8")
    assert text.startswith("{"), "header must start with {"
    header = json.loads(text)
    metadata = header.pop("__metadata__", None)
    assert metadata is None or all(isinstance(v, str) for v in metadata.values())
    data = buf[8 + n:]
    entries = sorted(header.items(), key=lambda kv: tuple(kv[1]["data_offsets"]))
    cursor, out = 0, {}
    for name, info in entries:
        s, e = info["data_offsets"]
        assert s == cursor and e >= s, f"{name}: offsets not contiguous"
        count = int(np.prod(info["shape"])) if info["shape"] else 1
        assert e - s == count * SIZE[info["dtype"]], f"{name}: size mismatch"
        cursor = e
        dt = ST_TO_TORCH[info["dtype"]]
        raw = bytearray(data[s:e])
        if dt == torch.bfloat16:
            t = torch.frombuffer(raw, dtype=torch.int16).view(torch.bfloat16) if raw else \
                torch.empty(0, dtype=dt)
        else:
            t = torch.frombuffer(raw, dtype=dt) if raw else torch.empty(0, dtype=dt)
        out[name] = t.reshape(info["shape"]).clone()
    assert cursor == len(data), "trailing bytes"
    return out, metadata or {}


def num(v: float):
    """Strict JSON has no Infinity/NaN: those go as strings the test maps back."""
    v = float(v)
    if v != v:
        return "NaN"
    if v in (float("inf"), float("-inf")):
        return "Infinity" if v > 0 else "-Infinity"
    return v


def expected_json(tensors: dict) -> dict:
    out = {}
    for name, t in tensors.items():
        st = TORCH_TO_ST[t.dtype]
        flat = t.detach().reshape(-1)
        entry = {"dtype": st, "shape": list(t.shape)}
        if st in ("F16", "BF16"):
            entry["bits"] = [int(v) & 0xFFFF for v in flat.view(torch.int16).tolist()]
            entry["values"] = [num(v) for v in flat.float().tolist()]
        elif st in ("I64", "U64"):
            entry["values"] = [str(int(v)) for v in flat.tolist()]  # beyond 2^53: strings
        elif st == "BOOL":
            entry["values"] = [int(v) for v in flat.tolist()]
        else:
            entry["values"] = [num(v) if t.is_floating_point() else int(v) for v in flat.tolist()]
        out[name] = entry
    return out


def generate() -> None:
    sd = {k: v.detach().clone() for k, v in model().state_dict().items()}
    extra = {
        "extra.f64": torch.tensor([[1.0 / 3.0, -2.5e-300], [1e300, -0.0]], dtype=torch.float64),
        "extra.i32": torch.tensor([-2147483648, 0, 2147483647], dtype=torch.int32),
        "extra.i64_big": torch.tensor([-(2 ** 63), 2 ** 53 + 1, 2 ** 63 - 1], dtype=torch.int64),
        "extra.u8": torch.arange(0, 256, 51, dtype=torch.uint8).reshape(2, 3),
        "extra.bool": torch.tensor([True, False, True]),
        "extra.i8": torch.tensor([-128, -1, 127], dtype=torch.int8),
        "extra.i16": torch.tensor([-32768, 12345], dtype=torch.int16),
        "extra.f16": torch.tensor([1.0, -2.0, 65504.0, 6e-8, 0.1, float("inf")],
                                  dtype=torch.float16),
        "extra.bf16": torch.tensor([1.0, -3.140625, 1e38, 0.1], dtype=torch.bfloat16),
        "extra.scalar": torch.tensor(7.5, dtype=torch.float32),
        "extra.empty": torch.zeros(0, 3, dtype=torch.float32),
        "extra.image": torch.arange(2 * 3 * 2 * 2, dtype=torch.float32).reshape(2, 3, 2, 2) / 8,
    }
    tensors = {**sd, **extra}
    metadata = {"format": "pt", "producer": "tools/gen_safetensors_fixture.py",
                "torch": torch.__version__.split("+")[0]}
    OUT.parent.mkdir(parents=True, exist_ok=True)
    save(tensors, OUT, metadata)
    back, md = load(OUT)
    assert md == metadata
    for k, v in tensors.items():
        assert torch.equal(back[k], v), k
    EXPECTED.write_text(json.dumps({"metadata": metadata, "tensors": expected_json(tensors)},
                                   indent=1, allow_nan=False) + "\n")
    print(f"wrote {OUT.relative_to(ROOT)} ({OUT.stat().st_size} bytes), "
          f"{EXPECTED.relative_to(ROOT)}")


def check(path: Path) -> None:
    tensors, metadata = load(path)
    print(f"{path}: {len(tensors)} tensors, metadata {metadata}")
    for k, v in tensors.items():
        print(f"  {k}: {str(v.dtype).replace('torch.', '')} {list(v.shape)} "
              f"{v.reshape(-1)[:6].tolist()}")
    # Files written from our fixture's state_dict names must load into the same PyTorch module.
    sd_names = set(model().state_dict().keys())
    if sd_names <= set(tensors):
        m = model()
        m.load_state_dict({k: tensors[k] for k in sd_names}, strict=True)
        print("  load_state_dict(strict=True) into Sequential(Linear(4,3), BatchNorm1d(3)): ok")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--check":
        check(Path(sys.argv[2]))
    else:
        generate()
