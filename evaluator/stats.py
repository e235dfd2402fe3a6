"""The statistics of runs, in one place for both shells: import them from here.

Every interval, test, spread and pooling decision the CLI and the page show comes from
these pure functions (standard library only), so both print the same numbers:

* formulas (:mod:`evaluator.stats_math`): :func:`wilson`, :func:`mcnemar_exact`,
  :func:`newcombe_paired`, :func:`quantile`, :func:`nearest_rank`, :func:`spread`;
* one run's attempts (:mod:`evaluator.stats_runs`): :func:`pass_rates`, :func:`stability`,
  :func:`speed_profile`, :func:`pool_check`, :func:`attempts`, :func:`by_case`;
* two runs on the same cases (:mod:`evaluator.stats_compare`): :func:`compare`,
  :func:`compare_records`.

Bad arguments raise :class:`StatsError` (a ValueError) naming the argument.
"""

from __future__ import annotations

from evaluator.stats_compare import METHOD, VERDICTS, compare, compare_records
from evaluator.stats_math import (
    Z95,
    StatsError,
    binomial_tail,
    mcnemar_exact,
    nearest_rank,
    newcombe_paired,
    quantile,
    spread,
    wilson,
    z_for,
)
from evaluator.stats_runs import (
    answer_key,
    attempts,
    by_case,
    pass_rates,
    pool_check,
    speed_profile,
    stability,
)

__all__ = ["METHOD", "VERDICTS", "Z95", "StatsError", "answer_key", "attempts",
           "binomial_tail", "by_case", "compare", "compare_records", "mcnemar_exact",
           "nearest_rank", "newcombe_paired", "pass_rates", "pool_check", "quantile",
           "speed_profile", "spread", "stability", "wilson", "z_for"]
