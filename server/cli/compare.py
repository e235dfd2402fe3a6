"""``localrate compare A.json B.json``: two saved runs, compared case by case.

A thin shell: reads both files through the evaluator's record checks, hands them to
``evaluator.stats.compare_records`` and prints what it returns (server.rating.run_print).
"""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from evaluator.stats import StatsError, compare_records
from server.cli.rate import read_record_file
from server.rating.errors import BadInput
from server.rating.run_print import compare_lines


def _one_run(path: str) -> dict[str, Any]:
    runs = read_record_file(path)["runs"]
    if len(runs) != 1:
        raise BadInput(f"{path}: holds {len(runs)} runs (a comparison); compare takes one "
                       "run record per file")
    record: dict[str, Any] = runs[0]
    return record


@click.command()
@click.argument("a_file", metavar="A.json", type=click.Path(dir_okay=False))
@click.argument("b_file", metavar="B.json", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True,
              help="Print the comparison as JSON instead of text.")
def compare(a_file: str, b_file: str, as_json: bool) -> None:
    """Compare two saved runs (A against B) case by case.

    Both runs answered the same cases, so they are paired by case id: an exact McNemar
    test on the cases where they differ (a sign test per case when runs have repeats)
    gives the verdict (A better, B better, or within noise, at p < 0.05), and Newcombe's
    interval the 95% interval of the difference in pass rate. Prints the verdict, the
    difference, the cases that differ and the settings that differ.

    Limits: the case is the unit, not the attempt (repeats at temperature 0 are near
    copies, so they do not add evidence); runs made with different settings are compared
    but not pooled; and comparing many pairs of runs makes multiple comparisons: at
    p < 0.05, about one pair in 20 of equal models is called different by chance.

    Exit codes: 0 A is not significantly worse than B, 1 it is (B better), 2 a file is
    not a valid run record or the runs share no case.
    """
    a, b = _one_run(a_file), _one_run(b_file)
    try:
        result = compare_records(a, b)
    except StatsError as exc:
        raise BadInput(f"compare: {exc}") from exc
    if result["cases"] == 0:
        raise BadInput(f"{a_file} and {b_file} share no scored case (case ids differ, or "
                       "every case was skipped)")
    if as_json:
        out = {"a": {"file": a_file, "model": a["model"]},
               "b": {"file": b_file, "model": b["model"]}, **result}
        click.echo(json.dumps(out, indent=2, ensure_ascii=False))
    else:
        from rich.text import Text

        from server.rating.report import console

        con = console()
        for line in compare_lines(result, f"{a['model']['id']} ({a_file})",
                                  f"{b['model']['id']} ({b_file})"):
            con.print(Text(line))
    if result["a_worse"]:
        sys.exit(1)
