"""The page ops of issue 15's page half: custom suites (import, editor, Try it, export) and
history / quantisation A/B. :mod:`evaluator.page_api` merges :data:`OPS` into its table;
each op imports its module on first use, so the page's start does not pay for them.

* ``suite_limits`` → :func:`evaluator.suite_edit.limits`;
* ``suite_import`` ``{"entries": [{"path", "data"}], "name"}`` → ``{"draft", "check"}``;
* ``suite_new`` ``{"name"?}``, ``suite_check`` ``{"draft"}``, ``suite_form``
  ``{"draft", "index"}``, ``suite_edit`` ``{"draft", "action", "args"}`` → ``{"draft",
  "check"}``, ``suite_try`` ``{"draft", "index", "answer", "seed"?}``,
  ``suite_export_yaml`` / ``suite_export_zip`` ``{"draft"}``;
* ``history`` ``{"records"}``, ``trend_chart`` ``{"points", "width", "height"}``,
  ``quant_ab`` ``{"records"}``, ``model_parts`` ``{"id"}`` (:mod:`evaluator.history`);
* ``address_space`` ``{"url"}`` → ``loopback``, ``local`` or None (:mod:`evaluator.netspace`:
  the ``targetAddressSpace`` a fetch to that URL names).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def _need(args: dict[str, Any], name: str) -> Any:
    if name not in args:
        raise ValueError(f"missing argument {name!r}")
    return args[name]


def _edit(args: dict[str, Any]) -> dict[str, Any]:
    from evaluator import suite_edit, suite_form
    draft = suite_form.edit(_need(args, "draft"), str(_need(args, "action")),
                            args.get("args") or {})
    return {"draft": draft, "check": suite_edit.check_draft(draft)}


def _import(args: dict[str, Any]) -> dict[str, Any]:
    from evaluator import suite_edit
    draft = suite_edit.import_suite(_need(args, "entries"), str(args.get("name") or ""))
    return {"draft": draft, "check": suite_edit.check_draft(draft)}


def _edit_mod() -> Any:
    from evaluator import suite_edit
    return suite_edit


def _form_mod() -> Any:
    from evaluator import suite_form
    return suite_form


def _history_mod() -> Any:
    from evaluator import history
    return history


def _netspace(url: str) -> Any:
    from evaluator.netspace import address_space
    return address_space(url)


OPS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "suite_limits": lambda a: _edit_mod().limits(),
    "suite_import": _import,
    "suite_new": lambda a: _edit_mod().new_draft(str(a.get("name") or "my-suite")),
    "suite_check": lambda a: _edit_mod().check_draft(_need(a, "draft")),
    "suite_form": lambda a: _form_mod().case_form(_need(a, "draft"), _need(a, "index")),
    "suite_edit": _edit,
    "suite_try": lambda a: _form_mod().try_answer(_need(a, "draft"), _need(a, "index"),
                                                  str(_need(a, "answer")), a.get("seed") or 0),
    "suite_export_yaml": lambda a: _edit_mod().export_yaml(_need(a, "draft")),
    "suite_export_zip": lambda a: _edit_mod().export_zip(_need(a, "draft")),
    "history": lambda a: _history_mod().history(_need(a, "records")),
    "trend_chart": lambda a: _history_mod().trend_chart(_need(a, "points"), _need(a, "width"),
                                                        _need(a, "height")),
    "quant_ab": lambda a: _history_mod().quant_ab(_need(a, "records")),
    "model_parts": lambda a: _history_mod().model_parts(str(_need(a, "id"))),
    "address_space": lambda a: _netspace(str(_need(a, "url"))),
}
