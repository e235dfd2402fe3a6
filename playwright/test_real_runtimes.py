"""The page against real runtimes: llama.cpp (xllamacpp) and the MLX bridge, in Chromium.

One `localrate serve --no-bridge` (module-scoped) is built with LLAMACPP_BASE_URL and
MLX_BASE_URL on two reserved ports and the other runtimes on closed ports. The real model
servers (the demo SmolLM2-135M) take those ports one at a time: `ModelServers.use()` stops
the running one before starting the next, because the machine has two cores.

These tests FAIL when the demo model, xllamacpp, mlx or mlx-lm is missing; the MLX test
skips only where mlx has no build at all (tests.real.servers.mlx_platform_reason).
Screenshots: playwright/artifacts/real-llamacpp.png, real-mlx.png.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack
from pathlib import Path
from typing import Any

import pytest
from conftest import (
    REPO,
    Page,
    answers,
    free_port,
    page_in_fresh_context,
    private_cache,
    screenshot,
    stop_process,
    wait_for,
)
from playwright.sync_api import expect

from tests.real.servers import MODEL_ID, demo_model, mlx_platform_reason, running

pytestmark = [pytest.mark.real_runtime, pytest.mark.browser]

SMOKE_CASES = ["capital-of-france", "echo-hello", "two-plus-two"]
OTHER_RUNTIMES = ("ollama", "lmstudio", "vllm")
RUN_TIMEOUT_MS = 420_000  # 2 cores; MLX float32 on CPU decodes 7-8 tok/s


class ModelServers:
    """At most one real model server at a time: `use(name, start)` stops any other first."""

    def __init__(self) -> None:
        self.stack = ExitStack()
        self.name: str | None = None
        self.url = ""

    def use(self, name: str, start: Callable[[], AbstractContextManager[str]]) -> str:
        """Base URL of server `name`, starting it (and stopping the previous one) if needed."""
        if self.name != name:
            self.close()
            self.url = self.stack.enter_context(start())
            self.name = name
        return self.url

    def close(self) -> None:
        self.stack.close()
        self.name = None


@pytest.fixture(scope="module")
def real_ports() -> dict[str, int]:
    """Ports for the page, llama.cpp, the MLX bridge and three closed runtime slots."""
    return {name: free_port() for name in ("page", "llamacpp", "mlx", *OTHER_RUNTIMES)}


@pytest.fixture(scope="module")
def real_page(real_ports: dict[str, int],
              tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`localrate serve --no-bridge` whose build probes the real servers' ports."""
    folder = tmp_path_factory.mktemp("real-page")
    url = {name: f"http://127.0.0.1:{port}" for name, port in real_ports.items()}
    env = {k: v for k, v in os.environ.items()
           if not k.endswith("_BASE_URL") and k not in ("OLLAMA_HOST", "LOCALRATE_DISCOVERY")}
    env |= {"OLLAMA_BASE_URL": url["ollama"], "LM_STUDIO_BASE_URL": url["lmstudio"],
            "VLLM_BASE_URL": url["vllm"], "LLAMACPP_BASE_URL": url["llamacpp"],
            "MLX_BASE_URL": url["mlx"], "NO_COLOR": "1",
            "LOCALRATE_CACHE": str(private_cache(folder))}
    log = folder / "serve.log"
    with log.open("w") as out:
        proc = subprocess.Popen([str(REPO / ".venv" / "bin" / "localrate"), "serve",
                                 "--port", str(real_ports["page"]), "--no-bridge"],
                                cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
    wait_for(lambda: answers(real_ports["page"]), proc, log, 300)
    try:
        yield url["page"]
    finally:
        stop_process(proc)


@pytest.fixture(scope="module")
def model_servers() -> Iterator[ModelServers]:
    servers = ModelServers()
    try:
        yield servers
    finally:
        servers.close()


@pytest.fixture
def real_llamacpp(model_servers: ModelServers, real_ports: dict[str, int],
                  tmp_path_factory: pytest.TempPathFactory) -> str:
    """llama.cpp's own server (xllamacpp) with the demo GGUF, allowing the page's origin."""
    import xllamacpp  # noqa: F401 - a missing wheel is a failure, not a skip

    gguf = demo_model().gguf
    port = real_ports["llamacpp"]
    cmd = [sys.executable, str(REPO / "tests" / "real" / "llamacpp_server.py"), str(gguf),
           "--port", str(port), "--alias", MODEL_ID,
           "--cors-origins", f"http://127.0.0.1:{real_ports['page']}"]
    log = tmp_path_factory.mktemp("llamacpp") / "server.log"
    return model_servers.use(
        "llamacpp", lambda: running(cmd, f"http://127.0.0.1:{port}", log))


@pytest.fixture
def real_mlx(model_servers: ModelServers, real_ports: dict[str, int],
             tmp_path_factory: pytest.TempPathFactory) -> str:
    """`localrate bridge` with the demo model converted for MLX, for the page's port."""
    reason = mlx_platform_reason()
    if reason is not None:
        pytest.skip(reason)
    import mlx.core  # noqa: F401 - where mlx installs, missing it is a failure
    import mlx_lm  # noqa: F401

    model = demo_model()
    assert model.mlx_dir is not None, model.mlx_reason
    port = real_ports["mlx"]
    cmd = [str(REPO / ".venv" / "bin" / "localrate"), "bridge", "--model", str(model.mlx_dir),
           "--model-id", MODEL_ID, "--port", str(port), "--page-port", str(real_ports["page"])]
    log = tmp_path_factory.mktemp("mlx") / "bridge.log"
    return model_servers.use("mlx", lambda: running(cmd, f"http://127.0.0.1:{port}", log))


@pytest.fixture
def real_lr(chromium_browser: Any, real_page: str) -> Iterator[Page]:
    """A fresh browser context on the real-runtime page (no dialogs, no uncaught errors)."""
    with page_in_fresh_context(chromium_browser, real_page) as page:
        yield page


def rate_smoke(lr: Page, runtime: str, base_url: str, context: str, shot: str,
               tmp: Path) -> dict[str, Any]:
    """Discover `runtime` alone, run the smoke suite on the demo model, check the page,
    take a screenshot; return the exported run record."""
    page = lr.open()
    expect(page.get_by_test_id(f"runtime-row-{runtime}")).to_have_attribute(
        "data-state", "up", timeout=20_000)
    others = [r for r in ("llamacpp", "mlx", *OTHER_RUNTIMES) if r != runtime]
    for other in others:
        expect(page.get_by_test_id(f"runtime-row-{other}")).to_have_attribute(
            "data-state", "refused", timeout=20_000)
    expect(page.get_by_test_id("model-card")).to_have_count(1)
    card = lr.card(MODEL_ID)
    expect(card).to_have_attribute("data-runtime", runtime)
    expect(card.locator(".model-meta")).to_contain_text(f"context {context}")
    expect(card.locator(".chip[data-cap=streaming]")).to_have_count(1)

    lr.run("smoke", MODEL_ID, timeout_s=300)
    rows = page.get_by_test_id("result-row")
    expect(rows).to_have_count(len(SMOKE_CASES), timeout=RUN_TIMEOUT_MS)
    lr.wait_done(timeout_ms=60_000)
    statuses = lr.statuses(MODEL_ID)
    assert list(statuses) == SMOKE_CASES, statuses
    assert set(statuses.values()) <= {"pass", "fail"}, statuses
    summary = page.locator(f'[data-testid=summary][data-model-id="{MODEL_ID}"]')
    expect(summary).to_have_count(1)
    assert summary.get_attribute("data-verdict") in ("pass", "fail")
    for i in range(len(SMOKE_CASES)):
        rows.nth(i).locator(".row-toggle").click()
        output = page.locator("tr.detail-row pre.output").nth(i)
        expect(output).to_be_visible()
        assert output.inner_text().strip(), f"empty output for {SMOKE_CASES[i]}"
    screenshot(page, shot)

    with page.expect_download() as download:
        page.get_by_test_id("export-button").click()
    record: dict[str, Any] = json.loads(Path(download.value.path()).read_text("utf-8"))
    (tmp / f"{shot}.json").write_text(json.dumps(record, indent=1), "utf-8")
    assert record["format"] == "localrate.run/1"
    assert record["model"]["runtime"] == runtime and record["model"]["base_url"] == base_url
    assert record["suite"]["id"] == "smoke"
    assert [c["id"] for c in record["cases"]] == SMOKE_CASES
    for case in record["cases"]:
        assert case["status"] == statuses[case["id"]], case
        assert case["output"].strip(), case["id"]
        assert case["tok_out"] > 0, case
        assert case["tokens_source"] in ("usage", "timings"), case
        transcript = case["transcript"]
        assert transcript["status"] == 200 and transcript["error"] is None, transcript
        assert transcript["url"] == f"{base_url}/v1/chat/completions"
        assert transcript["events"][-1][1] == "[DONE]", transcript["events"][-3:]
    return record


def events(case: dict[str, Any]) -> list[dict[str, Any]]:
    """The parsed JSON events of one case's transcript."""
    return [json.loads(data) for _, data in case["transcript"]["events"] if data != "[DONE]"]


@pytest.mark.timeout(900)
def test_page_discovers_and_rates_real_llamacpp(real_lr: Page, real_llamacpp: str,
                                                tmp_path: Path) -> None:
    record = rate_smoke(real_lr, "llamacpp", real_llamacpp, "4,096", "real-llamacpp", tmp_path)
    for case in record["cases"]:
        seen = events(case)
        assert any(e.get("usage", {}).get("completion_tokens") for e in seen), case["id"]
        assert any("predicted_per_second" in e.get("timings", {}) for e in seen), case["id"]


@pytest.mark.timeout(900)
def test_page_rates_the_real_mlx_bridge(real_lr: Page, real_mlx: str, tmp_path: Path) -> None:
    record = rate_smoke(real_lr, "mlx", real_mlx, "8,192", "real-mlx", tmp_path)
    for case in record["cases"]:
        assert case["tokens_source"] == "usage", case
        assert any(e.get("usage", {}).get("completion_tokens") for e in events(case))
