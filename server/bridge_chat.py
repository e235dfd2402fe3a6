"""`POST /v1/chat/completions` for the MLX bridge: request parsing and OpenAI shapes.

`parse_chat()` validates the JSON body into a `ChatRequest` (raising `BridgeError` with
the HTTP status and a one-line message). `Reply` turns the splitter's events into
OpenAI `chat.completion.chunk` dicts while streaming, or one `chat.completion` dict.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from server.bridge_gen import GenParams, ModelInfo

DEFAULT_MAX_TOKENS = 512


class BridgeError(Exception):
    """An error answered as JSON: `{"error": {"message", "type", "code"}}`."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers or {}

    def body(self) -> dict[str, Any]:
        kind = {
            400: "invalid_request_error",
            403: "permission_error",
            404: "not_found_error",
            413: "request_too_large",
            503: "overloaded_error",
        }.get(self.status, "server_error")
        return {"error": {"message": self.message, "type": kind, "code": self.status}}


@dataclass
class ChatRequest:
    """A validated chat request."""

    messages: list[dict[str, Any]]
    tools: list[dict[str, Any]] | None
    params: GenParams
    stop: list[str]
    stream: bool
    include_usage: bool


def _number(body: dict[str, Any], key: str, default: float, low: float, high: float) -> float:
    value = body.get(key)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise BridgeError(400, f"{key}: expected a number from {low} to {high}, got {value!r}")
    return float(value)


def _messages(value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not value:
        raise BridgeError(400, "messages: expected a non-empty list of message objects")
    for i, message in enumerate(value):
        if not isinstance(message, dict) or not isinstance(message.get("role"), str):
            raise BridgeError(400, f"messages[{i}]: expected an object with a string 'role'")
        content = message.get("content")
        if isinstance(content, list):
            for part in content:
                if not isinstance(part, dict) or part.get("type") != "text":
                    kind = part.get("type") if isinstance(part, dict) else type(part).__name__
                    raise BridgeError(
                        400,
                        f"messages[{i}].content: part type {kind!r} is not "
                        "supported (this bridge serves text-only models)",
                    )
        elif content is not None and not isinstance(content, str):
            raise BridgeError(400, f"messages[{i}].content: expected a string or a list of parts")
    return value


def parse_chat(body: Any, info: ModelInfo) -> ChatRequest:
    """Validate a chat body against the served model."""
    if not isinstance(body, dict):
        raise BridgeError(400, "request body: expected a JSON object")
    model = body.get("model")
    if model is not None and not isinstance(model, str):
        raise BridgeError(400, f"model: expected a string, got {model!r}")
    if model and model != info.id:
        raise BridgeError(404, f"model {model!r} not found; this bridge serves {info.id!r}")
    tools = body.get("tools") or None
    if tools is not None:
        if not isinstance(tools, list) or not all(isinstance(t, dict) for t in tools):
            raise BridgeError(400, "tools: expected a list of tool objects")
        if info.tool is None:
            raise BridgeError(
                400, f"tools: model {info.id!r} has no tool-call support in its chat template"
            )
    max_tokens = body.get("max_completion_tokens", body.get("max_tokens"))
    if max_tokens is None:
        max_tokens = DEFAULT_MAX_TOKENS
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1:
        raise BridgeError(400, f"max_tokens: expected a positive integer, got {max_tokens!r}")
    seed = body.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise BridgeError(400, f"seed: expected an integer, got {seed!r}")
    stop = body.get("stop") or []
    if isinstance(stop, str):
        stop = [stop]
    if not isinstance(stop, list) or not all(isinstance(s, str) for s in stop):
        raise BridgeError(400, f"stop: expected a string or a list of strings, got {stop!r}")
    stream = body.get("stream", False)
    options = body.get("stream_options") or {}
    if not isinstance(stream, bool) or not isinstance(options, dict):
        raise BridgeError(400, "stream: expected a boolean; stream_options: expected an object")
    params = GenParams(
        max_tokens=max_tokens,
        temperature=_number(body, "temperature", 0.0, 0.0, 2.0),
        top_p=_number(body, "top_p", 1.0, 0.0, 1.0),
        seed=seed,
    )
    return ChatRequest(
        _messages(body.get("messages")),
        tools,
        params,
        stop,
        stream,
        bool(options.get("include_usage")),
    )


@dataclass
class Reply:
    """Builds the OpenAI response objects for one request."""

    model: str
    id: str = field(default_factory=lambda: "chatcmpl-" + uuid.uuid4().hex[:24])
    created: int = field(default_factory=lambda: int(time.time()))
    content: str = ""
    reasoning: str = ""
    tool_calls: list[dict[str, Any]] = field(default_factory=list)

    def _chunk(self, delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }

    def first_chunk(self) -> dict[str, Any]:
        return self._chunk({"role": "assistant", "content": ""})

    def add(self, kind: str, value: Any) -> dict[str, Any]:
        """Record one piece of output ("content", "reasoning" text or a "tool" call) and
        return its streaming chunk."""
        if kind == "tool":
            call = {
                "index": len(self.tool_calls),
                "id": "call_" + uuid.uuid4().hex[:24],
                "type": "function",
                "function": value,
            }
            self.tool_calls.append(call)
            return self._chunk({"tool_calls": [call]})
        if kind == "reasoning":
            self.reasoning += value
        else:
            self.content += value
        return self._chunk({kind: value})

    def last_chunk(self, finish: str) -> dict[str, Any]:
        return self._chunk({}, finish)

    def usage(self, prompt: int, completion: int) -> dict[str, int]:
        return {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        }

    def usage_chunk(self, prompt: int, completion: int) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": [],
            "usage": self.usage(prompt, completion),
        }

    def completion(self, finish: str, prompt: int, completion: int) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": self.content or None}
        if self.reasoning:
            message["reasoning"] = self.reasoning
        if self.tool_calls:
            message["tool_calls"] = [
                {k: v for k, v in c.items() if k != "index"} for c in self.tool_calls
            ]
        return {
            "id": self.id,
            "object": "chat.completion",
            "created": self.created,
            "model": self.model,
            "choices": [{"index": 0, "message": message, "finish_reason": finish}],
            "usage": self.usage(prompt, completion),
        }
