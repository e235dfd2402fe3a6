"""What a case expects: the check kinds and their keys, validating an ``expect``, and
describing it to a person.

``expect`` is one check (``{kind, ...}``) or a list of them that must all pass (at most
:data:`MAX_CHECKS`). :data:`KINDS` is the documented list of kinds; :mod:`evaluator.checks`
runs them (its ``CHECKS`` registry has exactly these keys).

The seed's and the peer's spellings are aliases (:data:`ALIASES`): a ``regex`` check may
carry its pattern as ``value``, a ``tool_call`` its schema as ``argsSchema``.
:func:`canonical_expect` folds them into ``pattern`` and ``arguments`` (the resolved suite
JSON holds only those); an error names the key as the suite wrote it, and both spellings of
one key must agree.
"""

from __future__ import annotations

import json
import re
from typing import Any

from evaluator import regex_guard, suite_files
from evaluator.schemas import schema_problem

KINDS: tuple[str, ...] = ("contains", "regex", "exact", "json_schema", "tool_call",
                          "no_tool_call", "not_contains")
MAX_CHECKS = 16  # checks in one ``expect`` list
REGEX_FLAGS = {"i": re.IGNORECASE, "m": re.MULTILINE, "s": re.DOTALL}


def regex_flags(letters: str) -> int:
    flags = 0
    for letter in letters:
        flags |= REGEX_FLAGS[letter]
    return flags


# kind -> {alias: canonical key}: the seed's and the peer's spellings of a check's keys.
ALIASES: dict[str, dict[str, str]] = {"regex": {"value": "pattern"},
                                      "tool_call": {"argsSchema": "arguments"}}


def _aliases(expect: dict[str, Any]) -> dict[str, str]:
    kind = expect.get("kind")
    return ALIASES.get(kind, {}) if isinstance(kind, str) else {}


def canonical_expect(expect: dict[str, Any]) -> dict[str, Any]:
    """``expect`` with its aliases folded into the canonical keys (``value`` of a regex into
    ``pattern``, ``argsSchema`` into ``arguments``); other keys are kept as they are."""
    aliases = _aliases(expect)
    if not any(alias in expect for alias in aliases):
        return expect
    out = {key: value for key, value in expect.items() if key not in aliases}
    for alias, key in aliases.items():
        if alias in expect and key not in expect:
            out[key] = expect[alias]
    return out


def checks_of(expect: Any) -> list[Any]:
    """The checks ``expect`` holds: itself, or its items when it is a list."""
    return list(expect) if isinstance(expect, list) else [expect]


def _written(expect: dict[str, Any], key: str) -> str:
    """The key the suite wrote for canonical ``key`` (the alias when only that is there)."""
    aliases = _aliases(expect)
    alias = next((a for a, k in aliases.items() if k == key and a in expect), None)
    return alias if alias is not None and key not in expect else key


def _need_str(expect: dict[str, Any], key: str, where: str) -> str | None:
    value = expect.get(key)
    if value is None:
        return f"{where}.{key}: missing"
    if not isinstance(value, str) or not value:
        return f"{where}.{key}: must be a non-empty string, got {suite_files.shown(value)}"
    return None


def expect_problem(expect: Any, where: str = "expect") -> str | None:
    """Why ``expect`` (one check or a list of them) cannot be checked (``"field: what"``,
    the field starting with ``where``), or None when it is valid."""
    if isinstance(expect, list):
        if not expect:
            return f"{where}: must not be an empty list (give at least one check)"
        if len(expect) > MAX_CHECKS:
            return f"{where}: at most {MAX_CHECKS} checks, got {len(expect)}"
        for i, item in enumerate(expect):
            problem = _one_problem(item, f"{where}[{i}]")
            if problem is not None:
                return problem
        return None
    return _one_problem(expect, where)


def _one_problem(expect: Any, where: str) -> str | None:
    if not isinstance(expect, dict):
        return f"{where}: must be a mapping with a kind, got {suite_files.shown(expect)}"
    kind = expect.get("kind")
    if kind is None:
        return f"{where}.kind: missing"
    if not isinstance(kind, str) or kind not in KINDS:
        return f"{where}.kind: unknown kind {suite_files.shown(kind)} (known: {', '.join(KINDS)})"
    for alias, key in _aliases(expect).items():
        if alias in expect and key in expect and expect[alias] != expect[key]:
            return f"{where}.{alias}: differs from {key} (give one of them)"
    canon = canonical_expect(expect)
    if kind in ("contains", "not_contains", "exact"):
        return _need_str(canon, "value", where)
    if kind == "regex":
        flags = canon.get("flags", "")
        if not isinstance(flags, str) or set(flags) - set(REGEX_FLAGS):
            return f"{where}.flags: must be a combination of i, m, s, got {suite_files.shown(flags)}"
        key = _written(expect, "pattern")
        problem = _need_str(canon, "pattern", where)
        if problem is None:
            refused = regex_guard.problem(canon["pattern"], regex_flags(flags))
            return f"{where}.{key}: {refused}" if refused else None
        return problem.replace(f"{where}.pattern:", f"{where}.{key}:", 1)
    if kind == "json_schema":
        if "schema" not in canon:
            return f"{where}.schema: missing"
        problem = schema_problem(canon["schema"])
        return f"{where}.schema: {problem}" if problem else None
    if kind == "no_tool_call":
        return None
    problem = _need_str(canon, "name", where)  # tool_call
    if problem is None and not isinstance(canon.get("only", False), bool):
        return f"{where}.only: expected true or false, got {suite_files.shown(canon['only'])}"
    if problem is None and "arguments" in canon:
        args_problem = schema_problem(canon["arguments"])
        key = _written(expect, "arguments")
        return f"{where}.{key}: {args_problem}" if args_problem else None
    return problem

def _describe_one(expect: dict[str, Any]) -> str:
    def quoted(value: Any) -> str:
        return json.dumps(value, ensure_ascii=False)

    kind = expect["kind"]
    if kind in ("contains", "not_contains"):
        verb = "contains" if kind == "contains" else "does not contain"
        any_case = " (any case)" if expect.get("case_sensitive") is False else ""
        return f"{verb} {quoted(expect.get('value'))}{any_case}"
    if kind == "exact":
        return f"is exactly {quoted(expect.get('value'))}"
    if kind == "regex":
        return f"matches /{expect.get('pattern')}/{expect.get('flags') or ''}"
    if kind == "json_schema":
        return f"JSON matching the schema\n{_block(expect.get('schema'))}"
    if kind == "no_tool_call":
        return "calls no tool"
    name = expect.get("name")  # tool_call
    calls = f"calls only {name}" if expect.get("only") is True else f"calls {name}"
    if "arguments" in expect:
        return f"{calls} with arguments matching\n{_block(expect['arguments'])}"
    return calls


def _block(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2, sort_keys=False)


def _describable(expect: Any) -> bool:
    return isinstance(expect, dict) and isinstance(expect.get("kind"), str) \
        and expect["kind"] in KINDS


def describe_expect(expect: Any, accept: Any = (), forgive: bool = False) -> str:
    """What a case expects, as a person reads it: the one place each kind's description is
    written (the page's "Expected" block and the CLI's lines for cases that did not pass).
    A schema is shown in full, indented, after the first line.

    A list of checks reads as their first lines joined by `` and `` (then any schemas).
    ``accept`` (a case's accepted answers, see :mod:`evaluator.judge`) and ``forgive`` (its
    ``forgiveFormatting``) add one line each after that, so the first line stays the checks.
    """
    items = checks_of(expect)
    if not items or not all(_describable(item) for item in items):
        text = _block(expect)
    else:
        parts = [_describe_one(canonical_expect(item)).split("\n", 1) for item in items]
        text = " and ".join(part[0] for part in parts)
        text += "".join(f"\n{part[1]}" for part in parts if len(part) > 1)
    clauses = [c for c in accept if isinstance(c, dict) and _describable(c)] \
        if isinstance(accept, (list, tuple)) else []
    for clause in clauses:
        remark = json.dumps(clause.get("remark"), ensure_ascii=False)
        text += (f"\nalso accepted, with the remark {remark}: "
                 f"{_describe_one(canonical_expect(clause)).splitlines()[0]}")
    if forgive:
        text += ("\nexact checks forgive cosmetic formatting (\\boxed{}, $…$, emphasis, code "
                 "spans, brackets, quotes, Unicode forms, letter case), with a remark")
    return text


