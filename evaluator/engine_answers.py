"""The pieces every engine reader shares: one answer of the plan, the report being filled,
and the checks a figure passes before it is taken (a count is a non-negative finite number,
a name is short text without control characters).
"""


from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

from evaluator import safejson

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
TEXT_MAX = 120


def snippet(text: Any, size: int = 60) -> str:
    return " ".join(str(text or "").split())[:size]


def number(value: Any) -> float | int | None:
    """A non-negative finite number, or None (bools are not numbers here)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if not math.isfinite(value) or value < 0:
        return None
    return value


def text(value: Any) -> str | None:
    """Non-empty text without control characters, at most TEXT_MAX long, or None."""
    if not isinstance(value, str):
        return None
    clean = _CONTROL.sub(" ", value).strip()
    return clean[:TEXT_MAX] or None


def whole(value: float) -> float | int:
    """A Prometheus value as an int when it is a whole number (token counts)."""
    return int(value) if value.is_integer() else value


def obj(value: Any) -> dict[str, Any]:
    """``value`` when it is a JSON object, else an empty one."""
    return value if isinstance(value, dict) else {}


def gigabytes(n: float) -> str:
    return f"{n / 1e9:.1f} GB"


@dataclass
class Answer:
    """One request of the plan and what came back."""

    key: str
    method: str
    path: str
    status: Any
    body: Any
    error: Any

    def where(self, field_name: str) -> str:
        return f"{self.method} {self.path} → {field_name}"

    def failed(self) -> str | None:
        """Why there is no usable answer (one line), or None when it is a 200."""
        name = f"{self.method} {self.path}"
        if self.error not in (None, ""):
            reason = {"timeout": "timed out", "closed": "connection refused",
                      "network": "network error"}.get(str(self.error), snippet(self.error))
            return f"{name}: {reason}"
        if isinstance(self.status, bool) or not isinstance(self.status, int):
            return f"{name}: no answer"
        if self.status != 200:
            said = _error_message(self.body)
            return f"{name}: HTTP {self.status}" + (f" ({said})" if said else "")
        return None

    def json(self, report: Report) -> dict[str, Any] | None:
        """The body as a JSON object, or None with a note saying why not."""
        problem = self.failed()
        if problem is not None:
            report.note(problem)
            return None
        try:
            doc = safejson.loads(self.body if isinstance(self.body, str) else "")
        except (ValueError, RecursionError):
            report.note(f"{self.method} {self.path}: answered, but not JSON: "
                        f"'{snippet(self.body, 40)}'")
            return None
        if not isinstance(doc, dict):
            report.note(f"{self.method} {self.path}: answered {type(doc).__name__}, "
                        "not a JSON object")
            return None
        return doc


def _error_message(body: Any) -> str:
    """The message of a JSON error body (``{"error": {"message"}}``, ``{"error": "..."}``,
    ``{"detail"}``, ``{"message"}``), or the start of a text body."""
    try:
        doc = json.loads(body) if isinstance(body, str) else None
    except ValueError:
        return snippet(body)
    if isinstance(doc, dict):
        error = doc.get("error")
        for said in (error.get("message") if isinstance(error, dict) else error,
                     doc.get("detail"), doc.get("message")):
            if isinstance(said, str) and said.strip():
                return snippet(said, 100)
    return snippet(body)


@dataclass
class Report:
    """The engine report being filled in."""

    runtime: str
    model: str
    version: dict[str, Any] | None = None
    memory: dict[str, Any] = field(default_factory=dict)
    context: dict[str, Any] = field(default_factory=dict)
    kv_cache: dict[str, Any] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def note(self, line: str) -> None:
        if line not in self.notes:
            self.notes.append(line)

    def to_json(self) -> dict[str, Any]:
        return {"runtime": self.runtime, "model": self.model, "version": self.version,
                "memory": self.memory, "context": self.context,
                "kv_cache": self.kv_cache or None, "details": self.details,
                "notes": self.notes}


def put(section: dict[str, Any], name: str, value: Any, source: str) -> bool:
    """Add ``{"value", "source"}`` under ``name`` when ``value`` is not None."""
    if value is None:
        return False
    section[name] = {"value": value, "source": source}
    return True
