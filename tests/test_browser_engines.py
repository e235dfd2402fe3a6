"""tests/browser_engines.py's installs: geckodriver from the pinned wheel, Debian's drivers."""

from __future__ import annotations

import subprocess

from tests.browser_engines import ENGINES, geckodriver, missing


def test_geckodriver_comes_from_the_pinned_wheel_and_runs() -> None:
    done = subprocess.run([geckodriver(), "--version"], capture_output=True, text=True,
                          timeout=30, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("geckodriver 0.33.0"), done.stdout


def test_every_engine_is_installed() -> None:
    """./dev.sh setup installs chromedriver, firefox-esr, WebKitWebDriver, Xvfb."""
    assert {e: missing(e) for e in ENGINES} == {e: None for e in ENGINES}
