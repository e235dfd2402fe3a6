"""The suite model: load a suite from its parsed YAML mapping, validate it, resolve files.

``load_suite(data, source, files)`` takes the parsed ``suite.yaml`` mapping, the path used in
error messages, and the bytes of every file ``referenced_files(data)`` names. It returns a
resolved :class:`Suite`: prompt files inlined as text, images as ``data:`` URLs.
``Suite.to_json()`` is that resolved form; ``suite_from_json()`` rebuilds it without files
(the page loads this form). Every problem raises one :class:`SuiteError` whose message names
the file, the case and the field: ``suite.yaml: case 'x': expect.pattern: invalid regex ...``.
What files a suite may name, and their limits, is :mod:`evaluator.suite_files`.

The seed's and the leading peer's spellings load unchanged: ``requires`` may be one string
and may use the peer's names (``tool_use`` is ``tool-use``: :data:`PEER_CAPABILITIES`);
``image`` may be ``{file: path}`` or the peer's inline ``{dataUrl: "data:image/...", alt?}``
(checked like a file: type, magic bytes, size; ``alt`` is not kept); a check's aliases are
folded (:mod:`evaluator.expectations`); unknown keys are ignored. ``expect`` may be a list
of checks. The judging rules ``acceptWithRemark`` and ``forgiveFormatting``
(:mod:`evaluator.judge`) resolve to ``accept_with_remark`` and ``forgive_formatting``, which
``Case.to_json()`` writes only when set, so a suite without them keeps its hash.

The v2 keys ``generate``, ``followUps``, ``toolResponders``, ``maxToolRounds`` and ``sweep``
(validated in :mod:`evaluator.casespec`) resolve to ``generate``, ``follow_ups``,
``tool_responders``, ``max_tool_rounds`` and ``sweep``, kept as written (templates
unrendered) and written only when present, like the judging rules. A case with ``generate``
or ``sweep`` is a template: :func:`evaluator.expand.run_cases` turns it into the concrete
cases one run sends, which carry ``template`` (the suite case's id), ``drawn`` (the values
drawn) and, for a sweep instance, ``haystack`` (its size, depth and seed). Only
:func:`case_from_json` (a record's copy of a case) reads those three keys.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from evaluator.capabilities import CAPABILITIES
from evaluator.casespec import DEFAULT_TOOL_ROUNDS, case_keys, one_of
from evaluator.errors import SuiteError
from evaluator.expectations import canonical_expect, checks_of, expect_problem
from evaluator.judge import accept_problem, canonical_accept
from evaluator.suite_files import (
    IMAGE_TYPES,
    MAX_IMAGE_BYTES,
    MAX_PROMPT_BYTES,
    case_label,
    data_url_problem,
    file_refs,
    id_problem,
    image_problem,
    json_problem,
    megabytes,
    path_problem,
    shown,
    size_problem,
)

DEFAULT_PASS_THRESHOLD = 0.6
RESOLVED_SOURCE = "resolved suite"
MAX_WEIGHT = 1_000_000
MAX_CASE_TOKENS = 1_000_000
# The peer's capability names (tool_use) -> ours (tool-use).
PEER_CAPABILITIES: dict[str, str] = {name.replace("-", "_"): name for name in CAPABILITIES
                                     if "-" in name}
Expect = dict[str, Any] | list[dict[str, Any]]


@dataclass(frozen=True)
class Case:
    """One resolved case: the prompt as text, the image (if any) as a data URL."""

    id: str
    input: str
    expect: Expect  # one check, or a list that must all pass
    system: str | None = None
    image: str | None = None
    tools: list[dict[str, Any]] | None = None
    weight: float = 1
    tags: tuple[str, ...] = ()
    requires: tuple[str, ...] = ()
    max_tokens: int | None = None
    accept_with_remark: tuple[dict[str, Any], ...] = ()
    forgive_formatting: bool = False
    generate: dict[str, Any] | None = None
    follow_ups: tuple[str, ...] = ()
    tool_responders: dict[str, Any] | None = None
    max_tool_rounds: int | None = None
    sweep: dict[str, Any] | None = None
    template: str | None = None
    drawn: dict[str, Any] | None = None
    haystack: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        """The resolved case as plain JSON (the shape ``suite_from_json`` reads back); the
        judging rules and the v2 keys only when set."""
        out = {"id": self.id, "input": self.input, "system": self.system,
               "image": self.image, "tools": self.tools, "expect": self.expect,
               "weight": self.weight, "tags": list(self.tags),
               "requires": list(self.requires), "max_tokens": self.max_tokens}
        if self.accept_with_remark:
            out["accept_with_remark"] = [dict(clause) for clause in self.accept_with_remark]
        if self.forgive_formatting:
            out["forgive_formatting"] = True
        if self.follow_ups:
            out["follow_ups"] = list(self.follow_ups)
        optional = {"generate": self.generate, "tool_responders": self.tool_responders,
                    "max_tool_rounds": self.max_tool_rounds, "sweep": self.sweep,
                    "template": self.template, "drawn": self.drawn,
                    "haystack": self.haystack}
        out.update({key: value for key, value in optional.items() if value is not None})
        return out

    @property
    def is_template(self) -> bool:
        """True when the case is expanded before it runs (``generate`` or ``sweep``)."""
        return self.generate is not None or self.sweep is not None

    @property
    def conversational(self) -> bool:
        """True when the case may take more than one request (follow-ups, tool replies)."""
        return bool(self.follow_ups) or self.tool_responders is not None

    @property
    def tool_rounds(self) -> int:
        """The tool rounds allowed per user turn (``maxToolRounds``, default 4)."""
        return self.max_tool_rounds if self.max_tool_rounds is not None \
            else DEFAULT_TOOL_ROUNDS

    @property
    def checks(self) -> list[dict[str, Any]]:
        """Every check of ``expect``, in order."""
        return checks_of(self.expect)

    @property
    def kind(self) -> str:
        """The check kind, or the kinds of a list joined by ``+`` (``exact+no_tool_call``)."""
        return "+".join(str(check["kind"]) for check in self.checks)


@dataclass(frozen=True)
class Suite:
    """A resolved, validated suite."""

    id: str
    version: str
    description: str
    pass_threshold: float
    cases: tuple[Case, ...]

    def to_json(self) -> dict[str, Any]:
        """The resolved suite JSON, ``sha256`` included."""
        return {**self._body(), "sha256": self.sha256}

    def _body(self) -> dict[str, Any]:
        return {"id": self.id, "version": self.version, "description": self.description,
                "pass_threshold": self.pass_threshold,
                "cases": [case.to_json() for case in self.cases]}

    @property
    def sha256(self) -> str:
        """sha256 of the canonical JSON of ``to_json()`` without the ``sha256`` key."""
        return hashlib.sha256(canonical_json(self._body()).encode("utf-8")).hexdigest()

    def case(self, case_id: str) -> Case | None:
        """The case with this id, or None."""
        return next((case for case in self.cases if case.id == case_id), None)


def canonical_json(obj: Any) -> str:
    """The one canonical JSON text: sorted keys, no spaces, UTF-8 kept."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def referenced_files(data: Any) -> list[str]:
    """Every acceptable ``input.file`` / ``image.file`` path in a parsed suite, in order,
    without repeats (``suite_files.file_refs`` says which case and field names each)."""
    return list(dict.fromkeys(ref.path for ref in file_refs(data)))


# Resolvers turn a case's raw `input` value into text and its `image` value into a data URL.
ErrorMaker = Callable[[str, str], SuiteError]
InputResolver = Callable[[Any, ErrorMaker], str]
ImageResolver = Callable[[Any, ErrorMaker], str | None]


def _file_input(files: dict[str, bytes]) -> InputResolver:
    def resolve(raw: Any, err: ErrorMaker) -> str:
        if raw is None:
            raise err("input", "missing")
        if isinstance(raw, str):
            return raw
        if not isinstance(raw, dict) or "file" not in raw:
            raise err("input", f"must be a string or {{file: path}}, got {shown(raw)}")
        path = raw["file"]
        problem = path_problem(path)
        if problem:
            raise err("input.file", problem)
        if path not in files:
            raise err("input.file", f"file not found: {path}")
        problem = size_problem(path, len(files[path]), MAX_PROMPT_BYTES, "prompt files")
        if problem:
            raise err("input.file", problem)
        try:
            return files[path].decode("utf-8")
        except UnicodeDecodeError as exc:
            raise err("input.file", f"{path} is not UTF-8 text ({exc.reason} "
                                    f"at byte {exc.start})") from None
    return resolve


def _file_image(files: dict[str, bytes]) -> ImageResolver:
    def resolve(raw: Any, err: ErrorMaker) -> str | None:
        if raw is None:
            return None
        if isinstance(raw, dict) and "dataUrl" in raw:
            return _inline_image(raw, err)
        if not isinstance(raw, dict) or "file" not in raw:
            raise err("image", f"must be {{file: path}} or {{dataUrl: data:image/...}}, "
                               f"got {shown(raw)}")
        path = raw["file"]
        problem = path_problem(path)
        if problem:
            raise err("image.file", problem)
        ext = path.rsplit(".", 1)[-1].lower() if "." in path else ""
        if ext not in IMAGE_TYPES:
            raise err("image.file", f"unsupported image type {path!r} (png, jpeg, webp, gif)")
        if path not in files:
            raise err("image.file", f"file not found: {path}")
        data = files[path]
        problem = size_problem(path, len(data), MAX_IMAGE_BYTES, "images") \
            or image_problem(path, IMAGE_TYPES[ext], data)
        if problem:
            raise err("image.file", problem)
        return f"data:{IMAGE_TYPES[ext]};base64,{base64.b64encode(data).decode('ascii')}"
    return resolve


def _inline_image(raw: dict[str, Any], err: ErrorMaker) -> str:
    """The peer's ``{dataUrl, alt?}``: checked as a resolved image is (type, base64, magic
    bytes, the images' size limit)."""
    if "file" in raw:
        raise err("image", "give file or dataUrl, not both")
    url = raw["dataUrl"]
    if not isinstance(url, str):
        raise err("image.dataUrl", f"must be a data:image/...;base64 URL, got {shown(url)}")
    problem = data_url_problem(url)
    if problem:
        raise err("image.dataUrl", problem)
    alt = raw.get("alt")
    if alt is not None and not isinstance(alt, str):
        raise err("image.alt", f"must be a string, got {shown(alt)}")
    return url


def _resolved_input(raw: Any, err: ErrorMaker) -> str:
    if not isinstance(raw, str):
        raise err("input", "missing" if raw is None else f"must be a string, got {shown(raw)}")
    if len(raw) > MAX_PROMPT_BYTES:
        raise err("input", f"longer than the {megabytes(MAX_PROMPT_BYTES)} limit for prompts")
    return raw


def _resolved_image(raw: Any, err: ErrorMaker) -> str | None:
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise err("image", "must be a data:image/... URL or null")
    problem = data_url_problem(raw)
    if problem:
        raise err("image", problem)
    return raw


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) \
        and math.isfinite(value)


def _requires(raw: Any, err: ErrorMaker) -> tuple[str, ...]:
    """A list of capability names, or one name; the peer's names mapped to ours."""
    names = _str_list([raw] if isinstance(raw, str) else raw, "requires", err)
    names = tuple(PEER_CAPABILITIES.get(name, name) for name in names)
    unknown = [name for name in names if name not in CAPABILITIES]
    if unknown:
        raise err("requires", f"unknown capability {unknown[0]!r} "
                              f"(known: {', '.join(CAPABILITIES)})")
    return names


def _judging(raw: dict[str, Any], err: ErrorMaker) -> tuple[tuple[dict[str, Any], ...], bool]:
    """The case's ``acceptWithRemark`` clauses and ``forgiveFormatting`` flag, validated."""
    key, accept = one_of(raw, ("acceptWithRemark", "accept_with_remark"), err)
    if accept is not None:
        problem = json_problem(accept)
        if problem is not None:
            raise err(key, problem)
        problem = accept_problem(accept, key)
        if problem is not None:
            field, _, what = problem.partition(": ")
            raise err(field, what)
    key, forgive = one_of(raw, ("forgiveFormatting", "forgive_formatting"), err)
    if forgive is not None and not isinstance(forgive, bool):
        raise err(key, f"must be true or false, got {shown(forgive)}")
    return canonical_accept(accept or []), forgive is True


def _str_list(raw: Any, field: str, err: ErrorMaker) -> tuple[str, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list) or not all(isinstance(x, str) for x in raw):
        raise err(field, f"must be a list of strings, got {shown(raw)}")
    return tuple(raw)


def _case(raw: Any, number: int, source: str, get_input: InputResolver,
          get_image: ImageResolver, concrete_ok: bool = False) -> Case:
    if not isinstance(raw, dict):
        raise SuiteError(f"{source}: case #{number}: must be a mapping, got {shown(raw)}")
    case_id = raw.get("id")
    if case_id is None or case_id == "":
        raise SuiteError(f"{source}: case #{number}: id: missing")
    if not isinstance(case_id, str):
        raise SuiteError(f"{source}: case #{number}: id: must be a string, got {shown(case_id)}")
    problem = id_problem(case_id)
    if problem:
        raise SuiteError(f"{source}: case #{number}: id: {problem}")
    label = case_label(raw, number)

    def err(field: str, what: str) -> SuiteError:
        return SuiteError(f"{source}: {label}: {field}: {what}")

    text = get_input(raw.get("input"), err)
    if raw.get("expect") is None:
        raise err("expect", "missing")
    problem = json_problem(raw["expect"])
    if problem is not None:
        raise err("expect", problem)
    problem = expect_problem(raw["expect"])
    if problem is not None:
        field, _, what = problem.partition(": ")
        raise err(field, what)
    expect: Expect = [canonical_expect(dict(item)) for item in raw["expect"]] \
        if isinstance(raw["expect"], list) else canonical_expect(dict(raw["expect"]))
    weight = raw.get("weight", 1)
    if not _is_number(weight) or not 0 < weight <= MAX_WEIGHT:
        raise err("weight", f"must be a positive number up to {MAX_WEIGHT}, "
                            f"got {shown(weight)}")
    requires = _requires(raw.get("requires"), err)
    tools = raw.get("tools")
    if tools is not None and (not isinstance(tools, list)
                              or not all(isinstance(t, dict) for t in tools)):
        raise err("tools", "must be a list of OpenAI tool objects")
    problem = json_problem(tools)
    if problem is not None:
        raise err("tools", problem)
    system = raw.get("system")
    if system is not None and not isinstance(system, str):
        raise err("system", f"must be a string, got {shown(system)}")
    if system is not None and len(system) > MAX_PROMPT_BYTES:
        raise err("system", f"longer than the {megabytes(MAX_PROMPT_BYTES)} limit for prompts")
    max_tokens = raw.get("max_tokens")
    if max_tokens is not None and (isinstance(max_tokens, bool) or not isinstance(max_tokens, int)
                                   or not 1 <= max_tokens <= MAX_CASE_TOKENS):
        raise err("max_tokens", f"must be a positive integer up to {MAX_CASE_TOKENS}, "
                                f"got {shown(max_tokens)}")
    accept, forgive = _judging(raw, err)
    v2 = case_keys(raw, case_id, text, tools, err, concrete_ok)
    return Case(id=case_id, input=text, expect=expect, system=system,
                image=get_image(raw.get("image"), err), tools=tools, weight=weight,
                tags=_str_list(raw.get("tags"), "tags", err), requires=requires,
                max_tokens=max_tokens, accept_with_remark=accept, forgive_formatting=forgive,
                generate=v2.generate, follow_ups=v2.follow_ups,
                tool_responders=v2.tool_responders, max_tool_rounds=v2.max_tool_rounds,
                sweep=v2.sweep, template=v2.template, drawn=v2.drawn, haystack=v2.haystack)


def _suite(data: Any, source: str, threshold_key: str, get_input: InputResolver,
           get_image: ImageResolver) -> Suite:
    if data is None:
        raise SuiteError(f"{source}: suite: the file is empty")
    if not isinstance(data, dict):
        raise SuiteError(f"{source}: suite: must be a mapping, got {type(data).__name__}")
    name_key = "name" if "name" in data else "id"
    suite_id = data.get(name_key)
    if suite_id is None or suite_id == "":
        raise SuiteError(f"{source}: name: missing (give the suite a name or id)")
    if not isinstance(suite_id, str) or id_problem(suite_id):
        what = id_problem(suite_id) if isinstance(suite_id, str) else \
            f"must be a string, got {shown(suite_id)}"
        raise SuiteError(f"{source}: {name_key}: {what}")
    threshold = data.get(threshold_key, DEFAULT_PASS_THRESHOLD)
    if not _is_number(threshold) or not 0 <= threshold <= 1:
        raise SuiteError(f"{source}: {threshold_key}: must be a number from 0 to 1, "
                         f"got {shown(threshold)}")
    raw_cases = data.get("cases")
    if not isinstance(raw_cases, list) or not raw_cases:
        raise SuiteError(f"{source}: cases: must be a non-empty list")
    cases: list[Case] = []
    for number, raw in enumerate(raw_cases, start=1):
        case = _case(raw, number, source, get_input, get_image)
        if any(seen.id == case.id for seen in cases):
            raise SuiteError(f"{source}: case {case.id!r}: id: duplicate id")
        cases.append(case)
    _expansions(cases, source)
    version = data.get("version")
    if version is not None and (isinstance(version, bool) or not isinstance(version, (str, int))
                                and not _is_number(version) or len(str(version)) > 100):
        raise SuiteError(f"{source}: version: must be a string of up to 100 characters, "
                         f"got {shown(version)}")
    description = data.get("description")
    if description is not None and not isinstance(description, str):
        raise SuiteError(f"{source}: description: must be a string, got {shown(description)}")
    return Suite(id=suite_id, version="" if version is None else str(version),
                 description="" if description is None else str(description),
                 pass_threshold=threshold, cases=tuple(cases))


def _expansions(cases: list[Case], source: str) -> None:
    """Each template case expands (with a trial seed) into valid cases whose ids are free."""
    from evaluator.expand import instance_ids, trial_problem

    ids = {case.id for case in cases}
    for case in cases:
        if not case.is_template:
            continue
        for i, instance in enumerate(instance_ids(case) if case.sweep else []):
            if instance in ids:
                raise SuiteError(f"{source}: case {case.id!r}: sweep.sizes[{i}]: the instance "
                                 f"id {instance!r} is taken by another case")
        problem = trial_problem(case)
        if problem is not None:
            raise SuiteError(f"{source}: case {case.id!r}: {problem}")


def load_suite(data: Any, source: str, files: dict[str, bytes]) -> Suite:
    """Validate a parsed ``suite.yaml`` and resolve its files. Raises :class:`SuiteError`."""
    threshold_key = "pass_threshold" if isinstance(data, dict) and "passThreshold" not in data \
        and "pass_threshold" in data else "passThreshold"
    return _suite(data, source, threshold_key, _file_input(files), _file_image(files))


def suite_from_json(obj: Any) -> Suite:
    """Rebuild a :class:`Suite` from ``Suite.to_json()``; a wrong ``sha256`` is an error."""
    suite = _suite(obj, RESOLVED_SOURCE, "pass_threshold", _resolved_input, _resolved_image)
    claimed = obj.get("sha256")
    if claimed is not None and claimed != suite.sha256:
        raise SuiteError(f"{RESOLVED_SOURCE}: sha256: does not match the content "
                         f"(got {str(claimed)[:12]}…, content is {suite.sha256[:12]}…)")
    return suite


def case_from_json(obj: Any) -> Case:
    """Rebuild one :class:`Case` from ``Case.to_json()`` (validated like a suite's case)."""
    return _case(obj, 1, RESOLVED_SOURCE, _resolved_input, _resolved_image, concrete_ok=True)
