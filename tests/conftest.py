"""Shared pytest fixtures. Add new fixtures below as small, documented blocks."""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.fake_runtime import FakeRuntime
from tests.suites_fixture import make_suites_dir


@pytest.fixture(scope="session", autouse=True)
def suites_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Every test sees the shipped suites plus the ``classic-rating`` fixture suite through
    LOCALRATE_SUITES_DIR (tests/suites_fixture.py); a test may still set its own."""
    root = make_suites_dir(tmp_path_factory.mktemp("suites"))
    before = os.environ.get("LOCALRATE_SUITES_DIR")
    os.environ["LOCALRATE_SUITES_DIR"] = str(root)
    yield root
    if before is None:
        os.environ.pop("LOCALRATE_SUITES_DIR", None)
    else:
        os.environ["LOCALRATE_SUITES_DIR"] = before


@pytest.fixture
def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def fake_runtime() -> Iterator[Callable[..., FakeRuntime]]:
    """Factory: `fake_runtime(config, port=0)` starts a FakeRuntime, stopped at teardown.

    `config` is a dict, a JSON file path, or a Config (see tests/fakes/config.py).
    """
    started: list[FakeRuntime] = []

    def start(config: dict[str, Any] | str | Path, port: int = 0) -> FakeRuntime:
        fake = FakeRuntime(config, port=port).start()
        started.append(fake)
        return fake

    yield start
    for fake in started:
        fake.stop()
