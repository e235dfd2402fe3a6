"""Browser tests of /local-models: fake runtimes, the real server, Debian's Chromium.

Session fixtures start, once:

* `fakes`: fake runtimes (tests/fakes/fake_runtime.py) on free ports, one per built-in
  runtime slot plus a spare one the tests add as a custom endpoint:
  ollama (strong + weak + embedding + XSS-id models; it refuses non-loopback origins
  with its empty 403), lmstudio (CORS off: refused), vllm (the fault model), llamacpp
  (a slow model, for reloads mid-run), mlx (a closed port).
* `server`: `localrate serve --no-bridge` as a subprocess, with *_BASE_URL pointing at
  the fakes so the build bakes those probe URLs. It builds into a private
  LOCALRATE_CACHE whose downloads (Pyodide, wheels) are links to the user's cache.
* `browser`: Chromium at /usr/bin/chromium. `localrate.test` resolves to 127.0.0.1, which
  gives the page a non-loopback origin (Ollama then answers 403).

`engine` (module scope, only for the tests that ask): the suite engine's own site. An
Ollama fake answering tests/data/engine-suite (scripts/engine.json; a context of 4,096
tokens, so the largest sweep size is skipped) and a second `localrate serve` whose build
holds that suite (LOCALRATE_SUITES_DIR: the shipped suites and `engine-features`).

Screenshots go to playwright/artifacts/.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.request import urlopen

import pytest

from tests.procs import stop_process
from tests.suites_fixture import make_suites_dir

# own_site.py holds the issue-15 tests' `site` fixture (a plugin of theirs) and helpers with
# asserts: rewritten like a conftest, before a test module imports it.
pytest.register_assert_rewrite("own_site")

REPO = Path(__file__).resolve().parent.parent
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
SCRIPTS = REPO / "tests" / "fakes" / "scripts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--host-resolver-rules=MAP localrate.test 127.0.0.1"]
XSS_ID = "<img src=x onerror=alert(1)>"
# In case order: the fault model answers the n-th case of classic-rating with the n-th
# fault. `drip` (1 char per 0.3 s) lands on a 2-character answer, to end within 3 s.
FAULTS = ("http500", "non_json", "cut", "hang", "reset", "huge", "bad_utf8", "drip",
          "wrong_type", "empty403")
EVALUATOR_TIMEOUT_MS = 120_000


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def script(name: str) -> dict[str, Any]:
    """A fake-runtime script from tests/fakes/scripts/."""
    return json.loads((SCRIPTS / f"{name}.json").read_text("utf-8"))


def fault_script() -> dict[str, Any]:
    """One fault per case for the first len(FAULTS) cases of classic-rating (in
    order); `drip` streams the strong model's answer slowly, so that case still passes."""
    answers = []
    for fault, answer in zip(FAULTS, script("strong")["answers"], strict=False):
        row = {"case": answer["case"], "match": answer["match"], "fault": fault,
               "content": answer.get("content", "")}
        answers.append(row)
    return {"model": "fault-model", "answers": answers}


@pytest.fixture(scope="session")
def fakes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Start the fake runtimes; yields {runtime: base_url, "custom": url, "closed": url}."""
    folder = tmp_path_factory.mktemp("fakes")
    ports = {name: free_port() for name in ("ollama", "lmstudio", "vllm", "llamacpp", "custom")}
    configs = [
        {"dialect": "ollama", "port": ports["ollama"], "models": [
            {"id": "qwen3-vl:8b", "script": script("strong"),
             "meta": {"capabilities": ["completion", "tools", "vision", "thinking"],
                      "context_length": 262144}},
            # A context that holds every classic-rating prompt (needle-in-the-middle is
            # ~7,500 tokens + 1,024 for the answer), so the weak model is judged by its
            # script; the over-context skip is tested in test_engine_page.py.
            {"id": "smollm2:1.7b", "script": script("weak"),
             "meta": {"capabilities": ["completion"], "context_length": 16384}},
            {"id": "nomic-embed-text", "meta": {"capabilities": ["embedding"]}},
            {"id": XSS_ID, "script": script("xss"), "meta": {"capabilities": ["completion"]}},
        ]},
        {"dialect": "lmstudio", "port": ports["lmstudio"], "cors": "none",
         "models": [{"id": "hidden-by-cors"}]},
        {"dialect": "vllm", "port": ports["vllm"], "models": [{"id": "fault-model",
                                                              "script": fault_script()}]},
        {"dialect": "llamacpp", "port": ports["llamacpp"], "delay_ms": 120,
         "models": [{"id": "slow-model"}]},
        {"dialect": "vllm", "port": ports["custom"], "models": [{"id": "custom-model"}]},
    ]
    proc = start_fakes(folder, "fakes", configs)
    log = folder / "fakes.log"
    urls: dict[str, Any] = {k: f"http://127.0.0.1:{p}" for k, p in ports.items()}
    urls["mlx"] = f"http://127.0.0.1:{free_port()}"  # nothing listens: a closed port
    urls["log"] = log
    try:
        yield urls
    finally:
        stop_process(proc)


def start_fakes(folder: Path, name: str, configs: list[dict[str, Any]]
                ) -> subprocess.Popen[bytes]:
    """The fake runtimes of ``configs`` in one process (tests/fakes/fake_runtime.py), its
    config and log as ``folder/<name>.json`` and ``.log``; returns once every one listens.
    The caller stops it (``stop_process``)."""
    cfg, log = folder / f"{name}.json", folder / f"{name}.log"
    cfg.write_text(json.dumps(configs), "utf-8")
    with log.open("w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "tests.fakes.fake_runtime",
                                 "--config", str(cfg)], cwd=REPO, stdout=out,
                                stderr=subprocess.STDOUT)
    wait_for(lambda: log.read_text().count("ready ") >= len(configs), proc, log, 20)
    return proc


def start_site(folder: Path, env: dict[str, str], *args: str
               ) -> tuple[subprocess.Popen[bytes], str]:
    """``localrate serve --no-bridge [args]`` on a free port with ``env`` (and a private
    cache in ``folder`` unless ``env`` names one; log: ``folder/serve.log``) → (process,
    its URL), once it answers.
    The caller stops it (``stop_process``)."""
    port, log = free_port(), folder / "serve.log"
    if "LOCALRATE_CACHE" not in env:
        env = {**env, "LOCALRATE_CACHE": str(private_cache(folder))}
    with log.open("w") as out:
        proc = subprocess.Popen([str(REPO / ".venv" / "bin" / "localrate"), "serve", "--port",
                                 str(port), "--no-bridge", *args], cwd=REPO, env=env,
                                stdout=out, stderr=subprocess.STDOUT)
    wait_for(lambda: answers(port), proc, log, 300)
    return proc, f"http://127.0.0.1:{port}"


def wait_for(ready: Any, proc: subprocess.Popen[bytes], log: Path, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not ready():
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args} exited with {proc.returncode}:\n{log.read_text()}")
        if time.monotonic() > deadline:
            stop_process(proc)
            raise RuntimeError(f"{proc.args} not ready after {seconds} s:\n{log.read_text()}")
        time.sleep(0.1)


def runtime_env(fakes: dict[str, Any]) -> dict[str, str]:
    """The environment that points localrate (server and CLI) at the fakes."""
    env = {k: v for k, v in os.environ.items()
           if not k.endswith("_BASE_URL") and k not in ("OLLAMA_HOST", "LOCALRATE_DISCOVERY")}
    env.update({"OLLAMA_BASE_URL": fakes["ollama"], "LM_STUDIO_BASE_URL": fakes["lmstudio"],
                "VLLM_BASE_URL": fakes["vllm"], "LLAMACPP_BASE_URL": fakes["llamacpp"],
                "MLX_BASE_URL": fakes["mlx"], "NO_COLOR": "1",
                "LOCALRATE_SUITES_DIR": str(test_suites())})
    return env


@functools.cache
def test_suites() -> Path:
    """The shipped suites plus the classic-rating fixture (tests/suites_fixture.py), made
    once per session and removed at exit."""
    folder = Path(tempfile.mkdtemp(prefix="localrate-pw-suites-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return make_suites_dir(folder)


def private_cache(folder: Path) -> Path:
    """A LOCALRATE_CACHE of our own (the site is built in it), sharing the downloads."""
    shared = Path(os.environ.get("LOCALRATE_CACHE") or Path.home() / ".cache" / "localrate")
    cache = folder / "cache"
    cache.mkdir()
    for name in ("pyodide", "wheels"):
        (shared / name).mkdir(parents=True, exist_ok=True)
        (cache / name).symlink_to(shared / name)
    return cache


@pytest.fixture(scope="session")
def server(fakes: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`localrate serve` on a free port; yields its root URL (http://127.0.0.1:PORT)."""
    folder = tmp_path_factory.mktemp("server")
    port = free_port()
    env = runtime_env(fakes) | {"LOCALRATE_CACHE": str(private_cache(folder))}
    log = folder / "serve.log"
    with log.open("w") as out:
        proc = subprocess.Popen([str(REPO / ".venv" / "bin" / "localrate"), "serve",
                                 "--port", str(port), "--no-bridge"], cwd=REPO, env=env,
                                stdout=out, stderr=subprocess.STDOUT)
    wait_for(lambda: answers(port), proc, log, 300)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_process(proc)
        if proc.returncode not in (0, -15, None):
            print(f"localrate serve log:\n{log.read_text()}", file=sys.stderr)


def answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


ENGINE_SUITE = REPO / "tests" / "data" / "engine-suite"
ENGINE_SUITE_ID = "engine-features"
ENGINE_MODEL, REMARK_MODEL = "fake-model", "remark-model"
ENGINE_CONTEXT = 4096  # the engine models' context: needle-sweep@8192 cannot fit
# remark-model's turn-2 answer to recall-two-turns, dripped (1 character per 0.3 s): a
# window of several seconds in which its second request streams (Skip and Stop tests)
DRIPPED = "It is five, so 5."


def remark_script() -> dict[str, Any]:
    """engine.json, except: `multiply` is answered with its working (a pass with the
    suite's acceptWithRemark remark), and the follow-up 'What is 2 + 3?' slowly."""
    answers = []
    for answer in script("engine")["answers"]:
        row = dict(answer)
        if row["case"] == "multiply":
            row["content"] = "The product = {echo}"
        if row["case"] == "recall-two-turns" and row.get("turn") == 1:
            row.update(content=DRIPPED, fault="drip")
        answers.append(row)
    return {"model": REMARK_MODEL, "answers": answers}


def engine_suites(folder: Path) -> Path:
    """A LOCALRATE_SUITES_DIR holding the shipped suites and tests/data/engine-suite."""
    root = folder / "suites"
    shutil.copytree(REPO / "suites", root)
    shutil.copytree(ENGINE_SUITE, root / ENGINE_SUITE_ID)
    return root


BASE_URL_VARS = ("OLLAMA_BASE_URL", "LM_STUDIO_BASE_URL", "VLLM_BASE_URL",
                 "LLAMACPP_BASE_URL", "MLX_BASE_URL")


def one_runtime_env(var: str, url: str, suites: Path | None = None) -> dict[str, str]:
    """The environment that points localrate (server and CLI) at one runtime only (``var``,
    e.g. VLLM_BASE_URL, at ``url``); the others are closed ports. ``suites``, when given,
    is LOCALRATE_SUITES_DIR."""
    env = {k: v for k, v in os.environ.items()
           if not k.endswith("_BASE_URL") and k not in ("OLLAMA_HOST", "LOCALRATE_DISCOVERY")}
    closed = {name: f"http://127.0.0.1:{free_port()}" for name in BASE_URL_VARS}
    return env | closed | {var: url, "NO_COLOR": "1"} | (
        {} if suites is None else {"LOCALRATE_SUITES_DIR": str(suites)})


def engine_env(fake: str, suites: Path) -> dict[str, str]:
    """The environment that points localrate (server and CLI) at the engine fake only."""
    return one_runtime_env("OLLAMA_BASE_URL", fake, suites)


def fake_requests(base_url: str) -> list[dict[str, Any]]:
    """The JSON body of every chat request a fake received so far, in order."""
    with urlopen(f"{base_url}/__fake__/requests", timeout=10) as response:
        return list(json.loads(response.read())["requests"])


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The engine fake and its site; yields {"fake", "server", "env"} (env: for the CLI)."""
    folder = tmp_path_factory.mktemp("engine")
    port = free_port()
    meta = {"capabilities": ["completion", "tools"], "context_length": ENGINE_CONTEXT}
    config = {"dialect": "ollama", "port": port, "models": [
        {"id": ENGINE_MODEL, "script": script("engine"), "meta": meta},
        {"id": REMARK_MODEL, "script": remark_script(), "meta": meta}]}
    fake = start_fakes(folder, "engine-fake", [config])
    server_proc = None
    try:
        fake_url = f"http://127.0.0.1:{port}"
        env = engine_env(fake_url, engine_suites(folder))
        server_proc, site = start_site(folder, env)
        yield {"fake": fake_url, "server": site, "env": env | {"LOCALRATE_DISCOVERY": "ollama"}}
    finally:
        if server_proc is not None:
            stop_process(server_proc)
        stop_process(fake)


@pytest.fixture(scope="session")
def chromium_browser() -> Iterator[Any]:
    """Chromium from Debian (never `playwright install`)."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


class Page:
    """A page of /local-models plus what the tests check on every page: console errors
    from the page itself, dialogs (there must be none)."""

    def __init__(self, context: Any, root: str) -> None:
        self.context = context
        self.root = root
        self.page = context.new_page()
        self.dialogs: list[str] = []
        self.errors: list[str] = []
        self.page.on("dialog", self._dialog)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def open(self, origin: str | None = None) -> Any:
        """Load /local-models and wait for the evaluator to be ready."""
        self.page.goto(f"{origin or self.root}/local-models")
        self.wait_ready()
        return self.page

    def wait_ready(self) -> None:
        self.page.wait_for_selector("[data-testid=evaluator-status][data-stage=ready]",
                                    timeout=EVALUATOR_TIMEOUT_MS)

    def card(self, model_id: str) -> Any:
        return self.page.locator(f'[data-testid=model-card][data-model-id="{_css(model_id)}"]')

    def select(self, *model_ids: str) -> None:
        for model_id in model_ids:
            self.card(model_id).locator("input[type=checkbox]").check()

    def run(self, suite: str, *model_ids: str, timeout_s: float | None = None,
            seed: int | None = None) -> None:
        """Select the models, start the run (does not wait for the end); `seed`: typed
        into the seed field (else the page draws one)."""
        self.page.select_option("[data-testid=suite-select]", suite)
        if timeout_s is not None:
            self.page.fill("[data-testid=timeout-input]", str(timeout_s))
        if seed is not None:
            self.page.fill("[data-testid=seed-input]", str(seed))
        self.select(*model_ids)
        self.page.click("[data-testid=run-button]")
        self.page.wait_for_selector("[data-testid=stop-button]:not([disabled])")

    def wait_done(self, timeout_ms: int = 240_000) -> None:
        self.page.wait_for_selector("[data-testid=stop-button][disabled]", timeout=timeout_ms)

    def statuses(self, model_id: str) -> dict[str, str]:
        """{case id: status} of the result table of one model."""
        section = self.page.locator("section.run").filter(
            has=self.page.locator(f'[data-testid=summary][data-model-id="{_css(model_id)}"]'))
        rows = section.locator("[data-testid=result-row]")
        return {rows.nth(i).get_attribute("data-case-id"): rows.nth(i).get_attribute("data-status")
                for i in range(rows.count())}

    def shot(self, name: str, full_page: bool = True) -> Path:
        return screenshot(self.page, name, full_page)


def _css(value: str) -> str:
    """A value safe inside a double-quoted CSS attribute selector."""
    return value.replace("\\", "\\\\").replace('"', '\\"')


def screenshot(page: Any, name: str, full_page: bool = True) -> Path:
    """Save playwright/artifacts/<name>.png (look at them)."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


@contextlib.contextmanager
def page_in_fresh_context(browser: Any, server: str) -> Iterator[Page]:
    """A fresh browser context (empty storage) with one /local-models page on `server`;
    fails when the page opened a dialog or threw an uncaught error."""
    context = browser.new_context(viewport={"width": 1280, "height": 900},
                                  accept_downloads=True)
    page = Page(context, server)
    try:
        yield page
        assert page.dialogs == [], f"the page opened dialogs: {page.dialogs}"
        assert page.errors == [], f"uncaught errors in the page: {page.errors}"
    finally:
        context.close()


@pytest.fixture
def lr(chromium_browser: Any, server: str) -> Iterator[Page]:
    """A fresh browser context (empty storage) with one /local-models page."""
    with page_in_fresh_context(chromium_browser, server) as page:
        yield page
