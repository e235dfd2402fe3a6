"""The one entry point the browser uses: ``call(request_json) -> reply_json``.

A request is ``{"op": NAME, "args": {...}}``; the reply is ``{"ok": true, "value": ...}`` or
``{"ok": false, "error": "<one line>"}``. Each op is a plain function below that takes the
args mapping and calls the evaluator function of the same name; nothing here builds code
from strings. Suite and case arguments travel in their resolved JSON form
(``Suite.to_json()``, ``Case.to_json()``).

Importing run records (the page's Import, through the same checks as ``localrate rescore``):

* ``read_records`` — args ``{"text": str, "source": str}`` (the file's text and its name) →
  ``{"format", "runs": [record, ...]}`` (:func:`evaluator.records.read_records`); a bad
  file is ``{"ok": false, "error": "<source>: <field>: <what>"}``, the same line the CLI
  prints.
* ``check_record_size`` — ``{"source", "size"}`` → null, or the CLI's one-line error when a
  file of ``size`` bytes is larger than a record may have, so the page refuses it before
  reading it, in the CLI's words.

Running a suite with templates and conversations (see :mod:`evaluator.expand` and
:mod:`evaluator.conversation`):

* ``run_cases`` — ``{"suite", "seed"}`` → the concrete cases of the run, as case JSON;
* ``plan_case`` — also takes ``context_length`` (the model's, or null);
* ``next_request`` — ``{"case", "model_id", "settings", "transcripts"}`` → the next request
  (``{"body", "path", "timeout_s", "max_bytes"}``) or ``{"done": true, "end"}``;
* ``score_turns`` — ``{"case", "transcripts"}`` → the case result;
* ``run_settings`` — the settings by name (``max_tokens``, ``timeout_s``, ``seed``,
  ``temperature``, ``top_p``, ``system``, ``thinking``, ``repeat``, ``warmup``,
  ``from_engine``; :mod:`evaluator.settings`); ``build_request``, ``plan_case`` and
  ``next_request`` also take ``runtime`` (the thinking setting's form).

Repeats, warm-up and the run's numbers (issue 14):

* ``run_report`` — ``{"record"}`` → :func:`evaluator.run_report.run_report`;
* ``effective_settings`` — ``{"settings"}``; ``thinking_note`` — ``{"runtime", "thinking"}``;
* ``attempt_order`` — ``{"count", "repeat"}``; ``with_attempt`` — ``{"result", "attempt",
  "repeat"}``; ``warmup_request`` — ``{"model_id", "settings"}``; ``warmup_outcome`` —
  ``{"transcript"}``; ``run_record`` also takes ``warmup`` (:mod:`evaluator.repeats`);
* ``engine_defaults_plan`` — ``{"runtime", "base_url", "model_id"}``;
  ``parse_engine_defaults`` — ``{"runtime", "status", "body"}``; ``merge_engine_defaults``
  — ``{"explicit", "engine"}`` → ``{"settings", "from_engine"}``
  (:mod:`evaluator.engine_defaults`).

Share, report, verify and endpoints beyond this machine (issue 15):

* ``share_fragment`` — ``{"records"}`` → ``"1.<base64url>"`` (:mod:`evaluator.share`);
  ``read_share`` — ``{"fragment"}`` → the read-only card (one-line error when hostile);
  ``share_case_ids`` — ``{"card", "suite"}`` → the card's case ids rebuilt from the suite
  and seed when the link left them out (None when they do not match);
* ``report_html`` / ``report_md`` — ``{"records"}`` → the whole report as text
  (:mod:`evaluator.report_html`, :mod:`evaluator.report_md`);
* ``verify_record`` — ``{"record", "published": [{"id", "version", "sha256"}], "suite"?}``
  → :func:`evaluator.verify.verify_record` (``label``: "re-scored: matches" or not);
* ``auth_headers`` — ``{"url", "keys": [{"base_url", "api_key"}]}`` → the Authorization
  header for that URL's endpoint only, or ``{}``; ``check_api_key`` — ``{"key", "where"?}``;
* ``allowed_hosts`` / ``csp_sources`` — ``{"hosts"}`` (:mod:`evaluator.endpoints`);
  ``check_endpoint`` and ``probe_plan`` take ``allowed_hosts``; ``interpret_probe``'s
  observation takes ``with_key`` (a 401/403 then reads "key rejected").
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from evaluator import checks, conversation, expand, records, request, result, summary, transcript
from evaluator.errors import SuiteError
from evaluator.suite import Case, Suite, case_from_json, suite_from_json


class CallError(ValueError):
    """A malformed request to the page's entry point (unknown op, missing argument)."""


def _arg(args: dict[str, Any], name: str) -> Any:
    if name not in args:
        raise CallError(f"missing argument {name!r}")
    return args[name]


def _case(args: dict[str, Any]) -> Case:
    return case_from_json(_arg(args, "case"))


def _suite(args: dict[str, Any]) -> Suite:
    return suite_from_json(_arg(args, "suite"))


def _suite_or_ref(args: dict[str, Any]) -> Suite | summary.SuiteRef:
    """``suite`` (the whole resolved suite, checked again) or ``suite_ref`` (id, version,
    sha256 and pass_threshold, as ``load_suite_json`` answered them)."""
    if "suite_ref" in args:
        return summary.suite_ref(args["suite_ref"])
    return _suite(args)


def _load_suite_json(args: dict[str, Any]) -> dict[str, Any]:
    """Validate a resolved suite (``args`` = ``{"suite": ...}`` or the suite itself).

    Returns what a page lists: id, version, sha256, and per case its id, kind and needs.
    """
    suite = suite_from_json(args.get("suite", args))
    return {"id": suite.id, "version": suite.version, "description": suite.description,
            "pass_threshold": suite.pass_threshold, "sha256": suite.sha256,
            "case_count": len(suite.cases),
            "cases": [{"id": c.id, "kind": c.kind, "weight": c.weight,
                       "tags": list(c.tags), "requires": list(c.requires),
                       "has_image": c.image is not None, "has_tools": bool(c.tools),
                       "generated": c.generate is not None,
                       "turns": 1 + len(c.follow_ups),
                       "tool_loop": c.tool_responders is not None,
                       "instances": expand.instance_ids(c)}
                      for c in suite.cases]}


def _project(args: dict[str, Any]) -> Any:
    from evaluator import capabilities
    return capabilities.project(_arg(args, "model_id"), _arg(args, "runtime"),
                                args.get("metadata"))


def _context_length(args: dict[str, Any]) -> Any:
    from evaluator import capabilities
    return capabilities.context_length(_arg(args, "runtime"), args.get("metadata"))


def _skip_reason(args: dict[str, Any]) -> Any:
    from evaluator import capabilities
    return capabilities.skip_reason(_case(args), _arg(args, "caps"))


def _rescore_record(args: dict[str, Any]) -> dict[str, Any]:
    suite = _suite(args) if args.get("suite") is not None else None
    return summary.rescore_record(_arg(args, "record"), suite)


def _check_record_size(args: dict[str, Any]) -> None:
    source, size = _arg(args, "source"), _arg(args, "size")
    if not isinstance(source, str) or isinstance(size, bool) or not isinstance(size, int):
        raise CallError("source must be a string and size a whole number of bytes")
    records.check_size(source, size)


def _read_records(args: dict[str, Any]) -> dict[str, Any]:
    text, source = _arg(args, "text"), _arg(args, "source")
    if not isinstance(text, str) or not isinstance(source, str):
        raise CallError("text and source must be strings")
    return records.read_records(text, source)


def _discovery(name: str, *params: str, optional: tuple[str, ...] = ()
               ) -> Callable[[dict[str, Any]], Any]:
    """An op calling ``evaluator.discovery.<name>`` with the named args, in order."""
    def op(args: dict[str, Any]) -> Any:
        from evaluator import discovery
        values = [_arg(args, p) for p in params]
        extra = {p: args[p] for p in optional if p in args}
        return getattr(discovery, name)(*values, **extra)
    op.__doc__ = f"evaluator.discovery.{name}"
    return op


def _references() -> Any:
    """:mod:`evaluator.references`, imported on first use (only the tests call it)."""
    from evaluator import references
    return references


def _settings() -> Any:
    """:mod:`evaluator.settings` (imported by request already; named here for the ops)."""
    from evaluator import settings
    return settings


def _repeats() -> Any:
    """:mod:`evaluator.repeats`, imported on first use."""
    from evaluator import repeats
    return repeats


def _engine_defaults() -> Any:
    """:mod:`evaluator.engine_defaults`, imported on first use."""
    from evaluator import engine_defaults
    return engine_defaults


def _run_report(args: dict[str, Any]) -> Any:
    from evaluator.run_report import run_report
    return run_report(_arg(args, "record"))


def _thinking_note(args: dict[str, Any]) -> Any:
    from evaluator.thinking import thinking_note
    return thinking_note(args.get("runtime"), _arg(args, "thinking"))


def _merge_engine_defaults(args: dict[str, Any]) -> Any:
    merged, taken = _engine_defaults().merge_engine_defaults(_arg(args, "explicit"),
                                                             _arg(args, "engine"))
    return {"settings": merged, "from_engine": taken}


def _stats(name: str) -> Callable[..., Any]:
    """``evaluator.stats.<name>``, imported on first use (the page's start does not need it)."""
    from evaluator import stats
    return getattr(stats, name)  # type: ignore[no-any-return]


def _comparison(args: dict[str, Any]) -> Any:
    from evaluator import compare_view  # the page's start does not need these three
    return compare_view.comparison(_arg(args, "records"), args.get("a", 0), args.get("b", 1))


def _scatter_layout(args: dict[str, Any]) -> Any:
    from evaluator import chart_layout
    return chart_layout.scatter_layout(_arg(args, "points"), _arg(args, "sizes"),
                                       _arg(args, "width"), args.get("frontier") or [],
                                       args.get("tick_size") or [30, 14, 11])


def _progress(args: dict[str, Any]) -> Any:
    from evaluator import eta
    return eta.progress(_arg(args, "done"), _arg(args, "total"), _arg(args, "elapsed_ms"))


def _engine_info(name: str) -> Callable[..., Any]:
    """``evaluator.engine_info.<name>`` or ``evaluator.machine.<name>``, imported on use."""
    from evaluator import engine_info, machine
    module = engine_info if hasattr(engine_info, name) else machine
    return getattr(module, name)  # type: ignore[no-any-return]


def _issue15_ops() -> dict[str, Callable[[dict[str, Any]], Any]]:
    """Reports, share links, verification, endpoints beyond loopback (issue 15); each
    imports its module on first use."""
    def share(name: str) -> Any:
        from evaluator import share as module
        return getattr(module, name)

    def report(a: dict[str, Any], kind: str) -> Any:
        from evaluator import report_html, report_md
        return (report_html.report_html if kind == "html" else report_md.report_md)(
            _arg(a, "records"))

    def verify(a: dict[str, Any]) -> Any:
        from evaluator.verify import verify_record
        suite = _suite(a) if a.get("suite") is not None else None
        return verify_record(_arg(a, "record"), _arg(a, "published"), suite)

    def endpoints(name: str) -> Any:
        from evaluator import endpoints as module
        return getattr(module, name)

    return {
        "share_fragment": lambda a: share("share_fragment")(_arg(a, "records")),
        "read_share": lambda a: share("read_share")(_arg(a, "fragment")),
        "share_case_ids": lambda a: share("share_case_ids")(_arg(a, "card"), _suite(a)),
        "verify_record": verify,
        "report_html": lambda a: report(a, "html"),
        "report_md": lambda a: report(a, "md"),
        "auth_headers": lambda a: endpoints("auth_headers")(_arg(a, "url"), _arg(a, "keys")),
        "check_api_key": lambda a: endpoints("check_api_key")(_arg(a, "key"),
                                                              a.get("where") or "API key"),
        "allowed_hosts": lambda a: endpoints("parse_allowed_hosts")(_arg(a, "hosts")),
        "csp_sources": lambda a: endpoints("csp_sources")(_arg(a, "hosts")),
    }


def _page_custom_ops() -> dict[str, Callable[[dict[str, Any]], Any]]:
    """Custom suites, history and quantisation A/B (issue 15's page half):
    :mod:`evaluator.page_custom`, whose ops import their modules on first use."""
    from evaluator import page_custom
    return page_custom.OPS


OPS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "load_suite_json": _load_suite_json,
    "suite_from_json": lambda a: _suite(a).to_json(),
    "project": _project,
    "context_length": _context_length,
    "skip_reason": _skip_reason,
    "build_request": lambda a: request.build_request(
        _case(a), _arg(a, "model_id"), a.get("settings") or {}, a.get("runtime")),
    "plan_case": lambda a: request.plan_case(
        _case(a), _arg(a, "model_id"), _arg(a, "caps"), a.get("settings") or {},
        a.get("context_length"), a.get("runtime")),
    "run_settings": lambda a: _settings().settings_from(a),
    "run_cases": lambda a: [c.to_json() for c in expand.run_cases(_suite(a), _arg(a, "seed"))],
    "next_request": lambda a: conversation.next_request(
        _case(a), _arg(a, "model_id"), a.get("settings") or {}, _arg(a, "transcripts"),
        a.get("runtime")),
    "score_turns": lambda a: result.score_turns(_case(a), _arg(a, "transcripts")),
    "model_entry": lambda a: request.model_entry(
        _arg(a, "id"), _arg(a, "runtime"), _arg(a, "base_url"), a.get("capabilities")),
    "assemble": lambda a: transcript.assemble(_arg(a, "transcript")).to_json(),
    "run_check": lambda a: checks.run_check(
        _arg(a, "expect"), _arg(a, "answer"), a.get("tool_calls") or []).to_json(),
    "score_case": lambda a: result.score_case(_case(a), _arg(a, "transcript")),
    "skipped_result": lambda a: result.skipped_result(_case(a), _arg(a, "reason")),
    "summarize": lambda a: summary.summarize(_arg(a, "results"), _arg(a, "pass_threshold")),
    "run_record": lambda a: summary.run_record(
        _suite_or_ref(a), _arg(a, "model"), _arg(a, "settings"), _arg(a, "started_at"),
        _arg(a, "results"), a.get("warmup"), a.get("engine"), a.get("machine")),
    "rescore_record": _rescore_record,
    "read_records": _read_records,
    "check_record_size": _check_record_size,
    "check_answers": lambda a: _references().check_answers(_suite(a), _arg(a, "answers"),
                                                           _arg(a, "seed")),
    "probe_plan": _discovery("probe_plan", "env", optional=("only", "custom", "allowed_hosts")),
    "interpret_probe": _discovery("interpret_probe", "plan_row", "observation"),
    "metadata_plan": _discovery("metadata_plan", "model_row"),
    "merge_metadata": _discovery("merge_metadata", "model_row", "responses"),
    "check_endpoint": _discovery("check_endpoint", "text", "dialect",
                                 optional=("allowed_hosts",)),
    "cors_recipe": _discovery("cors_recipe", "runtime", "origin"),
    "discovery_table": _discovery("discovery_table"),
    "wilson": lambda a: _stats("wilson")(_arg(a, "k"), _arg(a, "n")),
    "mcnemar_exact": lambda a: _stats("mcnemar_exact")(_arg(a, "b"), _arg(a, "c")),
    "newcombe_paired": lambda a: _stats("newcombe_paired")(
        _arg(a, "a"), _arg(a, "b"), _arg(a, "c"), _arg(a, "d")),
    "pass_rates": lambda a: _stats("pass_rates")(_arg(a, "results")),
    "stability": lambda a: _stats("stability")(_arg(a, "results")),
    "speed_profile": lambda a: _stats("speed_profile")(_arg(a, "results"),
                                                       a.get("prompt_per_second")),
    "pool_check": lambda a: _stats("pool_check")(_arg(a, "a"), _arg(a, "b")),
    "compare": lambda a: _stats("compare")(_arg(a, "a"), _arg(a, "b"), a.get("alpha", 0.05)),
    "compare_records": lambda a: _stats("compare_records")(_arg(a, "a"), _arg(a, "b"),
                                                           a.get("alpha", 0.05)),
    "run_report": _run_report,
    "effective_settings": lambda a: _settings().effective_settings(_arg(a, "settings")),
    "thinking_note": _thinking_note,
    "attempt_order": lambda a: _repeats().attempt_order(_arg(a, "count"), _arg(a, "repeat")),
    "with_attempt": lambda a: _repeats().with_attempt(_arg(a, "result"), _arg(a, "attempt"),
                                                      _arg(a, "repeat")),
    "warmup_request": lambda a: _repeats().warmup_request(_arg(a, "model_id"),
                                                          a.get("settings") or {}),
    "warmup_outcome": lambda a: _repeats().warmup_outcome(_arg(a, "transcript")),
    "engine_defaults_plan": lambda a: _engine_defaults().engine_defaults_plan(
        _arg(a, "runtime"), _arg(a, "base_url"), _arg(a, "model_id")),
    "parse_engine_defaults": lambda a: _engine_defaults().parse_engine_defaults(
        _arg(a, "runtime"), _arg(a, "status"), _arg(a, "body")),
    "merge_engine_defaults": _merge_engine_defaults,
    "comparison": _comparison,
    "scatter_layout": _scatter_layout,
    "progress": _progress,
    "engine_plan": lambda a: _engine_info("engine_plan")(
        _arg(a, "runtime"), _arg(a, "base_url"), _arg(a, "model_id")),
    "read_engine": lambda a: _engine_info("read_engine")(
        _arg(a, "runtime"), _arg(a, "model_id"), _arg(a, "responses")),
    "browser_machine": lambda a: _engine_info("browser_machine")(_arg(a, "facts")),
    **_issue15_ops(),
    **_page_custom_ops(),
}


def _one_line(text: str) -> str:
    return " ".join(text.split())


def call(request_json: str) -> str:
    """Run one op; always returns a JSON reply, never raises."""
    try:
        req = json.loads(request_json)
        if not isinstance(req, dict):
            raise CallError("request must be a JSON object {op, args}")
        name = req.get("op")
        op = OPS.get(name) if isinstance(name, str) else None
        if op is None:
            raise CallError(f"unknown op {name!r} (known: {', '.join(OPS)})")
        args = req.get("args", {})
        if not isinstance(args, dict):
            raise CallError(f"op {name!r}: args must be an object")
        try:
            value = op(args)
        except CallError as err:
            raise CallError(f"op {name!r}: {err}") from None
        return json.dumps({"ok": True, "value": value}, ensure_ascii=False, allow_nan=False)
    except (SuiteError, CallError, records.RecordError, request.SettingsError) as err:
        message = str(err)
    except json.JSONDecodeError as err:
        message = f"request is not JSON: {err}"
    except Exception as err:  # noqa: BLE001 - every failure becomes a reply
        # ShareError and EndpointError lines already say what is wrong
        plain = type(err).__name__ in ("ShareError", "EndpointError")
        message = str(err) if plain else f"{type(err).__name__}: {err}"
    return json.dumps({"ok": False, "error": _one_line(message)}, ensure_ascii=False)
