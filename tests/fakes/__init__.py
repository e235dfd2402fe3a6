"""Fakes of the five LLM runtimes for tests; see fake_runtime.py."""

from __future__ import annotations

from typing import Any

from .config import Config, ConfigError, load_config, load_configs

__all__ = ["Config", "ConfigError", "FakeRuntime", "load_config", "load_configs"]


def __getattr__(name: str) -> Any:
    """Import FakeRuntime lazily, so `python -m tests.fakes.fake_runtime` runs cleanly."""
    if name == "FakeRuntime":
        from .fake_runtime import FakeRuntime
        return FakeRuntime
    raise AttributeError(f"module 'tests.fakes' has no attribute {name!r}")
