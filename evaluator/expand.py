"""The concrete cases one run sends: template cases drawn and rendered from the run seed.

``run_cases(suite, seed)`` returns the suite's cases in order, each template case replaced:

* a ``generate`` case: its vars drawn with ``draw.draw_vars(vars, seed, case.id)`` and every
  ``{{name}}`` of ``input``, ``system``, ``follow_ups``, the checks, ``accept_with_remark``
  and ``tool_responders`` replaced by the value's JS ``String()`` (one pass);
* a ``sweep`` case: one instance per size, in the order written, with the id
  ``<id>@<size>`` and ``{{haystack}}`` replaced by ``haystack.haystack(size, hay_seed,
  needle, depthPercent)``. The needle is ``sweep.needle`` (rendered), else the var
  ``needle``. ``hay_seed`` is ``sweep.seed`` when the suite fixes one, else
  :func:`haystack_seed` of the run seed and the case id, so every size of one case shares
  its filler (a smaller haystack's filler is the start of a larger one's).

A concrete case has no ``generate`` or ``sweep``; its JSON adds ``template`` (the suite
case's id), ``drawn`` (the var values, when the case has vars) and, for a sweep instance,
``haystack: {size, depthPercent, seed}``. A record's copy of it is therefore enough to
re-score its result without the seed. Fixed cases come out unchanged. Every concrete case
is validated like a record's case (``case_from_json``), so a value that breaks a check
(a regex made invalid by a drawn value) is a :class:`SuiteError` naming the case and seed.
The same seed gives the same cases in CPython and in Pyodide: nothing here but
:mod:`evaluator.draw`, :mod:`evaluator.haystack` and JSON.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from evaluator import draw, haystack
from evaluator.casespec import DEFAULT_DEPTH_PERCENT, HAYSTACK
from evaluator.errors import SuiteError
from evaluator.jsvalue import ExprError
from evaluator.request import check_seed
from evaluator.suite import RESOLVED_SOURCE, Case, Suite, case_from_json

TRIAL_SEED = 0  # the seed a template case is expanded with when its suite loads
RENDERED = ("input", "system", "follow_ups", "expect", "accept_with_remark", "tool_responders")


def haystack_seed(seed: int, case_id: str) -> int:
    """The haystack seed of a sweep case without its own ``seed``: 53 bits of the stream
    keyed by the run seed, the case id and ``@sweep`` (no var name holds an ``@``)."""
    return draw.Rng.keyed(seed, case_id, "@sweep").next64() >> 11


def instance_ids(case: Case) -> list[str]:
    """The ids the case runs under: ``<id>@<size>`` per sweep size, else its own id."""
    if case.sweep is None:
        return [case.id]
    return [f"{case.id}@{size}" for size in case.sweep["sizes"]]


def render_all(value: Any, values: Mapping[str, object]) -> Any:
    """``value`` with every string rendered (a check's ``kind`` is kept as it is)."""
    if isinstance(value, str):
        return draw.render(value, values)
    if isinstance(value, list):
        return [render_all(item, values) for item in value]
    if isinstance(value, dict):
        return {key: item if key == "kind" else render_all(item, values)
                for key, item in value.items()}
    return value


def _needle(case: Case, values: Mapping[str, object]) -> str:
    assert case.sweep is not None
    needle = case.sweep.get("needle")
    if needle is None:
        return draw.render("{{needle}}", values)
    return draw.render(str(needle), values)


def _concrete(case: Case, seed: int, sizes: list[int] | None) -> list[dict[str, Any]]:
    """The JSON of each concrete case of ``case`` (``sizes``: the sweep sizes to make)."""
    values = draw.draw_vars(case.generate["vars"], seed, case.id) if case.generate else {}
    data = case.to_json()
    data.pop("generate", None)
    data.pop("sweep", None)
    data["template"] = case.id
    if case.generate:
        data["drawn"] = values
    for key in RENDERED:
        if key != "input" and data.get(key) is not None:
            data[key] = render_all(data[key], values)
    if case.sweep is None:
        data["input"] = draw.render(case.input, values)
        return [data]
    depth = case.sweep.get("depthPercent", DEFAULT_DEPTH_PERCENT)
    hay_seed = case.sweep["seed"] if "seed" in case.sweep else haystack_seed(seed, case.id)
    needle = _needle(case, values)
    out = []
    for size in case.sweep["sizes"] if sizes is None else sizes:
        text = haystack.haystack(size, hay_seed, needle, depth)
        out.append({**data, "id": f"{case.id}@{size}",
                    "input": draw.render(case.input, {**values, HAYSTACK: text}),
                    "haystack": {"size": size, "depthPercent": depth, "seed": hay_seed}})
    return out


def expand_case(case: Case, seed: int) -> list[Case]:
    """The concrete cases of one suite case for ``seed`` (itself when it is fixed)."""
    seed = check_seed(seed)
    if not case.is_template:
        return [case]
    try:
        made = _concrete(case, seed, None)
    except (ExprError, ValueError) as exc:
        raise SuiteError(f"case {case.id!r}: with seed {seed}: {exc}") from None
    out = []
    for data in made:
        try:
            out.append(case_from_json(data))
        except SuiteError as exc:
            text = str(exc).removeprefix(f"{RESOLVED_SOURCE}: ")
            raise SuiteError(f"{text} (drawn with seed {seed})") from None
    return out


def run_cases(suite: Suite, seed: int) -> list[Case]:
    """The concrete cases one run sends, in suite order (see the module docstring)."""
    seed = check_seed(seed)
    return [concrete for case in suite.cases for concrete in expand_case(case, seed)]


def trial_problem(case: Case) -> str | None:
    """What goes wrong when ``case`` is expanded with :data:`TRIAL_SEED` (a one-token
    haystack stands in for the sweep's sizes), as ``field: what``; None when nothing."""
    try:
        made = _concrete(case, TRIAL_SEED, [1] if case.sweep is not None else None)
        for data in made:
            case_from_json(data)
    except SuiteError as exc:
        text = str(exc).removeprefix(f"{RESOLVED_SOURCE}: ")
        return text.split(": ", 1)[1] + f" (when drawn with seed {TRIAL_SEED})" \
            if text.startswith("case ") else text
    except (ExprError, ValueError) as exc:
        return f"generate: {exc}"
    return None
