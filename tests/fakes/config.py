"""Configuration of a fake runtime: defaults, validation, scripts, answer matching.

A config: ``{"dialect", "models": [{"id", "script"?, "meta"?}], ...options}`` (the options
are the fields of :class:`Config`). A model's ``script`` is a file name or an inline
``{"answers": [...]}``; the answer keys are in :mod:`tests.fakes.script`. A model's
``meta`` overrides its metadata (:mod:`tests.fakes.listings`); when it sets
``context_length`` the fake also refuses, with HTTP 400 as the runtime would, a chat request
whose prompt is longer than that (:func:`context_tokens`: a word or a punctuation mark is one
token, summed over every message's text).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .script import DEFAULT_ANSWER, ScriptError, check_entry, last_user_text, message_text
from .script import resolve as resolve_answer

__all__ = ["DEFAULT_ANSWER", "Config", "ConfigError", "Model", "context_tokens",
           "last_user_text", "load_config", "load_configs", "message_text", "prompt_tokens"]
_TOKEN = re.compile(r"\w+|[^\w\s]")
DIALECT_NAMES = ("ollama", "lmstudio", "vllm", "llamacpp", "mlx")
CHAT_FAULTS = ("http500", "non_json", "cut", "hang", "reset", "huge", "bad_utf8",
               "wrong_type", "empty403", "drip", "redirect", "deep_json", "tool_flood")
LIST_FAULTS = ("hang", "http500", "garbage", "empty403", "closed", "reset", "wrong_type",
               "loading", "cut")
HERE = Path(__file__).parent


class ConfigError(ValueError):
    """A bad fake-runtime configuration; the message names the value and the place."""


@dataclass
class Model:
    """One model served by the fake: its id, scripted answers and metadata overrides."""

    id: str
    answers: list[dict[str, Any]] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)
    seen: dict[str, int] = field(default_factory=dict)  # messages -> requests so far (nth)

    def answer_for(self, text: str) -> dict[str, Any]:
        """The first scripted answer whose `match` is a substring of `text`."""
        for answer in self.answers:
            if str(answer.get("match", "")) in text:
                return answer
        return DEFAULT_ANSWER

    def answer(self, body: dict[str, Any]) -> dict[str, Any]:
        """The scripted answer to a chat request body (rules in tests.fakes.script); counts
        the body's messages for the ``nth`` condition."""
        key = json.dumps(body.get("messages"), sort_keys=True, ensure_ascii=False)
        nth = self.seen.get(key, 0)
        self.seen[key] = nth + 1
        return resolve_answer(self.answers, body, nth)

    @property
    def context_limit(self) -> int | None:
        """The context the model refuses prompts over: ``meta.context_length`` when set."""
        value = self.meta.get("context_length")
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    @property
    def capabilities(self) -> list[str]:
        """Ollama-style capability names (completion, tools, vision, thinking, ...)."""
        return list(self.meta.get("capabilities", ["completion"]))


@dataclass
class Config:
    """A normalized configuration (the keys are described in tests/fakes/script.py)."""

    dialect: str
    models: list[Model]
    cors: str | list[str] = "dialect"
    reasoning: str = "field"
    tool_style: str = "dialect"
    usage: str | bool = "dialect"
    comments: bool = False
    fault: str | None = None
    list_fault: str | None = None
    delay_ms: float = 0
    chunk_chars: int = 4
    port: int | None = None
    redirect_to: str = "http://127.0.0.1:9/v1/chat/completions"  # the `redirect` fault's
    api_key: str | None = None  # when set, every request but a preflight needs this Bearer

    def model(self, model_id: str | None) -> Model | None:
        """The model named `model_id` (Ollama's implicit `:latest` accepted), or None."""
        for m in self.models:
            if model_id in (m.id, f"{m.id}:latest") or f"{model_id}:latest" == m.id:
                return m
        return None


def load_config(source: dict[str, Any] | str | Path, where: str = "config",
                base: Path | None = None) -> Config:
    """Build a Config from a dict or a JSON file path; raise ConfigError on bad values.

    Relative script paths are looked up in `base` (the config file's folder), the
    current directory and tests/fakes/.
    """
    base = base or Path.cwd()
    if isinstance(source, (str, Path)):
        path = Path(source)
        base, where = path.parent, str(path)
        source = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(source, dict):
        raise ConfigError(f"{where}: expected an object, got {type(source).__name__}")
    dialect = source.get("dialect")
    if dialect not in DIALECT_NAMES:
        raise ConfigError(f"{where}: dialect: {dialect!r} is not one of {DIALECT_NAMES}")
    models = [_model(m, base, f"{where}: models[{i}]")
              for i, m in enumerate(source.get("models", []))]
    cfg = Config(dialect=dialect, models=models)
    for key in ("cors", "reasoning", "tool_style", "usage", "comments", "fault",
                "list_fault", "delay_ms", "chunk_chars", "port", "redirect_to", "api_key"):
        if key in source:
            setattr(cfg, key, source[key])
    _check(cfg, where)
    return cfg


def load_configs(source: Any, where: str = "config") -> list[Config]:
    """One Config, or several from a list (a JSON file may hold either)."""
    base = Path.cwd()
    if isinstance(source, (str, Path)):
        path = Path(source)
        base, where = path.parent, str(path)
        source = json.loads(path.read_text(encoding="utf-8"))
    if isinstance(source, list):
        return [load_config(item, f"{where}[{i}]", base) for i, item in enumerate(source)]
    return [load_config(source, where, base)]


def _model(raw: Any, base: Path, where: str) -> Model:
    """One models[] entry: {id, script?, meta?}; the script may be a path or a dict."""
    if isinstance(raw, str):
        raw = {"id": raw}
    if not isinstance(raw, dict) or not isinstance(raw.get("id"), str):
        raise ConfigError(f"{where}: expected an object with a string 'id', got {raw!r}")
    script = raw.get("script") or {}
    if isinstance(script, str):
        script = read_script(script, base, where)
    answers = script.get("answers", [])
    if not isinstance(answers, list):
        raise ConfigError(f"{where}: script answers: expected a list, got {answers!r}")
    for j, answer in enumerate(answers):
        try:
            check_entry(answer, CHAT_FAULTS)
        except ScriptError as exc:
            raise ConfigError(f"{where}: answers[{j}]: {exc}") from None
    return Model(id=raw["id"], answers=answers, meta=dict(raw.get("meta") or {}))


def read_script(name: str, base: Path, where: str) -> dict[str, Any]:
    """Find a script file relative to the config, the cwd or tests/fakes/."""
    for folder in (base, Path.cwd(), HERE):
        path = folder / name
        if path.is_file():
            data = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(data, dict):
                raise ConfigError(f"{path}: expected an object with 'answers'")
            return data
    raise ConfigError(f"{where}: script {name!r} not found (looked in {base}, cwd, {HERE})")


def _check(cfg: Config, where: str) -> None:
    """Reject unknown option values with a message naming the value."""
    checks = [("reasoning", cfg.reasoning, None),
              ("tool_style", cfg.tool_style, ("dialect", "whole", "fragments")),
              ("usage", cfg.usage, ("dialect", True, False)),
              ("fault", cfg.fault, (None, *CHAT_FAULTS)),
              ("list_fault", cfg.list_fault, (None, *LIST_FAULTS))]
    for name, value, allowed in checks:
        if allowed is not None and value not in allowed:
            raise ConfigError(f"{where}: {name}: {value!r} is not one of {allowed}")
    if not isinstance(cfg.reasoning, str):
        raise ConfigError(f"{where}: reasoning: expected 'field', 'inline' or a field name")
    if not (cfg.cors in ("dialect", "none", "*") or isinstance(cfg.cors, list)):
        raise ConfigError(f"{where}: cors: {cfg.cors!r} is not 'dialect', 'none', '*' "
                          "or a list of origins")
    if not isinstance(cfg.chunk_chars, int) or cfg.chunk_chars < 1:
        raise ConfigError(f"{where}: chunk_chars: {cfg.chunk_chars!r} must be an int >= 1")


def prompt_tokens(body: dict[str, Any]) -> int:
    """A deterministic prompt token count: the words of every message's text."""
    return sum(len(message_text(m.get("content")).split())
               for m in body.get("messages") or [] if isinstance(m, dict))


def context_tokens(body: dict[str, Any]) -> int:
    """The prompt length the fake holds against a model's context: a word (``\\w+``) or a
    punctuation mark is one token, over the text of every message."""
    return sum(len(_TOKEN.findall(message_text(m.get("content"))))
               for m in body.get("messages") or [] if isinstance(m, dict))
