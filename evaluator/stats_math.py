"""The formulas behind the run statistics (:mod:`evaluator.stats` is the API to import).

* :func:`wilson` — the Wilson score interval for a proportion (Wilson 1927; Newcombe 1998,
  "Two-sided confidence intervals for the single proportion", Stat Med 17:857, method 3).
  ``n == 0`` gives ``(0.0, 1.0)``: with nothing observed, every rate is possible.
* :func:`mcnemar_exact` — the exact (conditional) McNemar test: two-sided
  ``p = min(1, 2 * P(X <= min(b, c)))`` with ``X ~ Binomial(b + c, 1/2)``, summed exactly in
  integers and rounded once to a float (up to ``EXACT_LIMIT`` = 100,000 discordant pairs;
  above, in floating point, relative error below 1e-8). ``b == c`` gives 1.0.
* :func:`newcombe_paired` — the interval for the difference of two paired proportions by
  Newcombe's method 10 (Newcombe 1998, "Improved confidence intervals for the difference
  between binomial proportions based on paired data", Stat Med 17:2635): square-and-add of
  the two marginal Wilson intervals with the correlation phi, corrected as Newcombe does
  (``ad - bc`` above zero is reduced by ``n / 2``, not below zero). This is the "Newcombe
  square-and-add" interval of Fagerland, Lydersen & Laake (2014, Stat Med 33:2850).
* :func:`quantile` (linear between closest ranks, Hyndman & Fan type 7, as
  ``statistics.quantiles(method="inclusive")``), :func:`nearest_rank` (as the summary's
  ``p95_ms``) and :func:`spread` (n, median, quartiles, IQR, min, max).

Invalid arguments raise :class:`StatsError` naming the argument.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

Z95 = 1.959963984540054  # the standard normal's 0.975 quantile: a two-sided 95% interval
EXACT_LIMIT = 100_000  # discordant pairs summed exactly (0.7 s in CPython at the limit)


class StatsError(ValueError):
    """An argument a statistic cannot take; the message names it."""


def z_for(level: float) -> float:
    """The two-sided normal quantile of a confidence ``level`` (``Z95`` for 0.95)."""
    if isinstance(level, bool) or not isinstance(level, (int, float)) \
            or not 0 < level < 1:
        raise StatsError(f"level: expected a number between 0 and 1, got {level!r}")
    if level == 0.95:
        return Z95
    from statistics import NormalDist  # only for a level other than 95%
    return NormalDist().inv_cdf(1 - (1 - level) / 2)


def _count(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise StatsError(f"{name}: expected a whole number >= 0, got {value!r}")
    return value


def _number(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) \
            or not math.isfinite(value):
        raise StatsError(f"{name}: expected a finite number, got {value!r}")
    return float(value)


def _z(z: object) -> float:
    value = _number("z", z)
    if value <= 0:
        raise StatsError(f"z: expected a number > 0, got {z!r}")
    return value


def wilson(k: float, n: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval ``(low, high)`` for ``k`` successes in ``n`` trials.

    ``k`` may be fractional (a sum of per-case pass rates, see :mod:`evaluator.stats_runs`);
    ``0 <= k <= n``. ``n == 0`` gives ``(0.0, 1.0)``. ``k == 0`` gives a low of exactly 0.0
    and ``k == n`` a high of exactly 1.0.
    """
    trials = _count("n", n)
    hits = _number("k", k)
    width = _z(z)
    if not 0 <= hits <= trials:
        raise StatsError(f"k: expected 0 <= k <= n ({trials}), got {k!r}")
    if trials == 0:
        return 0.0, 1.0
    return _wilson(hits, trials, width)


def binomial_tail(n: int, m: int) -> int:
    """``sum(comb(n, i) for i in range(m + 1))``, exactly: the count of outcomes of ``n``
    fair coin flips with at most ``m`` heads (each term from the one before, in integers)."""
    term = total = 1
    for i in range(min(m, n)):
        term = term * (n - i) // (i + 1)
        total += term
    return total


def mcnemar_exact(b: int, c: int) -> float:
    """The exact two-sided McNemar p-value for ``b`` and ``c`` discordant pairs.

    ``p = min(1, 2 * P(X <= min(b, c)))``, ``X ~ Binomial(b + c, 1/2)``: the tail is summed
    in integers and divided by ``2 ** (b + c)`` once (Python rounds an integer quotient
    correctly), so the result is the exact p-value rounded to the nearest float. Above
    ``EXACT_LIMIT`` discordant pairs (far beyond any suite) the same sum is taken in
    floating point (:func:`_tail_in_floats`), so a hostile record cannot make it run for
    minutes.
    """
    first, second = _count("b", b), _count("c", c)
    n = first + second
    smaller = min(first, second)
    if 2 * smaller >= n:  # b == c: P(X <= n/2) >= 1/2, so the p-value is 1
        return 1.0
    if n > EXACT_LIMIT:
        return min(1.0, 2 * _tail_in_floats(n, smaller))
    return min(1.0, 2 * binomial_tail(n, smaller) / (1 << n))


def _tail_in_floats(n: int, m: int) -> float:
    """``P(X <= m)`` for ``X ~ Binomial(n, 1/2)``, ``m < n / 2``, in floating point: the
    largest term ``C(n, m) / 2^n`` from log-gamma (relative error about ``n * 1e-16``),
    times the sum of the terms below it relative to it, taken from ``m`` down until the
    rest (bounded by a geometric series, since the ratio of neighbours only shrinks) is
    below ``1e-17`` of the sum."""
    log_top = math.lgamma(n + 1) - math.lgamma(m + 1) - math.lgamma(n - m + 1) \
        - n * math.log(2)
    term = total = 1.0
    i = m
    while i > 0:
        ratio = i / (n - i + 1)  # term(i - 1) / term(i)
        if term * ratio / (1 - ratio) < total * 1e-17:
            break
        term *= ratio
        total += term
        i -= 1
    return math.exp(log_top) * total


def _phi(a: float, b: float, c: float, d: float) -> float:
    """Newcombe's corrected correlation of the two marginal proportions (0 when a margin
    is empty)."""
    n = a + b + c + d
    product = (a + b) * (c + d) * (a + c) * (b + d)
    if product <= 0:
        return 0.0
    cross = a * d - b * c
    if cross > 0:
        cross = max(cross - n / 2, 0.0)
    return cross / math.sqrt(product)


def newcombe_paired(a: float, b: float, c: float, d: float, z: float = Z95
                    ) -> tuple[float, float]:
    """Newcombe's method 10 interval for ``p1 - p2 = (b - c) / n`` of a paired table.

    ``a``: both succeed, ``b``: only the first, ``c``: only the second, ``d``: neither;
    ``p1 = (a + b) / n`` and ``p2 = (a + c) / n``. Cells may be fractional (a case-weighted
    table, see :mod:`evaluator.stats_compare`). An empty table gives ``(-1.0, 1.0)``.
    """
    cells = [_number(name, value) for name, value in zip("abcd", (a, b, c, d), strict=True)]
    for name, value in zip("abcd", cells, strict=True):
        if value < 0:
            raise StatsError(f"{name}: expected a number >= 0, got {value!r}")
    width = _z(z)
    a_, b_, c_, d_ = cells
    n = a_ + b_ + c_ + d_
    if n == 0:
        return -1.0, 1.0
    p1, p2 = (a_ + b_) / n, (a_ + c_) / n
    l1, u1 = _wilson(a_ + b_, n, width)
    l2, u2 = _wilson(a_ + c_, n, width)
    phi = _phi(a_, b_, c_, d_)
    down1, up2 = p1 - l1, u2 - p2
    up1, down2 = u1 - p1, p2 - l2
    theta = p1 - p2
    low = theta - math.sqrt(max(0.0, down1 ** 2 - 2 * phi * down1 * up2 + up2 ** 2))
    high = theta + math.sqrt(max(0.0, up1 ** 2 - 2 * phi * up1 * down2 + down2 ** 2))
    return max(-1.0, low), min(1.0, high)


def _wilson(k: float, n: float, z: float) -> tuple[float, float]:
    """Wilson for ``0 <= k <= n``, ``n > 0`` (``n`` may be fractional: the margins of a
    case-weighted table)."""
    z2 = z * z
    k = min(max(k, 0.0), n)
    center = (k + z2 / 2) / (n + z2)
    half = z / (n + z2) * math.sqrt(k * (n - k) / n + z2 / 4)
    return (0.0 if k == 0 else max(0.0, center - half),
            1.0 if k == n else min(1.0, center + half))


def quantile(ordered: Sequence[float], q: float) -> float:
    """The ``q`` quantile of sorted, non-empty values, linear between closest ranks
    (type 7: ``h = (n - 1) q``), as ``statistics.quantiles(method="inclusive")``."""
    if not ordered:
        raise StatsError("quantile: no values")
    h = (len(ordered) - 1) * q
    lower = math.floor(h)
    if lower + 1 >= len(ordered):
        return float(ordered[-1])
    return ordered[lower] + (h - lower) * (ordered[lower + 1] - ordered[lower])


def nearest_rank(ordered: Sequence[float], q: float) -> float:
    """The nearest-rank ``q`` percentile of sorted, non-empty values: the value at rank
    ``ceil(q * n)`` (the summary's ``p95_ms`` is ``nearest_rank(values, 0.95)``)."""
    if not ordered:
        raise StatsError("nearest_rank: no values")
    return float(ordered[max(1, math.ceil(q * len(ordered))) - 1])


def spread(values: Sequence[float], digits: int = 1) -> dict[str, float | int | None]:
    """``{"n", "median", "q1", "q3", "iqr", "min", "max"}`` of ``values`` (quartiles by
    :func:`quantile`), each rounded to ``digits``; every figure but ``n`` is None when
    there are no values."""
    ordered = sorted(float(v) for v in values)
    if not ordered:
        return {"n": 0, "median": None, "q1": None, "q3": None, "iqr": None, "min": None,
                "max": None}
    q1, q3 = quantile(ordered, 0.25), quantile(ordered, 0.75)
    return {"n": len(ordered), "median": round(quantile(ordered, 0.5), digits),
            "q1": round(q1, digits), "q3": round(q3, digits), "iqr": round(q3 - q1, digits),
            "min": round(ordered[0], digits), "max": round(ordered[-1], digits)}
