"""Cosmetic formatting a case may forgive (``forgiveFormatting: true``): the rules, and
finding the answer inside its wrapping.

An answer differs from the expected text "only by cosmetic wrapping" when peeling at most
:data:`MAX_LAYERS` wrappers off it, and then at most comparing its Unicode compatibility form
and ignoring letter case, makes it equal. The rules, by the names a remark uses (:data:`RULES`):

* ``\\boxed{}`` - ``\\boxed{X}`` (braces balanced inside);
* ``$…$`` - ``$X$``, ``$$X$$``, ``\\(X\\)``, ``\\[X\\]`` (no closing delimiter inside);
* ``markdown emphasis`` - ``*X*``, ``**X**``, ``***X***`` and the same with ``_``;
* ``code span`` - ```` `X` ```` and ```` ``X`` ```` (the whole-answer code fence is already
  removed before any check sees the answer, see :func:`evaluator.checks.normalize`);
* ``brackets`` - ``(X)``, ``[X]``, ``{X}``, ``<X>`` (balanced inside, so ``(a) (b)`` stays);
* ``quotes`` - ``"X"``, ``'X'``, ``“X”``, ``‘X’``, ``«X»``, ``„X“``, ``‚X‘``, ``‹X›``,
  ``「X」``, ``『X』`` (no closing quote inside);
* ``Unicode compatibility form (NFKC)`` - both texts compared after ``unicodedata``'s NFKC
  (``CO₂`` equals ``CO2``, full-width ``４２`` equals ``42``; accents stay: ``é`` is not ``e``);
* ``letter case`` - both texts compared after ``str.casefold``.

Whitespace inside a wrapper is stripped after each peel. Nothing else is forgiven: not a
trailing full stop, not words around the answer (``The answer is 42``).
"""

from __future__ import annotations

import unicodedata

BOXED = "\\boxed{}"
MATH = "$…$"
EMPHASIS = "markdown emphasis"
CODE = "code span"
BRACKETS = "brackets"
QUOTES = "quotes"
NFKC = "Unicode compatibility form (NFKC)"
CASE = "letter case"
RULES: tuple[str, ...] = (BOXED, MATH, EMPHASIS, CODE, BRACKETS, QUOTES, NFKC, CASE)
MAX_LAYERS = 8

_BOXED_OPEN = "\\boxed{"
_MATH = (("$$", "$$"), ("$", "$"), ("\\(", "\\)"), ("\\[", "\\]"))
_EMPHASIS = ("***", "___", "**", "__", "*", "_")
_CODE = ("``", "`")
_BRACKETS = (("(", ")"), ("[", "]"), ("{", "}"), ("<", ">"))
_QUOTES = (('"', '"'), ("'", "'"), ("“", "”"), ("‘", "’"), ("«", "»"), ("„", "“"),
           ("‚", "‘"), ("‹", "›"), ("「", "」"), ("『", "』"))

Layer = tuple[str, int, int, tuple[str, ...]]  # (text, start, end, rules peeled so far)


def _balanced(text: str, open_: str, close: str) -> bool:
    depth = 0
    for char in text:
        if char == open_:
            depth += 1
        elif char == close:
            depth -= 1
            if depth < 0:
                return False
    return depth == 0


def _wrapped(text: str, open_: str, close: str) -> bool:
    return len(text) > len(open_) + len(close) and text.startswith(open_) \
        and text.endswith(close)


def _peel(text: str) -> tuple[str, int, int] | None:
    """The outermost wrapper of ``text``: ``(rule, start, end)`` of what it wraps, or None."""
    if _wrapped(text, _BOXED_OPEN, "}") and _balanced(text[len(_BOXED_OPEN):-1], "{", "}"):
        return BOXED, len(_BOXED_OPEN), len(text) - 1
    for open_, close in _MATH:
        if _wrapped(text, open_, close) and close not in text[len(open_):-len(close)]:
            return MATH, len(open_), len(text) - len(close)
    for rule, marks in ((EMPHASIS, _EMPHASIS), (CODE, _CODE)):
        for mark in marks:
            if _wrapped(text, mark, mark) and mark not in text[len(mark):-len(mark)]:
                return rule, len(mark), len(text) - len(mark)
    for open_, close in _BRACKETS:
        if _wrapped(text, open_, close) and _balanced(text[1:-1], open_, close):
            return BRACKETS, 1, len(text) - 1
    for open_, close in _QUOTES:
        inner = text[1:-1]
        if _wrapped(text, open_, close) and close not in inner and open_ not in inner:
            return QUOTES, 1, len(text) - 1
    return None


def layers(text: str) -> list[Layer]:
    """``text`` and each form of it with one more wrapper peeled off, outermost first; each
    with its span in ``text`` and the rules used so far (each named once)."""
    found: list[Layer] = [(text, 0, len(text), ())]
    start, end = 0, len(text)
    rules: tuple[str, ...] = ()
    for _ in range(MAX_LAYERS):
        peeled = _peel(text[start:end])
        if peeled is None:
            break
        rule, a, b = peeled
        inner = text[start + a:start + b]
        if not inner.strip():
            break
        start, end = start + a + len(inner) - len(inner.lstrip()), start + a + len(inner.rstrip())
        rules = rules if rule in rules else (*rules, rule)
        found.append((text[start:end], start, end, rules))
    return found


def unwrap(text: str, want: str) -> tuple[int, int, tuple[str, ...]] | None:
    """Where ``want`` is inside ``text`` once cosmetic wrapping is removed, and the rules that
    took (in the order used: the wrappers outermost first, then NFKC, then letter case); None
    when ``text`` differs by more than that. With NFKC the span is the whole of ``text``."""
    for inner, start, end, rules in layers(text):
        if inner == want:
            return start, end, rules
        if inner.casefold() == want.casefold():
            return start, end, (*rules, CASE)
    nf_want = unicodedata.normalize("NFKC", want)
    for inner, _start, _end, rules in layers(unicodedata.normalize("NFKC", text)):
        if inner == nf_want:
            return 0, len(text), (*rules, NFKC)
        if inner.casefold() == nf_want.casefold():
            return 0, len(text), (*rules, NFKC, CASE)
    return None
