"""Progress of a run in attempts, and the time left, from the speed measured so far.

:func:`progress` is what the page's progress line shows: attempts done of the total, and
an estimate of the time left: the mean wall time of the attempts done so far in this
batch, times the attempts still to do (warm-ups included in the time measured). No
estimate before the first attempt ends.
"""

from __future__ import annotations

import math
from typing import Any

from evaluator.stats_math import StatsError


def _count(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise StatsError(f"{name}: expected a whole number >= 0, got {value!r}")
    return value


def duration_text(ms: float) -> str:
    """A short duration: "12 s", "3 min", "1 h 05 min" (rounded up to the unit shown)."""
    seconds = max(0, math.ceil(ms / 1000))
    if seconds < 60:
        return f"{seconds} s"
    minutes = math.ceil(seconds / 60)
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60:02d} min"


def progress(done: Any, total: Any, elapsed_ms: Any) -> dict[str, Any]:
    """``{"done", "total", "remaining_ms", "text"}``: ``text`` reads "3 / 20 attempts ·
    about 40 s left" (no estimate before the first attempt, "done" once all are done)."""
    done, total = _count("done", done), _count("total", total)
    if done > total:
        raise StatsError(f"done: {done} is more than the total {total}")
    if isinstance(elapsed_ms, bool) or not isinstance(elapsed_ms, (int, float)) \
            or not math.isfinite(elapsed_ms) or elapsed_ms < 0:
        raise StatsError(f"elapsed_ms: expected a number >= 0, got {elapsed_ms!r}")
    head = f"{done} / {total} attempt{'' if total == 1 else 's'}"
    if done == total:
        return {"done": done, "total": total, "remaining_ms": 0, "text": head}
    if done == 0:
        return {"done": done, "total": total, "remaining_ms": None,
                "text": f"{head} · time left known after the first"}
    remaining = round(elapsed_ms / done * (total - done), 1)
    return {"done": done, "total": total, "remaining_ms": remaining,
            "text": f"{head} · about {duration_text(remaining)} left"}
