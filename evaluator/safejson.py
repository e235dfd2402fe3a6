"""JSON parsing with a nesting bound, for text that comes from outside.

``json.loads`` recurses once per level: deeply nested input (``[[[[…`` 50,000 deep) raises
``RecursionError`` in CPython and can overflow the WebAssembly stack under Pyodide, which
kills the whole interpreter. Every JSON text the evaluator did not write itself (a runtime's
stream events, a model's answer, tool-call arguments, an imported record) goes through
:func:`loads`, which measures the depth first, in linear time, and refuses anything deeper
than ``MAX_DEPTH`` with :class:`DeepJSONError` (a ``ValueError``, so callers that already
catch ``ValueError`` for bad JSON treat it the same way).

:func:`finite_number` reads a number out of such data: a bool, a string, NaN or an
infinity is not one.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

MAX_DEPTH = 100
# A bracket, or a whole string literal (skipped, so brackets inside strings do not count).
_TOKENS = re.compile(r'[\[\]{}]|"(?:[^"\\]|\\.)*"', re.DOTALL)


def finite_number(value: Any) -> float | None:
    """``value`` as a float when it is a finite JSON number (not a bool), else None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


class DeepJSONError(ValueError):
    """The JSON text nests deeper than the bound."""


def depth(text: str) -> int:
    """The deepest nesting of arrays and objects in ``text`` (0 for a scalar); linear time.

    Unbalanced or invalid text is measured as far as it goes; ``json.loads`` reports it."""
    if text.count("[") + text.count("{") <= 1:
        return min(1, text.count("[") + text.count("{"))
    level = deepest = 0
    for token in _TOKENS.finditer(text):
        char = token.group()[0]
        if char in "[{":
            level += 1
            deepest = max(deepest, level)
        elif char in "]}":
            level -= 1
    return deepest


def loads(text: str | bytes, max_depth: int = MAX_DEPTH) -> Any:
    """``json.loads(text)``, but :class:`DeepJSONError` when it nests deeper than
    ``max_depth``; other bad JSON raises ``json.JSONDecodeError`` (a ``ValueError``)."""
    if isinstance(text, bytes):
        text = text.decode("utf-8")
    # Fast path: fewer brackets in all than the bound allows levels.
    if text.count("[") + text.count("{") > max_depth and depth(text) > max_depth:
        raise DeepJSONError(f"JSON nested deeper than {max_depth} levels")
    return json.loads(text)
