"""The rating commands: ``localrate bench``, ``rescore`` and ``suites``.

Thin shells: each reads options and files, calls the evaluator (through server.rating.bench
and server.rating.suites_io) and prints with server.rating.report. Exit codes: 0 ok, 1 a
suite below its passThreshold, 2 usage or suite error, 3 a model or runtime could not be
reached.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import sys
from pathlib import Path
from typing import Any

import click

from evaluator.discovery import PROBE_TIMEOUT_S, RUNTIMES
from evaluator.errors import SuiteError
from evaluator.expand import run_cases
from evaluator.records import (
    COMPARISON_FORMAT,
    MAX_RECORD_BYTES,
    RecordError,
    check_size,
    read_records,
)
from evaluator.request import DEFAULT_SETTINGS, MAX_TOKENS_LIMIT, SettingsError, run_settings
from evaluator.run_report import run_report
from evaluator.settings import OPTIONAL_DEFAULTS, REPEATS, THINKING_LEVELS
from evaluator.stats import compare_records
from evaluator.summary import rescore_record
from evaluator.thinking import thinking_note
from server.rating import bench as run
from server.rating import suites_io
from server.rating.bench import all_errored
from server.rating.errors import BadInput
from server.rating.report import (
    console,
    print_comparison,
    print_record,
    print_suites,
)
from server.rating.run_print import AttemptProgress, compare_lines, print_report
from server.rating.suites_io import list_suites

RUNTIME_NAMES = [row["name"] for row in RUNTIMES]


def _dump(obj: Any) -> str:
    return json.dumps(obj, indent=2, ensure_ascii=False)


def _load_suite(arg: str) -> Any:

    try:
        return suites_io.load(arg)
    except SuiteError as exc:
        raise BadInput(str(exc)) from exc


@click.command()
@click.option("--suite", "suite_arg", required=True, metavar="ID_OR_PATH",
              help="Suite id (under suites/) or path to a suite folder or suite.yaml.")
@click.option("--model", "models", required=True, multiple=True, metavar="ID",
              help="Model id exactly as the runtime lists it; repeat to compare models.")
@click.option("--runtime", type=click.Choice(RUNTIME_NAMES),
              help="Only use the model on this runtime (also names the runtime of --base-url).")
@click.option("--base-url", metavar="URL",
              help="Skip discovery and use this OpenAI-compatible server.")
@click.option("--api-key", metavar="KEY",
              help="API key for --base-url, sent as a Bearer token to it only (prefer the "
                   "runtime's *_API_KEY variable: a command line is visible to others).")
@click.option("--case", "case_ids", multiple=True, metavar="ID",
              help="Run only this case (every instance of a sweep), or one instance of a "
                   "sweep (ID@SIZE); repeatable.")
@click.option("--seed", type=int, metavar="N",
              help="Run seed for drawn values and haystacks (0 to 2**53-1); the same for "
                   "every model of the run. Default: a new random seed, shown in the "
                   "table and stored in the record's settings.")
@click.option("--json", "as_json", is_flag=True, help="Print the run record as JSON only.")
@click.option("--out", type=click.Path(dir_okay=False, writable=True), metavar="FILE",
              help="Also write the JSON record to FILE.")
@click.option("--timeout", type=click.FloatRange(min=0.05),
              default=float(DEFAULT_SETTINGS["timeout_s"]), show_default=True,
              help="Seconds allowed for each case.")
@click.option("--max-tokens", type=click.IntRange(min=1, max=MAX_TOKENS_LIMIT),
              default=DEFAULT_SETTINGS["max_tokens"], show_default=True,
              help="Output token cap per case (a case's own smaller cap wins).")
@click.option("--repeat", type=click.Choice([str(n) for n in REPEATS]),
              default=str(OPTIONAL_DEFAULTS["repeat"]),
              show_default=True,
              help="Attempts per case; each is its own result and the pass rate counts "
                   "attempts.")
@click.option("--warmup/--no-warmup", default=OPTIONAL_DEFAULTS["warmup"], show_default=True,
              help="Send a short warm-up request before each model's first case; it is "
                   "left out of the results and recorded as the cold start.")
@click.option("--temperature", type=click.FloatRange(0, 2), metavar="T",
              help=f"Sampling temperature, 0 to 2. Default: {DEFAULT_SETTINGS['temperature']}.")
@click.option("--top-p", "top_p", type=click.FloatRange(0, 1, min_open=True), metavar="P",
              help="Nucleus sampling, above 0 and at most 1. Default: the engine's own.")
@click.option("--system", metavar="TEXT",
              help="A system prompt for every request, before the case's own (one system "
                   "message).")
@click.option("--thinking", type=click.Choice(THINKING_LEVELS),
              default=OPTIONAL_DEFAULTS["thinking"],
              show_default=True,
              help="Thinking mode, sent the way each runtime reads it (default sends "
                   "nothing; see docs/runtimes.md).")
@click.option("--from-engine", is_flag=True,
              help="Take temperature, top_p and max tokens from the runtime's own defaults "
                   "(Ollama /api/show, llama.cpp /props); options given explicitly win.")
@click.pass_context
def bench(ctx: click.Context, suite_arg: str, models: tuple[str, ...], runtime: str | None,
          base_url: str | None, case_ids: tuple[str, ...], as_json: bool, out: str | None,
          timeout: float, max_tokens: int, seed: int | None, repeat: str, warmup: bool,
          temperature: float | None, top_p: float | None, system: str | None,
          thinking: str, from_engine: bool, api_key: str | None) -> None:
    """Rate one or more models on a suite.

    Each model is found through discovery (or at --base-url), then, after a warm-up
    request, every case runs --repeat times in order, streamed, and is scored by the
    evaluator: every turn of a multi-turn case and every round of a tool loop, each
    instance of a context sweep. Drawn values come from the run seed (--seed; it is not
    sent to the model). A case whose prompt cannot fit the model's known context is
    skipped. With --base-url and no --runtime the runtime is recorded as "openai",
    capabilities come from the model id alone and the context is unknown. The table ends
    with the pass rate and its 95% interval, per tag, flaky cases, the speed profile
    (TTFT, prefill with its source, decode, latency) and the cold start; with several
    models, the paired verdict of the first against each other one.

    API keys: OLLAMA_API_KEY, LM_STUDIO_API_KEY, VLLM_API_KEY, LLAMACPP_API_KEY and
    MLX_API_KEY are sent (Authorization: Bearer) to that runtime's endpoint only, and
    --api-key to --base-url; a key is never written to the record or the output.

    Exit codes: 0 every model meets the suite's passThreshold, 1 a model is below it,
    2 usage or suite error, 3 a model could not be found or every case it ran errored.
    """


    suite = _load_suite(suite_arg)
    explicit: dict[str, Any] = {
        "max_tokens": max_tokens, "timeout_s": timeout,
        "seed": secrets.randbelow(2**31) if seed is None else seed,
        "temperature": temperature, "top_p": top_p, "system": system, "thinking": thinking,
        "repeat": int(repeat), "warmup": warmup}
    if from_engine and ctx.get_parameter_source("max_tokens") is \
            click.core.ParameterSource.DEFAULT:
        explicit["max_tokens"] = None  # the engine's, when it has one
    try:
        settings = run_settings(**{**explicit, "max_tokens": max_tokens})
        concrete = run_cases(suite, settings["seed"])
    except SettingsError as exc:
        raise BadInput(f"--{exc}") from exc
    except SuiteError as exc:
        raise BadInput(str(exc)) from exc
    cases = run.select_cases(suite, concrete, case_ids)
    if len(set(models)) != len(models):
        raise BadInput(f"--model: the same model is given twice: {', '.join(models)}")
    targets = asyncio.run(run.find_targets(list(models), runtime, base_url, os.environ,
                                           api_key=api_key))

    records = []
    with AttemptProgress(len(cases) * len(targets) * int(repeat), int(repeat)) as progress:
        for target in targets:
            own = _target_settings(target, settings, explicit, from_engine)

            def on_case(attempt: int, case: Any, result: dict[str, Any] | None,
                        model_id: str = target.model_id) -> None:
                progress(model_id, attempt, case, result)

            records.append(asyncio.run(run.run_model(suite, cases, target, own, on_case)))

    payload: Any = records[0] if len(records) == 1 else {
        "format": COMPARISON_FORMAT, "runs": records}
    if out:
        try:
            Path(out).write_text(_dump(payload) + "\n", encoding="utf-8")
        except OSError as exc:
            raise BadInput(f"--out {out}: cannot write: {exc.strerror or exc}") from exc
    if as_json:
        click.echo(_dump(payload))
    else:
        con = console()
        for i, record in enumerate(records):
            if i:
                con.print()
            print_record(record, con)
            print_report(run_report(record), con, record)
        if len(records) > 1:
            _print_paired(records, con)
            con.print()
            print_comparison(records, con)
    _exit_for(records)


def _print_paired(records: list[dict[str, Any]], con: Any) -> None:
    """The paired verdict of the first model against each other one (the evaluator's
    ``compare_records``; ``localrate compare`` prints the same for two saved runs)."""
    from rich.text import Text

    first = records[0]
    for other in records[1:]:
        con.print()
        result = compare_records(first, other)
        for line in compare_lines(result, first["model"]["id"], other["model"]["id"]):
            con.print(Text(line))


def _target_settings(target: run.Target, settings: dict[str, Any], explicit: dict[str, Any],
                     from_engine: bool) -> dict[str, Any]:
    """The settings for one model: the run's, or with --from-engine its runtime's own
    sampling defaults under the options given explicitly. Warnings (what the engine said,
    a thinking level the runtime cannot take) go to stderr."""
    if from_engine:
        try:
            settings, said = asyncio.run(run.engine_settings(target, explicit,
                                                             PROBE_TIMEOUT_S))
        except SettingsError as exc:
            raise BadInput(f"--from-engine: {target.model_id}: {exc}") from exc
        click.echo(f"--from-engine: {target.model_id}: {said}", err=True)
    note = thinking_note(target.runtime, settings.get("thinking", "default"))
    if note is not None:
        click.echo(f"Warning: {target.model_id}: {note}", err=True)
    return settings


def _exit_for(records: list[dict[str, Any]]) -> None:
    """Exit 3 when a model errored on every case it ran, 1 when one is below threshold."""

    dead = [r["model"]["id"] for r in records if all_errored(r)]
    if dead:
        click.echo(f"Error: every case errored for {', '.join(dead)}; "
                   "see the details above (is the runtime still running?)", err=True)
        sys.exit(3)
    if any(r["summary"].get("verdict") != "pass" for r in records):
        sys.exit(1)


@click.command()
@click.argument("run_file", metavar="RUN.json",
                type=click.Path(exists=True, dir_okay=False))
@click.option("--suite", "suite_arg", metavar="ID_OR_PATH",
              help="Score against this suite's case definitions instead of the copies "
                   "stored in the record.")
@click.option("--json", "as_json", is_flag=True,
              help="JSON only (no table on stderr).")
def rescore(run_file: str, suite_arg: str | None, as_json: bool) -> None:
    """Re-score a saved run record's transcripts.

    Prints the re-scored record (or comparison) as JSON on stdout, and the table on stderr
    unless --json is given. Exit code as for bench: 0 pass, 1 below passThreshold, 2 the
    file is not a valid run record or comparison (one line names the field).
    """

    data = read_record_file(run_file)
    suite = _load_suite(suite_arg) if suite_arg else None
    is_comparison = data["format"] == COMPARISON_FORMAT
    try:
        records = [rescore_record(r, suite, f"runs[{i}]" if is_comparison else "")
                   for i, r in enumerate(data["runs"])]
    except (RecordError, SuiteError) as exc:
        raise BadInput(f"{run_file}: {exc}") from exc
    payload = {"format": COMPARISON_FORMAT, "runs": records} if is_comparison else records[0]
    click.echo(_dump(payload))
    if not as_json:
        con = console(stderr=True)
        for record in records:
            print_record(record, con)
    if any(r["summary"].get("verdict") != "pass" for r in records):
        sys.exit(1)


def read_record_file(run_file: str) -> dict[str, Any]:
    """The run file, checked by the evaluator (size, JSON, every field) → ``{"format",
    "runs"}``; BadInput with one line naming the file and the field."""

    try:
        with Path(run_file).open("rb") as handle:
            check_size(run_file, os.fstat(handle.fileno()).st_size)
            raw = handle.read(MAX_RECORD_BYTES + 1)  # bounded: a pipe or device has no size
        check_size(run_file, len(raw))
        return read_records(raw.decode("utf-8-sig"), run_file)
    except OSError as exc:
        raise BadInput(f"{run_file}: cannot read: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise BadInput(f"{run_file}: not UTF-8 text (byte {exc.start})") from exc
    except RecordError as exc:
        raise BadInput(str(exc)) from exc


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def suites(as_json: bool) -> None:
    """List the suites with their case counts.

    Suites live in the repo's suites/ folder, or in $LOCALRATE_SUITES_DIR.
    """
    root = suites_io.suites_dir()
    if not root.is_dir():
        raise BadInput(f"{suites_io.SUITES_ENV}={root}: no such folder")
    rows = list_suites()
    if as_json:
        click.echo(_dump(rows))
    else:
        print_suites(rows, console())
    errors = [row["error"] for row in rows if row["error"]]  # also on stderr, exit code 2
    for error in errors:
        click.echo(f"Error: {error}", err=True)
    if errors:
        sys.exit(2)
