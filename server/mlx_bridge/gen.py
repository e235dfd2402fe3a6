"""The bridge's generation backend: a small `Generator` protocol and its mlx-lm version.

The HTTP side (server/mlx_bridge/app.py) only sees this interface, so its tests run with a fake
generator and no MLX. `MlxGenerator` loads a model folder or Hugging Face id with
`mlx_lm.load`, runs the prompt's prefill itself in short chunks (`prefill`, so a stop
request is seen between chunks), and decodes with `mlx_lm.stream_generate` on the filled
KV cache. All of its methods must be called from one thread (the bridge runs them on a
single worker thread).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from evaluator import safejson

# Prefill runs in chunks sized to take about PREFILL_TARGET_S each, so a stop request
# (a client that left, Ctrl-C) is seen within about that long even on a slow CPU.
PREFILL_FIRST = 16
PREFILL_MAX = 2048
PREFILL_TARGET_S = 0.4


@dataclass(frozen=True)
class GenParams:
    """Sampling settings of one request."""

    max_tokens: int = 512
    temperature: float = 0.0
    top_p: float = 1.0
    seed: int | None = None


@dataclass(frozen=True)
class Piece:
    """One step of generation: new text and the running token counts."""

    text: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str | None = None  # "stop" or "length" on the last piece


@dataclass(frozen=True)
class ModelInfo:
    """What `/v1/models` says about the served model, and its output markers."""

    id: str
    capabilities: list[str]
    context_length: int | None
    think: tuple[str, str] | None = None  # reasoning markers, e.g. ("<think>", "</think>")
    tool: tuple[str, str] | None = None  # tool-call markers, e.g. ("<tool_call>", "</tool_call>")
    created: int = field(default_factory=lambda: int(time.time()))


class Generator(Protocol):
    """The interface the bridge needs from a model. Every call comes from the bridge's one
    model thread, in turn."""

    info: ModelInfo

    def encode(
        self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None,
        template_kwargs: dict[str, Any] | None = None,
    ) -> list[int]:
        """The chat template applied to a (validated) chat, as prompt token ids;
        ``template_kwargs`` (the body's ``chat_template_kwargs``) are the template's
        variables, e.g. ``enable_thinking``."""
        ...

    def stream(
        self, prompt: list[int], params: GenParams, stop: threading.Event
    ) -> Iterator[Piece]:
        """Generate from `encode`'s tokens. Long work (the prompt's prefill) looks at
        `stop` at least every second or so and ends early once it is set; the iterator
        may also be closed early to stop generation."""
        ...

    def parse_tool_call(
        self, text: str, tools: list[dict[str, Any]] | None
    ) -> list[dict[str, Any]]:
        """Turn the text of one tool call into `[{"name": str, "arguments": dict}]`."""
        ...


def next_chunk(size: int, elapsed_s: float, target_s: float = PREFILL_TARGET_S) -> int:
    """The next prefill chunk's size in tokens: aims at `target_s` per chunk from the last
    one's speed, at most doubling, within 1..PREFILL_MAX."""
    if elapsed_s <= 0:
        return min(size * 2, PREFILL_MAX)
    aimed = int(size * target_s / elapsed_s)
    return max(1, min(aimed, size * 2, PREFILL_MAX))


def prefill(
    total: int,
    run_chunk: Callable[[int, int], None],
    stop: threading.Event,
    clock: Callable[[], float] = time.monotonic,
) -> bool:
    """Feed tokens `[0, total - 1)` to the model in chunks (`run_chunk(start, end)` runs
    one and waits for it), sized so each takes about PREFILL_TARGET_S, and look at `stop`
    before each. The last token is left for the first decoding step. True when done,
    False when stopped."""
    done, size = 0, PREFILL_FIRST
    while total - done > 1:
        if stop.is_set():
            return False
        end = min(done + size, total - 1)
        started = clock()
        run_chunk(done, end)
        size = next_chunk(end - done, clock() - started)
        done = end
    return not stop.is_set()


def capabilities_for(has_tools: bool, has_thinking: bool, context: int | None) -> list[str]:
    """Capability names (the evaluator's vocabulary) for the served model."""
    caps = ["streaming"]
    if has_tools:
        caps += ["tool-use", "function-calling"]
    if has_thinking:
        caps.append("reasoning")
    if context and context >= 128_000:
        caps.append("128k-context")
    return caps


def _context_length(config: dict[str, Any]) -> int | None:
    """`max_position_embeddings` from a model config (or its `text_config`)."""
    text_config = config.get("text_config")
    for source in (config, text_config if isinstance(text_config, dict) else {}):
        value = source.get("max_position_embeddings")
        if isinstance(value, int) and value > 0:
            return value
    return None


def _text_messages(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Chat-template-ready messages (validated by bridge_parse): text parts joined,
    tool-call arguments as objects where they parse."""
    out = []
    for message in messages:
        message = dict(message)
        content = message.get("content")
        if isinstance(content, list):
            message["content"] = "".join(part["text"] for part in content)
        elif content is None:
            message["content"] = ""
        calls = []
        for call in message.get("tool_calls") or ():
            function = dict(call["function"])
            if isinstance(function.get("arguments"), str):
                try:
                    function["arguments"] = safejson.loads(function["arguments"])
                except ValueError:
                    pass
            calls.append({**call, "function": function})
        if calls:
            message["tool_calls"] = calls
        out.append(message)
    return out


class MlxGenerator:
    """mlx-lm behind the `Generator` interface."""

    def __init__(self, model: str, model_id: str | None = None) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from server.mlx_bridge.fdlimit import import_mlx_lm

        self._model, self._tokenizer, config = import_mlx_lm().load(model, return_config=True)
        tok = self._tokenizer
        think = (tok.think_start, tok.think_end) if tok.has_thinking else None
        tool = (tok.tool_call_start, tok.tool_call_end) if tok.has_tool_calling else None
        context = _context_length(config)
        name = model_id or (Path(model).name if Path(model).is_dir() else model)
        self.info = ModelInfo(
            name,
            capabilities_for(tool is not None, think is not None, context),
            context,
            think,
            tool,
        )

    def encode(
        self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None,
        template_kwargs: dict[str, Any] | None = None,
    ) -> list[int]:
        kwargs: dict[str, Any] = {**(template_kwargs or {}), "add_generation_prompt": True}
        if tools and self.info.tool is not None:
            kwargs["tools"] = tools
        return list(self._tokenizer.apply_chat_template(_text_messages(messages), **kwargs))

    def stream(
        self, prompt: list[int], params: GenParams, stop: threading.Event
    ) -> Iterator[Piece]:
        import mlx.core as mx
        from mlx_lm import stream_generate
        from mlx_lm.generate import generation_stream
        from mlx_lm.models.cache import make_prompt_cache
        from mlx_lm.sample_utils import make_sampler

        if params.seed is not None:
            mx.random.seed(params.seed)
        if self.info.think is not None:
            opened = self._tokenizer.decode(prompt[-8:])
            # A template that opens the think block itself (R1-style): start in reasoning.
            if opened.rstrip().endswith(self.info.think[0]):
                yield Piece(self.info.think[0], len(prompt), 0)
        tokens = mx.array(prompt)
        cache = make_prompt_cache(self._model)

        def run_chunk(start: int, end: int) -> None:
            with mx.stream(generation_stream):
                self._model(tokens[start:end][None], cache=cache)
                mx.eval([c.state for c in cache])
            mx.clear_cache()

        # Our own prefill, in chunks that look at `stop`; stream_generate then only sees
        # the last prompt token, with the cache holding the rest.
        if not prefill(len(prompt), run_chunk, stop):
            return
        sampler = make_sampler(temp=params.temperature, top_p=params.top_p)
        for step in stream_generate(
            self._model,
            self._tokenizer,
            tokens[len(prompt) - 1 :],
            max_tokens=params.max_tokens,
            sampler=sampler,
            prompt_cache=cache,
        ):
            yield Piece(step.text, len(prompt), step.generation_tokens, step.finish_reason)

    def memory(self) -> tuple[dict[str, int] | None, str | None, list[str]]:
        """MLX's memory counters, its device and notes (server/mlx_bridge/engine.py)."""
        import mlx.core as mx

        from server.mlx_bridge.engine import mlx_device, mlx_memory

        counters, notes = mlx_memory(mx)
        return counters, mlx_device(mx), notes

    def parse_tool_call(
        self, text: str, tools: list[dict[str, Any]] | None
    ) -> list[dict[str, Any]]:
        parser: Callable[..., Any] | None = self._tokenizer.tool_parser
        if parser is None:
            raise ValueError("this model has no tool-call parser")
        parsed = parser(text, tools)
        return parsed if isinstance(parsed, list) else [parsed]
