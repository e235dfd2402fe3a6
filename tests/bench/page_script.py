"""JavaScript the page benchmark runs in Chromium (kept apart from the Python driving it).

SPY_JS is an init script: a MutationObserver that stamps, with ``performance.now()`` (ms
since navigation), the first time a runtime row shows a result (its text changes: the raw
probe answer, shown before Python is ready), the time every row has, the time every row
has a final ``data-state`` (not ``checking``: that needs the evaluator), the time the rows
appear (discovery.mjs inserts each row just before sending its probe), and the time the
``evaluator-status`` element says ``ready``.
"""

from __future__ import annotations

import json

CUSTOM_KEY = "localrate.custom-endpoints"  # web/js/custom.mjs
RUN_TIMEOUT_MS = 600_000

SPY_JS = """
(() => {
  if (window.top !== window) return;
  const b = window.__lrBench = { rows: null, first: null, rawAll: null, allFinal: null,
    ready: null, stages: [] };
  const initial = new WeakMap();
  const check = () => {
    const now = performance.now();
    const rows = [...document.querySelectorAll('[data-testid^="runtime-row-"]')];
    let changed = 0, final = 0;
    for (const r of rows) {
      if (!initial.has(r)) initial.set(r, r.textContent);
      if (r.textContent !== initial.get(r) || r.dataset.state !== "checking") changed++;
      if (r.dataset.state && r.dataset.state !== "checking") final++;
    }
    if (rows.length && b.rows == null) b.rows = now;  // rows go in as their probes start
    if (rows.length && changed && b.first == null) b.first = now;
    if (rows.length && changed === rows.length && b.rawAll == null) b.rawAll = now;
    if (rows.length && final === rows.length && b.allFinal == null) b.allFinal = now;
    const st = document.querySelector('[data-testid="evaluator-status"]');
    if (st && st.dataset.stage === "ready" && b.ready == null) b.ready = now;
    const text = st ? st.textContent : "";
    if (text && (!b.stages.length || b.stages[b.stages.length - 1][1] !== text)) {
      b.stages.push([Math.round(now), text]);
    }
  };
  new MutationObserver(check).observe(document, { subtree: true, childList: true,
    characterData: true, attributes: true });
})();
"""

MARKS_JS = """
() => {
  const b = { ...window.__lrBench };
  const mark = (name) => performance.getEntriesByName(name)[0]?.startTime ?? null;
  b.mark_first = mark("localrate:first-probe");
  b.mark_ready = mark("localrate:evaluator-ready");
  b.card = mark("localrate:first-card");
  if (b.mark_first != null) b.first = b.mark_first;
  if (b.mark_ready != null) b.ready = b.mark_ready;
  return b;
}
"""

RUN_JS = """
async () => {
  const progress = document.getElementById("progress");
  const done = () => [...progress.querySelectorAll('[data-testid="progress"]')]
    .some((p) => /·\\s*(done|stopped)/.test(p.textContent));
  const t0 = performance.now();
  const finished = new Promise((resolve) => {
    const obs = new MutationObserver(() => {
      if (done()) { obs.disconnect(); resolve(performance.now() - t0); }
    });
    obs.observe(progress, { subtree: true, childList: true, characterData: true });
  });
  document.getElementById("run-button").click();
  const late = new Promise((_, reject) => setTimeout(
    () => reject(new Error("run did not finish: " + progress.textContent)), TIMEOUT_MS));
  return Promise.race([finished, late]);
}
""".replace("TIMEOUT_MS", str(RUN_TIMEOUT_MS))


SNAPSHOT_CACHE = "localrate-python-snapshot"  # web/js/worker.mjs
# The page says so once the worker's Cache Storage write has finished (listing the cache
# is not enough: the entry is listed while its 30 MB are still being written).
SNAPSHOT_SAVED_JS = """() => document.querySelector('[data-testid="evaluator-status"]')
  ?.dataset.saved === "true"
"""
DROP_SNAPSHOT_JS = """async () => { await caches.delete("CACHE"); }
""".replace("CACHE", SNAPSHOT_CACHE)


# The floor under a warm start: the page's saved snapshot restored by loadPyodide() alone
# (main thread, no page code, no worker), from the same files and Cache Storage entry.
BARE_RESTORE_JS = """
async (indexURL) => {
  const t0 = performance.now();
  const store = await caches.open("CACHE");
  const [{ loadPyodide }, [key]] = await Promise.all([import(indexURL + "pyodide.mjs"), store.keys()]);
  const snapshot = (await store.match(key)).arrayBuffer().then((b) => new Uint8Array(b));
  await loadPyodide({ indexURL, _loadSnapshot: snapshot });
  return performance.now() - t0;
}
""".replace("CACHE", SNAPSHOT_CACHE)

# The browser's own floor for streaming: raw_client.py's loop in Chromium, with no page
# code (a bare fetch + reader on an otherwise idle page). Same timing definitions: TTFT =
# first event with a non-empty "content" since before fetch(); tok/s over first..last.
BARE_STREAM_JS = r"""
async ([url, body]) => {
  const token = /"content":\s*"(?!")/;
  const t0 = performance.now();
  const response = await fetch(url, { method: "POST", body: JSON.stringify(body),
    headers: { "Content-Type": "application/json" }, cache: "no-store" });
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  const stamps = [];
  let rest = "";
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    const now = performance.now();
    const events = (rest + decoder.decode(value, { stream: true })).split("\n\n");
    rest = events.pop();
    for (const event of events) if (token.test(event)) stamps.push(now);
  }
  const n = stamps.length;
  const span = n > 1 ? (stamps[n - 1] - stamps[0]) / 1000 : 0;
  return { ttft_ms: n ? stamps[0] - t0 : null, tok_s: span > 0 ? (n - 1) / span : null, tokens: n };
}
"""

BARE_PYODIDE_JS = """
async (indexURL) => {
  const t0 = performance.now();
  const { loadPyodide } = await import(indexURL + "pyodide.mjs");
  await loadPyodide({ indexURL });
  return performance.now() - t0;
}
"""


def score_js(module_url: str) -> str:
    """Re-score a record in the page's worker: one rescore_record, then score_case per case."""
    return """
async (record) => {
  const m = await import(MODULE_URL);
  await m.ready;
  const t0 = performance.now();
  await m.call("rescore_record", { record, suite: null });
  const t1 = performance.now();
  for (const c of record.cases) {
    if (c.transcript) await m.call("score_case", { case: c.case, transcript: c.transcript });
  }
  return { rescore: t1 - t0, per_case: performance.now() - t1 };
}
""".replace("MODULE_URL", json.dumps(module_url))
