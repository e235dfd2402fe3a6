"""Running a suite against models: find each model, send each case, collect the record.

The decisions are the evaluator's (the concrete cases of a run seed, capabilities, skips,
request bodies, each next turn or tool round, scoring, summary); this module finds the
model's base URL and known context length through discovery, checks it answers, and runs
each concrete case in order (never in parallel): ``plan_case`` (skip, or go on), then
``next_request`` → ``server.rating.stream.send_case`` until the exchange is done, then
``score_turns`` over every transcript. With ``settings["repeat"]`` above 1 each case runs
that many times, case-major (``evaluator.repeats.attempt_order``), each attempt its own
result; with ``settings["warmup"]`` (the default) a warm-up request goes first and its
outcome becomes the record's ``warmup``. ``engine_settings`` reads the runtime's own
sampling defaults for ``--from-engine``. It reports progress.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from evaluator.capabilities import project
from evaluator.conversation import next_request
from evaluator.discovery import (
    OPENAI_LIST_PATH,
    PROBE_TIMEOUT_S,
    interpret_probe,
    normalize_base_url,
    probe_plan,
)
from evaluator.endpoints import KEY_ENV, auth_headers, check_api_key, env_keys
from evaluator.engine_defaults import (
    engine_defaults_plan,
    merge_engine_defaults,
    parse_engine_defaults,
)
from evaluator.expand import instance_ids
from evaluator.repeats import attempt_order, warmup_outcome, warmup_request, with_attempt
from evaluator.request import model_entry, plan_case, run_settings
from evaluator.result import score_turns
from evaluator.suite import Case
from evaluator.summary import run_record
from server.rating.discovery import discover, fetch
from server.rating.engine import engine_report, machine_note
from server.rating.errors import BadInput, Unreachable
from server.rating.stream import send_case

GENERIC_RUNTIME = "openai"  # --base-url without --runtime: any OpenAI-compatible server


@dataclass
class Target:
    """One model to rate: where it lives and what it can do."""

    model_id: str
    runtime: str
    base_url: str
    capabilities: list[dict[str, str]] = field(default_factory=list)
    context_length: int | None = None  # discovery's; None with --base-url (unknown)
    api_key: str | None = field(default=None, repr=False)  # never in a record or output

    def record_model(self) -> dict[str, Any]:
        """The ``model`` object of the run record (the evaluator's ``model_entry``)."""
        return model_entry(self.model_id, self.runtime, self.base_url, self.capabilities)

    def headers(self, url: str) -> dict[str, str]:
        """The API key's header for ``url`` when it is this endpoint's (else none)."""
        keys = [{"base_url": self.base_url, "api_key": self.api_key}] if self.api_key else []
        return auth_headers(url, keys)


async def find_targets(model_ids: list[str], runtime: str | None, base_url: str | None,
                       env: Mapping[str, str], timeout: float = PROBE_TIMEOUT_S,
                       api_key: str | None = None) -> list[Target]:
    """Resolve each ``--model`` to a Target; raise Unreachable or BadInput.

    With ``base_url`` there is no discovery: capabilities come from the id alone, and the
    key is ``api_key`` (else, with ``runtime``, that runtime's ``*_API_KEY``). Otherwise
    every runtime is probed (a runtime may answer on another's port) and the model's card
    must match ``model_id`` exactly, on ``runtime`` when given; each endpoint's key comes
    from its runtime's ``*_API_KEY`` (``evaluator.endpoints.env_keys``).
    """
    if base_url is not None:
        try:
            url = normalize_base_url(base_url, "--base-url")
            name = runtime or GENERIC_RUNTIME
            key = check_api_key(api_key, "--api-key") if api_key is not None else \
                check_api_key(env[KEY_ENV[name]], KEY_ENV[name]) \
                if env.get(KEY_ENV.get(name, ""), "").strip() else None
        except ValueError as exc:
            raise BadInput(str(exc)) from exc
        await _check_reachable(url, timeout, key)
        return [Target(m, name, url, project(m, name, None), api_key=key) for m in model_ids]
    if api_key is not None:
        raise BadInput("--api-key: goes with --base-url (for discovered runtimes, set "
                       f"{', '.join(KEY_ENV.values())})")
    try:
        found = await discover(env, timeout)
        keys = env_keys(env, probe_plan(dict(env)))
    except ValueError as exc:  # a bad LOCALRATE_DISCOVERY, *_BASE_URL or *_API_KEY value
        raise BadInput(str(exc)) from exc
    targets = []
    for model_id in model_ids:
        cards = [c for c in found["models"] if c["id"] == model_id
                 and (runtime is None or c["runtime"] == runtime)]
        if not cards:
            raise Unreachable(_not_found(model_id, runtime, found))
        if len(cards) > 1:
            where = ", ".join(f"{c['runtime']} ({c['base_url']})" for c in cards)
            raise BadInput(f"model '{model_id}' is served by several runtimes: {where};"
                               " pass --runtime NAME")
        card = cards[0]
        key = next((k["api_key"] for k in keys if k["base_url"] == card["base_url"]), None)
        targets.append(Target(model_id, card["runtime"], card["base_url"],
                              list(card["capabilities"]), card.get("context_length"),
                              api_key=key))
    return targets


def _not_found(model_id: str, runtime: str | None, found: dict[str, Any]) -> str:
    up = [r for r in found["runtimes"] if r["state"] == "up"]
    where = f" on {runtime}" if runtime else ""
    if not up:
        states = ", ".join(f"{r['runtime']} {r['state']}" + (
            f" ({r['detail']})" if r["state"] in ("key_rejected", "unauthorized") else "")
            for r in found["runtimes"])
        return (f"model '{model_id}' not found{where}: no runtime is up ({states or 'none'});"
                " start one or pass --base-url")
    ids = ", ".join(sorted({c["id"] for c in found["models"]})) or "none"
    return f"model '{model_id}' not found{where}; discovered models: {ids}"


async def _check_reachable(base_url: str, timeout: float, key: str | None = None) -> None:
    """Raise Unreachable when nothing answers at ``base_url``, or it refuses with 401/403
    (the evaluator's wording: "key rejected" when a key was sent); any other status is
    fine."""
    url = base_url + OPENAI_LIST_PATH
    headers = auth_headers(url, [{"base_url": base_url, "api_key": key}] if key else [])
    obs = await asyncio.to_thread(fetch, "GET", url, None, timeout, headers)
    if obs["status"] in (401, 403):
        row = interpret_probe({"runtime": GENERIC_RUNTIME, "base_url": base_url}, obs)
        hint = "" if key else " (pass --api-key, or set the runtime's *_API_KEY with --runtime)"
        raise Unreachable(f"{base_url}: {row['detail']}{hint}")
    if obs["status"] is None:
        why = "timed out" if obs["error"] == "timeout" else "connection refused or failed"
        raise Unreachable(f"{base_url}: {why} (GET {OPENAI_LIST_PATH}); "
                          "is the runtime running?")


def select_cases(suite: Any, cases: list[Case], case_ids: tuple[str, ...] | list[str]
                 ) -> list[Case]:
    """The concrete ``cases`` of one run, or only those named by ``--case`` (in suite
    order): a suite case's id names all its instances, an instance id (``needle@8192``)
    names that one."""
    if not case_ids:
        return list(cases)
    known = [c.id for c in suite.cases]
    instances = [i for c in suite.cases for i in instance_ids(c) if i != c.id]
    unknown = [c for c in case_ids if c not in known and c not in instances]
    if unknown:
        listed = ", ".join(sorted(known))
        more = f"; instances: {', '.join(instances)}" if instances else ""
        raise BadInput(f"--case {unknown[0]}: no such case in suite '{suite.id}'"
                       f" (cases: {listed}{more})")
    wanted = set(case_ids)
    return [c for c in cases if c.id in wanted or c.template in wanted]


def utc_now() -> str:
    """The current time as ISO-8601 UTC with a ``Z`` (seconds precision)."""
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


async def run_case(case: Case, target: Target, settings: dict[str, Any]) -> dict[str, Any]:
    """One concrete case against ``target`` → its result: skipped, or every request of its
    exchange sent in turn (the evaluator says what the next one is) and scored."""
    caps = [c["name"] for c in target.capabilities]
    plan = plan_case(case, target.model_id, caps, settings, target.context_length,
                     target.runtime)
    if "skipped" in plan:
        return dict(plan["skipped"])
    transcripts: list[dict[str, Any]] = []
    while "body" in (step := next_request(case, target.model_id, settings, transcripts,
                                          target.runtime)):
        url = target.base_url + step["path"]
        transcripts.append(await send_case(url, step["body"], step["timeout_s"],
                                           max_bytes=step["max_bytes"],
                                           headers=target.headers(url)))
    return score_turns(case, transcripts)


async def run_warmup(target: Target, settings: dict[str, Any]) -> dict[str, Any]:
    """Send the evaluator's warm-up request → the record's ``warmup``."""
    step = warmup_request(target.model_id, settings)
    url = target.base_url + step["path"]
    transcript = await send_case(url, step["body"], step["timeout_s"],
                                 max_bytes=step["max_bytes"], headers=target.headers(url))
    return warmup_outcome(transcript)


async def run_model(suite: Any, cases: list[Case], target: Target, settings: dict[str, Any],
                    on_case: Callable[[int, Any, dict[str, Any] | None], None] | None = None
                    ) -> dict[str, Any]:
    """Run the concrete ``cases`` against ``target``, each ``settings["repeat"]`` times
    (case-major), after a warm-up unless ``settings["warmup"]`` is false → the run record.

    ``on_case(attempt, case, result)`` is called before each attempt (result None) and
    after.
    """
    started_at = utc_now()
    repeat = int(settings.get("repeat", 1))
    warmup = await run_warmup(target, settings) if settings.get("warmup", True) else None
    results = []
    for index, attempt in attempt_order(len(cases), repeat):
        case = cases[index]
        if on_case:
            on_case(attempt, case, None)
        result = with_attempt(await run_case(case, target, settings), attempt, repeat)
        results.append(result)
        if on_case:
            on_case(attempt, case, result)
    engine = await engine_report(target.runtime, target.base_url, target.model_id,
                                 PROBE_TIMEOUT_S, target.headers(target.base_url))
    machine = await asyncio.to_thread(machine_note)  # nvidia-smi may take a moment
    return run_record(suite, target.record_model(), settings, started_at, results, warmup,
                      engine, machine)


async def engine_settings(target: Target, explicit: dict[str, Any], timeout: float
                          ) -> tuple[dict[str, Any], str]:
    """``--from-engine``: the run settings with the runtime's own sampling defaults where
    the user gave none (``explicit`` holds ``run_settings``'s keyword arguments, None = not
    given), and a line saying what the engine answered. SettingsError on a bad value."""
    plan = engine_defaults_plan(target.runtime, target.base_url, target.model_id)
    if plan is None:
        return run_settings(**explicit), (f"{target.runtime}: exposes no sampling defaults; "
                                          "localrate's are used")
    obs = await asyncio.to_thread(fetch, plan["method"], plan["url"], plan["body"], timeout,
                                  target.headers(plan["url"]))
    read = parse_engine_defaults(target.runtime, obs["status"], obs["body"])
    merged, taken = merge_engine_defaults(explicit, read["values"])
    return run_settings(**merged, from_engine=taken or None), str(read["detail"])


def all_errored(record: dict[str, Any]) -> bool:
    """True when at least one case ran and every case that ran ended in ``error``."""
    ran = [c for c in record["cases"] if c["status"] != "skip"]
    return bool(ran) and all(c["status"] == "error" for c in ran)
