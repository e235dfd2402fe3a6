"""Check a suite's reference answers: ``python -m tests.check_answers SUITE_DIR [--seeds N]``.

Loads ``SUITE_DIR/suite.yaml`` with the CLI's loader and ``SUITE_DIR/answers.yaml``, then
runs :func:`evaluator.references.check_answers` for seeds 0..N-1 and prints every answer
whose status is not its label (a pass answer that fails, a trap that passes), with the
check's reason. Exit 0 when every answer behaves as labelled, 1 when one does not, 2 on a
malformed suite or answers file. ``--show CASE`` prints the rendered prompt and answers of
one case at the first seed. The tests call :func:`answer_rows` (tests/test_suite_answers.py).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from evaluator.errors import SuiteError
from evaluator.expand import run_cases
from evaluator.references import AnswersError, check_answers
from evaluator.suite import Suite
from server.rating import suites_io

SEEDS = 5  # the seeds the tests check (0..4), in CPython; Pyodide checks two of them


def load(folder: Path) -> tuple[Suite, dict[str, Any]]:
    suite = suites_io.load(str(folder / "suite.yaml"))
    answers = suites_io.load_answers(folder)
    if answers is None:
        raise AnswersError(f"{folder}: no {suites_io.ANSWERS_FILE}")
    return suite, answers


def answer_rows(folder: Path, seeds: range) -> list[dict[str, Any]]:
    suite, answers = load(folder)
    return [dict(row, seed=seed) for seed in seeds for row in check_answers(suite, answers, seed)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.check_answers")
    parser.add_argument("suite_dir", type=Path)
    parser.add_argument("--seeds", type=int, default=SEEDS)
    parser.add_argument("--show", metavar="CASE")
    args = parser.parse_args(argv)
    try:
        if args.show:
            suite, _ = load(args.suite_dir)
            for case in run_cases(suite, 0):
                if (case.template or case.id) == args.show:
                    print(f"--- {case.id} drawn={case.drawn}\n{str(case.input)[:2000]}")
                    print(f"follow_ups={case.follow_ups}\nexpect={case.expect}")
            return 0
        rows = answer_rows(args.suite_dir, range(args.seeds))
    except (SuiteError, AnswersError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    bad = [row for row in rows if not row["ok"]]
    for row in bad:
        print(f"seed {row['seed']} {row['case']} {row['label']}[{row['index']}] -> "
              f"{row['status']}: {row['detail']} | answer: {str(row['answer'])[:200]!r}")
    cases = {row["case"] for row in rows}
    print(f"{len(rows) - len(bad)}/{len(rows)} answers as labelled, {len(cases)} concrete "
          f"cases, seeds 0..{args.seeds - 1}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
