"""The single-file HTML report of one or more runs.

:func:`report_html` renders :func:`evaluator.report_data.report_data` as one HTML
document: inline CSS, charts as inline SVG, no script, no external request (no URL at
all), so it works offline and from a mail attachment. Records come from outside, so
every string taken from one goes through :func:`html.escape` (``quote=True``) and lands
only in text or in a quoted attribute value this module names; no markup is ever built
from a record's text. A Content-Security-Policy meta tag forbids anything else.
"""

from __future__ import annotations

from html import escape
from typing import Any

from evaluator.report_data import (
    pct,
    rate_text,
    report_data,
    speed_rows,
    verdict_text,
)

_CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:60rem;padding:0 1rem;
color:#1b1b1b;background:#fff}
h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.5rem 0;font-size:13px}
th,td{border:1px solid #ddd;padding:.25rem .5rem;text-align:left;vertical-align:top}
th{background:#f4f4f4}code{font-size:12px;word-break:break-all}
.pass{color:#0a6b2d}.fail{color:#a01919}.error{color:#8a4b00}.skip{color:#666}
.flaky{color:#6a3fa0}.muted{color:#555}svg text{font:12px system-ui,sans-serif}
"""
_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
_ROW_H, _LABEL_W, _BAR_W = 26, 220, 360


def _e(value: Any) -> str:
    return escape(value if isinstance(value, str) else str(value), quote=True)


def _table(head: list[str], rows: list[list[str]]) -> str:
    """A table; ``head`` and ``rows`` cells are already-escaped HTML."""
    top = "".join(f"<th>{h}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    thead = f"<thead><tr>{top}</tr></thead>" if any(head) else ""
    return f"<table>{thead}<tbody>{body}</tbody></table>"


def _chart(runs: list[dict[str, Any]]) -> str:
    """Pass rate per run as bars with the Wilson interval as a whisker (inline SVG)."""
    height = _ROW_H * len(runs) + 24
    width = _LABEL_W + _BAR_W + 80
    parts = [(f'<svg width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
              'role="img" aria-label="Pass rate per model">')]
    for i, run in enumerate(runs):
        rate = run["rates"]["overall"]
        y = 4 + i * _ROW_H
        value = float(rate["rate"] or 0.0)
        low, high = float(rate["low"]), float(rate["high"])
        parts.append(f'<text x="0" y="{y + 15}">{_e(run["model"][:32])}</text>')
        parts.append(f'<rect x="{_LABEL_W}" y="{y + 3}" width="{value * _BAR_W:.1f}" '
                     f'height="16" fill="#4a7bd0"/>')
        x1, x2 = _LABEL_W + low * _BAR_W, _LABEL_W + high * _BAR_W
        parts.append(f'<line x1="{x1:.1f}" x2="{x2:.1f}" y1="{y + 11}" y2="{y + 11}" '
                     'stroke="#111" stroke-width="1.5"/>')
        for x in (x1, x2):
            parts.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{y + 6}" y2="{y + 16}" '
                         'stroke="#111" stroke-width="1.5"/>')
        parts.append(f'<text x="{_LABEL_W + _BAR_W + 8}" y="{y + 15}">'
                     f'{_e(pct(rate["rate"]))}</text>')
    axis = height - 6
    for tick in (0, 0.5, 1):
        parts.append(f'<text x="{_LABEL_W + tick * _BAR_W - 8:.0f}" y="{axis}" '
                     f'class="muted">{int(tick * 100)}%</text>')
    parts.append("</svg>")
    return "".join(parts)


def _verdict(summary: dict[str, Any]) -> str:
    verdict = _e(summary["verdict"])
    threshold = _e(pct(summary["pass_threshold"]))
    return f'<span class="{verdict}">{verdict}</span> (threshold {threshold})'


def _cell(cell: dict[str, Any] | None) -> str:
    if cell is None:
        return '<span class="muted">–</span>'
    status = cell["status"]
    text = status if cell["attempts"] <= 1 else f"{status} {cell['passed']}/{cell['attempts']}"
    title = f' title="{_e(cell["detail"])}"' if cell["detail"] else ""
    return f'<span class="{_e(status)}"{title}>{_e(text)}</span>'


def report_html(records: Any) -> str:
    """The HTML report of 1..N run records (see the module docstring)."""
    data = report_data(records)
    runs, suite = data["runs"], data["suite"]
    title = f"localrate report: {suite['id']} {suite['version']}"
    out = ["<!doctype html>", '<html lang="en"><head><meta charset="utf-8">',
           f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>",
           f"<h1>{_e(title)}</h1>"]
    facts = [["Suite", f"{_e(suite['id'])} {_e(suite['version'])}"],
             ["Suite sha256", f"<code>{_e(suite['sha256'])}</code>"],
             ["Seed", ", ".join(_e(r["seed"] if r["seed"] is not None else "none")
                                for r in runs)],
             ["localrate version", ", ".join(_e(r["localrate_version"] or "not recorded")
                                             for r in runs)],
             ["Report made by", f"localrate {_e(data['generator'])}"]]
    if not data["same_suite"]:
        facts.append(["Note", "the runs are of different suites (or suite versions)"])
    out.append(_table([], facts))
    out.append("<h2>Pass rate</h2>")
    out.append(_chart(runs))
    out.append(_table(
        ["Model", "Runtime", "Pass rate [95% Wilson]", "Weighted", "Verdict", "Started"],
        [[_e(r["model"]), _e(r["runtime"]), _e(rate_text(r["rates"]["overall"])),
          _e(pct(r["summary"]["pass_ratio"])),
          _verdict(r["summary"]), _e(r["started_at"])]
         for r in runs]))
    if data["paired"]:
        out.append("<h2>Paired comparison</h2><ul>")
        out += [f"<li>{_e(verdict_text(p, runs))}</li>" for p in data["paired"]]
        out.append(f'</ul><p class="muted">{_e(data["paired"][0]["method"])}</p>')
    if data["tags"]:
        out.append("<h2>Per category</h2>")
        out.append(_table(["Category", *(_e(r["model"]) for r in runs)],
                          [[_e(tag), *(_e(rate_text(r["rates"]["tags"][tag]))
                                       if tag in r["rates"]["tags"] else "–" for r in runs)]
                           for tag in data["tags"]]))
    out.append("<h2>Speed</h2>")
    labels = [label for label, _ in speed_rows(runs[0]["speed"])]
    out.append(_table(["", *(_e(r["model"]) for r in runs)],
                      [[_e(label), *(_e(dict(speed_rows(r["speed"]))[label]) for r in runs)]
                       for label in labels]))
    out.append("<h2>Settings</h2>")
    for run in runs:
        out.append(f"<p>{_e(run['model'])}</p>")
        out.append(_table(["Setting", "Value"],
                          [[_e(k), _e(v)] for k, v in run["settings"]]))
    out.append(f"<h2>Cases ({len(data['cases'])})</h2>")
    out.append(_table(["Case", *(_e(r["model"]) for r in runs)],
                      [[f"<code>{_e(c['id'])}</code>", *(_cell(x) for x in c["cells"])]
                       for c in data["cases"]]))
    out.append("</body></html>")
    return "\n".join(out) + "\n"
