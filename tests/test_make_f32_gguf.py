"""tests/real/make_f32_gguf.py: the float32 GGUF is the source's tensors dequantized, with the
same metadata apart from general.file_type, written once and reused while its stamp matches.

A small GGUF built here (Q8_0, Q4_1 and F32 tensors; string, number, bool and array keys)
checks every tensor and key; the demo model's real file is checked on a sample of tensors
and must load and answer through llama.cpp (xllamacpp). Fails (never skips) when the demo
model or xllamacpp is missing.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import gguf
import httpx
import numpy as np
import pytest

from tests.real.make_f32_gguf import F32_NAME, STAMP_NAME, ensure_f32, write_f32
from tests.real.servers import REPO, demo_model, free_port, running

Q = gguf.GGMLQuantizationType
KEYS: dict[str, tuple[Any, Any, Any]] = {
    "general.name": ("tiny", gguf.GGUFValueType.STRING, None),
    "general.file_type": (int(gguf.LlamaFileType.MOSTLY_Q4_1), gguf.GGUFValueType.UINT32, None),
    "llama.rope.freq_base": (100000.0, gguf.GGUFValueType.FLOAT32, None),
    "tokenizer.ggml.add_bos_token": (False, gguf.GGUFValueType.BOOL, None),
    "tokenizer.ggml.tokens": (["a", "b c"], gguf.GGUFValueType.ARRAY, gguf.GGUFValueType.STRING),
    "tokenizer.ggml.token_type": ([3, 1], gguf.GGUFValueType.ARRAY, gguf.GGUFValueType.INT32),
}
TENSORS = (("token_embd.weight", Q.Q8_0, (6, 64)), ("blk.0.attn_q.weight", Q.Q4_1, (4, 96)),
           ("blk.0.attn_norm.weight", Q.F32, (64,)))


def fields(path: Path) -> dict[str, tuple[Any, list[Any]]]:
    reader = gguf.GGUFReader(str(path))
    return {k: (f.contents(), f.types) for k, f in reader.fields.items()
            if not k.startswith("GGUF.")}


def dequantized(path: Path) -> dict[str, tuple[str, list[int], Any]]:
    reader = gguf.GGUFReader(str(path))
    return {t.name: (t.tensor_type.name, t.shape.tolist(),
                     gguf.quants.dequantize(t.data, t.tensor_type)) for t in reader.tensors}


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    rng = np.random.default_rng(7)
    path = tmp_path / "src" / "tiny.Q4_1.gguf"
    path.parent.mkdir()
    writer = gguf.GGUFWriter(path, "llama")
    for key, (value, vtype, sub) in KEYS.items():
        writer.add_key_value(key, value, vtype, sub_type=sub)
    for name, kind, shape in TENSORS:
        values = rng.standard_normal(shape).astype(np.float32)
        if kind == Q.F32:
            writer.add_tensor(name, values)
        else:
            writer.add_tensor(name, gguf.quants.quantize(values, kind), raw_dtype=kind)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def test_tiny_tensors_become_f32_with_the_same_values(tiny: Path, tmp_path: Path) -> None:
    out = tmp_path / "tiny.F32.gguf"
    write_f32(tiny, out)
    before, after = dequantized(tiny), dequantized(out)
    assert [v[0] for v in before.values()] == ["Q8_0", "Q4_1", "F32"]
    assert list(after) == list(before)  # same names, same order
    for name, (kind, shape, values) in after.items():
        assert kind == "F32"
        assert shape == before[name][1]
        assert values.dtype == np.float32
        np.testing.assert_array_equal(values, before[name][2])


def test_tiny_metadata_is_copied_apart_from_the_file_type(tiny: Path, tmp_path: Path) -> None:
    out = tmp_path / "tiny.F32.gguf"
    write_f32(tiny, out)
    src, dst = fields(tiny), fields(out)
    assert list(dst) == list(src)
    assert src["general.file_type"][0] == int(gguf.LlamaFileType.MOSTLY_Q4_1)
    assert dst["general.file_type"] == (int(gguf.LlamaFileType.ALL_F32),
                                        src["general.file_type"][1])
    assert {k: v for k, v in dst.items() if k != "general.file_type"} == \
        {k: v for k, v in src.items() if k != "general.file_type"}
    assert dst["tokenizer.ggml.tokens"][0] == ["a", "b c"]


def test_ensure_reuses_a_stamped_file_and_rewrites_a_changed_one(tiny: Path) -> None:
    out = ensure_f32(tiny)
    assert out == tiny.parent / F32_NAME
    stamp = json.loads((tiny.parent / STAMP_NAME).read_text())
    assert stamp["size"] == out.stat().st_size and stamp["file_type"] == "ALL_F32"
    written = out.stat().st_mtime_ns
    assert ensure_f32(tiny).stat().st_mtime_ns == written  # stamp matches: nothing done
    good = out.read_bytes()
    out.write_bytes(good[:-4] + b"\0\0\0\1")  # same size, different sha256
    ensure_f32(tiny)
    assert out.read_bytes() == good
    assert not list(tiny.parent.glob("*.part")) and not list(tiny.parent.glob("*.tmp"))


def test_demo_model_f32_is_the_dequantized_q4_1() -> None:
    source = demo_model().gguf
    out = ensure_f32(source)
    src, dst = gguf.GGUFReader(str(source)), gguf.GGUFReader(str(out))
    assert [(t.name, t.shape.tolist()) for t in dst.tensors] == \
        [(t.name, t.shape.tolist()) for t in src.tensors]
    assert {t.tensor_type.name for t in dst.tensors} == {"F32"}
    by_name = {t.name: t for t in dst.tensors}
    sample = {"token_embd.weight": "Q8_0", "blk.0.attn_q.weight": "Q4_1",
              "blk.17.ffn_down.weight": "Q4_1", "blk.29.attn_k.weight": "Q4_1",
              "output_norm.weight": "F32"}
    for tensor in src.tensors:
        if tensor.name in sample:
            assert tensor.tensor_type.name == sample[tensor.name]
            want = gguf.quants.dequantize(tensor.data, tensor.tensor_type)
            np.testing.assert_array_equal(np.asarray(by_name[tensor.name].data), want)
    src_meta, dst_meta = fields(source), fields(out)
    assert dst_meta.pop("general.file_type")[0] == int(gguf.LlamaFileType.ALL_F32)
    assert src_meta.pop("general.file_type")[0] == int(gguf.LlamaFileType.MOSTLY_Q4_1)
    assert dst_meta == src_meta


@pytest.mark.real_runtime
def test_demo_model_f32_loads_and_answers_in_llamacpp(tmp_path: Path) -> None:
    import xllamacpp  # noqa: F401 - a missing wheel is a failure, not a skip

    out = ensure_f32(demo_model().gguf)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    cmd = [sys.executable, str(REPO / "tests" / "real" / "llamacpp_server.py"), str(out),
           "--port", str(port), "--alias", "SmolLM2-135M-Instruct-F32"]
    with running(cmd, base, tmp_path / "server.log") as url:
        props = httpx.get(f"{url}/props", timeout=10).json()
        assert props["model_path"] == str(out)
        reply = httpx.post(f"{url}/v1/chat/completions", timeout=120, json={
            "messages": [{"role": "user", "content": "What is the capital of France?"}],
            "max_tokens": 24, "temperature": 0}).json()
    assert "Paris" in reply["choices"][0]["message"]["content"]
