"""Turn a llama-architecture GGUF file into a Hugging Face model folder, offline.

mlx-lm cannot read a quantized GGUF, so the demo model is converted once:

1. dequantize every tensor to float32 with the `gguf` package (numpy);
2. undo llama.cpp's rotary permutation of the Q and K projections;
3. write `model.safetensors`, `config.json` (from the GGUF metadata),
   `tokenizer.json` (a byte-level BPE built with `tokenizers` from the GGUF vocab and
   merges) and `tokenizer_config.json` (with the GGUF's chat template).

`mlx_lm convert` then reads that folder like any other Hugging Face checkpoint.
Only the llama architecture with a gpt2-style (byte-level BPE) vocabulary is supported,
which is what SmolLM2 is.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

# GGUF tensor name -> Hugging Face name; "{n}" is the layer number.
_LAYER_NAMES: dict[str, str] = {
    "attn_norm": "input_layernorm",
    "ffn_norm": "post_attention_layernorm",
    "attn_q": "self_attn.q_proj",
    "attn_k": "self_attn.k_proj",
    "attn_v": "self_attn.v_proj",
    "attn_output": "self_attn.o_proj",
    "ffn_gate": "mlp.gate_proj",
    "ffn_up": "mlp.up_proj",
    "ffn_down": "mlp.down_proj",
}
_GLOBAL_NAMES: dict[str, str] = {
    "token_embd.weight": "model.embed_tokens.weight",
    "output_norm.weight": "model.norm.weight",
    "output.weight": "lm_head.weight",
}
_BLOCK = re.compile(r"^blk\.(\d+)\.(\w+)\.(weight|bias)$")

# What the pre-tokenizer named in `tokenizer.ggml.pre` means in `tokenizers` terms.
_DIGITS_PRE = {"smollm", "llama-bpe", "llama3", "qwen2", "deepseek-llm"}


def hf_name(gguf_name: str) -> str:
    """The Hugging Face tensor name for a GGUF tensor name (`blk.3.attn_q.weight`)."""
    if gguf_name in _GLOBAL_NAMES:
        return _GLOBAL_NAMES[gguf_name]
    match = _BLOCK.match(gguf_name)
    if match is None or match.group(2) not in _LAYER_NAMES:
        raise ValueError(f"GGUF tensor {gguf_name!r}: no Hugging Face name known for it")
    layer, part, kind = match.groups()
    return f"model.layers.{layer}.{_LAYER_NAMES[part]}.{kind}"


def unpermute_rotary(weights: Any, n_head: int) -> Any:
    """Undo llama.cpp's Q/K row permutation (the inverse of its `permute` at export)."""
    half = weights.shape[0] // n_head // 2
    shaped = weights.reshape(n_head, half, 2, *weights.shape[1:])
    return shaped.swapaxes(1, 2).reshape(weights.shape)


def read_metadata(reader: Any) -> dict[str, Any]:
    """All GGUF key/value fields as plain Python values."""
    return {name: field.contents() for name, field in reader.fields.items()}


def hf_config(meta: dict[str, Any], has_output: bool) -> dict[str, Any]:
    """A `LlamaForCausalLM` config.json built from the GGUF metadata."""
    arch = meta.get("general.architecture")
    if arch != "llama":
        raise ValueError(f"general.architecture: expected 'llama', got {arch!r}")
    hidden = int(meta["llama.embedding_length"])
    heads = int(meta["llama.attention.head_count"])
    return {
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "hidden_size": hidden,
        "intermediate_size": int(meta["llama.feed_forward_length"]),
        "num_hidden_layers": int(meta["llama.block_count"]),
        "num_attention_heads": heads,
        "num_key_value_heads": int(meta.get("llama.attention.head_count_kv", heads)),
        "head_dim": int(meta.get("llama.rope.dimension_count", hidden // heads)),
        "rms_norm_eps": float(meta["llama.attention.layer_norm_rms_epsilon"]),
        "rope_theta": float(meta.get("llama.rope.freq_base", 10000.0)),
        "max_position_embeddings": int(meta["llama.context_length"]),
        "vocab_size": len(meta["tokenizer.ggml.tokens"]),
        "tie_word_embeddings": not has_output,
        "bos_token_id": int(meta["tokenizer.ggml.bos_token_id"]),
        "eos_token_id": int(meta["tokenizer.ggml.eos_token_id"]),
        "hidden_act": "silu",
        "attention_bias": False,
        "mlp_bias": False,
        "torch_dtype": "float32",
    }


def build_tokenizer_json(meta: dict[str, Any]) -> str:
    """tokenizer.json text: byte-level BPE from `tokenizer.ggml.tokens` and `.merges`."""
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, processors

    kind = meta.get("tokenizer.ggml.model")
    if kind != "gpt2":
        raise ValueError(f"tokenizer.ggml.model: expected 'gpt2' (byte-level BPE), got {kind!r}")
    tokens: list[str] = list(meta["tokenizer.ggml.tokens"])
    types: list[int] = list(meta.get("tokenizer.ggml.token_type", [1] * len(tokens)))
    merges = [tuple(m.split(" ", 1)) for m in meta["tokenizer.ggml.merges"]]
    unk_id = meta.get("tokenizer.ggml.unknown_token_id")
    bpe = models.BPE(
        vocab={tok: i for i, tok in enumerate(tokens)},
        merges=merges,
        unk_token=tokens[unk_id] if unk_id is not None else None,
    )
    tokenizer = Tokenizer(bpe)
    byte_level = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    if meta.get("tokenizer.ggml.pre") in _DIGITS_PRE:
        tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
            [pre_tokenizers.Digits(individual_digits=True), byte_level]
        )
    else:
        tokenizer.pre_tokenizer = byte_level
    tokenizer.decoder = decoders.ByteLevel()
    tokenizer.post_processor = processors.ByteLevel(trim_offsets=False)
    # token_type 3 = control (special) tokens, 4 = user-defined: both are added tokens.
    special = [
        AddedToken(t, special=True, normalized=False) for t, k in zip(tokens, types) if k == 3
    ]
    tokenizer.add_special_tokens(special)
    return str(tokenizer.to_str())


def tokenizer_config(meta: dict[str, Any]) -> dict[str, Any]:
    """tokenizer_config.json: special tokens and the GGUF's chat template."""
    tokens = meta["tokenizer.ggml.tokens"]

    def token(key: str) -> str | None:
        index = meta.get(key)
        return tokens[index] if index is not None else None

    return {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "bos_token": token("tokenizer.ggml.bos_token_id"),
        "eos_token": token("tokenizer.ggml.eos_token_id"),
        "unk_token": token("tokenizer.ggml.unknown_token_id"),
        "pad_token": token("tokenizer.ggml.padding_token_id"),
        "add_bos_token": bool(meta.get("tokenizer.ggml.add_bos_token", False)),
        "add_prefix_space": False,
        "clean_up_tokenization_spaces": False,
        "model_max_length": int(meta["llama.context_length"]),
        "chat_template": meta.get("tokenizer.chat_template"),
    }


def gguf_to_hf(
    gguf_path: Path, out_dir: Path, advance: Callable[[int, int], None] | None = None
) -> None:
    """Write a float32 Hugging Face llama folder for `gguf_path` into `out_dir`.

    `advance(done, total)` is called after each tensor, for a progress bar.
    """
    import gguf
    from safetensors.numpy import save_file

    reader = gguf.GGUFReader(str(gguf_path))
    meta = read_metadata(reader)
    names = {t.name for t in reader.tensors}
    config = hf_config(meta, has_output="output.weight" in names)
    heads, kv_heads = config["num_attention_heads"], config["num_key_value_heads"]
    tensors = {}
    for done, tensor in enumerate(reader.tensors, start=1):
        data = gguf.quants.dequantize(tensor.data, tensor.tensor_type).astype("float32")
        if tensor.name.endswith("attn_q.weight"):
            data = unpermute_rotary(data, heads)
        elif tensor.name.endswith("attn_k.weight"):
            data = unpermute_rotary(data, kv_heads)
        tensors[hf_name(tensor.name)] = data.copy()
        if advance is not None:
            advance(done, len(reader.tensors))
    out_dir.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(out_dir / "model.safetensors"), metadata={"format": "pt"})
    (out_dir / "config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
    (out_dir / "tokenizer.json").write_text(build_tokenizer_json(meta), encoding="utf-8")
    (out_dir / "tokenizer_config.json").write_text(
        json.dumps(tokenizer_config(meta), indent=2), encoding="utf-8"
    )
    (out_dir / "generation_config.json").write_text(
        json.dumps(
            {"bos_token_id": config["bos_token_id"], "eos_token_id": config["eos_token_id"]}
        ),
        encoding="utf-8",
    )
