"""What the page's side-by-side comparison shows of several run records, decided here.

:func:`comparison` takes the run records shown (in the page's order) and returns, for the
page to draw as it is:

* ``runs`` — per run: its label (the model id, shortened, made unique), pass rate with its
  Wilson interval (:func:`evaluator.stats.pass_rates`), decode tok/s median
  (:func:`evaluator.stats.speed_profile`) and whether it is on the Pareto frontier of
  (decode tok/s, pass rate) (:func:`pareto_frontier`);
* ``tags`` — per tag (sorted), each run's pass rate with its interval (the category bars);
* ``matrix`` — the case x model matrix (:func:`matrix`): a cell per run with its status,
  k of N, distinct answers, flaky flag, median time and the indexes of its attempts in the
  record's ``cases`` (so the page opens the answers without deciding anything), and the
  rows each filter (all / failures / different / flaky) keeps;
* ``paired`` — with two runs or more, the paired comparison of runs ``a`` and ``b``
  (:func:`evaluator.stats.compare_records`), with their labels.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from typing import Any

from evaluator.stats_compare import compare_records
from evaluator.stats_math import StatsError
from evaluator.stats_runs import SCORED, by_case, pass_rates, speed_profile, stability

FILTERS = ("all", "failures", "different", "flaky")
LABEL_MAX = 28  # characters of a model id shown in a label (the rest is "…")


def pareto_frontier(points: Sequence[Any]) -> list[int]:
    """Indexes of the points ``[x, y]`` no other point dominates (another has x >= and
    y >= with one of them greater), ordered by x then y; a point with a None coordinate is
    never on it. Equal points are all on it."""
    valid = []
    for i, point in enumerate(points):
        if not isinstance(point, (list, tuple)) or len(point) != 2:
            raise StatsError(f"points[{i}]: expected [x, y]")
        x, y = point
        if _number(x) and _number(y):
            valid.append((float(x), float(y), i))
    out = [(x, y, i) for x, y, i in valid
           if not any(ox >= x and oy >= y and (ox > x or oy > y) for ox, oy, _ in valid)]
    return [i for _, _, i in sorted(out)]


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) \
        and math.isfinite(value)


def labels(records: Sequence[dict[str, Any]]) -> list[str]:
    """One label per run: its model id (at most LABEL_MAX characters, "…" ending a
    shortened one); a label already given gets " (2)", " (3)", ... in order."""
    out: list[str] = []
    seen: dict[str, int] = {}
    for record in records:
        model = record.get("model")
        name = model.get("id") if isinstance(model, dict) else None
        text = name if isinstance(name, str) and name else "?"
        if len(text) > LABEL_MAX:
            text = text[:LABEL_MAX - 1] + "…"
        seen[text] = seen.get(text, 0) + 1
        out.append(text if seen[text] == 1 else f"{text} ({seen[text]})")
    return out


def _cell(group: list[dict[str, Any]], stable: dict[str, Any], where: list[int]
          ) -> dict[str, Any]:
    """One run's cell of one case: ``status`` is pass (every scored attempt passed), fail
    (none passed, one at least failed), error (every scored attempt an error), flaky (some
    passed, some not) or skip (nothing scored)."""
    tried, passed = stable["attempts"], stable["passed"]
    if not tried:
        status = "skip"
    elif passed == tried:
        status = "pass"
    elif passed:
        status = "flaky"
    else:
        status = "error" if stable["errors"] == tried else "fail"
    times = [float(r["total_ms"]) for r in group
             if r.get("status") in SCORED and _number(r.get("total_ms"))]
    return {"status": status, "passed": passed, "attempts": tried,
            "distinct": stable["distinct_answers"], "flaky": stable["flaky"],
            "ms": round(statistics.median(times), 1) if times else None, "index": where}


def _indexes(cases: list[Any], case_id: str, group: list[dict[str, Any]]) -> list[int]:
    """Where a case's attempts are in ``cases``, in attempt order; a result holding its
    attempts (``"attempts"``) is one index."""
    at = {id(r): i for i, r in enumerate(cases)}
    found = [at[id(r)] for r in group if id(r) in at]
    if len(found) == len(group):
        return found
    return [i for i, r in enumerate(cases) if isinstance(r, dict) and r.get("id") == case_id]


def _cases(record: dict[str, Any], n: int) -> list[Any]:
    cases = record.get("cases")
    if not isinstance(cases, list):
        raise StatsError(f"records[{n}].cases: expected a list of case results")
    return cases


def matrix(records: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """``{"rows": [{"id", "cells": [cell or None per run], "failures", "different",
    "flaky"}], "filters": {filter: [row indexes]}}``. Cases in order of first appearance
    over the runs; a run without the case has None. A row is in ``failures`` when a cell
    is fail, error or flaky; in ``different`` when its cells disagree (a missing cell, a
    different status, or a different share of passed attempts); in ``flaky`` when a cell
    is flaky."""
    tables = []
    for n, record in enumerate(records):
        cases = _cases(record, n)
        groups = by_case(cases)
        stable = {s["id"]: s for s in stability(cases)}
        tables.append({k: _cell(g, stable[k], _indexes(cases, k, g)) for k, g in groups.items()})
    ids: list[str] = []
    for table in tables:
        ids.extend(k for k in table if k not in ids)
    rows = []
    for case_id in ids:
        cells = [table.get(case_id) for table in tables]
        shapes = {None if c is None else (c["status"], c["passed"] * 1.0 / c["attempts"]
                                          if c["attempts"] else None) for c in cells}
        rows.append({"id": case_id, "cells": cells,
                     "failures": any(c and c["status"] in ("fail", "error", "flaky")
                                     for c in cells),
                     "different": len(shapes) > 1,
                     "flaky": any(c and c["flaky"] for c in cells)})
    filters = {"all": list(range(len(rows)))}
    for name in FILTERS[1:]:
        filters[name] = [i for i, row in enumerate(rows) if row[name]]
    return {"rows": rows, "filters": filters}


def comparison(records: Sequence[Any], a: int = 0, b: int = 1) -> dict[str, Any]:
    """The comparison of the run records shown (module docstring); ``a`` and ``b`` pick
    the two runs of the paired verdict (indexes into ``records``)."""
    if not isinstance(records, (list, tuple)) or not all(isinstance(r, dict)
                                                         for r in records):
        raise StatsError("records: expected a list of run records")
    names = labels(records)
    runs = []
    for n, record in enumerate(records):
        cases = _cases(record, n)
        rates = pass_rates(cases)
        model = record.get("model") if isinstance(record.get("model"), dict) else {}
        runs.append({"label": names[n], "model": model.get("id"),
                     "runtime": model.get("runtime"), "pass": rates["overall"],
                     "tags": rates["tags"],
                     "decode_tok_s": speed_profile(cases)["decode_tok_s"]["median"]})
    front = set(pareto_frontier([[r["decode_tok_s"], r["pass"]["rate"]] for r in runs]))
    for n, run in enumerate(runs):
        run["frontier"] = n in front
    tags = sorted({t for run in runs for t in run["tags"]})
    paired = None
    if len(records) >= 2:
        for name, value in (("a", a), ("b", b)):
            if isinstance(value, bool) or not isinstance(value, int) \
                    or not 0 <= value < len(records):
                raise StatsError(f"{name}: expected a run index from 0 to "
                                 f"{len(records) - 1}, got {value!r}")
        if a == b:
            raise StatsError("a and b: expected two different runs")
        paired = {**compare_records(records[a], records[b]), "a_index": a, "b_index": b,
                  "a_label": names[a], "b_label": names[b]}
    return {"runs": [{k: v for k, v in run.items() if k != "tags"} for run in runs],
            "tags": [{"tag": t, "runs": [run["tags"].get(t) for run in runs]} for t in tags],
            "matrix": matrix(records), "paired": paired, "filters": list(FILTERS)}
