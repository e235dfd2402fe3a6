"""Write plain JSON values as block-style YAML that PyYAML and :mod:`evaluator.yaml_lite`
both read back to the same value (a suite exported from the page's editor).

Mappings keep their key order. A string is written plain when it reads back as the same
string (``yes``, ``1.0``, ``- x`` or ``a: b`` are quoted), as a literal block (``|``,
``|-``, ``|+``) when it has several lines that need no escapes, else double-quoted with
YAML's escapes for anything that is not printable (never JSON's surrogate pairs, which
PyYAML would not join). ``tests/test_suite_edit.py`` round-trips generated values through
both readers.
"""

from __future__ import annotations

import math
import re
from typing import Any

from evaluator.errors import SuiteError
from evaluator.yaml_scalars import plain_value

_PLAIN_SAFE = re.compile(r"[A-Za-z0-9_./()+$^~][A-Za-z0-9 _./()+=$^~,;<>'\"!?*&%@-]*")
_LINE_BREAKS = {"\x85", "\u2028", "\u2029", "\ufeff"}
_SHORT = {"\n": "\\n", "\t": "\\t", "\r": "\\r", "\0": "\\0", '"': '\\"', "\\": "\\\\"}


def _quoted(text: str) -> str:
    out = []
    for ch in text:
        if ch in _SHORT:
            out.append(_SHORT[ch])
        elif ch.isprintable() and ch not in _LINE_BREAKS:
            out.append(ch)
        elif ord(ch) <= 0xFF:
            out.append(f"\\x{ord(ch):02x}")
        elif ord(ch) <= 0xFFFF:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(f"\\U{ord(ch):08x}")
    return '"' + "".join(out) + '"'


def _plain_ok(text: str) -> bool:
    if not _PLAIN_SAFE.fullmatch(text) or text != text.strip() or " #" in text:
        return False
    try:
        return bool(plain_value(text, SuiteError) == text)
    except SuiteError:
        return False


def _literal_ok(text: str) -> bool:
    """A multi-line string a literal block keeps exactly."""
    if "\n" not in text.rstrip("\n") or text[:1] in (" ", "\t", "\n"):
        return False
    for line in text.split("\n"):
        if line != line.rstrip(" \t") or line.startswith("\t"):
            return False
        if any(not ch.isprintable() or ch in _LINE_BREAKS for ch in line):
            return False
    return True


def _literal(text: str, indent: int) -> str:
    body = text.rstrip("\n")
    trailing = len(text) - len(body)
    chomp = "-" if trailing == 0 else ("" if trailing == 1 else "+")
    pad = " " * indent
    lines = [pad + line if line else "" for line in body.split("\n")]
    return f"|{chomp}\n" + "\n".join(lines) + "\n" * max(trailing - 1, 0)


def scalar(value: Any, indent: int = 0) -> str:
    """One scalar as YAML (``indent``: where a literal block's lines start)."""
    if value is None:
        return "null"
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return ".nan"
        if math.isinf(value):
            return ".inf" if value > 0 else "-.inf"
        text = repr(value)
        return text if "." in text else text.replace("e", ".0e", 1) if "e" in text \
            else text + ".0"
    if isinstance(value, str):
        if _plain_ok(value):
            return value
        if _literal_ok(value):
            return _literal(value, indent)
        return _quoted(value)
    raise SuiteError(f"cannot write {type(value).__name__} as YAML")


def _key(key: Any) -> str:
    text = key if isinstance(key, str) else str(key)
    return text if _plain_ok(text) and ":" not in text else _quoted(text)


def _emit(out: list[str], head: str, value: Any, col: int) -> None:
    """Append ``value`` to ``out``. ``head`` is what stands before it on its line (``""``
    at the top, ``   key:``, or ``  -``); ``col`` is the column of its nested lines. The
    first entry of a mapping or list inside a ``-`` item (or at the top) shares its line."""
    pad = " " * col
    joins = head == "" or head.endswith("-")
    if isinstance(value, dict) and value:
        for n, (key, item) in enumerate(value.items()):
            if n == 0 and joins:
                _emit(out, f"{head} {_key(key)}:" if head else f"{_key(key)}:", item, col + 2)
            else:
                if n == 0:
                    out.append(head)
                _emit(out, f"{pad}{_key(key)}:", item, col + 2)
        return
    if isinstance(value, list) and value:
        for n, item in enumerate(value):
            if n == 0 and joins:
                _emit(out, f"{head} -" if head else "-", item, col + 2)
            else:
                if n == 0:
                    out.append(head)
                _emit(out, f"{pad}-", item, col + 2)
        return
    text = "{}" if isinstance(value, dict) else "[]" if isinstance(value, list) \
        else scalar(value, max(col, 2))
    out.append(f"{head} {text}" if head else text)


def dump(value: Any) -> str:
    """``value`` (plain JSON) as a YAML document ending with a newline."""
    out: list[str] = []
    _emit(out, "", value, 0)
    return "\n".join(out) + "\n"
