"""The static build on hosts that know nothing of localrate, and Chrome's Local Network Access.

* `localrate build --base-path /tools/localrate/ --origin https://rate.example.test`, served
  by Python's plain `http.server` under `/tools/localrate/`: the page loads under its meta-tag
  CSP, nothing 404s, the evaluator gets ready, discovery finds the fake runtime and the
  `smoke` suite runs (worker, evaluator zip and suite JSON all load from the base path).
* The same build over https from `rate.example.test` (a self-signed certificate made with
  `openssl`, the name mapped to 127.0.0.1 and its port declared `public` with
  `--ip-address-space-overrides`): the Local Network Access note shows; without the
  permission no request reaches the runtime; with it discovery and a run work.
* On http://127.0.0.1 (the `lr` fixture's page) the note stays hidden.

The runtime here is an in-process vLLM-dialect fake (CORS `*`) with a model scripted by
tests/fakes/scripts/smoke.json; the other runtime slots point at the session `fakes`.
"""

from __future__ import annotations

import http.server
import re
import shutil
import ssl
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from conftest import (
    CHROMIUM,
    CHROMIUM_ARGS,
    REPO,
    SCRIPTS,
    Page,
    answers,
    free_port,
    runtime_env,
    screenshot,
    stop_process,
    wait_for,
)

from server.site.assets import PYODIDE_VERSION
from tests.fakes.fake_runtime import FakeRuntime

BASE = "/tools/localrate/"
PUBLIC_HOST = "rate.example.test"
MODEL = "SmolLM2-135M-Instruct"
SMOKE = {"capital-of-france": "pass", "echo-hello": "pass", "two-plus-two": "pass"}
LNA_PERMISSION = "local-network-access"  # accepted by Playwright 1.65 + Chromium 156
FAVICON = "/favicon.ico"


@pytest.fixture(scope="module")
def smoke_fake() -> Iterator[FakeRuntime]:
    """A vLLM-dialect fake (CORS `*`) serving one model scripted with smoke.json."""
    fake = FakeRuntime({"dialect": "vllm", "models": [
        {"id": MODEL, "script": str(SCRIPTS / "smoke.json")}]}).start()
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture(scope="module")
def www(fakes: dict[str, Any], smoke_fake: FakeRuntime,
        tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`localrate build` into <tmp>/www/tools/localrate; returns <tmp>/www."""
    root = tmp_path_factory.mktemp("selfhost") / "www"
    env = runtime_env(fakes) | {"VLLM_BASE_URL": smoke_fake.base_url}
    done = subprocess.run([str(REPO / ".venv" / "bin" / "localrate"), "build",
                           "--out", str(root / BASE.strip("/")), "--base-path", BASE,
                           "--origin", f"https://{PUBLIC_HOST}"], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, f"localrate build failed:\n{done.stdout}{done.stderr}"
    assert (root / BASE.strip("/") / "local-models.html").is_file()
    return root


@pytest.fixture(scope="module")
def plain_host(www: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """`python -m http.server` serving <tmp>/www on 127.0.0.1; yields {url, log}."""
    port = free_port()
    log = tmp_path_factory.mktemp("plain-host") / "http.server.log"
    with log.open("w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "http.server", "--directory", str(www),
                                 "--bind", "127.0.0.1", str(port)], stdout=out,
                                stderr=subprocess.STDOUT)
    wait_for(lambda: answers(port), proc, log, 20)
    try:
        yield {"url": f"http://127.0.0.1:{port}", "log": log}
    finally:
        stop_process(proc)


@pytest.fixture(scope="module")
def https_host(www: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The same folder over https (self-signed, CN=rate.example.test), served by the standard
    library's static handler on 127.0.0.1; yields {port, url, log}."""
    if shutil.which("openssl") is None:
        pytest.fail("openssl is missing (apt-get install -y openssl): no test certificate")
    folder = tmp_path_factory.mktemp("tls")
    key, cert = folder / "key.pem", folder / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", f"/CN={PUBLIC_HOST}", "-addext", f"subjectAltName=DNS:{PUBLIC_HOST}",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cert, key)
    log: list[str] = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            log.append(format % args)

    class TLSServer(http.server.ThreadingHTTPServer):
        # The TLS handshake happens in each connection's own thread (on its first read),
        # not in accept(): a browser's idle or abandoned connection must not stall the
        # accept loop (Chromium then gives up with ERR_TOO_MANY_RETRIES).
        def get_request(self) -> tuple[Any, Any]:
            sock, addr = self.socket.accept()
            return tls.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), addr

    httpd = TLSServer(("127.0.0.1", 0), partial(Handler, directory=www))
    threading.Thread(target=httpd.serve_forever, name="https-host", daemon=True).start()
    port = httpd.server_address[1]
    try:
        yield {"port": port, "url": f"https://{PUBLIC_HOST}:{port}", "log": log}
    finally:
        httpd.shutdown()
        httpd.server_close()


class Watched(Page):
    """A Page that also records console messages and every response and failed request."""

    def __init__(self, context: Any, root: str) -> None:
        super().__init__(context, root)
        self.console: list[str] = []
        self.responses: list[tuple[int, str]] = []
        self.failed: list[str] = []
        self.page.on("console", lambda m: self.console.append(
            f"{m.type}: {m.text} [{m.location.get('url', '')}]"))
        self.page.on("response", lambda r: self.responses.append((r.status, r.url)))
        self.page.on("requestfailed", lambda r: self.failed.append(f"{r.url} {r.failure}"))

    def open_page(self, origin: str) -> Any:
        self.page.goto(f"{origin}{BASE}local-models.html")
        self.wait_ready()
        return self.page


def host_problems(page: Watched, origin: str) -> list[str]:
    """404s and other failures from the static host, and CSP complaints in the console."""
    bad = [f"{status} {url}" for status, url in page.responses
           if url.startswith(origin) and status >= 400]
    bad += [f"failed: {f}" for f in page.failed if f.startswith(origin)]
    bad += [c for c in page.console if "Content Security Policy" in c or " 404 " in c
            or "(Not Found)" in c or "(File not found)" in c]
    # The favicon (asked at the host root) has a test of its own, below.
    return [b for b in bad if FAVICON not in b]


def wait_state(page: Watched, runtime: str, states: str) -> str:
    """Wait until the row of `runtime` has left `checking`; return its data-state."""
    sel = f"[data-testid=runtime-row-{runtime}]"
    page.page.wait_for_selector(f"{sel}:not([data-state=checking])", timeout=15_000)
    state = page.page.get_attribute(sel, "data-state")
    assert state in states.split(), f"{runtime}: data-state {state!r}, expected {states}"
    return str(state)


def run_smoke(page: Watched) -> None:
    """Run the smoke suite on the fake model and check every case passed."""
    card = page.card(MODEL)
    card.wait_for(timeout=15_000)
    assert card.get_attribute("data-runtime") == "vllm"
    page.run("smoke", MODEL, timeout_s=30)
    page.wait_done(60_000)
    assert page.statuses(MODEL) == SMOKE
    summary = page.page.locator(f'[data-testid=summary][data-model-id="{MODEL}"]')
    assert summary.get_attribute("data-verdict") == "pass"


# Proof that the meta-tag CSP is in force: an injected inline script is refused.
INLINE_SCRIPT_PROBE = """() => new Promise((resolve) => {
  document.addEventListener("securitypolicyviolation",
    (e) => resolve(e.effectiveDirective), {once: true});
  const s = document.createElement("script");
  s.textContent = "window.__inlineRan = true";
  document.head.append(s);
  setTimeout(() => resolve(window.__inlineRan ? "inline script ran" : "no violation"), 3000);
})"""
LNA_STATE = """() => navigator.permissions.query({name: "local-network-access"})
  .then((s) => s.state, (e) => `query failed: ${e.message}`)"""


def content_type(url: str) -> str:
    """The media type a host sends for `url` (a HEAD request)."""
    with urllib.request.urlopen(urllib.request.Request(url, method="HEAD")) as response:
        return str(response.headers.get_content_type())


def test_plain_static_host_at_a_base_path(chromium_browser: Any, plain_host: dict[str, Any],
                                          smoke_fake: FakeRuntime) -> None:
    """http.server at /tools/localrate/: loads, no 404, evaluator ready, discovery, smoke run."""
    origin = plain_host["url"]
    pyodide = f"{origin}{BASE}pyodide/{PYODIDE_VERSION}/"
    assert content_type(pyodide + "pyodide.mjs") in ("text/javascript", "application/javascript")
    assert content_type(pyodide + "pyodide.asm.wasm") == "application/wasm"
    with urllib.request.urlopen(f"{origin}{BASE}local-models.html") as response:
        assert response.headers.get("Content-Security-Policy") is None  # only the meta tag
        assert 'http-equiv="Content-Security-Policy"' in response.read().decode("utf-8")
    context = chromium_browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = Watched(context, origin)
        page.open_page(origin)
        wait_state(page, "vllm", "up")
        assert page.page.locator("[data-testid=lna-note]").is_hidden()
        chats_before = len(smoke_fake.requests)
        run_smoke(page)
        assert len(smoke_fake.requests) - chats_before == len(SMOKE)
        screenshot(page.page, "selfhost-base-path")
        assert host_problems(page, origin) == [], plain_host["log"].read_text()
        ours = [url for _, url in page.responses if url.startswith(origin)]
        outside = [u for u in ours if not u.startswith(origin + BASE)]
        assert outside == [], f"requests outside the base path {BASE}: {outside}"
        for kind in ("/assets/js/worker.", "/assets/evaluator.", "/suites/smoke.", "/pyodide/"):
            assert any(kind in u for u in ours), f"no request for {kind} under {BASE}"
        assert page.errors == [] and page.dialogs == []
        assert page.page.evaluate(INLINE_SCRIPT_PROBE) == "script-src-elem"
    finally:
        context.close()


def test_nothing_requested_outside_the_base_path(chromium_browser: Any,
                                                 plain_host: dict[str, Any]) -> None:
    """What the plain host saw (its own log, favicon included) stays under the base path.
    A browser of its own: Chromium asks for a host's favicon once per browser, not per page."""
    log: Path = plain_host["log"]
    seen = len(log.read_text().splitlines())
    browser = chromium_browser.browser_type.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    try:
        page = Watched(browser.new_context(), plain_host["url"])
        page.open_page(plain_host["url"])
        lines = log.read_text().splitlines()[seen:]
    finally:
        browser.close()
    paths = [m[1] for m in (re.search(r'"GET (\S+) HTTP', line) for line in lines) if m]
    assert paths, f"the host logged no request:\n{lines}"
    assert [p for p in paths if not p.startswith(BASE)] == []


@pytest.fixture(scope="module")
def public_browser(chromium_browser: Any, https_host: dict[str, Any]) -> Iterator[Any]:
    """A second Chromium where rate.example.test is 127.0.0.1 and its https port is `public`
    address space, so fetches to 127.0.0.1 are Local Network Access requests."""
    rules = f"--host-resolver-rules=MAP localrate.test 127.0.0.1,MAP {PUBLIC_HOST} 127.0.0.1"
    args = [a for a in CHROMIUM_ARGS if not a.startswith("--host-resolver-rules=")]
    args += [rules, f"--ip-address-space-overrides=127.0.0.1:{https_host['port']}=public"]
    browser = chromium_browser.browser_type.launch(executable_path=CHROMIUM, args=args)
    try:
        yield browser
    finally:
        browser.close()


def public_page(browser: Any, https_host: dict[str, Any], grant: bool) -> Watched:
    """A fresh context on the https page (LNA permission granted or not), evaluator ready."""
    context = browser.new_context(viewport={"width": 1280, "height": 900},
                                  ignore_https_errors=True)
    if grant:
        context.grant_permissions([LNA_PERMISSION], origin=https_host["url"])
    page = Watched(context, https_host["url"])
    page.open_page(https_host["url"])
    return page


def assert_lna_note(page: Watched) -> None:
    """The note is shown and says what the prompt is and how to allow it."""
    note = page.page.locator("[data-testid=lna-note]")
    assert note.is_visible()
    text = note.inner_text()
    for words in ("Local Network Access", "Chrome", "Allow", "Rescan"):
        assert words.lower() in text.lower(), f"lna-note lacks {words!r}: {text!r}"


def test_lna_note_and_no_request_without_the_permission(
        public_browser: Any, https_host: dict[str, Any], smoke_fake: FakeRuntime) -> None:
    """https://rate.example.test (public): the note shows; not granted, the fetch fails with
    nothing sent, so the runtime is shown as blocked by the permission (not as refused)."""
    before = len(smoke_fake.log)
    page = public_page(public_browser, https_host, grant=False)
    try:
        # "prompt" until the first fetch asks; headless Chromium then answers "denied".
        assert page.page.evaluate(LNA_STATE) in ("prompt", "denied")
        assert_lna_note(page)
        wait_state(page, "vllm", "blocked")
        row = page.page.locator("[data-testid=runtime-row-vllm]")
        assert "Local Network Access permission is not granted" in row.inner_text()
        assert page.page.locator("[data-testid=cors-fix-vllm]").is_hidden()
        screenshot(page.page, "selfhost-lna-denied")
        assert smoke_fake.log[before:] == [], "a request reached the runtime without LNA"
        assert host_problems(page, https_host["url"]) == [], https_host["log"]
        assert page.errors == [] and page.dialogs == []
    finally:
        page.context.close()


def test_lna_granted_discovery_and_run_from_a_public_https_page(
        public_browser: Any, https_host: dict[str, Any], smoke_fake: FakeRuntime) -> None:
    """With local-network-access granted, discovery and a smoke run reach the runtime."""
    page = public_page(public_browser, https_host, grant=True)
    try:
        assert page.page.evaluate(LNA_STATE) == "granted"
        wait_state(page, "vllm", "up")
        page.page.locator("[data-testid=lna-note]").wait_for(state="hidden")
        origins = {e["headers"].get("origin") for e in smoke_fake.log}
        assert https_host["url"] in origins, f"the runtime saw origins {origins}"
        run_smoke(page)
        screenshot(page.page, "selfhost-lna-granted")
        assert host_problems(page, https_host["url"]) == [], https_host["log"]
        assert page.errors == [] and page.dialogs == []
    finally:
        page.context.close()


def test_lna_note_hidden_on_loopback(lr: Page, server: str) -> None:
    """The default fixture page (http://127.0.0.1) hides the note once discovery started."""
    lr.page.goto(f"{server}/local-models")
    lr.page.wait_for_selector("[data-testid=runtime-row-ollama]")
    assert lr.page.locator("[data-testid=lna-note]").is_hidden()
