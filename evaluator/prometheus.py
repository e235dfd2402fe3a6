"""Prometheus text exposition, read: the samples of a runtime's ``GET /metrics`` answer.

Pure and forgiving: llama.cpp's and vLLM's ``/metrics`` are plain text in the Prometheus
0.0.4 format (``name{label="value",...} number [timestamp]``). Comment lines (``# HELP``,
``# TYPE``) and lines that do not parse are skipped, never an error; values that are not
finite numbers (``NaN``, ``+Inf``) are dropped, since a run record is strict JSON.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

__all__ = ["Sample", "parse_prometheus", "samples_named"]

MAX_LINES = 200_000  # more than any real /metrics answer; the rest is ignored
_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_LABEL = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*(,|(?=\}))')
_ESCAPES = {"n": "\n", '"': '"', "\\": "\\"}


@dataclass(frozen=True)
class Sample:
    """One sample line: its metric name, labels and value."""

    name: str
    value: float
    labels: dict[str, str] = field(default_factory=dict)


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), "\\" + m.group(1)), text)


def _labels(line: str, start: int) -> tuple[dict[str, str], int] | None:
    """The labels of ``{...}`` opening at ``start``, and the index after the ``}``."""
    labels: dict[str, str] = {}
    pos = start + 1
    while True:
        while pos < len(line) and line[pos] in " \t":
            pos += 1
        if pos < len(line) and line[pos] == "}":
            return labels, pos + 1
        match = _LABEL.match(line, pos)
        if match is None:
            return None
        labels[match.group(1)] = _unescape(match.group(2))
        pos = match.end()


def _line(line: str) -> Sample | None:
    name = _NAME.match(line)
    if name is None:
        return None
    pos = name.end()
    labels: dict[str, str] = {}
    if pos < len(line) and line[pos] == "{":
        parsed = _labels(line, pos)
        if parsed is None:
            return None
        labels, pos = parsed
    rest = line[pos:].split()
    if not rest or (pos < len(line) and line[pos] not in " \t"):
        return None
    try:
        value = float(rest[0])
    except ValueError:
        return None
    if not math.isfinite(value):
        return None
    return Sample(name.group(0), value, labels)


def parse_prometheus(text: str) -> list[Sample]:
    """Every readable sample of a Prometheus text answer, in order."""
    out: list[Sample] = []
    for number, raw in enumerate(text.splitlines()):
        if number >= MAX_LINES:
            break
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        sample = _line(line)
        if sample is not None:
            out.append(sample)
    return out


def samples_named(samples: list[Sample], name: str) -> list[Sample]:
    """The samples of one metric name."""
    return [s for s in samples if s.name == name]
