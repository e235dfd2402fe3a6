"""The suite-engine v2 case keys: validating ``generate``, ``followUps``, ``toolResponders``,
``maxToolRounds``, ``sweep`` and the ``{{name}}`` templates they allow, and the keys a
concrete (expanded) case carries: ``template``, ``drawn`` and ``haystack``.

:func:`case_keys` reads them from one raw case mapping (YAML's camelCase or the resolved
form's snake_case) and raises the suite's one-line :class:`SuiteError` naming the field.
Templates are read only in a case that has ``generate`` or ``sweep``; in any other case
``{{`` is plain text (so suites written before v2 keep their meaning and their hash). In a
template case every ``{{name}}`` in ``input``, ``system``, ``followUps``, the checks,
``acceptWithRemark``, ``toolResponders`` and ``sweep.needle`` must be a generate var;
``{{haystack}}`` is the sweep's filler and may appear only in ``input`` (which must hold it).

* ``toolResponders: {tool: {response, byArgs?: [{argsContains, response}]}}``: a response
  is a string (sent as is) or any other JSON value (sent as its JSON text). A string
  ``argsContains`` matches when it is a substring of the call's arguments text; a mapping
  matches when it is a subset of the parsed arguments (see :mod:`evaluator.conversation`).
* ``maxToolRounds``: tool rounds allowed per user turn, 1 to :data:`MAX_TOOL_ROUNDS`,
  default :data:`DEFAULT_TOOL_ROUNDS`.
* ``sweep: {kind: context, sizes, depthPercent?, seed?, needle?}``: the needle is
  ``sweep.needle`` (a template), else the generate var named ``needle``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from evaluator import draw
from evaluator.errors import SuiteError
from evaluator.suite_files import MAX_PROMPT_BYTES, id_problem, json_problem, megabytes, shown

DEFAULT_TOOL_ROUNDS = 4
MAX_TOOL_ROUNDS = 32
MAX_FOLLOW_UPS = 32
MAX_RESPONDERS = 64
MAX_BY_ARGS = 64
MAX_SWEEP_SIZES = 32
MAX_SWEEP_TOKENS = 262_144  # a haystack this large is about 1.4 MB of text
MAX_SEED = 2**53 - 1  # a seed must survive JSON and JavaScript exactly
DEFAULT_DEPTH_PERCENT = 50
HAYSTACK = "haystack"
SWEEP_KINDS = ("context",)

ErrorMaker = Callable[[str, str], SuiteError]


@dataclass(frozen=True)
class CaseKeys:
    """The v2 keys of one case, validated (None / empty when absent)."""

    generate: dict[str, Any] | None = None
    follow_ups: tuple[str, ...] = ()
    tool_responders: dict[str, Any] | None = None
    max_tool_rounds: int | None = None
    sweep: dict[str, Any] | None = None
    template: str | None = None
    drawn: dict[str, Any] | None = None
    haystack: dict[str, Any] | None = None


def one_of(raw: dict[str, Any], keys: tuple[str, str], err: ErrorMaker) -> tuple[str, Any]:
    """``(key, value)`` of the one spelling of a case key present (YAML's camelCase or the
    resolved form's snake_case), ``(keys[0], None)`` when neither is."""
    present = [key for key in keys if key in raw]
    if len(present) > 1:
        raise err(keys[0], f"give {keys[0]} or {keys[1]}, not both")
    return (present[0], raw[present[0]]) if present else (keys[0], None)


def whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _json(value: Any, field: str, err: ErrorMaker) -> None:
    problem = json_problem(value)
    if problem is not None:
        raise err(field, problem)


def _generate(raw: Any, err: ErrorMaker) -> dict[str, Any] | None:
    if raw is None:
        return None
    if not isinstance(raw, dict) or "vars" not in raw:
        raise err("generate", f"must be a mapping {{vars: {{name: spec, ...}}}}, got {shown(raw)}")
    _json(raw, "generate", err)
    problem = draw.check_spec(raw["vars"])
    if problem is not None:
        field, _, what = problem.partition(": ")
        raise err(f"generate.{field}", what)
    return raw


def _follow_ups(key: str, raw: Any, err: ErrorMaker) -> tuple[str, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list) or not all(isinstance(item, str) for item in raw):
        raise err(key, f"must be a list of strings (the user's next turns), got {shown(raw)}")
    if len(raw) > MAX_FOLLOW_UPS:
        raise err(key, f"at most {MAX_FOLLOW_UPS} follow-ups, got {len(raw)}")
    for i, text in enumerate(raw):
        if not text.strip():
            raise err(f"{key}[{i}]", "must not be empty")
        if len(text) > MAX_PROMPT_BYTES:
            raise err(f"{key}[{i}]", f"longer than the {megabytes(MAX_PROMPT_BYTES)} limit "
                                     "for prompts")
    return tuple(raw)


def _response(value: Any, field: str, err: ErrorMaker) -> None:
    if value is None:
        raise err(field, "missing (the canned reply: a string, or JSON sent as its text)")
    if isinstance(value, str) and len(value) > MAX_PROMPT_BYTES:
        raise err(field, f"longer than the {megabytes(MAX_PROMPT_BYTES)} limit for prompts")


def _tool_names(tools: Any) -> list[str]:
    names = []
    for tool in tools or []:
        function = tool.get("function") if isinstance(tool, dict) else None
        if isinstance(function, dict) and isinstance(function.get("name"), str):
            names.append(function["name"])
    return names


def _responders(key: str, raw: Any, tools: Any, err: ErrorMaker) -> dict[str, Any] | None:
    if raw is None:
        return None
    if not isinstance(raw, dict) or not raw:
        raise err(key, "must be a mapping {tool name: {response, byArgs?}}, "
                       f"got {shown(raw)}")
    if len(raw) > MAX_RESPONDERS:
        raise err(key, f"at most {MAX_RESPONDERS} tools, got {len(raw)}")
    _json(raw, key, err)
    known = _tool_names(tools)
    if not known:
        raise err(key, "the case has no tools for the model to call (give tools)")
    for name, responder in raw.items():
        where = f"{key}.{name}"
        if name not in known:
            raise err(where, f"no tool named {name!r} in tools (tools: {', '.join(known)})")
        if not isinstance(responder, dict):
            raise err(where, f"must be a mapping {{response, byArgs?}}, got {shown(responder)}")
        _response(responder.get("response"), f"{where}.response", err)
        by_args = responder.get("byArgs")
        if by_args is None:
            continue
        if not isinstance(by_args, list) or len(by_args) > MAX_BY_ARGS:
            raise err(f"{where}.byArgs", f"must be a list of up to {MAX_BY_ARGS} "
                                         f"{{argsContains, response}}, got {shown(by_args)}")
        for i, rule in enumerate(by_args):
            at = f"{where}.byArgs[{i}]"
            if not isinstance(rule, dict):
                raise err(at, f"must be a mapping {{argsContains, response}}, got {shown(rule)}")
            contains = rule.get("argsContains")
            if not (isinstance(contains, str) and contains) and not isinstance(contains, dict):
                raise err(f"{at}.argsContains", "must be a non-empty string (found in the "
                                                "arguments text) or a mapping (a subset of "
                                                f"the arguments), got {shown(contains)}")
            _response(rule.get("response"), f"{at}.response", err)
    return raw


def _max_rounds(key: str, raw: Any, err: ErrorMaker) -> int | None:
    if raw is None:
        return None
    if not whole(raw) or not 1 <= raw <= MAX_TOOL_ROUNDS:
        raise err(key, f"must be a whole number from 1 to {MAX_TOOL_ROUNDS}, got {shown(raw)}")
    return int(raw)


def seed_problem(seed: Any) -> str | None:
    """Why ``seed`` cannot be a seed (run or sweep), or None."""
    if not whole(seed) or not 0 <= seed <= MAX_SEED:
        return f"expected a whole number from 0 to {MAX_SEED}, got {shown(seed)}"
    return None


def _sweep(raw: Any, case_id: str, variables: list[str], err: ErrorMaker
           ) -> dict[str, Any] | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise err("sweep", f"must be a mapping {{kind: context, sizes: [...]}}, got {shown(raw)}")
    _json(raw, "sweep", err)
    kind = raw.get("kind")
    if kind not in SWEEP_KINDS:
        what = "missing" if kind is None else f"unknown kind {shown(kind)}"
        raise err("sweep.kind", f"{what} (the only kind is context)")
    sizes = raw.get("sizes")
    if not isinstance(sizes, list) or not sizes or len(sizes) > MAX_SWEEP_SIZES:
        raise err("sweep.sizes", f"must be a list of 1 to {MAX_SWEEP_SIZES} token counts, "
                                 f"got {shown(sizes)}")
    for i, size in enumerate(sizes):
        if not whole(size) or not 1 <= size <= MAX_SWEEP_TOKENS:
            raise err(f"sweep.sizes[{i}]", f"must be a whole number of tokens from 1 to "
                                           f"{MAX_SWEEP_TOKENS:,}, got {shown(size)}")
        if size in sizes[:i]:
            raise err(f"sweep.sizes[{i}]", f"{size} is listed twice")
        problem = id_problem(f"{case_id}@{size}")
        if problem:
            raise err(f"sweep.sizes[{i}]", f"the instance id: {problem}")
    depth = raw.get("depthPercent", DEFAULT_DEPTH_PERCENT)
    if isinstance(depth, bool) or not isinstance(depth, (int, float)) \
            or not math.isfinite(depth) or not 0 <= depth <= 100:
        raise err("sweep.depthPercent", f"must be a number from 0 to 100, got {shown(depth)}")
    if "seed" in raw and (problem := seed_problem(raw["seed"])) is not None:
        raise err("sweep.seed", problem)
    needle = raw.get("needle")
    if needle is None and "needle" not in variables:
        raise err("sweep.needle", "missing (give the sentence to hide in the haystack, or "
                                  "a generate var named needle)")
    if needle is not None and (not isinstance(needle, str) or not needle.strip()):
        raise err("sweep.needle", f"must be a non-empty string, got {shown(needle)}")
    if HAYSTACK in variables:
        raise err(f"generate.vars.{HAYSTACK}", "the name haystack is the sweep's filler; "
                                               "give the var another name")
    return raw


def string_fields(value: Any, field: str) -> Iterator[tuple[str, str]]:
    """Every string inside ``value`` (a check, a clause, a responder) with its field path;
    a check's ``kind`` is not a template."""
    if isinstance(value, str):
        yield field, value
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from string_fields(item, f"{field}[{i}]")
    elif isinstance(value, dict):
        for key, item in value.items():
            if key != "kind":
                yield from string_fields(item, f"{field}.{key}")


def _first_use(text: str, names: set[str]) -> list[str]:
    def at(name: str) -> int:
        found = re.search(r"\{\{\s*" + re.escape(name) + r"\s*\}\}", text)
        return found.start() if found else 0
    return sorted(names, key=at)


def _templates(text: str, fields: list[tuple[str, Any]], variables: list[str], sweep: bool,
               err: ErrorMaker) -> None:
    """Every ``{{name}}`` of the input ``text`` and of ``fields`` is a var (or the sweep's
    ``{{haystack}}``, in the input only, where a sweep needs it)."""
    listed = f" (vars: {', '.join(variables)})" if variables else " (the case has no vars)"
    for field, value in [("input", text), *fields]:
        for where, piece in string_fields(value, field):
            for name in _first_use(piece, draw.template_names(piece)):
                if name in variables:
                    continue
                if name == HAYSTACK and sweep:
                    if where == "input":
                        continue
                    raise err(where, "{{haystack}} may appear only in input")
                raise err(where, f"{{{{{name}}}}} is not a generate var{listed}")
    if sweep and HAYSTACK not in draw.template_names(text):
        raise err("input", "a sweep case's input must contain {{haystack}} (where the "
                           "filler goes)")


def _concrete(raw: dict[str, Any], err: ErrorMaker) -> tuple[str | None, Any, Any]:
    template, drawn, hay = raw.get("template"), raw.get("drawn"), raw.get("haystack")
    if template is None:
        for key, value in (("drawn", drawn), ("haystack", hay)):
            if value is not None:
                raise err(key, "only an expanded case (one with template) carries it")
        return None, None, None
    if not isinstance(template, str) or id_problem(template):
        what = id_problem(template) if isinstance(template, str) else \
            f"must be the id of the suite's case, got {shown(template)}"
        raise err("template", str(what))
    for key in ("generate", "sweep"):
        if raw.get(key) is not None:
            raise err("template", f"an expanded case has no {key} (it was applied)")
    if drawn is not None and not isinstance(drawn, dict):
        raise err("drawn", f"must be a mapping of var names to values, got {shown(drawn)}")
    _json(drawn, "drawn", err)
    if hay is not None:
        if not isinstance(hay, dict):
            raise err("haystack", f"must be a mapping {{size, depthPercent, seed}}, "
                                  f"got {shown(hay)}")
        _json(hay, "haystack", err)
    return template, drawn, hay


def case_keys(raw: dict[str, Any], case_id: str, text: str, tools: Any, err: ErrorMaker,
              concrete_ok: bool) -> CaseKeys:
    """The v2 keys of ``raw`` (a case mapping whose ``input`` resolved to ``text``),
    validated; ``concrete_ok``: the case may be an expanded one (a record's copy)."""
    generate = _generate(raw.get("generate"), err)
    variables = list(generate["vars"]) if generate else []
    follow_key, follow = one_of(raw, ("followUps", "follow_ups"), err)
    follow_ups = _follow_ups(follow_key, follow, err)
    responders_key, responders = one_of(raw, ("toolResponders", "tool_responders"), err)
    tool_responders = _responders(responders_key, responders, tools, err)
    rounds_key, rounds = one_of(raw, ("maxToolRounds", "max_tool_rounds"), err)
    max_rounds = _max_rounds(rounds_key, rounds, err)
    sweep = _sweep(raw.get("sweep"), case_id, variables, err)
    if generate is not None or sweep is not None:
        accept_key, accept = one_of(raw, ("acceptWithRemark", "accept_with_remark"), err)
        fields = [("system", raw.get("system")),
                  *[(f"{follow_key}[{i}]", item) for i, item in enumerate(follow_ups)],
                  ("expect", raw.get("expect")), (accept_key, accept),
                  (responders_key, responders), ("sweep.needle", (sweep or {}).get("needle"))]
        _templates(text, [(f, v) for f, v in fields if v is not None], variables,
                   sweep is not None, err)
    template, drawn, hay = _concrete(raw, err) if concrete_ok else (None, None, None)
    return CaseKeys(generate=generate, follow_ups=follow_ups, tool_responders=tool_responders,
                    max_tool_rounds=max_rounds, sweep=sweep, template=template, drawn=drawn,
                    haystack=hay)
