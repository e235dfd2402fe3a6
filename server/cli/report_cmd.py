"""``localrate report`` and ``localrate verify``: saved runs as reports, and checked.

Thin shells: the files are read through the evaluator's record checks
(``server.cli.rate.read_record_file``, as ``rescore`` does); the report is
``evaluator.report_html`` / ``evaluator.report_md``, the check ``evaluator.verify``. The
published suites are the ones this CLI ships (``suites/``, or ``$LOCALRATE_SUITES_DIR``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from evaluator.errors import SuiteError
from evaluator.records import RecordError
from evaluator.report_data import ReportError
from evaluator.report_html import report_html
from evaluator.report_md import report_md
from evaluator.verify import verify_record
from server.cli.rate import read_record_file
from server.rating import suites_io
from server.rating.errors import BadInput


def _write(path: Path, text: str, option: str) -> None:
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise BadInput(f"{option} {path}: cannot write: {exc.strerror or exc}") from exc


@click.command()
@click.argument("run_files", metavar="RUN.json...", nargs=-1, required=True,
                type=click.Path(dir_okay=False))
@click.option("--html", "html_file", type=click.Path(dir_okay=False, path_type=Path),
              metavar="FILE", help="Write the single-file HTML report to FILE.")
@click.option("--md", "md_file", type=click.Path(dir_okay=False, path_type=Path),
              metavar="FILE", help="Write the Markdown report to FILE.")
def report(run_files: tuple[str, ...], html_file: Path | None, md_file: Path | None) -> None:
    """Write a report of saved runs (run records or comparisons).

    The report holds the suite's id, version and sha256, each run's seed, localrate
    version and settings, the pass rate per model with its 95% Wilson interval, per
    category, the speed profile, the paired verdict of the first run against each other
    run on their shared cases, and every case's status. The HTML file is self-contained
    (inline CSS and SVG, no script, nothing fetched) and works offline. With neither
    --html nor --md the Markdown goes to stdout.

    Exit codes: 0 written, 2 a file is not a valid run record or cannot be written.
    """
    runs: list[dict[str, Any]] = []
    for path in run_files:
        runs.extend(read_record_file(path)["runs"])
    try:
        html_text = report_html(runs) if html_file is not None else None
        md_text = report_md(runs) if md_file is not None or html_file is None else None
    except ReportError as exc:
        raise BadInput(str(exc)) from exc
    if html_file is not None and html_text is not None:
        _write(html_file, html_text, "--html")
        click.echo(f"wrote {html_file}")
    if md_file is not None and md_text is not None:
        _write(md_file, md_text, "--md")
        click.echo(f"wrote {md_file}")
    elif md_text is not None:
        click.echo(md_text, nl=False)


def published_suites() -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The suites this CLI ships: ``[{"id", "version", "sha256"}]`` and each Suite by
    sha256. A suite file that does not load is left out (it publishes nothing)."""
    root = suites_io.suites_dir()
    rows, by_sha = [], {}
    for path in suites_io.suite_files_in(root):
        try:
            suite = suites_io.load_file(path, within=root)
        except SuiteError:
            continue
        rows.append({"id": suite.id, "version": suite.version, "sha256": suite.sha256})
        by_sha[suite.sha256] = suite
    return rows, by_sha


def _show(value: Any) -> str:
    """A record's value for the terminal: control characters (escape sequences) shown
    as ``\\x..``, cut at 120 characters."""
    text = value if isinstance(value, str) else repr(value)
    text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
    return text if len(text) <= 120 else text[:119] + "…"


def _lines(result: dict[str, Any], name: str) -> list[str]:
    suite = {k: _show(v) for k, v in result["suite"].items()}
    published = "published" if result["published"] else "NOT published"
    seed = result["seed"] if result["seed"] is not None else "none"
    version = _show(result["localrate_version"] or "version not recorded")
    out = [f"{name}: {result['label']} ({result['cases']} cases, scored with the "
           + f"{result['scored_with']})",
           f"  suite {suite['id']} {suite['version']} sha256 {suite['sha256']}: {published}",
           f"  seed {_show(seed)} · localrate {version}"]
    for m in result["mismatches"]:
        case = f" ({_show(m['id'])})" if m["id"] is not None else ""
        out.append(f"  {m['where']}{case}: stored {_show(m['stored'])}, re-scored "
                   f"{_show(m['rescored'])}")
    if result["mismatch_count"] > len(result["mismatches"]):
        out.append(f"  … {result['mismatch_count'] - len(result['mismatches'])} more")
    out += [f"  note: {_show(note)}" for note in result["notes"]]
    return out


@click.command()
@click.argument("run_file", metavar="FILE", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def verify(run_file: str, as_json: bool) -> None:
    """Check a shared full run record: re-score it and look up its suite.

    Every case is re-scored from the transcripts in the record (against the published
    suite's definitions when the record's suite hash is one this localrate ships, else
    against the record's own case copies) and compared with the stored status and score
    and the summary. The suite's sha256 is compared with the suites this localrate
    ships (suites/). A comparison file checks each of its runs.

    Exit codes: 0 every score matches and the suite is published, 1 a score does not
    match or the suite hash is not a published one, 2 the file is not a valid run record
    (or a case cannot be re-scored: no transcript).
    """
    data = read_record_file(run_file)
    published, by_sha = published_suites()
    results = []
    for i, record in enumerate(data["runs"]):
        try:
            results.append(verify_record(record, published,
                                         by_sha.get(record["suite"]["sha256"])))
        except (RecordError, SuiteError) as exc:
            where = f"runs[{i}]: " if len(data["runs"]) > 1 else ""
            raise BadInput(f"{run_file}: {where}{exc}") from exc
    if as_json:
        click.echo(json.dumps({"file": run_file, "runs": results}, indent=2,
                              ensure_ascii=False))
    else:
        for i, result in enumerate(results):
            name = _show(run_file) if len(results) == 1 else f"{_show(run_file)} runs[{i}]"
            for line in _lines(result, name):
                click.echo(line)
    if not all(r["matches"] and r["published"] for r in results):
        sys.exit(1)
