"""The Markdown report of one or more runs (for issues and chats).

:func:`report_md` renders :func:`evaluator.report_data.report_data` as Markdown. Records
come from outside: every string taken from one is escaped (:func:`md_text`): each ASCII
punctuation character Markdown, GitHub's autolinks or HTML give a meaning is
backslash-escaped (so no link, image, emphasis, heading, HTML tag or entity can come from
a record), and in table cells the
pipe is escaped too and line breaks become spaces, so a value stays in its cell.
"""

from __future__ import annotations

import re
from typing import Any

from evaluator.report_data import pct, rate_text, report_data, speed_rows, verdict_text

_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~&:@$])")
_BREAKS = re.compile(r"[\r\n\t\x0b\x0c\u2028\u2029\x00-\x08\x0e-\x1f\x7f]+")


def md_text(value: Any) -> str:
    """A record's value as Markdown text: one line, every special character escaped."""
    text = value if isinstance(value, str) else str(value)
    return _SPECIAL.sub(r"\\\1", _BREAKS.sub(" ", text))


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _table(head: list[str], rows: list[list[str]]) -> list[str]:
    """A table; cells are already escaped (``md_text``) or our own text."""
    return [_row(head), _row(["---"] * len(head)), *(_row(r) for r in rows), ""]


def _verdict(summary: dict[str, Any]) -> str:
    return f"{md_text(summary['verdict'])} (threshold {pct(summary['pass_threshold'])})"


def _cell(cell: dict[str, Any] | None) -> str:
    if cell is None:
        return "–"
    status = md_text(cell["status"])
    return status if cell["attempts"] <= 1 else f"{status} {cell['passed']}/{cell['attempts']}"


def report_md(records: Any) -> str:
    """The Markdown report of 1..N run records (see the module docstring)."""
    data = report_data(records)
    runs, suite = data["runs"], data["suite"]
    out = [f"# localrate report: {md_text(suite['id'])} {md_text(suite['version'])}", "",
           f"- Suite sha256: {md_text(suite['sha256'])}",
           "- Seed: " + ", ".join(str(r["seed"]) if r["seed"] is not None else "none"
                                  for r in runs),
           "- localrate version: " + ", ".join(md_text(r["localrate_version"] or
                                                      "not recorded") for r in runs),
           f"- Report made by localrate {data['generator']}", ""]
    if not data["same_suite"]:
        out += ["Note: the runs are of different suites (or suite versions).", ""]
    out += ["## Pass rate", ""]
    out += _table(["Model", "Runtime", "Pass rate \\[95% Wilson\\]", "Weighted", "Verdict"],
                  [[md_text(r["model"]), md_text(r["runtime"]),
                    rate_text(r["rates"]["overall"]), pct(r["summary"]["pass_ratio"]),
                    _verdict(r["summary"])] for r in runs])
    if data["paired"]:
        out += ["## Paired comparison", ""]
        named = [{**r, "model": md_text(r["model"])} for r in runs]
        out += [f"- {verdict_text(p, named)}" for p in data["paired"]]
        out += ["", str(data["paired"][0]["method"]), ""]
    if data["tags"]:
        out += ["## Per category", ""]
        out += _table(["Category", *(md_text(r["model"]) for r in runs)],
                      [[md_text(tag), *(rate_text(r["rates"]["tags"][tag])
                                        if tag in r["rates"]["tags"] else "–"
                                        for r in runs)] for tag in data["tags"]])
    out += ["## Speed", ""]
    labels = [label for label, _ in speed_rows(runs[0]["speed"])]
    out += _table(["", *(md_text(r["model"]) for r in runs)],
                  [[label, *(dict(speed_rows(r["speed"]))[label]
                                      for r in runs)] for label in labels])
    out += ["## Settings", ""]
    for run in runs:
        out += [f"{md_text(run['model'])}:", ""]
        out += _table(["Setting", "Value"], [[md_text(k), md_text(v)]
                                             for k, v in run["settings"]])
    out += [f"## Cases ({len(data['cases'])})", ""]
    out += _table(["Case", *(md_text(r["model"]) for r in runs)],
                  [[md_text(c["id"]), *(_cell(x) for x in c["cells"])] for c in data["cases"]])
    return "\n".join(out).rstrip("\n") + "\n"
