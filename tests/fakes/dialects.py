"""What differs between the five runtimes on the wire (see docs/runtimes.md).

One frozen `Dialect` row per runtime, and the CORS policy each one applies.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .config import Config
from .httpio import Request


@dataclass(frozen=True)
class Dialect:
    """The streaming and HTTP habits of one runtime."""

    name: str
    server: str                  # the Server header
    reasoning_field: str         # delta field that carries reasoning
    tool_style: str              # "whole" (one delta per call) or "fragments"
    reuse_index: bool            # parallel whole calls all say index 0 (Ollama)
    usage: str                   # "include" (with stream_options.include_usage) or "never"
    usage_object: str            # `object` of the usage chunk
    timings: bool                # llama.cpp's `timings` on the final chunk
    role_every_delta: bool       # "role": "assistant" in every delta
    first_delta: dict[str, object] | None  # a role-only opening chunk, if the runtime sends one
    http10: bool                 # HTTP/1.0, no chunking, close at the end (mlx_lm.server)
    fingerprint: str | None      # system_fingerprint, if sent
    tool_id_prefix: str = "call_"


DIALECTS: dict[str, Dialect] = {
    "ollama": Dialect("ollama", "fake-ollama", "reasoning", "whole", True, "include",
                      "chat.completion.chunk", False, True, None, False, "fp_ollama"),
    "lmstudio": Dialect("lmstudio", "fake-lmstudio", "reasoning_content", "fragments", False,
                        "never", "chat.completion.chunk", False, False, None, False,
                        "qwen3-4b"),
    "vllm": Dialect("vllm", "uvicorn", "reasoning", "fragments", False, "include",
                    "chat.completion.chunk", False, False,
                    {"role": "assistant", "content": ""}, False, None, "chatcmpl-tool-"),
    "llamacpp": Dialect("llamacpp", "llama.cpp", "reasoning_content", "fragments", False,
                        "include", "chat.completion.chunk", True, False,
                        {"role": "assistant", "content": None}, False, "b6000-fake"),
    "mlx": Dialect("mlx", "BaseHTTP/0.6 Python/3.12.0", "reasoning", "whole", False,
                   "include", "chat.completion", False, True, None, True, "0.28.0-fake"),
}

# Ollama's built-in allow list: localhost, 127.0.0.1 and 0.0.0.0 on any port, plus app schemes.
OLLAMA_ORIGIN = re.compile(
    r"^(https?://(localhost|127\.0\.0\.1|0\.0\.0\.0)(:\d+)?"
    r"|(app|file|tauri|vscode-webview|vscode-file)://.*)$")
PREFLIGHT_METHODS = "GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS"


@dataclass(frozen=True)
class Cors:
    """A CORS policy: which origins are allowed and how a refusal looks."""

    mode: str                    # "ollama", "none", "star", "echo", "list"
    origins: tuple[str, ...] = ()
    credentials: bool = False
    reject_403: bool = False     # Ollama answers a refused origin with 403 and no body
    always: bool = False         # send "*" even without an Origin header (mlx_lm.server)

    def allows(self, origin: str) -> bool:
        """True when a request from `origin` gets an allowing header."""
        if self.mode in ("star", "echo"):
            return True
        if self.mode == "ollama" and OLLAMA_ORIGIN.match(origin):
            return True
        return origin in self.origins or "*" in self.origins

    def refuses(self, req: Request) -> bool:
        """True when the request must get Ollama's empty 403."""
        origin = req.headers.get("origin")
        return bool(origin) and self.reject_403 and not self.allows(origin or "")

    def headers(self, req: Request) -> list[tuple[str, str]]:
        """Headers for an ordinary (non-preflight) response."""
        origin = req.headers.get("origin")
        if self.always:
            return [("Access-Control-Allow-Origin", "*")]
        if not origin or self.mode == "none" or not self.allows(origin):
            return []
        if self.mode == "star":
            return [("Access-Control-Allow-Origin", "*")]
        out = [("Access-Control-Allow-Origin", origin), ("Vary", "Origin")]
        if self.credentials:
            out.append(("Access-Control-Allow-Credentials", "true"))
        return out

    def preflight_headers(self, req: Request) -> list[tuple[str, str]]:
        """Headers for an OPTIONS preflight answer."""
        base = self.headers(req)
        if not base:
            return []
        asked = req.headers.get("access-control-request-headers", "*")
        return base + [("Access-Control-Allow-Methods", PREFLIGHT_METHODS),
                       ("Access-Control-Allow-Headers", asked or "*"),
                       ("Access-Control-Max-Age", "600")]


def cors_policy(cfg: Config) -> Cors:
    """The CORS policy of a config: the runtime's own default, or an override."""
    if cfg.cors == "none":
        return Cors("none")
    if cfg.cors == "*":
        return Cors("star")
    if cfg.dialect == "ollama":
        # OLLAMA_ORIGINS adds to the built-in list; refusals stay an empty 403.
        extra = tuple(cfg.cors) if isinstance(cfg.cors, list) else ()
        return Cors("ollama", extra, reject_403=True)
    if isinstance(cfg.cors, list):
        return Cors("list", tuple(cfg.cors))
    return {"lmstudio": Cors("none"), "vllm": Cors("star"), "mlx": Cors("star", always=True),
            "llamacpp": Cors("echo", credentials=True)}[cfg.dialect]


def error_body(dialect: str, status: int, message: str) -> dict[str, object]:
    """The JSON error body each runtime sends on its OpenAI-compatible routes."""
    if dialect == "vllm":
        return {"object": "error", "message": message, "type": "InternalServerError"
                if status >= 500 else "NotFoundError", "param": None, "code": status}
    if dialect == "mlx":
        return {"error": message}
    kind = "server_error" if status >= 500 else "not_found_error"
    return {"error": {"code": status, "message": message, "type": kind, "param": None}}


def context_error(dialect: str, need: int, limit: int) -> dict[str, object]:
    """The 400 body of a prompt of ``need`` tokens over a context of ``limit``, worded as
    each runtime words it (llama.cpp and vLLM after their servers; the others alike)."""
    if dialect == "vllm":
        return {"object": "error", "message": f"This model's maximum context length is "
                f"{limit} tokens. However, your request has {need} input tokens. Please "
                "reduce the length of the input messages.", "type": "BadRequestError",
                "param": None, "code": 400}
    if dialect == "mlx":
        return {"error": f"the prompt is {need} tokens, over the model's context of {limit}"}
    message = "the request exceeds the available context size, try increasing it" \
        if dialect == "llamacpp" else f"the prompt is {need} tokens; the context is {limit}"
    return {"error": {"code": 400, "message": message, "type": "exceed_context_size_error",
                      "n_prompt_tokens": need, "n_ctx": limit}}


def not_found(dialect: str, method: str, path: str) -> tuple[str, bytes]:
    """(content type, body) of each runtime's answer to an unknown route."""
    if dialect == "ollama":
        return "text/plain", b"404 page not found"
    if dialect == "vllm":
        return "application/json", b'{"detail":"Not Found"}'
    if dialect == "lmstudio":
        msg = f'{{"error":"Unexpected endpoint or method. ({method} {path})"}}'
        return "application/json", msg.encode()
    if dialect == "llamacpp":
        return "application/json", (b'{"error":{"code":404,"message":"File Not Found",'
                                    b'"type":"not_found_error"}}')
    return "application/json", b'{"error":"Not Found"}'
