"""Issue 11, finding 18, in a real browser: the page never follows a runtime's redirect.

Node's fetch hands back the 3xx itself (tests/test_stream.py); a browser's
`redirect: "manual"` gives an opaque redirect instead (status 0, no Location). Here the
page's own `record()` (web/js/stream.mjs, as loaded by the page) asks a runtime that
answers 307 to a second, working runtime: the second one must receive nothing, and the
evaluator must make the transcript the case's error (before issue 11 the page followed the
redirect and scored the redirected answer).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from conftest import Page, fake_requests, free_port, start_fakes

from evaluator.transcript import assemble
from tests.procs import stop_process

pytestmark = pytest.mark.browser
BODY = {"model": "m1", "stream": True, "max_tokens": 8,
        "messages": [{"role": "user", "content": "Say hi."}]}


@pytest.fixture(scope="module")
def runtimes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """{"target": a working runtime, "redirect": one that answers 307 to the target}."""
    folder = tmp_path_factory.mktemp("redirect")
    target, redirect = free_port(), free_port()
    target_url = f"http://127.0.0.1:{target}"
    configs = [
        {"dialect": "vllm", "port": target, "models": [{"id": "m1"}]},
        {"dialect": "vllm", "port": redirect, "fault": "redirect",
         "redirect_to": f"{target_url}/v1/chat/completions", "models": [{"id": "m1"}]},
    ]
    proc = start_fakes(folder, "fakes", configs)
    try:
        yield {"target": target_url, "redirect": f"http://127.0.0.1:{redirect}"}
    finally:
        stop_process(proc)


RECORD = """async ([url, body]) => {
  const src = performance.getEntriesByType("resource").map((e) => e.name)
    .find((name) => /\\/stream\\.[0-9a-f]+\\.mjs$|\\/stream\\.mjs$/.test(name));
  if (!src) throw new Error("the page loaded no stream module");
  const { record } = await import(src);
  return await record(url, body, { timeoutS: 10, maxBytes: 1000000 });
}"""


def test_the_page_never_follows_a_redirect(lr: Page, runtimes: dict[str, str]) -> None:
    page = lr.open()
    lr.wait_ready()
    url = f"{runtimes['redirect']}/v1/chat/completions"
    transcript: dict[str, Any] = page.evaluate(RECORD, [url, BODY])
    assert transcript["redirect"] == {"status": None, "location": None}  # opaque
    assert (transcript["status"], transcript["events"], transcript["error"]) == (None, [], None)
    assert fake_requests(runtimes["target"]) == []  # the redirect was not followed
    assert assemble(transcript).error == (
        "the runtime answered with a redirect (the browser does not say where to); localrate "
        "does not follow redirects — use the final address as the base URL")
    direct = page.evaluate(RECORD, [f"{runtimes['target']}/v1/chat/completions", BODY])
    assert direct["status"] == 200 and direct["events"]  # the same call reaches a runtime
    assert len(fake_requests(runtimes["target"])) == 1

