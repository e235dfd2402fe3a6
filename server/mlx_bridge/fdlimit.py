"""The open-file limit of the serving process: raised where allowed, never lowered by mlx-lm.

A server holds one file descriptor per connection, so a low soft limit turns a few
thousand idle connections into "Too many open files" for everyone. `raise_open_file_limit`
lifts the soft limit to the hard one (or as high as the system takes).

Importing `mlx_lm` calls `resource.setrlimit(RLIMIT_NOFILE, (2048, 4096))`: that lowers a
higher soft limit to 2,048 and the hard limit to 4,096 for good (an unprivileged process
cannot raise a hard limit again), and where the hard limit is already below 4,096 it raises
`ValueError`, so the import fails. `import_guarded` imports a module while such a call may
only raise the soft limit (to at most the hard limit) and never fails.
"""

from __future__ import annotations

import importlib
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Any

try:
    import resource
except ImportError:  # pragma: no cover - Windows has no resource module
    resource = None  # type: ignore[assignment]

# Where the hard limit is "unlimited", ask for this much (macOS refuses more than OPEN_MAX).
UNLIMITED_TARGET = 65_536
FALLBACK_TARGET = 10_240
_import_lock = threading.Lock()


def open_file_limits() -> tuple[int, int]:
    """(soft, hard) open-file limits; (-1, -1) where the platform has none."""
    if resource is None:
        return -1, -1
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    return int(soft), int(hard)


def raise_open_file_limit() -> tuple[int, int]:
    """Raise the soft open-file limit toward the hard limit; return (before, after)."""
    if resource is None:
        return -1, -1
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    infinite = hard == resource.RLIM_INFINITY
    for target in ((UNLIMITED_TARGET, FALLBACK_TARGET) if infinite else (hard,)):
        if soft != resource.RLIM_INFINITY and target <= soft:
            break
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            break
        except (ValueError, OSError):
            continue
    return int(soft), int(resource.getrlimit(resource.RLIMIT_NOFILE)[0])


@contextmanager
def _no_lowering() -> Iterator[list[tuple[int, int]]]:
    """While active, `resource.setrlimit(RLIMIT_NOFILE, ...)` may only raise the soft limit
    (up to the hard limit); the asked-for limits are recorded in the yielded list."""
    if resource is None:
        yield []
        return
    asked: list[tuple[int, int]] = []
    real: Callable[..., Any] = resource.setrlimit

    def guarded(which: int, limits: tuple[int, int]) -> None:
        if which != resource.RLIMIT_NOFILE:
            real(which, limits)
            return
        asked.append((int(limits[0]), int(limits[1])))
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        want = int(limits[0])
        if hard != resource.RLIM_INFINITY:
            want = min(want, int(hard))
        if soft != resource.RLIM_INFINITY and want > soft:
            try:
                real(which, (want, hard))
            except (ValueError, OSError):
                pass

    resource.setrlimit = guarded
    try:
        yield asked
    finally:
        resource.setrlimit = real


def import_guarded(name: str) -> ModuleType:
    """`importlib.import_module(name)`, with `_no_lowering` in force for its first import."""
    if name in sys.modules:
        return sys.modules[name]
    with _import_lock, _no_lowering():
        return importlib.import_module(name)


def import_mlx_lm() -> ModuleType:
    """Import `mlx_lm` (and with it `mlx_lm.utils`) without losing open-file headroom."""
    import_guarded("mlx_lm.utils")
    return import_guarded("mlx_lm")
