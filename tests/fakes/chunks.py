"""The JSON payloads of a chat completion, streamed (`chat.completion.chunk`s) or whole.

`plan()` turns a scripted answer into pieces; `ChunkMaker` wraps each piece in the
dialect's envelope; `stream_payloads()` lists every `data:` payload in order (without
the final `[DONE]`); `whole_body()` is the `stream: false` answer.
"""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass
from typing import Any

from .config import Config, prompt_tokens
from .dialects import Dialect
from .listings import CREATED


def pieces(text: str, size: int) -> list[str]:
    """`text` cut into pieces of `size` characters."""
    return [text[i:i + size] for i in range(0, len(text), size)]


@dataclass
class Plan:
    """What one answer streams: reasoning pieces, content pieces, tool calls."""

    reasoning: list[str]
    content: list[str]
    tools: list[dict[str, Any]]          # {"id" (None: sent without), "name", "arguments"}
    prompt_tokens: int
    inline: bool = False                 # reasoning goes into content as <think>...</think>
    field_name: str = "reasoning"


def plan(cfg: Config, dialect: Dialect, body: dict[str, Any], answer: dict[str, Any],
         chunk_chars: int) -> Plan:
    """Cut a scripted answer into the pieces the stream will carry."""
    tools = []
    for i, call in enumerate(answer.get("tool_calls") or []):
        args = call.get("arguments", {})
        name = str(call.get("name", ""))
        made = f"{dialect.tool_id_prefix}{i}{zlib.crc32(name.encode()):08x}"
        tools.append({"id": call.get("id", made), "name": name,
                      "arguments": args if isinstance(args, str) else json.dumps(args)})
    inline = cfg.reasoning == "inline"
    field_name = dialect.reasoning_field if cfg.reasoning in ("field", "inline") \
        else cfg.reasoning
    return Plan(reasoning=pieces(str(answer.get("reasoning") or ""), chunk_chars),
                content=pieces(str(answer.get("content") or ""), chunk_chars), tools=tools,
                prompt_tokens=prompt_tokens(body), inline=inline, field_name=field_name)


def tool_style(cfg: Config, dialect: Dialect) -> str:
    """"whole" or "fragments": the config's override or the dialect's habit."""
    return dialect.tool_style if cfg.tool_style == "dialect" else cfg.tool_style


def wants_usage(cfg: Config, dialect: Dialect, body: dict[str, Any]) -> bool:
    """True when the stream ends with a usage chunk."""
    if cfg.usage in (True, False):
        return bool(cfg.usage)
    include = bool((body.get("stream_options") or {}).get("include_usage"))
    return dialect.usage == "include" and include


@dataclass
class ChunkMaker:
    """Wraps deltas in the dialect's `chat.completion.chunk` envelope."""

    dialect: Dialect
    model: str
    cid: str

    def envelope(self, choices: list[dict[str, Any]], obj: str = "chat.completion.chunk"
                 ) -> dict[str, Any]:
        """The fields around `choices`."""
        out: dict[str, Any] = {"id": self.cid, "object": obj, "created": CREATED,
                               "model": self.model, "choices": choices}
        if self.dialect.fingerprint:
            out["system_fingerprint"] = self.dialect.fingerprint
        return out

    def delta(self, delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        """One chunk carrying `delta` (role added when the dialect repeats it)."""
        if self.dialect.role_every_delta:
            delta = {"role": "assistant", **delta}
        choice: dict[str, Any] = {"index": 0, "delta": delta, "finish_reason": finish}
        if self.dialect.name in ("vllm", "lmstudio", "mlx"):
            choice["logprobs"] = None
        return self.envelope([choice])

    def text(self, name: str, piece: str) -> dict[str, Any]:
        """A content or reasoning chunk."""
        return self.delta({name: piece})


def tool_deltas(plan_: Plan, style: str, dialect: Dialect, size: int) -> list[dict[str, Any]]:
    """The `tool_calls` lists of the deltas that carry the plan's calls."""
    out: list[dict[str, Any]] = []
    for i, call in enumerate(plan_.tools):
        index = 0 if dialect.reuse_index else i
        head = {"index": index, "type": "function"}
        if call["id"] is not None:
            head["id"] = call["id"]
        if style == "whole":
            out.append({"tool_calls": [{**head, "function": {
                "name": call["name"], "arguments": call["arguments"]}}]})
            continue
        out.append({"tool_calls": [{**head, "function": {"name": call["name"],
                                                         "arguments": ""}}]})
        for piece in pieces(call["arguments"], size):
            out.append({"tool_calls": [{"index": index, "function": {"arguments": piece}}]})
    return out


def timings(prompt_n: int, predicted_n: int, delay_ms: float) -> dict[str, float]:
    """llama.cpp's `timings` object, deterministic from the counts and the delay."""
    per_token = max(float(delay_ms), 10.0)
    return {"prompt_n": prompt_n, "prompt_ms": float(prompt_n),
            "prompt_per_token_ms": 1.0, "prompt_per_second": 1000.0,
            "predicted_n": predicted_n, "predicted_ms": predicted_n * per_token,
            "predicted_per_token_ms": per_token, "predicted_per_second": 1000.0 / per_token}


def usage(prompt_n: int, completion_n: int) -> dict[str, int]:
    """An OpenAI usage object."""
    return {"prompt_tokens": prompt_n, "completion_tokens": completion_n,
            "total_tokens": prompt_n + completion_n}


def stream_payloads(cfg: Config, dialect: Dialect, body: dict[str, Any], p: Plan,
                    maker: ChunkMaker, size: int) -> list[dict[str, Any]]:
    """Every `data:` payload of a normal stream, in order (no [DONE])."""
    out: list[dict[str, Any]] = []
    if dialect.first_delta is not None:
        out.append(maker.delta(dict(dialect.first_delta)))
    if p.inline and p.reasoning:
        texts = [("content", x) for x in ["<think>", *p.reasoning, "</think>", "\n\n"]]
    else:
        texts = [(p.field_name, x) for x in p.reasoning]
    texts += [("content", x) for x in p.content]
    out += [maker.text(name, piece) for name, piece in texts]
    calls = tool_deltas(p, tool_style(cfg, dialect), dialect, size)
    out += [maker.delta(d) for d in calls]
    finish = "tool_calls" if p.tools else "stop"
    closing = {"content": ""} if dialect.role_every_delta else {}
    out.append(maker.delta(closing, finish))
    n_out = len(p.reasoning) + len(p.content) + len(calls)
    if wants_usage(cfg, dialect, body):
        out.append({**maker.envelope([], dialect.usage_object),
                    "usage": usage(p.prompt_tokens, n_out)})
    if dialect.timings:
        out[-1]["timings"] = timings(p.prompt_tokens, n_out, cfg.delay_ms)
    return out


def whole_body(cfg: Config, dialect: Dialect, p: Plan, maker: ChunkMaker) -> dict[str, Any]:
    """The `stream: false` answer: one `chat.completion` object."""
    reasoning, content = "".join(p.reasoning), "".join(p.content)
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if reasoning and p.inline:
        message["content"] = f"<think>{reasoning}</think>\n\n{content}"
    elif reasoning:
        message[p.field_name] = reasoning
    if p.tools:
        message["tool_calls"] = [{**({} if c["id"] is None else {"id": c["id"]}),
                                  "type": "function", "function": {
                                      "name": c["name"], "arguments": c["arguments"]}}
                                 for c in p.tools]
    choice = {"index": 0, "message": message,
              "finish_reason": "tool_calls" if p.tools else "stop"}
    out = maker.envelope([choice], "chat.completion")
    n_out = len(p.reasoning) + len(p.content) + len(p.tools)
    if cfg.usage is not False:
        out["usage"] = usage(p.prompt_tokens, n_out)
    if dialect.timings:
        out["timings"] = timings(p.prompt_tokens, n_out, cfg.delay_ms)
    return out
