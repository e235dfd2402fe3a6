"""JavaScript value semantics for suite expressions (see ``evaluator/expr.py``).

Values are Python ``float`` (JS has one number type), ``str``, ``bool`` and ``list`` of
values. This module holds what JS does with them, written out from ECMA-262 so that the
CLI and the page print the same text the peer's JavaScript would:

* :func:`number_text` is ``Number::toString`` (shortest round-trip digits, decimal notation
  for 1e-7 <= |x| < 1e21, else ``1e+21`` / ``1.5e-7``; ``-0`` prints ``0``);
* :func:`to_fixed` is ``Number.prototype.toFixed`` on the exact binary value (so
  ``(1.005).toFixed(2)`` is ``"1.00"`` and ``(2.5).toFixed(0)`` is ``"3"``);
* :func:`to_number`, :func:`to_text`, :func:`truthy` are ``ToNumber``, ``String()``,
  ``ToBoolean``; string length, indexing and ordering count UTF-16 code units as JS does.

Strings made by an operation are capped at :data:`MAX_TEXT` characters, so a hostile suite
cannot build a huge one; lists taken from variables may nest at most :data:`MAX_NESTING`.
"""

from __future__ import annotations

import math
import re
from decimal import ROUND_HALF_UP, Context, Decimal
from typing import TypeAlias, Union

MAX_TEXT = 10_000
MAX_NESTING = 16
MAX_FIXED_DIGITS = 100

Value: TypeAlias = Union[float, str, bool, "list[Value]"]

# StrWhiteSpaceChar: WhiteSpace (TAB, VT, FF, ZWNBSP, every Zs) and LineTerminator.
JS_SPACE = "\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007" \
    "\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_RADIX = re.compile(r"0([xX][0-9a-fA-F]+|[oO][0-7]+|[bB][01]+)")
_FIXED = Context(prec=200)


class ExprError(ValueError):
    """An expression is invalid or cannot be evaluated; the message is one line."""


def type_name(value: Value) -> str:
    """The JS-ish name of a value's type, for error messages."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array"


def to_value(obj: object, depth: int = 0, limit: int = MAX_NESTING) -> Value:
    """A Python value (from YAML, JSON or a draw) as an expression value; lists may nest
    ``limit`` levels (a variable's value :data:`MAX_NESTING`)."""
    if isinstance(obj, bool):
        return obj
    if isinstance(obj, int):
        try:
            return float(obj)
        except OverflowError:
            raise ExprError(f"the number {obj} is too large") from None
    if isinstance(obj, (float, str)):
        return obj
    if isinstance(obj, (list, tuple)):
        if depth >= limit:
            raise ExprError(f"a value nests lists deeper than {limit} levels")
        return [to_value(item, depth + 1, limit) for item in obj]
    raise ExprError(f"unsupported value of type {type(obj).__name__}")


def capped(text: str) -> str:
    """``text`` itself, or an ExprError when it is longer than MAX_TEXT."""
    if len(text) > MAX_TEXT:
        raise ExprError(f"a string result is longer than {MAX_TEXT:,} characters")
    return text


def number_text(x: float) -> str:
    """JS ``Number::toString(x)`` (radix 10)."""
    if math.isnan(x):
        return "NaN"
    if x == 0:
        return "0"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    if x < 0:
        return "-" + number_text(-x)
    # repr() gives the shortest digits that round-trip, as JS requires; only the layout
    # differs. value = 0.d1d2...dk * 10**n
    parts = Decimal(repr(x)).as_tuple()
    full = "".join(str(d) for d in parts.digits)
    digits = full.rstrip("0")
    exponent = int(parts.exponent) + len(full) - len(digits)
    k = len(digits)
    n = k + exponent
    if k <= n <= 21:
        return digits + "0" * (n - k)
    if 0 < n <= 21:
        return digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return "0." + "0" * (-n) + digits
    e = n - 1
    sign = "+" if e >= 0 else "-"
    mantissa = digits if k == 1 else digits[0] + "." + digits[1:]
    return f"{mantissa}e{sign}{abs(e)}"


def to_text(value: object) -> str:
    """JS ``String(value)`` of a Python value (an int, a list from YAML, a drawn value, an
    expression's result: array literals add up to 32 levels to a variable's 16)."""
    return text_of(to_value(value, limit=4 * MAX_NESTING))


def text_of(value: Value) -> str:
    """JS ``String(value)``: numbers as :func:`number_text`, arrays joined with commas."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return number_text(value)
    if isinstance(value, str):
        return value
    return capped(",".join(text_of(item) for item in value))


def string_number(text: str) -> float:
    """JS ``StringToNumber``: decimal, ``0x``/``0o``/``0b``, ``Infinity``; else NaN."""
    s = text.strip(JS_SPACE)
    if not s:
        return 0.0
    if s in ("Infinity", "+Infinity"):
        return math.inf
    if s == "-Infinity":
        return -math.inf
    if _DECIMAL.fullmatch(s):
        return float(s)
    radix = _RADIX.fullmatch(s)
    if radix:
        base = {"x": 16, "o": 8, "b": 2}[radix.group(1)[0].lower()]
        try:
            return float(int(radix.group(1)[1:], base))
        except OverflowError:
            return math.inf
    return math.nan


def to_number(value: Value) -> float:
    """JS ``ToNumber`` (an array goes through its string, as JS's ToPrimitive does)."""
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, float):
        return value
    if isinstance(value, str):
        return string_number(value)
    return string_number(text_of(value))


def truthy(value: Value) -> bool:
    """JS ``ToBoolean``."""
    if isinstance(value, bool):
        return value
    if isinstance(value, float):
        return not (value == 0 or math.isnan(value))
    if isinstance(value, str):
        return value != ""
    return True


def utf16_units(text: str) -> bytes:
    """``text`` as UTF-16 code units (little endian), the way JS strings are held."""
    return text.encode("utf-16-le", "surrogatepass")


def utf16_len(text: str) -> int:
    """JS ``text.length``."""
    return len(text) if text.isascii() else len(utf16_units(text)) // 2


def to_fixed(x: float, digits: int) -> str:
    """JS ``x.toFixed(digits)``: round the exact value half away from zero (the larger n)."""
    if math.isnan(x):
        return "NaN"
    if abs(x) >= 1e21:
        return number_text(x)
    quantum = Decimal(1).scaleb(-digits)
    rounded = Decimal(abs(x)).quantize(quantum, rounding=ROUND_HALF_UP, context=_FIXED)
    return ("-" if x < 0 else "") + f"{rounded:f}"


def js_round(x: float) -> float:
    """JS ``Math.round``: the nearest integer, halves toward +Infinity."""
    if not math.isfinite(x):
        return x
    r = math.floor(x)
    if x - r >= 0.5:
        r += 1
    return _signed(float(r), x)


def js_floor(x: float) -> float:
    """JS ``Math.floor``."""
    return x if not math.isfinite(x) else _signed(float(math.floor(x)), x)


def js_ceil(x: float) -> float:
    """JS ``Math.ceil``."""
    return x if not math.isfinite(x) else _signed(float(math.ceil(x)), x)


def _signed(result: float, x: float) -> float:
    """A zero result keeps the sign of ``x`` (JS gives -0 for Math.ceil(-0.5))."""
    return math.copysign(0.0, x) if result == 0 else result


def js_min_max(numbers: list[float], want_max: bool) -> float:
    """JS ``Math.min`` / ``Math.max``: NaN wins; +0 is above -0."""
    best = -math.inf if want_max else math.inf
    for y in numbers:
        if math.isnan(y):
            return math.nan
        signs = (math.copysign(1.0, y), math.copysign(1.0, best))
        if want_max:
            better = y > best or (y == best == 0 and signs[0] > signs[1])
        else:
            better = y < best or (y == best == 0 and signs[0] < signs[1])
        if better:
            best = y
    return best


def arithmetic(op: str, a: Value, b: Value) -> Value:
    """JS ``a op b`` for ``+ - * / %``."""
    if op == "+" and (isinstance(a, (str, list)) or isinstance(b, (str, list))):
        return capped(text_of(a) + text_of(b))
    x, y = to_number(a), to_number(b)
    if op == "+":
        return x + y
    if op == "-":
        return x - y
    if op == "*":
        return x * y
    if op == "/":
        if y == 0:
            if x == 0 or math.isnan(x):
                return math.nan
            return math.copysign(math.inf, x) * math.copysign(1.0, y)
        return x / y
    if y == 0 or math.isnan(y) or not math.isfinite(x):
        return math.nan
    return x if math.isinf(y) else math.fmod(x, y)


def _no_arrays(op: str, a: Value, b: Value) -> None:
    if isinstance(a, list) or isinstance(b, list):
        raise ExprError(f"'{op}' cannot compare arrays")


def equal(op: str, a: Value, b: Value) -> bool:
    """JS ``===``, ``!==``, ``==``, ``!=`` on strings, numbers and booleans."""
    _no_arrays(op, a, b)
    strict = op in ("===", "!==")
    same = _strict_equal(a, b) if strict else _loose_equal(a, b)
    return same if op in ("===", "==") else not same


def _strict_equal(a: Value, b: Value) -> bool:
    return type(a) is type(b) and a == b


def _loose_equal(a: Value, b: Value) -> bool:
    if type(a) is type(b):
        return a == b
    return to_number(a) == to_number(b)


def relation(op: str, a: Value, b: Value) -> bool:
    """JS ``<``, ``<=``, ``>``, ``>=`` (strings by UTF-16 code units; NaN compares false)."""
    _no_arrays(op, a, b)
    if isinstance(a, str) and isinstance(b, str):
        ua, ub = utf16_units_be(a), utf16_units_be(b)
        sign = (ua > ub) - (ua < ub)
    else:
        x, y = to_number(a), to_number(b)
        if math.isnan(x) or math.isnan(y):
            return False
        sign = (x > y) - (x < y)
    return {"<": sign < 0, ">": sign > 0, "<=": sign <= 0, ">=": sign >= 0}[op]


def utf16_units_be(text: str) -> bytes:
    """Big-endian UTF-16 bytes: comparing them orders strings as JS does."""
    return text.encode("utf-16-be", "surrogatepass")
