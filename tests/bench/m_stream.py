"""Measurement 1, streaming overhead: raw socket client vs `localrate bench` vs the page.

Two server modes: N tokens as fast as the socket takes them, and a fixed rate (the shape
of a real model). The baseline is tests/bench/raw_client.py in this process; the CLI is a
`localrate bench --json` subprocess on a one-case suite (tok_s and ttft_ms read from the
record); the page is Chromium running the same suite (tests/bench/page_runs.py). For
information, the browser's own floor: raw_client's loop as a bare fetch + reader in the
same Chromium with no page code (what any page pays for Chromium's network stack).
"""

from __future__ import annotations

import shutil
from typing import Any

from tests.bench import raw_client
from tests.bench.common import measurement, median, row, streaming_server
from tests.bench.suitegen import cli_bench, one_case_suite

TOK_TARGET = 0.98
CLI_TTFT_MS = 5.0
PAGE_TTFT_MS = 20.0
BODY = {"model": "bench-model", "stream": True,
        "messages": [{"role": "user", "content": "Stream as many tokens as you can."}]}


def modes(quick: bool) -> list[tuple[str, int, float | None]]:
    """(label, tokens, rate) of each server mode."""
    if quick:
        return [("fast", 1000, None), ("200 tok/s", 60, 200.0)]
    return [("fast", 4000, None), ("200 tok/s", 300, 200.0)]


def run(opts: Any) -> dict[str, Any]:
    """Rows for each mode: baseline tok/s and TTFT, then the CLI's and the page's ratios."""
    out = measurement("stream", "1. Streaming overhead (tok/s and TTFT)")
    folder = one_case_suite()
    try:
        measure_modes(opts, out, str(folder))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    if getattr(opts, "page_skip_reason", None):
        out["notes"].append(f"page: skipped ({opts.page_skip_reason})")
    return out


def measure_modes(opts: Any, out: dict[str, Any], suite: str) -> None:
    """Every server mode: raw client, CLI and page runs, appended to ``out``."""
    for label, tokens, rate in modes(opts.quick):
        with streaming_server(tokens=tokens, rate=rate) as url:
            raw = [raw_client.stream(url + "/v1/chat/completions", BODY)
                   for _ in range(opts.runs)]
            cli = [cli_bench(suite, "bench-model", url)[1]["cases"][0]
                   for _ in range(opts.runs)]
            page = page_cases(opts, url, tokens, rate)
            floor = bare_browser(opts, url)
        base_tok = median([r["tok_s"] for r in raw])
        base_ttft = median([r["ttft_ms"] for r in raw])
        out["rows"].append(row(f"{label}: raw client tok/s", base_tok, "tok/s",
                               runs=[r["tok_s"] for r in raw]))
        out["rows"].append(row(f"{label}: raw client TTFT", base_ttft, "ms",
                               runs=[r["ttft_ms"] for r in raw]))
        shells: list[tuple[str, list[dict[str, Any]] | None, float]] = [
            ("CLI", cli, CLI_TTFT_MS), ("page", page, PAGE_TTFT_MS)]
        for shell, cases, ttft_target in shells:
            if cases is None:
                continue
            add_shell_rows(out, f"{label}: {shell}", cases, base_tok, base_ttft, ttft_target)
        if floor:
            add_floor_rows(out, label, floor, base_tok, base_ttft)


def add_floor_rows(out: dict[str, Any], label: str, floor: list[dict[str, Any]],
                   base_tok: float | None, base_ttft: float | None) -> None:
    """The browser's floor (info): raw_client's loop run by Chromium without page code."""
    toks = [r["tok_s"] for r in floor if r.get("tok_s")]
    ttfts = [r["ttft_ms"] for r in floor if r.get("ttft_ms") is not None]
    name = f"{label}: Chromium bare fetch loop (info)"
    out["rows"].append(row(f"{name} tok/s", median(toks), "tok/s", baseline=base_tok,
                           runs=toks))
    out["rows"].append(row(f"{name} TTFT", median(ttfts), "ms", baseline=base_ttft,
                           runs=ttfts))


def add_shell_rows(out: dict[str, Any], label: str, cases: list[dict[str, Any]],
                   base_tok: float | None, base_ttft: float | None,
                   ttft_target: float) -> None:
    """tok/s (ratio vs baseline) and TTFT overhead (ms over baseline) of one shell."""
    bad = [c for c in cases if c.get("status") != "pass"]
    if bad:
        out["notes"].append(f"{label}: {len(bad)} run(s) did not pass: "
                            f"{bad[0].get('status')} {bad[0].get('detail')}")
    toks = [c["tok_s"] for c in cases if c.get("tok_s")]
    ttfts = [c["ttft_ms"] for c in cases if c.get("ttft_ms") is not None]
    tok = median(toks)
    ratio = tok / base_tok if tok and base_tok else None
    out["rows"].append(row(f"{label} tok/s", tok, "tok/s", baseline=base_tok,
                           target=f">= {TOK_TARGET} x", runs=toks,
                           ok=None if ratio is None else ratio >= TOK_TARGET))
    ttft = median(ttfts)
    over = ttft - base_ttft if ttft is not None and base_ttft is not None else None
    out["rows"].append(row(f"{label} TTFT", ttft, "ms", baseline=base_ttft, runs=ttfts,
                           target=f"overhead <= {ttft_target:g} ms",
                           ok=None if over is None else over <= ttft_target))


def bare_browser(opts: Any, url: str) -> list[dict[str, Any]] | None:
    """The same stream read by a bare fetch loop in Chromium (no page code), or None."""
    page = getattr(opts, "page", None)
    return None if page is None else page.bare_stream(url, BODY, opts.runs)


def page_cases(opts: Any, url: str, tokens: int, rate: float | None
               ) -> list[dict[str, Any]] | None:
    """The page's case results for the one-case run, or None when the page can't run."""
    page = getattr(opts, "page", None)
    if page is None:
        return None
    return page.stream_cases(url, opts.runs)
