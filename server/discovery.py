"""Discovery over HTTP: run the evaluator's probe plan with httpx, in parallel.

What to probe, how to read the answers and which metadata to fetch are the evaluator's
calls (``evaluator.discovery``); this module only sends the requests, times them and hands
back what came over the wire. Every probe has its own timeout, so one dead or hanging port
never delays the others. Always 127.0.0.1 (the plan says so), never proxies.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Mapping
from typing import Any

from server.client import httpx_module, make_client

MAX_BODY = 5_000_000  # a model list bigger than this is not a model list


async def fetch(client: Any, method: str, url: str, body: Any, timeout: float
                ) -> dict[str, Any]:
    """One request → an observation ``{status, body, error, elapsed_ms}``.

    ``error`` is ``"timeout"``, ``"network"`` (refused, reset, unreachable), another short
    text, or None. The body is decoded with replacement characters, cut at MAX_BODY bytes.
    """
    httpx = httpx_module()

    start = time.perf_counter()
    status: int | None = None
    text: str | None = None
    error: str | None = None
    try:
        async with asyncio.timeout(timeout):
            kwargs = {"json": body} if body is not None else {}
            async with client.stream(method, url, **kwargs) as response:
                status = response.status_code
                raw = bytearray()
                async for chunk in response.aiter_bytes():
                    raw += chunk
                    if len(raw) > MAX_BODY:
                        error = f"body exceeded {MAX_BODY} bytes"
                        break
                text = raw.decode("utf-8", errors="replace")
    except (TimeoutError, httpx.TimeoutException):
        error = "timeout"
    except httpx.ConnectError as exc:
        # Unlike a browser, we can tell a closed port from other network failures.
        error = "closed" if _refused(exc) else "network"
    except httpx.TransportError:
        error = "network"
    except httpx.HTTPError as exc:
        error = f"{type(exc).__name__}: {exc}"
    elapsed_ms = round((time.perf_counter() - start) * 1000, 1)
    return {"status": status, "body": text, "error": error, "elapsed_ms": elapsed_ms}


def _refused(exc: BaseException) -> bool:
    """Whether a ConnectionRefusedError lies anywhere in the exception's cause chain."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ConnectionRefusedError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


async def probe_all(plan: list[dict[str, Any]], timeout: float) -> list[dict[str, Any]]:
    """Probe every plan row in parallel → ``interpret_probe`` rows, in plan order."""
    from evaluator.discovery import interpret_probe

    async with make_client(timeout, [row["url"] for row in plan]) as client:
        observations = await asyncio.gather(
            *(fetch(client, "GET", row["url"], None, timeout) for row in plan))
    return [interpret_probe(row, obs) for row, obs in zip(plan, observations)]


async def fetch_metadata(model_rows: list[dict[str, Any]], timeout: float
                         ) -> list[dict[str, Any]]:
    """Run every model's ``metadata_plan`` in parallel and ``merge_metadata`` → cards.

    Identical requests (LM Studio's one ``/api/v0/models`` for all its models) go out once.
    """
    from evaluator.discovery import merge_metadata, metadata_plan

    plans = [metadata_plan(row) for row in model_rows]
    unique: dict[str, dict[str, Any]] = {}
    for plan in plans:
        for req in plan:
            unique.setdefault(_request_key(req), req)
    keys = list(unique)
    async with make_client(timeout, [unique[k]["url"] for k in keys]) as client:
        observations = await asyncio.gather(
            *(fetch(client, unique[k]["method"], unique[k]["url"], unique[k].get("body"),
                    timeout) for k in keys))
    by_key = dict(zip(keys, observations))
    cards = []
    for row, plan in zip(model_rows, plans):
        responses = []
        for req in plan:
            obs = by_key[_request_key(req)]
            responses.append({"url": req["url"], "status": obs["status"],
                              "body": obs["body"], "error": obs["error"]})
        cards.append(merge_metadata(row, responses))
    return cards


def _request_key(req: dict[str, Any]) -> str:
    return str(json.dumps([req["method"], req["url"], req.get("body")], sort_keys=True))


async def discover(env: Mapping[str, str], timeout: float = 1.5,
                   only: list[str] | None = None) -> dict[str, Any]:
    """Find runtimes and models: ``{"runtimes": [...], "models": [model cards]}``.

    ``env`` supplies the port overrides and ``LOCALRATE_DISCOVERY`` (see
    ``evaluator.discovery.probe_plan``); ``only`` limits the runtimes further.
    """
    from evaluator.discovery import probe_plan

    plan = probe_plan(dict(env), only=only)
    runtimes = await probe_all(plan, timeout)
    model_rows = [m for rt in runtimes if rt["state"] == "up" for m in rt["models"]]
    models = await fetch_metadata(model_rows, timeout) if model_rows else []
    return {"runtimes": runtimes, "models": models}


def discover_sync(env: Mapping[str, str], timeout: float = 1.5,
                  only: list[str] | None = None) -> dict[str, Any]:
    """``discover`` for synchronous callers (the CLI)."""
    return asyncio.run(discover(env, timeout, only))
