"""`POST /v1/chat/completions` for the MLX bridge: request parsing and OpenAI shapes.

`BridgeError` carries an HTTP status and a one-line message; `ChatRequest` is a body that
server/mlx_bridge/parse.py validated. `Reply` turns the splitter's events into OpenAI
`chat.completion.chunk` dicts while streaming, or one `chat.completion` dict.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from server.mlx_bridge.gen import GenParams


class BridgeError(Exception):
    """An error answered as JSON: `{"error": {"message", "type", "code"}}`; the type
    always follows the status (4xx: the client's fault, 5xx: ours)."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        # one line, and always encodable (a message may quote what the client sent)
        message = message.encode("utf-8", "backslashreplace").decode("utf-8")
        message = " ".join(message.splitlines())
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers or {}

    @classmethod
    def shutting_down(cls) -> BridgeError:
        """The 503 every request still waiting or running gets when the bridge stops."""
        return cls(503, "the bridge is shutting down")

    @property
    def kind(self) -> str:
        if self.status in ERROR_TYPES:
            return ERROR_TYPES[self.status]
        return "invalid_request_error" if 400 <= self.status < 500 else "server_error"

    def body(self) -> dict[str, Any]:
        return {"error": {"message": self.message, "type": self.kind, "code": self.status}}


ERROR_TYPES = {
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    503: "overloaded_error",
}


@dataclass
class ChatRequest:
    """A validated chat request. `max_tokens_given` is False when the client left
    max_tokens out (then it is fitted into what the context leaves)."""

    messages: list[dict[str, Any]]
    tools: list[dict[str, Any]] | None
    params: GenParams
    stop: list[str]
    stream: bool
    include_usage: bool
    max_tokens_given: bool = True
    # the body's chat_template_kwargs (checked in parse.py), passed to the chat template
    template_kwargs: dict[str, Any] = field(default_factory=dict)


@dataclass
class Reply:
    """Builds the OpenAI response objects for one request."""

    model: str
    id: str = field(default_factory=lambda: "chatcmpl-" + uuid.uuid4().hex[:24])
    created: int = field(default_factory=lambda: int(time.time()))
    content: str = ""
    reasoning: str = ""
    tool_calls: list[dict[str, Any]] = field(default_factory=list)

    def _envelope(self, kind: str, choices: list[dict[str, Any]]) -> dict[str, Any]:
        """The fields every response object starts with, then its choices."""
        return {
            "id": self.id,
            "object": kind,
            "created": self.created,
            "model": self.model,
            "choices": choices,
        }

    def _chunk(self, delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return self._envelope(
            "chat.completion.chunk", [{"index": 0, "delta": delta, "finish_reason": finish}]
        )

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
            **self._envelope("chat.completion.chunk", []),
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
        choices = [{"index": 0, "message": message, "finish_reason": finish}]
        return {
            **self._envelope("chat.completion", choices),
            "usage": self.usage(prompt, completion),
        }
