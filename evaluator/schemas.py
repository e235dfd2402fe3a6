"""JSON Schema for the checks: validate a suite's schema, validate an answer against it.

Draft 2020-12 through ``jsonschema``, with three guards for schemas that come from a suite
or a shared record:

* ``$ref`` must stay inside the schema (``#...``): the empty registry never fetches URLs;
* a schema nests at most :data:`MAX_SCHEMA_DEPTH` levels of objects and lists (jsonschema
  recurses per level, and a Python stack overflow in Pyodide would end the whole page);
* every ``pattern`` and ``patternProperties`` key passes :mod:`evaluator.regex_guard`, and
  at validation time sees at most the guard's text cap, like a ``regex`` check.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from typing import Any

from jsonschema import Draft202012Validator, validators
from jsonschema.exceptions import SchemaError, ValidationError
from referencing import Registry

from evaluator import regex_guard

MAX_SCHEMA_DEPTH = 64


def json_path(parts: Iterable[str | int]) -> str:
    """``$.items[0].name`` for a jsonschema ``absolute_path``."""
    out = "$"
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", part):
            out += f".{part}"
        else:
            out += f"[{json.dumps(part, ensure_ascii=False)}]"
    return out


def _shown(text: str) -> str:
    return repr(text) if len(text) <= 80 else repr(text[:80]) + "…"


def _pattern(validator: Any, pattern: str, instance: Any, schema: Any
             ) -> Iterator[ValidationError]:
    if validator.is_type(instance, "string"):
        found, seen = regex_guard.search(pattern, instance)
        if found is None:
            note = regex_guard.cut_note(seen, len(instance))
            yield ValidationError(f"{_shown(instance)} does not match {pattern!r}{note}")


def _pattern_properties(validator: Any, patterns: dict[str, Any], instance: Any,
                        schema: Any) -> Iterator[ValidationError]:
    if not validator.is_type(instance, "object"):
        return
    for pattern, subschema in patterns.items():
        for key, value in instance.items():
            if regex_guard.search(pattern, key)[0] is not None:
                yield from validator.descend(value, subschema, path=key, schema_path=pattern)


_Validator: Any = validators.extend(  # type: ignore[no-untyped-call]
    Draft202012Validator, {"pattern": _pattern, "patternProperties": _pattern_properties})


def schema_errors(schema: Any, instance: Any) -> list[str]:
    """Every validation error as ``"$.path: message"``, sorted so output is deterministic.

    The empty registry keeps ``$ref`` local: jsonschema would otherwise fetch remote URLs.
    """
    errors = _Validator(schema, registry=Registry()).iter_errors(instance)
    found = sorted((json_path(e.absolute_path), e.message) for e in errors)
    return [f"{path}: {message}" for path, message in found]


def depth(value: Any) -> int:
    """How deeply objects and lists nest in ``value`` (0 for a scalar); no recursion."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            children: Iterable[Any] = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, level + 1)
        if deepest > MAX_SCHEMA_DEPTH:
            break
        stack.extend((child, level + 1) for child in children)
    return deepest


def _walk(schema: Any) -> Iterator[tuple[str, Any]]:
    """Every (key, value) pair of every object in ``schema``; no recursion."""
    stack = [schema]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            yield from item.items()
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def _pattern_problem(schema: Any) -> str | None:
    for key, value in _walk(schema):
        patterns = [value] if key == "pattern" and isinstance(value, str) else \
            list(value) if key == "patternProperties" and isinstance(value, dict) else []
        for pattern in patterns:
            problem = regex_guard.problem(pattern) if isinstance(pattern, str) else None
            if problem:
                return f"{key}: {problem}"
    return None


# schema text (canonical JSON) -> schema_problem's answer. A case's schema is checked when
# its suite loads and again each time a copy of the case is read back (a page scores each
# case from its JSON; an import re-checks every case): the metaschema check is most of the
# cost of reading a case, and the answer depends on nothing but the schema's text.
_CHECKED: dict[str, str | None] = {}
_CHECKED_MAX = 1024


def schema_problem(schema: Any) -> str | None:
    """Why ``schema`` is not a usable Draft 2020-12 schema, or None."""
    if not isinstance(schema, (dict, bool)):
        return f"must be a JSON Schema object, got {type(schema).__name__}"
    if depth(schema) > MAX_SCHEMA_DEPTH:
        return f"nested deeper than {MAX_SCHEMA_DEPTH} levels"
    try:
        key = json.dumps(schema, sort_keys=True, ensure_ascii=False, allow_nan=True)
    except (TypeError, ValueError):  # not JSON data: checked every time, not remembered
        return _schema_problem(schema)
    if key not in _CHECKED:
        if len(_CHECKED) >= _CHECKED_MAX:
            _CHECKED.clear()
        _CHECKED[key] = _schema_problem(schema)
    return _CHECKED[key]


def _schema_problem(schema: Any) -> str | None:
    problem = _pattern_problem(schema)
    if problem:
        return problem
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as err:
        return f"{json_path(err.absolute_path)}: {err.message}"
    except RecursionError:
        return "too deeply nested to check"
    remote = _remote_ref(schema)
    return f"$ref {remote!r}: only local references (#...) are supported" if remote else None


def _remote_ref(schema: Any) -> str | None:
    """The first ``$ref`` in ``schema`` that does not point inside it (``#...``), or None."""
    for key, value in _walk(schema):
        if key == "$ref" and isinstance(value, str) and not value.startswith("#"):
            return value
    return None
