"""The suite expressions' own helpers for character-level and number puzzles.

These are not JavaScript: they let a parameterized case derive its answer from the drawn
values (a reversed word, a Caesar shift, a base64 text), so the answer is computed by the
generator, never typed by hand. Each takes and returns plain values (:mod:`evaluator.jsvalue`):

* ``reverse(s)`` — the characters of ``s`` in reverse order (by code point);
* ``caesar(s, k)`` — ASCII letters shifted ``k`` places in the alphabet (case kept, ``k``
  may be negative), every other character unchanged;
* ``atbash(s)`` — ASCII letters mirrored (a↔z, B↔Y), others unchanged;
* ``b64(s)`` — standard base64 (with ``=`` padding) of the UTF-8 bytes of ``s``;
* ``gcd(a, b)`` — the greatest common divisor of two whole numbers (non-negative);
* ``join(list, sep)`` — the items' JS ``String()`` joined by ``sep``;
* ``sort(list)`` — numbers ascending, or strings by UTF-16 code units (not a mix);
* ``sum(list)`` — the numbers added.
"""

from __future__ import annotations

import base64
import math

from evaluator import jsvalue as js
from evaluator.jsvalue import ExprError, Value

ARITY: dict[str, tuple[int, int | None]] = {
    "reverse": (1, 1), "caesar": (2, 2), "atbash": (1, 1), "b64": (1, 1), "gcd": (2, 2),
    "join": (2, 2), "sort": (1, 1), "sum": (1, 1)}


def _shift(ch: str, k: int) -> str:
    for base in ("a", "A"):
        if base <= ch <= chr(ord(base) + 25):
            return chr(ord(base) + (ord(ch) - ord(base) + k) % 26)
    return ch


def _mirror(ch: str) -> str:
    for base in ("a", "A"):
        if base <= ch <= chr(ord(base) + 25):
            return chr(ord(base) + 25 - (ord(ch) - ord(base)))
    return ch


def _whole(value: Value, name: str) -> int:
    number = js.to_number(value)
    if not math.isfinite(number) or not number.is_integer():
        raise ExprError(f"{name} needs whole numbers, got {js.to_text(value)}")
    return int(number)


def _list(value: Value, name: str) -> list[Value]:
    if not isinstance(value, list):
        raise ExprError(f"{name} needs an array, got {js.type_name(value)}")
    return value


def _sorted(items: list[Value]) -> list[Value]:
    if all(isinstance(v, float) and not isinstance(v, bool) for v in items):
        return sorted(items)
    if all(isinstance(v, str) for v in items):
        return sorted(items, key=lambda s: js.utf16_units(str(s)))
    raise ExprError("sort needs an array of numbers or an array of strings")


def call(name: str, args: list[Value]) -> Value:
    """Apply the helper ``name`` (a key of :data:`ARITY`) to ``args``."""
    if name == "reverse":
        return js.text_of(args[0])[::-1]
    if name == "caesar":
        k = _whole(args[1], name)
        return "".join(_shift(ch, k) for ch in js.text_of(args[0]))
    if name == "atbash":
        return "".join(_mirror(ch) for ch in js.text_of(args[0]))
    if name == "b64":
        return js.capped(base64.b64encode(js.text_of(args[0]).encode("utf-8")).decode("ascii"))
    if name == "gcd":
        return float(math.gcd(_whole(args[0], name), _whole(args[1], name)))
    if name == "join":
        return js.capped(js.text_of(args[1]).join(js.to_text(v) for v in _list(args[0], name)))
    if name == "sort":
        return _sorted(list(_list(args[0], name)))
    total = 0.0
    for item in _list(args[0], name):
        total += js.to_number(item)
    return total
