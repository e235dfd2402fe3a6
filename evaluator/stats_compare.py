"""The paired comparison of two runs on the same cases: difference, interval, verdict.

Both runs answered the same cases, so they are compared case by case (matched by id).
The CASE is the unit: attempts of one case are not independent (at temperature 0 they are
near copies), and attempt ``i`` of run A has nothing to do with attempt ``i`` of run B, so
attempts are never paired by index (that would count one case N times and make noise
look significant). Per paired case, each run's pass rate is ``r = passed / scored
attempts`` (one attempt: 0 or 1).

* **Test** — the exact McNemar test (:func:`evaluator.stats.mcnemar_exact`) on the cases
  where the runs differ: ``b`` = cases where A's rate is higher, ``c`` = where B's is.
  With one attempt per case this is the textbook McNemar test on discordant pairs; with
  repeats it is the exact sign test on per-case differences, valid when, under the null,
  A and B are exchangeable within each case.
* **Difference** — ``mean(r_A - r_B)`` over paired cases (with the same N everywhere, the
  difference in attempt pass rates).
* **Interval** — Newcombe's method 10 (:func:`evaluator.stats.newcombe_paired`) on the
  case-weighted table: each case adds one, split over the four cells by its
  cross-pairings (``r_A r_B`` to both, ``r_A (1 - r_B)`` to A only, ...). With one attempt
  per case it is exactly Newcombe's interval; with repeats it is his formula applied to
  fractional cells (an extension, not a published method) and, like the test, takes the
  number of cases as the sample size.
* **Verdict** — ``A better`` / ``B better`` when the test's p < alpha (direction from
  b vs c), else ``within noise``. The interval describes size; the verdict follows the
  test alone, so at the margin the interval may exclude 0 while p >= alpha, or the reverse.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from fractions import Fraction
from typing import Any

from evaluator.stats_math import StatsError, mcnemar_exact, newcombe_paired, z_for
from evaluator.stats_runs import SCORED, by_case, pass_rates, pool_check

VERDICTS = ("A better", "B better", "within noise")
METHOD = ("exact McNemar test on the cases that differ (sign test per case with repeats); "
          "Newcombe (1998) method 10 interval for the paired difference")


def _case_rate(group: list[dict[str, Any]]) -> tuple[int, int] | None:
    scored = [r for r in group if r.get("status") in SCORED]
    if not scored:
        return None
    return sum(1 for r in scored if r.get("status") == "pass"), len(scored)


def _number(value: Fraction) -> int | float:
    return value.numerator if value.denominator == 1 else round(float(value), 4)


def compare(a_results: Sequence[Any], b_results: Sequence[Any], alpha: float = 0.05,
            level: float = 0.95) -> dict[str, Any]:
    """Compare run A with run B on their common cases (see the module docstring).

    Returns ``{"method", "alpha", "level", "cases", "a_wins", "b_wins", "ties", "table",
    "a_rate", "b_rate", "difference", "interval", "p_value", "verdict", "a_worse",
    "differing", "unpaired"}``: ``cases`` counts paired cases; ``table`` is
    ``{"both", "a_only", "b_only", "neither"}`` (case-weighted); ``a_rate``/``b_rate`` are
    the mean per-case pass rates over the paired cases and ``difference`` = ``a_rate -
    b_rate``, None with no paired case; ``interval`` is ``[low, high]``; ``a_worse`` is the
    verdict ``B better`` (the CI gate); ``differing`` lists, in A's order, ``{"id", "a":
    [passed, attempts], "b": [...], "better": "A"|"B"}`` for every case whose rates
    differ; ``unpaired`` is ``{"a_only": [ids], "b_only": [ids]}``: cases with scored
    attempts in one run only.
    """
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0 < alpha < 1:
        raise StatsError(f"alpha: expected a number between 0 and 1, got {alpha!r}")
    z = z_for(level)
    rates_a = {k: _case_rate(g) for k, g in by_case(a_results).items()}
    rates_b = {k: _case_rate(g) for k, g in by_case(b_results).items()}
    kinds: Counter[tuple[tuple[int, int], tuple[int, int]]] = Counter()
    differing: list[dict[str, Any]] = []
    for case_id, got_a in rates_a.items():
        got_b = rates_b.get(case_id)
        if got_a is None or got_b is None:
            continue
        kinds[(got_a, got_b)] += 1
        ahead = got_a[0] * got_b[1] - got_b[0] * got_a[1]  # sign of r_A - r_B
        if ahead:
            differing.append({"id": case_id, "a": list(got_a), "b": list(got_b),
                              "better": "A" if ahead > 0 else "B"})
    cells = [Fraction(0)] * 4  # both, a only, b only, neither
    wins_a = wins_b = ties = 0
    sum_a = sum_b = Fraction(0)
    for (got_a, got_b), count in kinds.items():  # Fractions once per kind of case
        ra, rb = Fraction(*got_a), Fraction(*got_b)
        sum_a, sum_b = sum_a + count * ra, sum_b + count * rb
        for i, share in enumerate((ra * rb, ra * (1 - rb), (1 - ra) * rb,
                                   (1 - ra) * (1 - rb))):
            cells[i] += count * share
        wins_a += count if ra > rb else 0
        wins_b += count if rb > ra else 0
        ties += count if ra == rb else 0
    paired = wins_a + wins_b + ties
    p_value = mcnemar_exact(wins_a, wins_b)
    both, only_a, only_b, neither = (float(c) for c in cells)
    low, high = newcombe_paired(both, only_a, only_b, neither, z)
    verdict = VERDICTS[2] if p_value >= alpha else VERDICTS[0] if wins_a > wins_b \
        else VERDICTS[1]
    return {
        "method": METHOD, "alpha": alpha, "level": level, "cases": paired,
        "a_wins": wins_a, "b_wins": wins_b, "ties": ties,
        "table": dict(zip(("both", "a_only", "b_only", "neither"),
                          (_number(c) for c in cells), strict=True)),
        "a_rate": round(float(sum_a / paired), 4) if paired else None,
        "b_rate": round(float(sum_b / paired), 4) if paired else None,
        "difference": round(float((sum_a - sum_b) / paired), 4) if paired else None,
        "interval": [round(low, 4), round(high, 4)], "p_value": p_value,
        "verdict": verdict, "a_worse": verdict == VERDICTS[1], "differing": differing,
        "unpaired": {
            "a_only": [k for k, v in rates_a.items() if v is not None and
                       rates_b.get(k) is None],
            "b_only": [k for k, v in rates_b.items() if v is not None and
                       rates_a.get(k) is None]},
    }


def compare_records(a: Any, b: Any, alpha: float = 0.05, level: float = 0.95
                    ) -> dict[str, Any]:
    """:func:`compare` of two run records' ``cases``, plus what a comparison shows beside
    it: ``"same_suite"`` (equal, present ``suite.sha256``), ``"settings_differ"`` (the
    ``settings.*`` entries of :func:`evaluator.stats_runs.pool_check`) and each run's
    :func:`evaluator.stats_runs.pass_rates` as ``"a_pass_rates"`` / ``"b_pass_rates"``."""
    for name, record in (("a", a), ("b", b)):
        if not isinstance(record, dict) or not isinstance(record.get("cases"), list):
            raise StatsError(f"{name}.cases: expected a run record with a list of cases")
    result = compare(a["cases"], b["cases"], alpha, level)
    check = pool_check(a, b)
    fields = [d["field"] for d in check["differences"]]
    result.update({
        "same_suite": "suite.sha256" not in fields,
        "settings_differ": [d for d in check["differences"]
                            if str(d["field"]).startswith("settings.")],
        "a_pass_rates": pass_rates(a["cases"], z_for(level)),
        "b_pass_rates": pass_rates(b["cases"], z_for(level)),
    })
    return result
