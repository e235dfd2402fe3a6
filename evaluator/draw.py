"""Seeded draws for parameterized cases (``generate: {vars: ...}``) and ``{{name}}`` templates.

Draws must be the same in CPython and in the page's Pyodide, for any Python version, so
nothing here uses :mod:`random` (its algorithms may change between versions). :class:`Rng`
is splitmix64 (Steele, Lea and Flood, 2014; the generator that seeds xoshiro), written with
Python integers masked to 64 bits::

    state = (state + 0x9E3779B97F4A7C15) mod 2**64
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) mod 2**64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) mod 2**64
    return z ^ (z >> 31)

Each variable of each case draws from its own stream, :meth:`Rng.keyed`: the state starts
at the first 8 bytes (big endian) of ``sha256("localrate.draw/1\\0<seed>\\0<case id>\\0<var>")``.
So one run seed gives every model the same draws, and adding a case or a variable leaves the
other draws as they were. A choice among ``n`` values takes ``next() mod n`` after rejecting
the top ``2**64 mod n`` outputs, so every value is equally likely.

Drawn values are plain JSON: strings, booleans, lists, and numbers as JS holds them (an
integral number up to 2**53 is an ``int``; ``-0`` is ``0``; NaN and Infinity are refused).
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Mapping, Sequence
from typing import TypeVar

from evaluator import expr as ex
from evaluator import jsvalue as js
from evaluator.jsvalue import ExprError

MASK = (1 << 64) - 1
MAX_SAFE = (1 << 53) - 1  # JS Number.MAX_SAFE_INTEGER
MAX_VARS = 100
MAX_PICK = 10_000
KINDS = ("pick", "int", "expr")
TRIAL_SEEDS = (0, 1, 2, 3)  # check_spec evaluates every expression with these draws
_VAR_NAME = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]{0,63}")
_RESERVED = {"true", "false", "Math"}
_TEMPLATE = re.compile(r"\{\{\s*([A-Za-z_$][A-Za-z0-9_$]*)\s*\}\}")

T = TypeVar("T")


class Rng:
    """splitmix64: a small seeded generator, the same on every Python."""

    def __init__(self, seed: int) -> None:
        self.state = seed & MASK

    @classmethod
    def keyed(cls, seed: int, *parts: str) -> Rng:
        """The stream for ``seed`` and ``parts`` (e.g. a case id and a variable name)."""
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise TypeError(f"a seed must be a whole number, got {seed!r}")
        material = "\0".join(["localrate.draw/1", str(seed), *parts]).encode("utf-8")
        return cls(int.from_bytes(hashlib.sha256(material).digest()[:8], "big"))

    def next64(self) -> int:
        """The next 64-bit output."""
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        return z ^ (z >> 31)

    def below(self, n: int) -> int:
        """A uniform integer in ``[0, n)``, ``1 <= n <= 2**64``."""
        if not 1 <= n <= 1 << 64:
            raise ValueError(f"cannot draw below {n}")
        limit = ((1 << 64) // n) * n
        while True:
            x = self.next64()
            if x < limit:
                return x % n

    def int_between(self, lo: int, hi: int, step: int = 1) -> int:
        """A uniform one of ``lo, lo + step, ...`` up to ``hi`` (inclusive)."""
        if step < 1 or lo > hi:
            raise ValueError(f"no value between {lo} and {hi} in steps of {step}")
        return lo + step * self.below((hi - lo) // step + 1)

    def pick(self, items: Sequence[T]) -> T:
        """A uniform element of ``items`` (not empty)."""
        return items[self.below(len(items))]


def plain(value: js.Value, where: str) -> object:
    """An expression value as plain JSON (see the module docstring)."""
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ExprError(f"{where}: the result is {js.number_text(value)}, not a number")
        if value.is_integer() and abs(value) <= MAX_SAFE:
            return int(value)
        return value
    if isinstance(value, list):
        return [plain(item, where) for item in value]
    return value


def draw_vars(spec: Mapping[str, object], seed: int, case_id: str) -> dict[str, object]:
    """Draw every variable of a ``generate.vars`` mapping, in order.

    Raises ExprError (``vars.<name>.<field>: what``) when the spec is invalid or an
    expression cannot be evaluated with the values drawn.
    """
    problem = _static_problem(spec)
    if problem:
        raise ExprError(problem)
    return _draw(spec, seed, case_id)


def _draw(spec: Mapping[str, object], seed: int, case_id: str) -> dict[str, object]:
    values: dict[str, object] = {}
    for name, body in spec.items():
        assert isinstance(body, Mapping)
        kind = next(k for k in KINDS if k in body)
        rng = Rng.keyed(seed, case_id, name)
        if kind == "pick":
            items = body["pick"]
            assert isinstance(items, list)
            values[name] = plain(js.to_value(rng.pick(items)), f"vars.{name}.pick")
            # (check_spec made sure every item converts: finite, safe integers, capped)
        elif kind == "int":
            bounds = body["int"]
            assert isinstance(bounds, Mapping)
            lo, hi = _whole(bounds["min"]), _whole(bounds["max"])
            step = _whole(bounds.get("step", 1))
            assert lo is not None and hi is not None and step is not None
            values[name] = rng.int_between(lo, hi, step)
        else:
            where = f"vars.{name}.expr"
            try:
                result = ex.evaluate(ex.parse(body["expr"]), values)
            except ExprError as exc:
                raise ExprError(f"{where}: {exc}") from None
            values[name] = plain(result, where)
    return values


def check_spec(spec: object) -> str | None:
    """The first problem of a ``generate.vars`` mapping, as ``vars.<name>.<field>: what``.

    Beyond the static rules, every expression is evaluated with the draws of the run seeds
    in :data:`TRIAL_SEEDS`, so a type error (``word.toFixed(2)``) is found at load time.
    """
    problem = _static_problem(spec)
    if problem is None:
        assert isinstance(spec, Mapping)
        try:
            for seed in TRIAL_SEEDS:
                _draw(spec, seed, "")
        except ExprError as exc:
            return str(exc)
    return problem


def _static_problem(spec: object) -> str | None:
    if not isinstance(spec, Mapping):
        return f"vars: expected a mapping of names to specs, got {type(spec).__name__}"
    if len(spec) > MAX_VARS:
        return f"vars: more than {MAX_VARS} variables"
    defined = list(spec)
    for index, (name, body) in enumerate(spec.items()):
        if not isinstance(name, str) or not _VAR_NAME.fullmatch(name) or name in _RESERVED:
            return (f"vars.{name}: not a valid name (letters, digits, _ and $, not starting "
                    "with a digit, at most 64; not true, false or Math)")
        problem = _var_problem(f"vars.{name}", body, defined[:index], defined[index:])
        if problem:
            return problem
    return None


def _var_problem(where: str, body: object, before: list[str], after: list[str]) -> str | None:
    if not isinstance(body, Mapping):
        return f"{where}: expected a mapping such as {{pick: [...]}}, {{int: {{min, max}}}} " \
            "or {expr: '...'}"
    kinds = [k for k in KINDS if k in body]
    if not kinds:
        first = next(iter(body), None)
        shown = f"unknown var kind '{first}'" if first is not None else "no var kind"
        return f"{where}: {shown} (expected pick, int or expr)"
    if len(kinds) > 1:
        return f"{where}: has both '{kinds[0]}' and '{kinds[1]}'; give one kind"
    if kinds[0] == "pick":
        return _pick_problem(f"{where}.pick", body["pick"])
    if kinds[0] == "int":
        return _int_problem(f"{where}.int", body["int"])
    return _expr_problem(f"{where}.expr", body["expr"], before, after)


def _pick_problem(where: str, items: object) -> str | None:
    if not isinstance(items, list):
        return f"{where}: expected a list of values, got {type(items).__name__}"
    if not items:
        return f"{where}: empty list"
    if len(items) > MAX_PICK:
        return f"{where}: more than {MAX_PICK:,} values"
    for i, item in enumerate(items):
        problem = _value_problem(item, 0)
        if problem:
            return f"{where}[{i}]: {problem}"
    return None


def _value_problem(item: object, depth: int) -> str | None:
    if isinstance(item, bool):
        return None
    if isinstance(item, int):
        return None if abs(item) <= MAX_SAFE else f"{item} is beyond +-{MAX_SAFE} (2**53 - 1)"
    if isinstance(item, float):
        return None if math.isfinite(item) else "a number must be finite"
    if isinstance(item, str):
        return None if len(item) <= js.MAX_TEXT else f"longer than {js.MAX_TEXT:,} characters"
    if isinstance(item, list) and depth < js.MAX_NESTING:
        return next((p for p in (_value_problem(x, depth + 1) for x in item) if p), None)
    if isinstance(item, list):
        return f"lists nested deeper than {js.MAX_NESTING} levels"
    return f"expected a string, number, true/false or a list of them, got {type(item).__name__}"


def _whole(value: object) -> int | None:
    """``value`` as an int when it is a whole number (``3`` or ``3.0``), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def _int_problem(where: str, bounds: object) -> str | None:
    if not isinstance(bounds, Mapping):
        return f"{where}: expected a mapping {{min, max, step?}}, got {type(bounds).__name__}"
    found: dict[str, int] = {}
    for field in ("min", "max", "step"):
        if field not in bounds:
            if field == "step":
                continue
            return f"{where}.{field}: missing"
        number = _whole(bounds[field])
        if number is None:
            return f"{where}.{field}: expected a whole number, got {bounds[field]!r}"
        if abs(number) > MAX_SAFE:
            return f"{where}.{field}: {number} is beyond +-{MAX_SAFE} (2**53 - 1)"
        found[field] = number
    if found["min"] > found["max"]:
        return f"{where}: min {found['min']} is greater than max {found['max']}"
    if found.get("step", 1) < 1:
        return f"{where}.step: must be 1 or more, got {found['step']}"
    return None


def _expr_problem(where: str, source: object, before: list[str], after: list[str]) -> str | None:
    try:
        parsed = ex.parse(source)
    except ExprError as exc:
        return f"{where}: {exc}"
    for node in ex.name_nodes(parsed):
        column = f"at column {node.pos + 1}"
        if node.name == after[0]:
            return f"{where}: '{node.name}' uses itself {column}"
        if node.name in after:
            return f"{where}: '{node.name}' is defined after '{after[0]}' {column}; an expr " \
                "can use only the vars above it"
        if node.name not in before:
            return f"{where}: unknown name '{node.name}' {column}"
    return None


def template_names(template: str) -> set[str]:
    """The names a ``{{name}}`` template uses (spaces inside the braces are allowed)."""
    return set(_TEMPLATE.findall(template))


def render(template: str, values: Mapping[str, object]) -> str:
    """``template`` with every ``{{name}}`` replaced by ``String(value)`` (one pass: text
    that a value brings in is not expanded again). An unknown name is an ExprError."""
    def one(found: re.Match[str]) -> str:
        name = found.group(1)
        if name not in values:
            raise ExprError(f"{{{{{name}}}}} is not defined")
        return js.to_text(values[name])

    return _TEMPLATE.sub(one, template)
