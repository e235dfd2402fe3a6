"""Regex checks that finish: refuse catastrophic patterns at load, cap the text they see.

Python's ``re`` backtracks, and nothing can interrupt a running ``re.search`` (in Pyodide
there are no threads or signals either), so every bound here holds by construction:

* A pattern is parsed with the standard library's own parser (``re._parser``) and refused
  when it can backtrack exponentially: a repeat (``+``, ``*``, ``{m,n}``...) around
  something that has its own quantifier (``(a+)+``, ``(a*b?)*``), a backreference or a
  lookaround holding a quantifier inside a repeat, or alternatives that can start with the
  same character inside a repeat (``(a|ab)+``, ``(a|a)*``).
* What is left is polynomial, of a degree this module counts: the number of quantifiers
  in a row that can match the same characters (``.*.*x`` has two), plus one for the search
  itself (``re.search`` tries every start) unless the pattern is anchored with ``^``
  (without ``m``) or ``\\A``. A degree above :data:`MAX_DEGREE` is refused.
* The text a pattern sees is cut to :attr:`RegexPlan.cap` characters, chosen so that
  ``cap ** degree / degree!`` backtracking steps, times the cost of one step, stays within
  :data:`STEP_BUDGET` (under a second of CPython, measured: a step costs the repeat's
  own step, see ``_step_cost``, plus what trying the rest of the pattern can cost). Optional
  parts that can start like what follows them, and alternatives that can start alike,
  multiply that cost (at most ``2 ** MAX_CHOICE_BITS`` ways, else refused). No pattern sees
  more than :data:`MAX_TEXT_CHARS` characters: e.g. ``^\\d+$`` sees 100,000, ``.*x``
  15,811, ``(a|b)*c`` 4,822, ``.*.*.*x`` 196.

Patterns longer than :data:`MAX_PATTERN_CHARS` characters, or with groups nested deeper than
:data:`MAX_NESTING`, are refused. Everything here is pure and runs unchanged in CPython and
Pyodide (its Python 3.14 has the same ``re._parser``).
"""

from __future__ import annotations

import importlib
import math
import re
import warnings
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

MAX_PATTERN_CHARS = 1000
MAX_NESTING = 32
MAX_DEGREE = 4
MAX_TEXT_CHARS = 100_000
STEP_BUDGET = 1_000_000_000  # under a second of CPython (see _step_cost)
UNROLL = MAX_DEGREE + 2  # a fixed repeat {k} is walked this many times at most
MAX_CHOICE_BITS = 12
MAX_REPEAT_COUNT = 1 << 16
SAMPLES = "\u00a0\u00e9\u00df\u0130\u0131\u017f\u0391\u03a9\u0410\u044f\u0660\u0669\u0966" \
    "\u1680\u2002\u2003\u2013\u2014\u2019\u201c\u2026\u2028\u212a\u3000\u4e2d\uff10\uff21" \
    "\U0001d7ce\U0001f600"

_sre: Any = importlib.import_module("re._parser")
_compiler: Any = importlib.import_module("re._compiler")
_REPEATS = {_sre.MAX_REPEAT, _sre.MIN_REPEAT, _sre.POSSESSIVE_REPEAT}
_CHAR_OPS = {_sre.LITERAL, _sre.NOT_LITERAL, _sre.ANY, _sre.IN}
_ZERO_WIDTH = {_sre.AT, getattr(_sre, "FAILURE", _sre.AT)}
_LOOKAROUND = {_sre.ASSERT, _sre.ASSERT_NOT}


class RegexRefused(ValueError):
    """The pattern is invalid or could run too long; the message says why (one line)."""


@dataclass(frozen=True)
class RegexPlan:
    """How a valid pattern is run: its degree, its step weight and the text cap."""

    degree: int
    weight: int

    @property
    def cap(self) -> int:
        """The most characters the pattern may see."""
        if self.degree <= 1:
            return max(1, min(MAX_TEXT_CHARS, STEP_BUDGET // self.weight))
        steps = STEP_BUDGET * math.factorial(self.degree) / self.weight
        return max(1, min(MAX_TEXT_CHARS, int(steps ** (1 / self.degree))))


def _nesting(pattern: str) -> int:
    """How deeply the groups of ``pattern`` nest (escapes and [classes] skipped)."""
    level = deepest = 0
    i, in_class = 0, False
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            i += 1
        elif in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
            i += 2 if pattern[i + 1:i + 3] == "^]" else 1 if pattern[i + 1:i + 2] == "]" else 0
        elif char == "(":
            level += 1
            deepest = max(deepest, level)
        elif char == ")":
            level -= 1
        i += 1
    return deepest


def _shown(pattern: str) -> str:
    return repr(pattern if len(pattern) <= 60 else pattern[:60] + "…")


Chars = frozenset[str]
State = tuple[int, Chars]  # (quantifiers in the current chain, characters they can take)


class _Walker:
    """One pattern's analysis: character sets by probing, then the two rules."""

    def __init__(self, parsed: Any, flags: int) -> None:
        self.state = parsed.state
        self.flags = flags | parsed.state.flags
        probes = {chr(c) for c in range(0x180)} | set(SAMPLES)
        self._collect(parsed, probes)
        self.probes = "".join(sorted(probes))
        self.everything: Chars = frozenset(self.probes)
        self._cache: dict[tuple[str, int], Chars] = {}
        self.best = 0
        self.weight = 1

    def _collect(self, seq: Any, probes: set[str]) -> None:
        """Add every literal and range end of the pattern (and their cases) to the probes."""
        for op, av in seq:
            codes: list[int] = []
            if op in (_sre.LITERAL, _sre.NOT_LITERAL):
                codes = [av]
            elif op is _sre.IN:
                for kind, value in av:
                    if kind in (_sre.LITERAL, _sre.NOT_LITERAL):
                        codes.append(value)
                    elif kind is _sre.RANGE:
                        codes += [value[0], value[1], (value[0] + value[1]) // 2]
            for code in codes:
                char = chr(code)
                probes.update(c for c in (char, char.lower(), char.upper()) if len(c) == 1)
            for child in _children(op, av):
                self._collect(child, probes)

    def chars(self, item: tuple[Any, Any], flags: int) -> Chars:
        """The probe characters one single-character item matches."""
        key = (repr(item), flags)
        if key not in self._cache:
            try:
                compiled = _compiler.compile(_sre.SubPattern(self.state, [item]), flags)
                self._cache[key] = frozenset(m.group() for m in compiled.finditer(self.probes))
            except Exception:  # noqa: BLE001 - unknown internals: assume the worst
                self._cache[key] = self.everything
        return self._cache[key]

    def all_chars(self, seq: Any, flags: int) -> Chars:
        """Every character anything in ``seq`` can consume."""
        out: set[str] = set()
        for op, av in seq:
            if op in _CHAR_OPS:
                out |= self.chars((op, av), flags)
            elif op is _sre.GROUPREF:
                return self.everything
            for child, child_flags in _children_flags(op, av, flags):
                if op not in _LOOKAROUND:
                    out |= self.all_chars(child, child_flags)
        return frozenset(out)

    def first(self, seq: Any, flags: int) -> tuple[Chars, bool]:
        """(characters a match of ``seq`` can start with, whether it can match empty)."""
        out: set[str] = set()
        for op, av in seq:
            if op in _CHAR_OPS:
                return frozenset(out | self.chars((op, av), flags)), False
            if op in _ZERO_WIDTH or op in _LOOKAROUND:
                continue
            if op in _REPEATS:
                chars, empty = self.first(av[2], flags)
                out |= chars
                if av[0] > 0 and not empty:
                    return frozenset(out), False
                continue
            if op is _sre.BRANCH or op is _sre.GROUPREF_EXISTS:
                empty_any = False
                for child, child_flags in _children_flags(op, av, flags):
                    chars, empty = self.first(child, child_flags)
                    out |= chars
                    empty_any = empty_any or empty
                if op is _sre.GROUPREF_EXISTS and av[2] is None:
                    empty_any = True
                if not empty_any:
                    return frozenset(out), False
                continue
            if op in (_sre.SUBPATTERN, _sre.ATOMIC_GROUP):
                child, child_flags = _children_flags(op, av, flags)[0]
                chars, empty = self.first(child, child_flags)
                out |= chars
                if not empty:
                    return frozenset(out), False
                continue
            return self.everything, True  # GROUPREF and anything unknown
        return frozenset(out), True

    # -- rule 1: exponential backtracking -------------------------------------------------

    def check_nesting(self, seq: Any, flags: int, pattern: str) -> None:
        for op, av in seq:
            if op in _REPEATS and av[1] >= 2:
                self._check_repeat_body(av, flags, pattern)
            for child, child_flags in _children_flags(op, av, flags):
                self.check_nesting(child, child_flags, pattern)

    def _check_repeat_body(self, av: Any, flags: int, pattern: str) -> None:
        low, high, body = av
        if self.ambiguous_inside(body, flags):
            raise RegexRefused(
                f"{_shown(pattern)} can backtrack exponentially: a repeated group has "
                "alternatives that can start with the same character (like (a|ab)+)")
        if _has(body, _risky_in_repeat):
            raise RegexRefused(
                f"{_shown(pattern)} can backtrack exponentially: a repeated group holds a "
                "backreference or a lookaround with a quantifier")
        if high > low and _has(body, _variable):
            raise RegexRefused(
                f"{_shown(pattern)} can backtrack exponentially: a quantifier inside a "
                "repeated group (like (a+)+ or (a*b?)*); repeat something of fixed length, "
                "or use one quantifier")

    def ambiguous_inside(self, seq: Any, flags: int) -> bool:
        """Whether ``seq`` holds alternatives that can start alike."""
        for op, av in seq:
            if op is _sre.BRANCH and self.ambiguous(av[1], flags, self.everything):
                return True
            for child, child_flags in _children_flags(op, av, flags):
                if op not in _LOOKAROUND and self.ambiguous_inside(child, child_flags):
                    return True
        return False

    def ambiguous(self, alternatives: Any, flags: int, follow: Chars = frozenset()) -> bool:
        """Whether two alternatives can start with the same character (an empty one starts
        with what ``follow``s it)."""
        seen: set[str] = set()
        for alt in alternatives:
            chars, empty = self.first(alt, flags)
            if empty and not follow and not seen:
                seen.add("")  # an empty alternative at the very end: one way, not two
                continue
            chars = chars | follow if empty else chars
            if chars & seen or (empty and "" in seen):
                return True
            seen |= chars
        return False

    def choices(self, seq: Any, flags: int, follow: Chars) -> float:
        """log2 of how many ways the choices in ``seq`` can combine, a constant factor on
        every step: alternatives that can start alike, and optional parts that can start
        like what follows them (``follow``: the characters that can come after ``seq``)."""
        items = list(seq)
        total = 0.0
        for i, (op, av) in enumerate(items):
            chars, empty = self.first(items[i + 1:], flags)
            rest = chars | follow if empty else chars
            if op is _sre.BRANCH:
                extra = math.log2(len(av[1])) if self.ambiguous(av[1], flags, rest) else 0.0
                total += extra + max(self.choices(alt, flags, rest) for alt in av[1])
            elif op is _sre.GROUPREF_EXISTS:
                total += 1 + max(self.choices(c, flags, rest) for c in av[1:] if c is not None)
            elif op in _REPEATS:
                low, high, body = av
                start, body_empty = self.first(body, flags)
                inner = self.choices(body, flags, start | rest)
                if high <= 1:
                    total += (high - low) * float(body_empty or bool(start & rest)) + inner
                else:
                    total += min(low if low == high else 1, MAX_REPEAT_COUNT) * inner
            else:
                for child, child_flags in _children_flags(op, av, flags):
                    after = frozenset() if op in _LOOKAROUND else rest
                    total += self.choices(child, child_flags, after)
        return total

    # -- rule 2: polynomial degree ----------------------------------------------------------

    def walk(self, seq: Any, flags: int, state: State) -> State:
        """Follow ``seq`` from ``state``; ``self.best`` keeps the longest chain seen."""
        for op, av in seq:
            state = self._step(op, av, flags, state)
            self.best = max(self.best, state[0])
        return state

    def _step(self, op: Any, av: Any, flags: int, state: State) -> State:
        chain, taken = state
        if op in _CHAR_OPS:
            return state if self.chars((op, av), flags) & taken else (0, frozenset())
        if op in _ZERO_WIDTH:
            return state
        if op in _LOOKAROUND:
            outer, self.best = self.best, 0
            self.walk(av[1], flags, (0, frozenset()))
            self.best = max(outer, chain + self.best)
            return state
        if op in (_sre.SUBPATTERN, _sre.ATOMIC_GROUP):
            child, child_flags = _children_flags(op, av, flags)[0]
            return self.walk(child, child_flags, state)
        if op is _sre.BRANCH or op is _sre.GROUPREF_EXISTS or (op in _REPEATS and av[1] <= 1):
            # Alternatives (an optional part is "itself or nothing"): each is followed from
            # here; the choice itself is counted by choices(), not as a quantifier.
            results = [self.walk(child, child_flags, state)
                       for child, child_flags in _children_flags(op, av, flags)]
            if op is not _sre.BRANCH and (op is _sre.GROUPREF_EXISTS or av[0] == 0):
                results.append(state)
            return max(r[0] for r in results), frozenset().union(*(r[1] for r in results))
        if op in _REPEATS and av[0] == av[1]:
            for _ in range(min(av[0], UNROLL)):
                state = self.walk(av[2], flags, state)
            return state
        if op in _REPEATS:
            body = av[2]
            self.weight = max(self.weight, _step_cost(op, body, flags))
            empty = av[0] == 0 or self.first(body, flags)[1]
            return self._element(state, self.all_chars(body, flags), empty)
        self.weight = max(self.weight, 32)  # GROUPREF and anything unknown
        return self._element(state, self.everything, True)

    @staticmethod
    def _element(state: State, chars: Chars, empty: bool) -> State:
        """One more quantifier: it extends the chain when it can take the chain's text."""
        chain, taken = state
        if chars & taken:
            return chain + 1, taken | chars
        if empty:
            return max(chain, 1), taken | chars
        return 1, chars


def _children(op: Any, av: Any) -> list[Any]:
    return [child for child, _ in _children_flags(op, av, 0)]


def _children_flags(op: Any, av: Any, flags: int) -> list[tuple[Any, int]]:
    """The sub-sequences of one parsed item, with the flags in force inside them."""
    if op is _sre.SUBPATTERN:
        return [(av[3], (flags | av[1]) & ~av[2])]
    if op is _sre.ATOMIC_GROUP:
        return [(av, flags)]
    if op in _REPEATS:
        return [(av[2], flags)]
    if op is _sre.BRANCH:
        return [(alt, flags) for alt in av[1]]
    if op in _LOOKAROUND:
        return [(av[1], flags)]
    if op is _sre.GROUPREF_EXISTS:
        return [(child, flags) for child in av[1:] if child is not None]
    return []


def _variable(op: Any, av: Any) -> bool:
    return (op in _REPEATS and av[1] > av[0]) or op in (_sre.GROUPREF, _sre.GROUPREF_EXISTS)


def _risky_in_repeat(op: Any, av: Any) -> bool:
    return op is _sre.GROUPREF or (op in _LOOKAROUND and _has(av[1], _variable))


def _has(seq: Any, test: Any) -> bool:
    return _count(seq, test) > 0


def _count(seq: Any, test: Any) -> int:
    return sum(int(test(op, av)) + sum(_count(child, test) for child in _children(op, av))
               for op, av in seq)


def _size(seq: Any) -> int:
    return sum(1 + sum(_size(child) for child in _children(op, av)) for op, av in seq)


def _single(seq: Any) -> Any:
    """The one single-character item ``seq`` is (``re`` repeats it fast), or None."""
    if len(seq) != 1:
        return None
    op, av = seq[0]
    if op is _sre.SUBPATTERN:
        return _single(av[3]) if av[0] is None else None
    return op if op in _CHAR_OPS else None


def _step_cost(op: Any, body: Any, flags: int) -> int:
    """What one backtracking step of a repeat costs, in about a nanosecond of CPython:
    measured from 1 to 2 for ``.*`` and ``a*``, 4 to 16 for classes like ``\\d*`` or
    ``[^,\\n]*``, 14 to 26 with ``i`` or lazy (``*?``), about 26 for ``(a|b)*``."""
    unit = _single(body)
    if unit is None:
        cost = 32 + 4 * _size(body)
    else:
        cost = 2 if unit in (_sre.ANY, _sre.LITERAL, _sre.NOT_LITERAL) else 16
        if op is _sre.MIN_REPEAT:
            cost = 32
    return cost * 2 if flags & re.IGNORECASE else cost


def _node_cost(op: Any, av: Any) -> int:
    if op is _sre.IN:
        return 4
    if op in _CHAR_OPS or op in _ZERO_WIDTH:
        return 2
    if op in _REPEATS:
        return 2 if op is _sre.MAX_REPEAT and _single(av[2]) is not None else 32
    if op is _sre.SUBPATTERN:
        return 2 if av[0] is None else 8
    if op is _sre.BRANCH:
        return 4
    return 8 if op in _LOOKAROUND or op is _sre.ATOMIC_GROUP else 16


def _run_cost(seq: Any) -> int:
    """What trying the whole pattern once can cost (every backtracking step tries what
    follows it, at worst all of it): the sum of its parts, in the unit of ``_step_cost``."""
    return sum(_node_cost(op, av) + sum(_run_cost(child) for child in _children(op, av))
               for op, av in seq)


def _anchored(parsed: Any, flags: int) -> bool:
    """Whether the pattern can only match at the start of the text."""
    if not parsed.data:
        return False
    op, av = parsed.data[0]
    if op is not _sre.AT:
        return False
    return av is _sre.AT_BEGINNING_STRING or (
        av is _sre.AT_BEGINNING and not flags & re.MULTILINE)


@lru_cache(maxsize=512)
def plan(pattern: str, flags: int = 0) -> RegexPlan:
    """How ``pattern`` runs safely, or :class:`RegexRefused` saying why it cannot."""
    if len(pattern) > MAX_PATTERN_CHARS:
        raise RegexRefused(f"pattern is {len(pattern)} characters long "
                           f"(limit {MAX_PATTERN_CHARS})")
    if _nesting(pattern) > MAX_NESTING:
        raise RegexRefused(f"{_shown(pattern)}: groups nested deeper than {MAX_NESTING} levels")
    try:
        with warnings.catch_warnings():  # e.g. "possible nested set": not the suite's problem
            warnings.simplefilter("ignore")
            re.compile(pattern, flags)
            parsed = _sre.parse(pattern, flags)
    except (re.error, RecursionError, OverflowError, ValueError) as err:
        reason = " ".join(str(err).split())[:120]
        raise RegexRefused(f"invalid regex {_shown(pattern)}: {reason}") from None
    walker = _Walker(parsed, flags)
    walker.check_nesting(parsed, walker.flags, pattern)
    walker.walk(parsed, walker.flags, (0, frozenset()))
    choices = walker.choices(parsed, walker.flags, frozenset())
    if choices > MAX_CHOICE_BITS:
        raise RegexRefused(
            f"{_shown(pattern)} can backtrack for too long: its optional parts and "
            f"alternatives that start alike combine in more than 2**{MAX_CHOICE_BITS} ways")
    degree = walker.best + (0 if _anchored(parsed, walker.flags) else 1)
    if degree > MAX_DEGREE:
        raise RegexRefused(
            f"{_shown(pattern)} can backtrack for too long: {walker.best} quantifiers in a row "
            f"can match the same text (at most {MAX_DEGREE - 1}, or {MAX_DEGREE} when anchored "
            "with ^ or \\A); use narrower character classes or fewer quantifiers")
    cost = _run_cost(parsed) * (2 if walker.flags & re.IGNORECASE else 1)
    return RegexPlan(degree=degree, weight=(walker.weight + cost) << round(choices))


def problem(pattern: str, flags: int = 0) -> str | None:
    """Why ``pattern`` cannot be used as a check, or None."""
    try:
        plan(pattern, flags)
    except RegexRefused as err:
        return str(err)
    return None


def search(pattern: str, text: str, flags: int = 0) -> tuple[re.Match[str] | None, int]:
    """``re.search`` on at most ``plan(pattern).cap`` characters of ``text``.

    Returns the match and how many characters the pattern saw (``len(text)`` when it saw all).
    Raises :class:`RegexRefused` for a pattern :func:`plan` refuses."""
    cap = plan(pattern, flags).cap
    seen = text if len(text) <= cap else text[:cap]
    return re.search(pattern, seen, flags), len(seen)


def cut_note(seen: int, total: int) -> str:
    """`` (checked the first 20000 of 31000 characters)`` when the text was cut, else ``""``."""
    return f" (checked the first {seen} of {total} characters)" if seen < total else ""
