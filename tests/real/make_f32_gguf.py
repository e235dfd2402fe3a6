"""Write a float32 copy of the demo model's GGUF, for a real quantisation A/B on llama.cpp.

Every tensor of `SmolLM2-135M-Instruct.Q4_1.gguf` (token_embd Q8_0, most weights Q4_1,
norms F32) is dequantized to F32 with the `gguf` package and written in GGUF's own layout
(same names, shapes and order; no Hugging Face permutation). Every metadata key is copied
with its type; only `general.file_type` becomes ALL_F32. The result is the Q4_1 weights
dequantized: an A/B against it isolates compute precision, not the information lost by
quantising (the original bf16 weights are not used).

Output, beside the Q4_1 file in the demo model's cache folder (server/demo/model.py):
`SmolLM2-135M-Instruct.F32.gguf` and a stamp `SmolLM2-135M-Instruct.F32.json` recording the
source's and the output's sha256. A later call whose stamp matches both files does nothing.

    python -m tests.real.make_f32_gguf   # prints the path of the F32 file
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

F32_NAME = "SmolLM2-135M-Instruct.F32.gguf"
STAMP_NAME = "SmolLM2-135M-Instruct.F32.json"
STAMP_FORMAT = "localrate.f32-gguf/1"
# Fields the reader reports that are part of the header, not key/value metadata.
_HEADER_FIELDS = ("GGUF.version", "GGUF.tensor_count", "GGUF.kv_count")
_ARCH_KEY = "general.architecture"
_FILE_TYPE_KEY = "general.file_type"
_ALIGNMENT_KEY = "general.alignment"


def metadata_fields(reader: Any) -> Iterator[tuple[str, Any, Any, Any]]:
    """(key, value, type, array sub-type or None) of every key/value field, in file order."""
    from gguf import GGUFValueType

    for name, field in reader.fields.items():
        if name in _HEADER_FIELDS:
            continue
        main = field.types[0]
        sub = field.types[-1] if main == GGUFValueType.ARRAY else None
        if sub == GGUFValueType.ARRAY:
            raise ValueError(f"{name}: nested arrays are not supported")
        yield name, field.contents(), main, sub


def dequantized(tensor: Any) -> Any:
    """A reader tensor as a C-contiguous float32 numpy array in GGUF's row order."""
    import gguf
    import numpy as np

    data = gguf.quants.dequantize(tensor.data, tensor.tensor_type)
    return np.ascontiguousarray(data, dtype=np.float32)


def write_f32(source: Path, target: Path) -> None:
    """Write `target`: `source` with every tensor in F32 and general.file_type ALL_F32.

    Tensors are dequantized one at a time (the whole model is never held twice); the file
    is written as `target.part` and renamed when complete.
    """
    import gguf
    import numpy as np

    reader = gguf.GGUFReader(str(source))
    arch = reader.fields[_ARCH_KEY].contents()
    partial = target.with_name(target.name + ".part")
    writer = gguf.GGUFWriter(partial, arch)
    for key, value, vtype, sub in metadata_fields(reader):
        if key == _ARCH_KEY:
            continue  # GGUFWriter writes it first, as the source has it
        if key == _FILE_TYPE_KEY:
            value = int(gguf.LlamaFileType.ALL_F32)
        if key == _ALIGNMENT_KEY:
            writer.data_alignment = int(value)
        writer.add_key_value(key, value, vtype, sub_type=sub)
    for tensor in reader.tensors:
        shape = tuple(int(d) for d in reversed(tensor.shape.tolist()))  # numpy order
        writer.add_tensor_info(tensor.name, shape, np.dtype(np.float32),
                               int(np.prod(shape)) * 4)
    try:
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_ti_data_to_file()
        for tensor in reader.tensors:
            writer.write_tensor_data(dequantized(tensor))
    finally:
        writer.close()
    partial.replace(target)


def _read_stamp(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) and data.get("format") == STAMP_FORMAT else {}


def ensure_f32(source: Path, folder: Path | None = None) -> Path:
    """The F32 copy of `source` in `folder` (default: beside it), written only when the
    stamp does not match the source's and the existing output's sha256."""
    from server.demo.model import sha256_file

    folder = folder or source.parent
    target, stamp_path = folder / F32_NAME, folder / STAMP_NAME
    source_sha = sha256_file(source)
    stamp = _read_stamp(stamp_path)
    if (stamp.get("source_sha256") == source_sha and target.is_file()
            and stamp.get("size") == target.stat().st_size
            and stamp.get("sha256") == sha256_file(target)):
        return target
    stamp_path.unlink(missing_ok=True)
    write_f32(source, target)
    stamp = {"format": STAMP_FORMAT, "source": source.name, "source_sha256": source_sha,
             "file": target.name, "size": target.stat().st_size,
             "sha256": sha256_file(target), "file_type": "ALL_F32"}
    tmp = stamp_path.with_name(stamp_path.name + ".tmp")
    tmp.write_text(json.dumps(stamp, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    tmp.replace(stamp_path)
    return target


def main() -> None:
    from server.demo.model import GGUF_NAME, cache_dir

    source = cache_dir() / GGUF_NAME
    if not source.is_file():
        sys.exit(f"{source}: not found; run `localrate demo-model` first")
    print(ensure_f32(source))


if __name__ == "__main__":
    main()
