"""The page in Chromium (Playwright): the browser half of measurements 1, 3, 4, 5 and 7.

One Chromium (Debian's, /usr/bin/chromium) serves every page measurement. The page is
built with every built-in runtime on a closed port of 127.0.0.1 and with the suites
``bench-one`` (tests/bench/suitegen.py) and classic-rating (tests/data/suites); the benchmark server is
added as a custom endpoint (localStorage, as a visitor would). An init script records,
in the page's own clock (ms since navigation), when the first runtime row leaves
``checking``, when every row has, and when the evaluator says ``ready``; the page's own
``performance.mark``s ``localrate:first-probe`` / ``localrate:evaluator-ready`` win when
it sets them.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.bench.common import ROOT, closed_ports_env, hanging_port, streaming_server
from tests.bench.page_script import (
    BARE_PYODIDE_JS,
    BARE_RESTORE_JS,
    BARE_STREAM_JS,
    CUSTOM_KEY,
    DROP_SNAPSHOT_JS,
    MARKS_JS,
    RUN_JS,
    SNAPSHOT_SAVED_JS,
    SPY_JS,
    score_js,
)
from tests.bench.site import build, serve
from tests.bench.suitegen import ONE_CASE

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PATH = "/local-models"


def suites_dir() -> Path:
    """A suites folder with bench-one and a copy of classic-rating (a copy: the build
    refuses a suite folder that links outside its suites folder)."""
    folder = Path(tempfile.mkdtemp(prefix="localrate-bench-suites-"))
    (folder / "bench-one").mkdir()
    (folder / "bench-one" / "suite.yaml").write_text(ONE_CASE, encoding="utf-8")
    shutil.copytree(ROOT / "tests" / "data" / "suites" / "classic-rating",
                    folder / "classic-rating")
    return folder


class PageBench:
    """A running Chromium plus the served page, with one method per measurement."""

    def __init__(self, log: Callable[[str], None]) -> None:
        from playwright.sync_api import sync_playwright

        self.log = log
        self._suites = suites_dir()
        self.site = build("page", closed_ports_env({"LOCALRATE_SUITES_DIR": str(self._suites)}))
        self.manifest = json.loads((self.site / "build.json").read_text("utf-8"))
        self._serve = serve(self.site)
        self.origin = self._serve.__enter__()
        self._pw = sync_playwright().start()
        self.browser = self._pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)

    def close(self) -> None:
        """Close the browser, the page server and the temp suites folder."""
        try:
            self.browser.close()
            self._pw.stop()
        finally:
            self._serve.__exit__(None, None, None)
            shutil.rmtree(self._suites, ignore_errors=True)

    # -- helpers ---------------------------------------------------------------------
    def context(self, custom_url: str | None = None) -> Any:
        """A fresh browser context (empty HTTP cache, storage) with the timing spy."""
        ctx = self.browser.new_context(accept_downloads=True)
        ctx.add_init_script(SPY_JS)
        if custom_url:
            rows = json.dumps([{"runtime": "vllm", "base_url": custom_url}])
            ctx.add_init_script(f"localStorage.setItem({json.dumps(CUSTOM_KEY)}, "
                                f"{json.dumps(rows)});")
        return ctx

    def marks(self, page: Any, origin: str | None = None, timeout_s: float = 60) -> dict:
        """Navigate and wait for every row final and the evaluator ready → spy times."""
        page.goto((origin or self.origin) + PATH)
        page.wait_for_function("() => window.__lrBench && window.__lrBench.ready != null "
                               "&& window.__lrBench.allFinal != null",
                               timeout=timeout_s * 1000)
        return dict(page.evaluate(MARKS_JS))

    def settled(self, page: Any) -> None:
        """Open the page and wait until the first start's Python snapshot is saved (a 30 MB
        write in the background), so a run measures streaming, not that one-time write."""
        self.marks(page)
        page.wait_for_function(SNAPSHOT_SAVED_JS, timeout=60_000)

    def run_suite(self, page: Any, suite_id: str, model: str) -> tuple[float, dict]:
        """Pick the model and suite, press Run; (ms from click to done, exported record)."""
        card = page.locator(f'[data-testid=model-card][data-model-id="{model}"]')
        card.wait_for(timeout=60_000)
        box = card.locator("[data-testid=model-select]")
        if not box.is_checked():
            box.check()
        page.select_option("[data-testid=suite-select]", suite_id)
        page.wait_for_function("() => !document.getElementById('run-button').disabled",
                               timeout=60_000)
        page.click("#clear-view")  # only this run's result section stays in view
        wall = float(page.evaluate(RUN_JS))
        with page.expect_download() as info:
            page.locator("#results [data-testid=export-button]").last.click()
        record = json.loads(Path(info.value.path()).read_text("utf-8"))
        return wall, record

    # -- measurements ---------------------------------------------------------------
    def stream_cases(self, url: str, runs: int) -> list[dict[str, Any]]:
        """The bench-one case result of ``runs`` page runs against ``url``."""
        ctx = self.context(url)
        try:
            page = ctx.new_page()
            self.settled(page)
            return [self.run_suite(page, "bench-one", "bench-model")[1]["cases"][0]
                    for _ in range(runs)]
        finally:
            ctx.close()

    def bare_stream(self, url: str, body: dict[str, Any], runs: int) -> list[dict[str, Any]]:
        """``runs`` streams of ``url`` read by a bare fetch loop in Chromium (no page code,
        same origin as the page): the browser's own floor under the page's figures."""
        ctx = self.context()
        try:
            page = ctx.new_page()
            page.goto(self.origin + "/build.json")
            chat = url.rstrip("/") + "/v1/chat/completions"
            page.evaluate(BARE_STREAM_JS, [chat, body])  # warm-up: connection, preflight cache
            return [dict(page.evaluate(BARE_STREAM_JS, [chat, body])) for _ in range(runs)]
        finally:
            ctx.close()

    def suite_runs(self, url: str, model: str, runs: int) -> list[tuple[float, dict]]:
        """(wall ms, record) of ``runs`` page runs of classic-rating on ``url``."""
        ctx = self.context(url)
        try:
            page = ctx.new_page()
            self.settled(page)
            return [self.run_suite(page, "classic-rating", model) for _ in range(runs)]
        finally:
            ctx.close()

    def profile(self) -> tuple[Any, Path]:
        """A browser with its own fresh profile on disk (as a visitor's browser is), with
        the timing spy: Chrome keeps compiled code (V8's code cache, for the wasm too)
        there, which it does not in an incognito-like context. → (context, folder)."""
        folder = Path(tempfile.mkdtemp(prefix="localrate-bench-profile-"))
        ctx = self._pw.chromium.launch_persistent_context(
            str(folder), executable_path=CHROMIUM, args=ARGS)
        ctx.add_init_script(SPY_JS)
        return ctx, folder

    def load_times(self, runs: int) -> dict[str, Any]:
        """First probe result, cold and warm evaluator-ready times (ms since navigation).

        Cold = a fresh incognito-like context. Warm = a returning visitor: a fresh browser
        profile on disk, first visit, then (once its Python snapshot is saved) a reload,
        whose time is kept; the same profile then times ``loadPyodide()`` restoring that
        snapshot alone (``restore_alone``, the floor). ``incognito`` = the same reload in
        the cold run's context (no code cache); ``unsaved`` = that reload again with the
        snapshot deleted (what the snapshot saves)."""
        out: dict[str, Any] = {"first": [], "cold": [], "warm": [], "incognito": [],
                               "unsaved": [], "restore_alone": [], "restored": [],
                               "stages": []}
        index = self.pyodide_index()
        for _ in range(runs):
            ctx = self.context()
            try:
                page = ctx.new_page()
                cold = self.marks(page)
                out["first"].append(cold["first"])
                out["cold"].append(cold["ready"])
                out["stages"] = cold["stages"]
                page.wait_for_function(SNAPSHOT_SAVED_JS, timeout=60_000)
                out["incognito"].append(self.marks(page)["ready"])
                page.evaluate(DROP_SNAPSHOT_JS)
                out["unsaved"].append(self.marks(page)["ready"])
            finally:
                ctx.close()
            ctx, folder = self.profile()
            try:
                page = ctx.new_page()
                self.marks(page)
                page.wait_for_function(SNAPSHOT_SAVED_JS, timeout=60_000)
                out["warm"].append(self.marks(page)["ready"])
                out["restored"].append(page.get_attribute(
                    "[data-testid=evaluator-status]", "data-restored") == "true")
                if index:
                    page.goto(self.origin + "/build.json")
                    out["restore_alone"].append(float(page.evaluate(
                        BARE_RESTORE_JS, self.origin + index)))
            finally:
                ctx.close()
                shutil.rmtree(folder, ignore_errors=True)
        return out

    def pyodide_index(self) -> str | None:
        """The vendored Pyodide's folder on the page's origin (``/pyodide/<version>/``)."""
        version = self.manifest.get("pyodide", {}).get("version")
        index = f"/pyodide/{version}/"
        if not version or not (self.site / index.strip("/") / "pyodide.mjs").exists():
            return None
        return index

    def bare_pyodide(self, runs: int) -> list[float]:
        """Ms for ``loadPyodide()`` alone (same files, same origin, fresh context, main
        thread, no page code): the floor under 'evaluator ready'."""
        index = self.pyodide_index()
        if not index:
            return []
        times = []
        for _ in range(runs):
            ctx = self.context()
            try:
                page = ctx.new_page()
                page.goto(self.origin + "/build.json")
                times.append(float(page.evaluate(BARE_PYODIDE_JS, self.origin + index)))
            finally:
                ctx.close()
        return times

    def hang_times(self, runs: int) -> dict[str, list[float]]:
        """With Ollama's port hanging, after a reload (warm cache): ms until every row
        shows its probe's answer (``raw``) and until every row is final (``final``)."""
        with hanging_port() as port:
            env = closed_ports_env({"OLLAMA_BASE_URL": f"http://127.0.0.1:{port}"})
            site = build("hang", env)
            with serve(site) as origin:
                times: dict[str, list[float]] = {"raw": [], "final": [], "span": []}
                ctx = self.context()
                try:
                    page = ctx.new_page()
                    self.marks(page, origin)  # the cold load fills the HTTP cache
                    for _ in range(runs):
                        got = self.marks(page, origin)
                        times["raw"].append(got["rawAll"])
                        times["span"].append(got["rawAll"] - got["rows"])
                        times["final"].append(got["allFinal"])
                finally:
                    ctx.close()
        return times

    def card_times(self, runs: int) -> list[float]:
        """Cold loads (a fresh context each) of a page whose vLLM probe finds a model on a
        benchmark server: ms since navigation until the first model card is shown
        (``localrate:first-card``), before Python is ready."""
        with streaming_server(tokens=8) as url:
            site = build("card", closed_ports_env({"VLLM_BASE_URL": url}))
            with serve(site) as origin:
                times: list[float] = []
                for _ in range(runs):
                    ctx = self.context()
                    try:
                        page = ctx.new_page()
                        got = self.marks(page, origin)
                        times.append(got["card"])
                    finally:
                        ctx.close()
        return times

    def score_in_worker(self, record: dict[str, Any], runs: int) -> dict[str, list[float]]:
        """Ms to re-score ``record`` in the page's worker: one rescore_record call, and
        one score_case call per case (the page's own path)."""
        module = self.manifest["assets"]["js/evaluator.mjs"]
        ctx = self.context()
        try:
            page = ctx.new_page()
            self.settled(page)  # not beside the first start's 30 MB snapshot write
            out: dict[str, list[float]] = {"rescore": [], "per_case": []}
            for _ in range(runs):
                got = page.evaluate(score_js(module), record)
                out["rescore"].append(got["rescore"])
                out["per_case"].append(got["per_case"])
            return out
        finally:
            ctx.close()

    def first_visit_bytes(self) -> tuple[float, float]:
        """(bytes on the wire, raw body bytes) of a cold first visit until ready."""
        ctx = self.context()
        responses: list[Any] = []
        try:
            page = ctx.new_page()
            page.on("response", lambda response: responses.append(response))
            self.marks(page)
            wire = raw = 0.0
            for response in responses:
                sizes = response.request.sizes()
                wire += sizes["responseBodySize"] + sizes["responseHeadersSize"]
                if 300 <= response.status < 400:
                    continue  # a redirect has no body
                raw += len(response.body())
            return wire, raw
        finally:
            ctx.close()


def open_page(opts: Any, log: Callable[[str], None]) -> tuple[PageBench | None, str | None]:
    """Start the page bench, or say why it can't run here."""
    if not os.path.exists(CHROMIUM):
        return None, f"{CHROMIUM} not found (apt-get install chromium)"
    try:
        import playwright  # noqa: F401
    except ImportError:
        return None, "playwright is not installed in this venv"
    log("bench: building and serving the page, starting Chromium ...")
    try:
        return PageBench(log), None
    except Exception as exc:  # noqa: BLE001 - a page that does not build or start is a reported skip
        return None, f"page could not start: {type(exc).__name__}: {exc}"
