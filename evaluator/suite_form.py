"""The page's case editor: what the form shows, what an edit does, and "Try it".

The editor works on a draft (:mod:`evaluator.suite_edit`). Every case gets a structured form
for its common fields (:func:`case_form`: id, input, system, the check's kind and value,
weight, tags, requires, max_tokens) and a raw YAML field holding the whole case, so every
key of the format (``generate``, ``followUps``, ``toolResponders``, ``sweep``,
``acceptWithRemark``, a list of checks...) can be edited. :func:`edit` applies one action
and returns the new draft; the draft is checked afterwards by
:func:`evaluator.suite_edit.check_draft`, so a half-written case is kept and its error shown.

:func:`try_answer` scores a pasted answer with the case's own checks, through the same path
as a run (:func:`evaluator.result.score_case` of a one-event transcript); a template case is
first drawn from the given seed.
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

from evaluator import safejson, yaml_lite
from evaluator.errors import SuiteError
from evaluator.expand import run_cases
from evaluator.expectations import KINDS
from evaluator.result import score_case, score_turns
from evaluator.suite import load_suite
from evaluator.suite_edit import DRAFT_FORMAT, _files_of
from evaluator.yaml_write import dump

VALUE_KEY = {"contains": "value", "not_contains": "value", "exact": "value",
             "regex": "pattern", "json_schema": "schema", "tool_call": "name"}
META_FIELDS = ("name", "version", "description", "passThreshold")
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?")


def _cases(draft: dict[str, Any]) -> list[Any]:
    data = draft.get("data")
    cases = data.get("cases") if isinstance(data, dict) else None
    if not isinstance(cases, list):
        raise SuiteError("cases: must be a list")
    return cases


def _field(name: str, label: str, value: Any, kind: str = "text",
           options: tuple[str, ...] = (), note: str = "") -> dict[str, Any]:
    return {"field": name, "label": label, "value": value, "kind": kind,
            "options": list(options), "note": note}


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return ", ".join(value)
    return json.dumps(value, ensure_ascii=False)


def case_form(draft: dict[str, Any], index: int) -> dict[str, Any]:
    """The form of case ``index``: ``fields`` (structured) and ``text`` (the whole case as
    YAML), plus whether it is enabled."""
    cases = _cases(draft)
    case = cases[index]
    raw = case if isinstance(case, dict) else {}
    expect = raw.get("expect")
    fields = [_field("id", "Id", _text(raw.get("id")))]
    files = draft.get("files") or {}
    source = raw.get("input")
    if isinstance(source, dict):
        note = f"from the file {source.get('file')}: editing it writes the text in the case" \
            if "file" in source else ""
        path = source.get("file")
        text = ""
        if isinstance(path, str) and path in files:
            text = _files_of({"files": {path: files[path]}})[path].decode("utf-8", "replace")
        fields.append(_field("input", "Prompt", text, "textarea", note=note))
    else:
        fields.append(_field("input", "Prompt", _text(source), "textarea"))
    fields.append(_field("system", "System prompt", _text(raw.get("system")), "textarea"))
    if isinstance(expect, dict) or expect is None:
        kind = str((expect or {}).get("kind", "contains"))
        key = VALUE_KEY.get(kind)
        value = (expect or {}).get(key) if key else None
        if kind == "regex" and value is None:
            value = (expect or {}).get("value")
        fields.append(_field("expect.kind", "Check", kind, "select", KINDS))
        if key:
            fields.append(_field("expect.value", {"pattern": "Pattern", "schema":
                                                  "JSON Schema", "name": "Tool name"}
                                 .get(key, "Value"), _text(value),
                                 "textarea" if key == "schema" else "text"))
    else:
        count = len(expect) if isinstance(expect, list) else 0
        fields.append(_field("expect", "Checks", "", "note",
                             note=f"{count} check{'s' * (count != 1)}: edit "
                                  f"{'it' if count == 1 else 'them'} in the YAML below"))
    fields += [_field("weight", "Weight", _text(raw.get("weight", 1))),
               _field("tags", "Tags (comma-separated)", _text(raw.get("tags"))),
               _field("requires", "Requires (comma-separated)", _text(raw.get("requires"))),
               _field("max_tokens", "Max tokens", _text(raw.get("max_tokens")))]
    disabled = draft.get("disabled") or []
    return {"index": index, "fields": fields, "text": dump(case),
            "enabled": not (index < len(disabled) and disabled[index] is True)}


def _number(text: str) -> Any:
    text = text.strip()
    if _NUMBER.fullmatch(text):
        return float(text) if "." in text else int(text)
    return text  # the loader names what is wrong with it


def _names(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _set_field(case: dict[str, Any], field: str, value: str) -> None:
    if field in ("id", "input"):
        case[field] = value
    elif field == "system":
        case.pop("system", None) if value == "" else case.__setitem__("system", value)
    elif field in ("weight", "max_tokens"):
        case.pop(field, None) if value.strip() == "" else case.__setitem__(field,
                                                                          _number(value))
    elif field in ("tags", "requires"):
        names = _names(value)
        case.pop(field, None) if not names else case.__setitem__(field, names)
    elif field == "expect.kind":
        found = case.get("expect")
        old: dict[str, Any] = found if isinstance(found, dict) else {}
        old_key = VALUE_KEY.get(str(old.get("kind")))
        carried = old.get(old_key) if old_key else None
        new: dict[str, Any] = {"kind": value}
        key = VALUE_KEY.get(value)
        if key == "schema":
            new[key] = {"type": "object"}
        elif key:
            new[key] = carried if isinstance(carried, str) else ""
        case["expect"] = new
    elif field == "expect.value":
        found = case.get("expect")
        expect: dict[str, Any] = dict(found) if isinstance(found, dict) \
            else {"kind": "contains"}
        key = VALUE_KEY.get(str(expect.get("kind")), "value")
        if key == "schema":
            try:
                expect[key] = safejson.loads(value)
            except ValueError:
                expect[key] = value  # the loader says it is not a schema
        else:
            expect[key] = value
            if key == "pattern":
                expect.pop("value", None)
        case["expect"] = expect
    else:
        raise SuiteError(f"unknown field {field!r}")


def _unique(cases: list[Any], base: str) -> str:
    taken = {c.get("id") for c in cases if isinstance(c, dict)}
    n = 1
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"


def edit(draft: Any, action: str, args: dict[str, Any]) -> dict[str, Any]:
    """The draft after one editor action: ``add``, ``duplicate``, ``remove``, ``move``
    (``to``), ``toggle``, ``set_field`` (``field``, ``value``), ``set_case_text`` (YAML or
    JSON of the whole case), ``set_meta`` (``field`` of :data:`META_FIELDS`, ``value``)."""
    if not isinstance(draft, dict) or draft.get("format") != DRAFT_FORMAT:
        raise SuiteError(f"draft: expected an object with format {DRAFT_FORMAT!r}")
    out = copy.deepcopy(draft)
    cases = _cases(out)
    disabled = [bool(x) for x in (out.get("disabled") or [])]
    disabled += [False] * (len(cases) - len(disabled))
    given = args.get("index")
    if action not in ("add", "set_meta") and (not isinstance(given, int)
                                             or not 0 <= given < len(cases)):
        raise SuiteError(f"case index {given!r} is out of range")
    index = given if isinstance(given, int) else 0
    if action == "add":
        cases.append({"id": _unique(cases, "case"), "input": "",
                      "expect": {"kind": "contains", "value": ""}})
        disabled.append(False)
    elif action == "duplicate":
        twin = copy.deepcopy(cases[index])
        if isinstance(twin, dict):
            twin["id"] = _unique(cases, str(twin.get("id") or "case"))
        cases.insert(index + 1, twin)
        disabled.insert(index + 1, disabled[index])
    elif action == "remove":
        del cases[index]
        del disabled[index]
    elif action == "move":
        to = args.get("to")
        if not isinstance(to, int) or not 0 <= to < len(cases):
            raise SuiteError(f"cannot move a case to {to!r}")
        cases.insert(to, cases.pop(index))
        disabled.insert(to, disabled.pop(index))
    elif action == "toggle":
        disabled[index] = not disabled[index]
    elif action == "set_field":
        case = cases[index] if isinstance(cases[index], dict) else {}
        _set_field(case, str(args.get("field")), str(args.get("value", "")))
        cases[index] = case
    elif action == "set_case_text":
        text = str(args.get("text", ""))
        value = yaml_lite.parse(text, f"case #{index + 1}")
        if not isinstance(value, dict):
            raise SuiteError(f"case #{index + 1}: must be a mapping of case fields")
        cases[index] = value
    elif action == "set_meta":
        field = args.get("field")
        if field not in META_FIELDS:
            raise SuiteError(f"unknown suite field {field!r}")
        value = str(args.get("value", ""))
        out["data"][field] = _number(value) if field == "passThreshold" else value
    else:
        raise SuiteError(f"unknown editor action {action!r}")
    out["disabled"] = disabled
    return out


def try_answer(draft: Any, index: int, answer: str, seed: int = 0) -> dict[str, Any]:
    """Score ``answer`` as case ``index``'s answer: its status, detail, remark and what was
    expected (a template case: its first instance drawn from ``seed``, with ``drawn``)."""
    cases = _cases(draft)
    if not isinstance(index, int) or not 0 <= index < len(cases):
        raise SuiteError(f"case index {index!r} is out of range")
    data = {**draft["data"], "cases": [cases[index]]}
    suite = load_suite(data, str(draft.get("name") or "suite.yaml"), _files_of(draft))
    case = run_cases(suite, seed)[0]
    body = json.dumps({"choices": [{"message": {"role": "assistant", "content": answer},
                                    "finish_reason": "stop"}]})
    transcript = {"url": "try-it", "request": {}, "status": 200, "events": [[0.0, body]],
                  "ended_ms": 0.0, "error": None}
    # a conversation: the pasted answer stands for every turn's, the last one is scored
    result = score_turns(case, [transcript] * (1 + len(case.follow_ups))) \
        if case.conversational else score_case(case, transcript)
    return {"id": case.id, "status": result["status"], "detail": result.get("detail"),
            "remark": result.get("remark"), "expected": result.get("expected"),
            "drawn": case.drawn, "input": case.input}
