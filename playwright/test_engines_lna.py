"""Firefox's Local Network Access on a public https page (Chrome's: test_selfhost.py).

The static build served over https from rate.example.test (test_selfhost.py's self-signed
host, reused here), in Firefox ESR with the check on (`network.lna.enabled`,
`network.lna.blocking`) and the host's port declared public
(`network.lna.address_space.public.override`, as Firefox's own tests do). Firefox holds
the probes while its prompt waits for the visitor (nobody answers it here): the page reads
the permission as `loopback-network` = prompt, shows its note, and names every runtime
*blocked* by the permission (not refused or timed out); no request reaches the runtime.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_selfhost import BASE, PUBLIC_HOST, https_host, smoke_fake, www  # noqa: F401

from tests.browser_engines import FOREIGN_HOST, EnginePage, launch, missing

pytestmark = pytest.mark.browser
PERMISSION = """const done = arguments[arguments.length - 1];
navigator.permissions.query({name: "loopback-network"}).then((s) => done(s.state),
  (err) => done(String(err)));"""


@pytest.fixture
def firefox_public(https_host: dict[str, Any], tmp_path: Path) -> Iterator[EnginePage]:  # noqa: F811
    """Firefox ESR where rate.example.test is 127.0.0.1 and its https port is public."""
    if missing("firefox"):
        pytest.fail(f"firefox: {missing('firefox')} missing (./dev.sh setup installs it)")
    prefs = {"network.dns.localDomains": f"{FOREIGN_HOST},{PUBLIC_HOST}",
             "network.lna.enabled": True, "network.lna.blocking": True,
             "network.lna.address_space.public.override": f"127.0.0.1:{https_host['port']}"}
    with launch("firefox", tmp_path, prefs) as driver:
        page = EnginePage(driver, "firefox", https_host["url"])
        yield page
        assert page.errors() == [], f"uncaught errors in the page: {page.errors()}"


def test_firefox_lna_prompt_blocks_and_the_page_says_so(
        firefox_public: EnginePage, smoke_fake: Any) -> None:  # noqa: F811
    page = firefox_public
    before = len(smoke_fake.log)
    page.goto(f"{page.root}{BASE}local-models.html")
    page.wait_ready()
    assert page.driver.execute_async_script(PERMISSION) == "prompt"
    page.wait_visible("[data-testid=lna-note]")
    page.wait_text("[data-testid=lna-note]", "network.lna.blocking")
    row = "[data-testid=runtime-row-vllm]"  # the smoke fake (CORS *): only LNA can stop it
    page.wait_attr(row, "data-state", "blocked", timeout=20)
    page.wait_text(row, "Local Network Access permission is not granted to this page (prompt)")
    assert len(smoke_fake.log) == before, "a request reached the runtime without permission"
    page.js("window.scrollTo(0, 0)")
    page.shot("lna-prompt")
