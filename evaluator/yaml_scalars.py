"""Scalars and flow collections for :mod:`evaluator.yaml_lite`: quoting, escapes, folding,
and YAML 1.1's typing of plain scalars exactly as PyYAML's safe loader resolves them."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from evaluator.errors import SuiteError

Fail = Callable[[str], SuiteError]

# PyYAML's implicit resolvers (resolver.py), YAML 1.1.
_BOOL = {"yes": True, "no": False, "true": True, "false": False, "on": True, "off": False}
_BOOL_RE = re.compile(r"yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON"
                      r"|off|Off|OFF")
_NULL_RE = re.compile(r"~|null|Null|NULL|")
_INT_RE = re.compile(r"[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)"
                     r"|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+")
_FLOAT_RE = re.compile(r"[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?"
                       r"|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?"
                       r"|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*"
                       r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)")
_TIME_RE = re.compile(r"[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]"
                      r"|[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?"
                      r"(?:[Tt]|[ \t]+)[0-9][0-9]?:[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?"
                      r"(?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?")
_MAX_DIGITS = 4000
_ESCAPES = {"0": "\0", "a": "\x07", "b": "\x08", "t": "\t", "\t": "\t", "n": "\n",
            "v": "\x0b", "f": "\x0c", "r": "\r", "e": "\x1b", " ": " ", '"': '"', "/": "/",
            "\\": "\\", "N": "\x85", "_": "\xa0", "L": "\u2028", "P": "\u2029"}
_HEX = {"x": 2, "u": 4, "U": 8}


def _sexagesimal(text: str) -> float | int:
    value: float | int = 0
    for part in text.split(":"):
        value = value * 60 + (float(part) if "." in part else int(part))
    return value


def plain_value(text: str, fail: Fail) -> Any:
    """A plain scalar typed as PyYAML types it (null, bool, int, float, else str)."""
    if _NULL_RE.fullmatch(text):
        return None
    if _BOOL_RE.fullmatch(text):
        return _BOOL[text.lower()]
    if _INT_RE.fullmatch(text):
        if len(text) > _MAX_DIGITS:
            raise fail(f"number of {len(text)} digits")
        body = text.replace("_", "")
        sign = -1 if body[0] == "-" else 1
        body = body.lstrip("+-")
        if body == "0":
            return 0
        if body.startswith("0b"):
            return sign * int(body, 0)
        if body.startswith("0x"):
            return sign * int(body, 0)
        if body.startswith("0"):
            return sign * int(body, 8)
        if ":" in body:
            return sign * int(_sexagesimal(body))
        return sign * int(body)
    if _FLOAT_RE.fullmatch(text):
        body = text.replace("_", "").lower()
        fsign = -1.0 if body[0] == "-" else 1.0
        body = body.lstrip("+-")
        if body == ".inf":
            return fsign * float("inf")
        if body == ".nan":
            return float("nan")
        if ":" in body:
            return fsign * float(_sexagesimal(body))
        return fsign * float(body)
    if _TIME_RE.fullmatch(text):
        raise fail(f"{text[:30]!r} reads as a date in YAML; quote it to keep it as text")
    return text


def fold(lines: list[str]) -> str:
    """Join the lines of a multi-line scalar: one break is a space, n empty lines n breaks."""
    out = lines[0]
    empty = 0
    for line in lines[1:]:
        if line == "":
            empty += 1
            continue
        out += ("\n" * empty) if empty else " "
        out += line
        empty = 0
    return out + "\n" * empty


def quoted_end(text: str, start: int) -> int | None:
    """The index just past the quoted scalar starting at ``start``, or None if unclosed."""
    quote = text[start]
    i = start + 1
    while i < len(text):
        ch = text[i]
        if quote == "'" and ch == "'":
            if text[i + 1:i + 2] == "'":
                i += 2
                continue
            return i + 1
        if quote == '"' and ch == "\\":
            i += 2
            continue
        if quote == '"' and ch == '"':
            return i + 1
        i += 1
    return None


def unquote(token: str, fail: Fail) -> str:
    """The value of one whole quoted scalar (quotes included in ``token``): lines folded
    (one break is a space, each empty line a break; a double-quoted line ending in ``\\``
    joins the next without one), escapes read in double quotes, ``''`` in single ones."""
    double = token[0] == '"'
    lines = token[1:-1].split("\n")
    out, i, joined, empties = "", 0, False, 0
    while i < len(lines):
        line = lines[i]
        if i:
            line = line.lstrip(" \t")
        last = i == len(lines) - 1
        if not last:
            tail = len(line) - len(line.rstrip("\\"))
            escaped = double and tail % 2 == 1
            line = line[:-1] if escaped else line.rstrip(" \t")
        text = _escapes(line, fail) if double else line.replace("''", "'")
        if i:
            out += "\n" * empties if (empties or joined) else " "
        out += text
        if last:
            break
        joined = escaped
        i += 1
        empties = 0
        while i < len(lines) - 1 and lines[i].strip(" \t") == "":
            empties += 1
            i += 1
    return out


def _escapes(line: str, fail: Fail) -> str:
    out, i = [], 0
    while i < len(line):
        ch = line[i]
        if ch != "\\":
            out.append(ch)
            i += 1
            continue
        code = line[i + 1:i + 2]
        if code in _ESCAPES:
            out.append(_ESCAPES[code])
            i += 2
        elif code in _HEX:
            digits = line[i + 2:i + 2 + _HEX[code]]
            if len(digits) != _HEX[code] or not re.fullmatch(r"[0-9a-fA-F]+", digits):
                raise fail(f"bad escape \\{code}{digits}")
            value = int(digits, 16)
            if value > 0x10FFFF:
                raise fail(f"bad escape \\{code}{digits}")
            out.append(chr(value))
            i += 2 + _HEX[code]
        else:
            raise fail(f"unknown escape \\{code} in a double-quoted value")
    return "".join(out)


class Incomplete(Exception):
    """The flow collection is not closed yet (more lines are needed)."""


class _Flow:
    def __init__(self, text: str, fail: Fail, unsupported: Fail) -> None:
        self.text, self.i, self.fail, self.unsupported = text, 0, fail, unsupported
        self.depth = 0

    def skip(self) -> None:
        while self.i < len(self.text):
            ch = self.text[self.i]
            if ch in " \t\n\r":
                self.i += 1
            elif ch == "#" and (self.i == 0 or self.text[self.i - 1] in " \t\n"):
                end = self.text.find("\n", self.i)
                self.i = len(self.text) if end < 0 else end
            else:
                return

    def peek(self) -> str:
        self.skip()
        if self.i >= len(self.text):
            raise Incomplete
        return self.text[self.i]

    def node(self) -> Any:
        ch = self.peek()
        if ch in "[{":
            self.depth += 1
            if self.depth > 64:
                raise self.fail("nested deeper than 64 levels")
            self.i += 1
            value = self.sequence() if ch == "[" else self.mapping()
            self.depth -= 1
            return value
        if ch in "'\"":
            end = quoted_end(self.text, self.i)
            if end is None:
                raise Incomplete
            token = self.text[self.i:end]
            self.i = end
            return unquote(token, self.fail)
        if ch in "&*!":
            raise self.unsupported({"&": "anchor ('&')", "*": "alias ('*')",
                                    "!": "tag ('!')"}[ch])
        if ch in "|>%@`":
            raise self.fail(f"a value in [ ] or {{ }} cannot start with {ch!r}")
        return plain_value(self.plain(), self.fail)

    def plain(self) -> str:
        start = self.i
        while self.i < len(self.text):
            ch = self.text[self.i]
            nxt = self.text[self.i + 1:self.i + 2]
            if ch in ",[]{}" or (ch == ":" and nxt in ("", " ", "\t", "\n", ",", "]", "}")):
                break
            if ch == "#" and self.text[self.i - 1] in " \t\n":
                break
            self.i += 1
        if self.i >= len(self.text):
            raise Incomplete  # a plain value may go on on the next line
        words = self.text[start:self.i].split("\n")
        return fold([w.strip(" \t") for w in words]).strip("\n") if len(words) > 1 \
            else words[0].strip(" \t")

    def after_key(self) -> bool:
        """Consume a ':' after a key; False when there is none."""
        if self.peek() == ":":
            self.i += 1
            return True
        return False

    def value_after_colon(self) -> Any:
        return None if self.peek() in ",}]" else self.node()

    def sequence(self) -> list[Any]:
        items: list[Any] = []
        while True:
            if self.peek() == "]":
                self.i += 1
                return items
            item = self.node()
            if self.after_key():
                item = {item: self.value_after_colon()}
            items.append(item)
            ch = self.peek()
            if ch == ",":
                self.i += 1
            elif ch != "]":
                raise self.fail(f"expected ',' or ']' in a [ ] list, found {ch!r}")

    def mapping(self) -> dict[Any, Any]:
        out: dict[Any, Any] = {}
        while True:
            if self.peek() == "}":
                self.i += 1
                return out
            if self.peek() == "?":
                raise self.unsupported("complex key ('?')")
            key = self.node()
            if isinstance(key, (dict, list)):
                raise self.unsupported("collection as a key")
            out[key] = self.value_after_colon() if self.after_key() else None
            ch = self.peek()
            if ch == ",":
                self.i += 1
            elif ch != "}":
                raise self.fail(f"expected ',' or '}}' in a {{ }} mapping, found {ch!r}")


def flow_value(text: str, fail: Fail, unsupported: Fail) -> Any:
    """The flow collection that is the whole of ``text`` (a comment may follow), or the
    module's :class:`Incomplete` when it needs more lines. Returns a 1-tuple."""
    reader = _Flow(text, fail, unsupported)
    value = reader.node()
    reader.skip()
    if reader.i < len(text):
        raise fail(f"unexpected {text[reader.i:reader.i + 20]!r} after a [ ] or {{ }} value")
    return (value,)
