"""What the bridge tells about its engine at ``GET /v1/engine``: versions, device, memory.

``engine_facts`` is the endpoint's body. The mlx and mlx-lm versions come from the installed
packages' metadata (no import); the device and the memory from the generator when it can
tell (``MlxGenerator.memory()``, which reads ``mlx_memory(mlx.core)``). ``mlx_memory`` reads
MLX's allocator counters where this MLX version has them: ``mx.get_active_memory`` and
friends (MLX 0.24 and later), else the older ``mx.metal.*`` spellings, else nothing.
"""

from __future__ import annotations

import functools
from importlib import metadata
from typing import Any

ENGINE_NAME = "localrate MLX bridge"
# bytes figure → the mlx.core function that gives it (also looked up under mx.metal)
_COUNTERS = {"active_bytes": "get_active_memory", "peak_bytes": "get_peak_memory",
             "cache_bytes": "get_cache_memory"}


@functools.cache
def versions() -> dict[str, str | None]:
    """The installed mlx and mlx-lm versions (None when not installed)."""
    out: dict[str, str | None] = {}
    for name in ("mlx", "mlx-lm"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def mlx_memory(mx: Any) -> tuple[dict[str, int] | None, list[str]]:
    """MLX's memory counters in bytes, read from the ``mlx.core`` module ``mx``, and notes
    for what this MLX version lacks (never raises)."""
    out: dict[str, int] = {}
    notes: list[str] = []
    metal = getattr(mx, "metal", None)
    for key, name in _COUNTERS.items():
        read = getattr(mx, name, None) or getattr(metal, name, None)
        if read is None:
            notes.append(f"this MLX has no {name}()")
            continue
        try:
            value = read()
        except Exception as exc:  # noqa: BLE001 - a counter that fails is a note
            notes.append(f"{name}() failed: {type(exc).__name__}: {exc}")
            continue
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            out[key] = value
    return (out or None), notes


def mlx_device(mx: Any) -> str | None:
    """``"gpu"`` or ``"cpu"``: the type of MLX's default device."""
    try:
        device = mx.default_device()
    except Exception:  # noqa: BLE001 - an MLX without it simply does not say
        return None
    kind = str(getattr(device, "type", device))
    return "gpu" if "gpu" in kind else "cpu" if "cpu" in kind else None


def engine_facts(gen: Any, generations: int) -> dict[str, Any]:
    """The body of ``GET /v1/engine`` for the served generator."""
    notes: list[str] = []
    memory, device = None, None
    read = getattr(gen, "memory", None)
    if callable(read):
        try:
            memory, device, said = read()
            notes += said
        except Exception as exc:  # noqa: BLE001 - the endpoint answers even so
            notes.append(f"memory could not be read: {type(exc).__name__}: {exc}")
    else:
        notes.append("this generator reports no memory")
    info = gen.info
    return {"engine": ENGINE_NAME, "model": info.id, "context_length": info.context_length,
            "versions": versions(), "device": device, "memory": memory,
            "generations": generations, "notes": notes}
