"""Read and validate a `POST /v1/chat/completions` body for the MLX bridge; fit it to the
context.

`read_json` reads the body within a size and time bound and parses it with a nesting
bound (evaluator.safejson).

Every field the bridge reads is checked for its type here, so nothing malformed reaches
the chat template or the model: a bad body is a 400 (413 when it is too big) naming the
field, e.g. `messages[2].content[0].text: expected a string, got 5`. `bad_string` finds a
string that is not valid Unicode (a lone surrogate such as `"\\ud800"`; the body reader
refuses it), and the number of messages, tools and stop strings is capped.
`chat_template_kwargs` (as mlx-lm's own server takes it: variables for the chat template,
e.g. `{"enable_thinking": false}`) is an object of at most 16 plain names, each holding
null, a boolean, a number or a short string; names the template call itself takes
(`tools`, `tokenize`, ...) are refused.
`fit_to_context` then compares the prompt's token count with the model's context once
the chat template has been applied.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

from starlette.requests import Request

from evaluator import safejson
from server.mlx_bridge.chat import BridgeError, ChatRequest
from server.mlx_bridge.gen import GenParams, ModelInfo

DEFAULT_MAX_TOKENS = 512
MAX_MESSAGES = 1024
MAX_TOOLS = 128
MAX_STOP = 16
MAX_STOP_CHARS = 1000
# Used when the model's config does not say how long its context is.
FALLBACK_CONTEXT = 32_768
ROLES = ("system", "developer", "user", "assistant", "tool")
BODY_TIMEOUT_S = 30.0
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def bad_string(value: Any) -> str | None:
    """The path of the first string (or key) in `value` that is not valid Unicode, or None.

    Iterative, so a deep value cannot overflow the stack (the body's depth is bounded
    when it is parsed)."""
    stack: list[tuple[str, Any]] = [("", value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return path or "request body"
        elif isinstance(item, dict):
            for key, sub in item.items():
                where = f"{path}.{key}" if path else str(key)
                stack.append((where, key))
                stack.append((where, sub))
        elif isinstance(item, list):
            stack.extend((f"{path}[{i}]", sub) for i, sub in enumerate(item))
    return None


async def read_json(request: Request, limit: int, timeout_s: float = BODY_TIMEOUT_S) -> Any:
    """The request body parsed as JSON: 413 past `limit` bytes, 408 when it does not
    arrive within `timeout_s`, 400 when it is not JSON or nests too deep."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise BridgeError(413, f"request body of {declared} bytes is over the {limit}-byte limit")
    chunks: list[bytes] = []
    size = 0

    async def read() -> None:
        nonlocal size
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise BridgeError(413, f"request body is over the {limit}-byte limit")
            chunks.append(chunk)

    try:
        await asyncio.wait_for(read(), timeout_s)
    except TimeoutError:
        raise BridgeError(
            408, f"request body not received within {timeout_s:g} s ({size} bytes came)"
        ) from None
    raw = b"".join(chunks)
    try:
        value = safejson.loads(raw)
    except safejson.DeepJSONError as exc:
        raise BridgeError(400, f"request body: {exc}") from None
    except ValueError as exc:
        raise BridgeError(400, f"request body is not valid JSON: {exc}") from None
    # UTF-8 cannot carry a surrogate: only a \uD800-\uDFFF escape makes one, so look
    # through the parsed strings only when the text has such an escape.
    if _SURROGATE_ESCAPE.search(raw):
        where = bad_string(value)
        if where is not None:
            raise BridgeError(400, f"{where}: not valid Unicode (a lone surrogate)")
    return value


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _want(ok: bool, where: str, what: str, value: Any) -> None:
    if not ok:
        shown = repr(value) if isinstance(value, (int, float, str, bool)) else _kind(value)
        raise BridgeError(400, f"{where}: expected {what}, got {shown[:60]}")


def _optional_str(obj: dict[str, Any], key: str, where: str) -> None:
    if obj.get(key) is not None:
        _want(isinstance(obj[key], str), f"{where}.{key}", "a string", obj[key])


def _tool_call(call: Any, where: str) -> None:
    _want(isinstance(call, dict), where, "a tool-call object", call)
    _optional_str(call, "id", where)
    _optional_str(call, "type", where)
    function = call.get("function")
    _want(isinstance(function, dict), f"{where}.function", "an object", function)
    name, args = function.get("name"), function.get("arguments")
    _want(isinstance(name, str) and bool(name), f"{where}.function.name", "a string", name)
    _want(
        args is None or isinstance(args, (str, dict)),
        f"{where}.function.arguments",
        "a JSON string or an object",
        args,
    )


def _message(message: Any, i: int) -> None:
    where = f"messages[{i}]"
    _want(isinstance(message, dict), where, "a message object", message)
    role = message.get("role")
    _want(isinstance(role, str) and role in ROLES, f"{where}.role", " or ".join(ROLES), role)
    content = message.get("content")
    if isinstance(content, list):
        for j, part in enumerate(content):
            _want(isinstance(part, dict), f"{where}.content[{j}]", "a content part", part)
            if part.get("type") != "text":
                kind = part.get("type")
                raise BridgeError(
                    400,
                    f"{where}.content[{j}]: part type {kind!r} is not supported "
                    "(this bridge serves text-only models)",
                )
            text = part.get("text")
            _want(isinstance(text, str), f"{where}.content[{j}].text", "a string", text)
    else:
        _want(content is None or isinstance(content, str), f"{where}.content",
              "a string or a list of parts", content)
    _optional_str(message, "name", where)
    _optional_str(message, "tool_call_id", where)
    calls = message.get("tool_calls")
    if calls is not None:
        _want(isinstance(calls, list), f"{where}.tool_calls", "a list", calls)
        for j, call in enumerate(calls):
            _tool_call(call, f"{where}.tool_calls[{j}]")


def _messages(value: Any) -> list[dict[str, Any]]:
    _want(isinstance(value, list) and bool(value), "messages",
          "a non-empty list of message objects", value)
    if len(value) > MAX_MESSAGES:
        raise BridgeError(
            413, f"messages: {len(value)} messages is over the limit of {MAX_MESSAGES}"
        )
    for i, message in enumerate(value):
        _message(message, i)
    return list(value)


def _tools(value: Any, info: ModelInfo) -> list[dict[str, Any]] | None:
    if value is None or value == []:
        return None
    _want(isinstance(value, list), "tools", "a list of tool objects", value)
    if len(value) > MAX_TOOLS:
        raise BridgeError(413, f"tools: {len(value)} tools is over the limit of {MAX_TOOLS}")
    for i, tool in enumerate(value):
        _want(isinstance(tool, dict), f"tools[{i}]", "a tool object", tool)
        function = tool.get("function")
        _want(isinstance(function, dict), f"tools[{i}].function", "an object", function)
        name = function.get("name")
        _want(isinstance(name, str) and bool(name), f"tools[{i}].function.name", "a string", name)
        params = function.get("parameters")
        _want(params is None or isinstance(params, dict), f"tools[{i}].function.parameters",
              "an object", params)
    if info.tool is None:
        raise BridgeError(
            400, f"tools: model {info.id!r} has no tool-call support in its chat template"
        )
    return list(value)


def _number(body: dict[str, Any], key: str, default: float, low: float, high: float) -> float:
    value = body.get(key)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise BridgeError(400, f"{key}: expected a number from {low} to {high}, got {value!r}")
    return float(value)


MAX_TEMPLATE_KWARGS = 16
_TEMPLATE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,39}")
# apply_chat_template's own parameters: a body may not set them through the template's
RESERVED_TEMPLATE_NAMES = frozenset({
    "conversation", "messages", "tools", "documents", "chat_template",
    "add_generation_prompt", "continue_final_message", "tokenize", "padding", "truncation",
    "max_length", "return_tensors", "return_dict", "return_assistant_tokens_mask",
    "tokenizer_kwargs"})


def _template_kwargs(value: Any) -> dict[str, Any]:
    """The body's ``chat_template_kwargs``, checked (module docstring)."""
    if value is None:
        return {}
    _want(isinstance(value, dict), "chat_template_kwargs", "an object", value)
    if len(value) > MAX_TEMPLATE_KWARGS:
        raise BridgeError(400, f"chat_template_kwargs: at most {MAX_TEMPLATE_KWARGS} names")
    for name, item in value.items():
        where = f"chat_template_kwargs.{str(name)[:40]}"
        if not _TEMPLATE_NAME.fullmatch(name) or name in RESERVED_TEMPLATE_NAMES:
            raise BridgeError(400, f"{where}: not a name the chat template may take")
        plain = item is None or isinstance(item, (bool, int, float)) or (
            isinstance(item, str) and len(item) <= MAX_STOP_CHARS)
        _want(plain, where, "null, a boolean, a number or a short string", item)
    return dict(value)


def _stop(value: Any) -> list[str]:
    stop = [value] if isinstance(value, str) else (value or [])
    _want(isinstance(stop, list) and all(isinstance(s, str) for s in stop), "stop",
          "a string or a list of strings", value)
    if len(stop) > MAX_STOP or any(len(s) > MAX_STOP_CHARS for s in stop):
        raise BridgeError(
            400, f"stop: at most {MAX_STOP} strings of at most {MAX_STOP_CHARS} characters"
        )
    return list(stop)


def parse_chat(body: Any, info: ModelInfo) -> ChatRequest:
    """Validate a chat body against the served model."""
    _want(isinstance(body, dict), "request body", "a JSON object", body)
    model = body.get("model")
    _want(model is None or isinstance(model, str), "model", "a string", model)
    if model and model != info.id:
        raise BridgeError(404, f"model {model!r} not found; this bridge serves {info.id!r}")
    max_tokens = body.get("max_completion_tokens", body.get("max_tokens"))
    given = max_tokens is not None
    if not given:
        max_tokens = DEFAULT_MAX_TOKENS
    _want(isinstance(max_tokens, int) and not isinstance(max_tokens, bool) and max_tokens > 0,
          "max_tokens", "a positive integer", max_tokens)
    context = info.context_length or FALLBACK_CONTEXT
    if given and max_tokens >= context:
        raise BridgeError(
            413, f"max_tokens is {max_tokens}: the model's context is {context} tokens, "
            "prompt included"
        )
    seed = body.get("seed")
    _want(seed is None or (isinstance(seed, int) and not isinstance(seed, bool)
                           and 0 <= seed < 2**63), "seed", "a non-negative integer", seed)
    stream = body.get("stream", False)
    _want(isinstance(stream, bool), "stream", "a boolean", stream)
    options = body.get("stream_options") or {}
    _want(isinstance(options, dict), "stream_options", "an object", options)
    include_usage = options.get("include_usage", False)
    _want(isinstance(include_usage, bool) or include_usage is None,
          "stream_options.include_usage", "a boolean", include_usage)
    params = GenParams(
        max_tokens=max_tokens,
        temperature=_number(body, "temperature", 0.0, 0.0, 2.0),
        top_p=_number(body, "top_p", 1.0, 0.0, 1.0),
        seed=seed,
    )
    return ChatRequest(
        _messages(body.get("messages")),
        _tools(body.get("tools"), info),
        params,
        _stop(body.get("stop")),
        stream,
        bool(include_usage),
        given,
        _template_kwargs(body.get("chat_template_kwargs")),
    )


def fit_to_context(prompt_tokens: int, req: ChatRequest, info: ModelInfo) -> GenParams:
    """The request's sampling settings once its prompt is `prompt_tokens` long: 413 when
    prompt + max_tokens is over the model's context; a max_tokens the client left out is
    lowered to what the context leaves."""
    context = info.context_length or FALLBACK_CONTEXT
    params = req.params
    if req.max_tokens_given and prompt_tokens + params.max_tokens > context:
        raise BridgeError(
            413,
            f"the prompt is {prompt_tokens} tokens and max_tokens is {params.max_tokens}: "
            f"together {prompt_tokens + params.max_tokens}, over the model's context of "
            f"{context} tokens; shorten the prompt or lower max_tokens",
        )
    if prompt_tokens >= context:
        raise BridgeError(
            413,
            f"the prompt is {prompt_tokens} tokens, which leaves no room for an answer in "
            f"the model's context of {context} tokens; shorten the prompt",
        )
    room = context - prompt_tokens
    if params.max_tokens > room:
        return GenParams(room, params.temperature, params.top_p, params.seed)
    return params
