"""Measurement 7, static serving: `wrk` against the served HTML and the Pyodide wasm.

The site is built with `localrate build` and served by ``server.site.app.create_app`` under
uvicorn (one process, as `localrate serve` runs it). wrk sends ``Accept-Encoding: gzip``
like a browser; the wasm is measured with and without it (the app gzips on the fly).
wrk shares the machine's cores with the server, so its figures are a lower bound.
Bytes on the wire for a first visit come from the browser (tests/bench/page_runs.py).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from typing import Any

from tests.bench.common import closed_ports_env, measurement, row, skipped
from tests.bench.site import build, serve

TARGET_RPS = 1500.0
CONNECTIONS = 256
_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}
_BYTES = {"B": 1e-6, "KB": 1e-3, "MB": 1.0, "GB": 1e3}  # wrk's units -> MB (as printed)


def wrk(url: str, seconds: int, gzip: bool) -> dict[str, float]:
    """One wrk run → ``{"rps", "p99_ms", "errors", "requests"}``."""
    cmd = ["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{seconds}s", "--latency", "--timeout", "10s"]
    if gzip:
        cmd += ["-H", "Accept-Encoding: gzip, deflate, br"]
    done = subprocess.run([*cmd, url], check=False, capture_output=True, text=True, timeout=seconds + 60)
    text = done.stdout
    rps = re.search(r"Requests/sec:\s+([\d.]+)", text)
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", text)
    total = re.search(r"(\d+) requests in", text)
    if not rps or not total:
        raise RuntimeError(f"wrk printed no figures for {url}: {(done.stderr or text)[-300:]}")
    errors = sum(int(n) for n in re.findall(
        r"(?:connect|read|write|timeout) (\d+)", text))
    transfer = re.search(r"Transfer/sec:\s+([\d.]+)(B|KB|MB|GB)", text)
    mbs = float(transfer.group(1)) * _BYTES[transfer.group(2)] if transfer else float("nan")
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    errors += int(non2xx.group(1)) if non2xx else 0
    requests = float(total.group(1))
    p99_ms = float(p99.group(1)) * _UNITS[p99.group(2)] if p99 and requests else None
    return {"rps": float(rps.group(1)), "requests": requests, "p99_ms": p99_ms,
            "errors": float(errors), "mb_s": mbs}


def run(opts: Any) -> dict[str, Any]:
    """Rows: HTML and wasm requests/s, p99 and errors; first-visit bytes when the page ran."""
    title = f"7. Static serving (wrk, {CONNECTIONS} connections)"
    if shutil.which("wrk") is None:
        return skipped("static", title, "wrk is not installed (apt-get install wrk)")
    out = measurement("static", title)
    seconds = 3 if opts.quick else 10
    site = build("static", closed_ports_env())
    wasm = next(site.glob("pyodide/*/pyodide.asm.wasm"), None)
    targets = [("HTML /local-models, gzip", "/local-models", True, True)]
    if wasm is not None:
        rel = "/" + wasm.relative_to(site).as_posix()
        targets += [("wasm, identity", rel, False, False), ("wasm, gzip", rel, True, False)]
    with serve(site, plain=True) as origin:
        base = wrk(origin + "/local-models", seconds, False)
    out["rows"].append(row("bare ASGI app, same bytes, same uvicorn (baseline)", base["rps"],
                           "req/s"))
    with serve(site) as origin:
        for label, path, gzip, judged in targets:
            r = wrk(origin + path, seconds, gzip)
            ok = r["rps"] >= TARGET_RPS and r["errors"] == 0
            out["rows"].append(row(f"{label}: requests/s", r["rps"], "req/s",
                                   baseline=base["rps"] if judged else None,
                                   target=f">= {TARGET_RPS:g}, 0 errors" if judged else "",
                                   ok=ok if judged else None))
            out["rows"].append(row(f"{label}: p99 latency", r["p99_ms"], "ms"))
            if not judged:
                out["rows"].append(row(f"{label}: throughput", r["mb_s"], "MB/s"))
            out["rows"].append(row(f"{label}: errors", r["errors"], "",
                                   target="0" if judged else "",
                                   ok=r["errors"] == 0 if judged else None))
    out["notes"].append("a wasm request that has not finished when wrk stops is not "
                        "counted: at 256 connections each gets 1/256 of the throughput")
    out["notes"].append(f"wrk -t2 -c{CONNECTIONS} -d{seconds}s on the same 2 cores as the "
                        "server")
    page = getattr(opts, "page", None)
    if page is not None:
        wire, raw = page.first_visit_bytes()
        out["rows"].append(row("first visit: bytes on the wire", wire, "B", baseline=raw,
                               target="(raw = baseline)"))
    elif getattr(opts, "page_skip_reason", None):
        out["notes"].append(f"first-visit bytes: skipped ({opts.page_skip_reason})")
    return out
