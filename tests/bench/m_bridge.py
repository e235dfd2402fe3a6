"""Measurement 8, bridge overhead: tok/s through the MLX bridge vs mlx-lm in-process.

Runs only where ``mlx_lm`` is importable and the demo model is prepared
(`localrate demo-model`). The bridge (`localrate bridge --model DIR`) is read by the raw
client (tokens = the usage chunk's completion_tokens, over first to last content event);
the baseline is tests/bench/mlx_baseline.py on the same prompt, template and greedy
sampling, in its own process.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import time
from typing import Any

import httpx

from tests.bench import raw_client
from tests.bench.common import (
    PYTHON,
    ROOT,
    cache_root,
    free_port,
    localrate_cmd,
    measurement,
    median,
    row,
    skipped,
)

TARGET = 0.97
PROMPT = "Count from 1 to 100 in words, separated by commas."
DEMO_DIR = "models/SmolLM2-135M-Instruct-mlx-f32"
TITLE = "8. MLX bridge overhead"


class Baseline:
    """tests/bench/mlx_baseline.py as a child: ``ask()`` runs one generation."""

    def __init__(self, cmd: list[str]) -> None:
        self.proc = subprocess.Popen(cmd, cwd=ROOT, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def _line(self) -> str:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            err = self.proc.stderr.read() if self.proc.stderr else ""
            raise RuntimeError(f"mlx baseline ended: {err.strip()[-300:]}")
        return line

    def __enter__(self) -> Baseline:  # noqa: PYI034 - a plain class, not subclassed
        while self._line().strip() != "ready":
            pass
        return self

    def ask(self) -> dict[str, float]:
        """One generation's ``{"tok_s", "tokens"}``."""
        assert self.proc.stdin is not None
        self.proc.stdin.write("run\n")
        self.proc.stdin.flush()
        return dict(json.loads(self._line()))

    def __exit__(self, *exc: object) -> None:
        self.proc.terminate()
        self.proc.wait(10)


def wait_healthy(url: str, proc: subprocess.Popen[bytes], timeout: float = 300) -> None:
    """Return when the bridge's /health says ok (RuntimeError when it dies or times out)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
            raise RuntimeError(f"localrate bridge exited {proc.returncode}: {err[-300:]}")
        try:
            if httpx.get(url + "/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the bridge at {url} was not healthy after {timeout:g} s")


def run(opts: Any) -> dict[str, Any]:
    """Rows: mlx-lm in-process tok/s (baseline) and through the bridge (ratio)."""
    if importlib.util.find_spec("mlx_lm") is None:
        return skipped("bridge", TITLE, "mlx-lm is not importable on this machine")
    model_dir = cache_root() / DEMO_DIR
    if not model_dir.is_dir():
        return skipped("bridge", TITLE, f"the demo model is not prepared ({model_dir} "
                       "missing): run `localrate demo-model` first")
    out = measurement("bridge", TITLE)
    max_tokens = 48 if opts.quick else 96
    runs = min(opts.runs, 5)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    body = {"model": model_dir.name, "stream": True, "temperature": 0,
            "max_tokens": max_tokens, "stream_options": {"include_usage": True},
            "messages": [{"role": "user", "content": PROMPT}]}
    bridge = subprocess.Popen([*localrate_cmd(), "bridge", "--model", str(model_dir),
                               "--port", str(port)], cwd=ROOT, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE)
    base_cmd = [PYTHON, "-m", "tests.bench.mlx_baseline", str(model_dir), PROMPT,
                str(max_tokens)]
    base, bridged = [], []
    try:
        with Baseline(base_cmd) as baseline:
            wait_healthy(url, bridge)
            raw_client.stream(url + "/v1/chat/completions", body, 600)  # warm-up
            # Interleaved, a baseline run on each side of every bridge run: B R B R ... B.
            base.append(baseline.ask())
            for _ in range(runs):
                bridged.append(raw_client.stream(url + "/v1/chat/completions", body, 600))
                base.append(baseline.ask())
    finally:
        bridge.terminate()
        bridge.wait(10)
    base_tok = median([b["tok_s"] for b in base])
    out["rows"].append(row("mlx-lm stream_generate in-process (baseline)", base_tok,
                           "tok/s", runs=[b["tok_s"] for b in base]))
    toks = [b["usage_tok_s"] for b in bridged]
    # Each bridge run against the mean of the baseline runs just before and after it: the
    # speed of this machine's CPU drifts by more than the gap being measured (±10% within
    # minutes), and a pair sees the same drift.
    pairs = [tok / ((base[i]["tok_s"] + base[i + 1]["tok_s"]) / 2)
             for i, tok in enumerate(toks)]
    ratio = median(pairs)
    out["rows"].append(row("through the bridge (HTTP, SSE)", median(toks), "tok/s",
                           baseline=base_tok, ratio=ratio, runs=toks,
                           target=f">= {TARGET} x", ok=ratio is not None and ratio >= TARGET))
    out["notes"].append("ratio: median over bridge runs of (bridge tok/s / mean of the "
                        "baseline runs just before and after it); runs interleaved "
                        "B R B R ... B; mlx on this machine's CPU")
    out["notes"].append("paired ratios: " + ", ".join(f"{p:.3f}" for p in pairs))
    out["notes"].append(f"{max_tokens} tokens max; baseline generated "
                        f"{base[-1]['tokens']:.0f}, the bridge {bridged[-1]['usage']:.0f}")
    return out
