// Share and report: a share link for the runs shown (their summary and per-case statuses,
// compressed into the URL's fragment, which never leaves the browser), the read-only card
// such a link opens (nothing is stored), single-file HTML and Markdown reports, and the
// check of a full record ("re-scored: matches" or not). The link, the reports and the
// verdict are the evaluator's (share_fragment, read_share, report_html, report_md,
// verify_record); this module reads files, downloads and renders text.

import { byId, el, guarded, num, pct, replace, report, showStatus } from "./dom.mjs";
import { call, ready } from "./evaluator.mjs";
import { pageData } from "./pagedata.mjs";
import { shownRuns } from "./results.mjs";

const HASH = "#share=";

/** Wire the section, and show the card when the page was opened from a share link. */
export function initShare() {
  byId("share-button").addEventListener("click", () => guard(makeLink));
  byId("report-html").addEventListener("click", () => guard(() => downloadReport("html")));
  byId("report-md").addEventListener("click", () => guard(() => downloadReport("md")));
  byId("verify-input").addEventListener("change", (e) => guard(() => verifyFiles([...e.target.files])).finally(() => { e.target.value = ""; }));
  window.addEventListener("hashchange", showShared);
  showShared();
}

const guard = (fn) => guarded(fn, say);

function say(text, bad = false) {
  showStatus("share-status", text, bad);
}

/** The finished runs shown in Results, as full records. */
function records() {
  const runs = shownRuns().map((r) => r.record).filter((r) => r && r.summary && Array.isArray(r.cases));
  if (!runs.length) throw new Error("Show one or more finished runs in Results first.");
  return runs;
}

async function makeLink() {
  await ready;
  const fragment = await call("share_fragment", { records: records() });
  const url = `${location.origin}${location.pathname}${HASH}${fragment}`;
  const field = byId("share-link");
  field.value = url;
  field.hidden = false;
  byId("share-copy").hidden = false;
  byId("share-copy").onclick = async () => {
    try {
      await navigator.clipboard.writeText(url);
      say("Link copied.");
    } catch {
      field.select();
      say("Press Ctrl+C to copy the selected link.");
    }
  };
  say(`A link of ${url.length} characters. Everything is in the part after #, which browsers never send to a server.`);
}

function download(name, text, type) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = el("a", { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

async function downloadReport(kind) {
  await ready;
  const runs = records();
  const text = await call(kind === "html" ? "report_html" : "report_md", { records: runs });
  const stamp = new Date().toISOString().slice(0, 19).replace(/:/g, "");
  download(`localrate-report-${stamp}.${kind === "html" ? "html" : "md"}`, text,
    kind === "html" ? "text/html" : "text/markdown");
  say(`Report of ${runs.length} run${runs.length === 1 ? "" : "s"} downloaded.`);
}

/** The suites this build publishes (id, version, sha256), for verify_record. */
function published() {
  return (pageData().suites || []).map((s) => ({ id: s.id, version: s.version, sha256: s.sha256 }));
}

/**
 * Re-score imported records and say whether they match (used by this section's file
 * input; also exported for the Saved runs import).
 * @param {object[]} runs  records that passed read_records
 * @returns {Promise<object[]>} verify_record's answers
 */
export async function verifyRecords(runs) {
  await ready;
  return Promise.all(runs.map((record) => call("verify_record", { record, published: published() })));
}

async function verifyFiles(files) {
  await ready;
  const box = replace(byId("verify-results"));
  for (const file of files) {
    try {
      await call("check_record_size", { source: file.name, size: file.size }); // the CLI's line
      const { runs } = await call("read_records", { text: await file.text(), source: file.name });
      const verdicts = await verifyRecords(runs);
      verdicts.forEach((v, i) => box.append(verdictView(file.name, runs[i], v)));
    } catch (err) {
      box.append(el("li", { class: "bad", "data-testid": "verify-error" }, err.message));
    }
  }
}

/**
 * After an import (Saved runs): re-score each run and list "re-scored: matches" or "does
 * not match" under the import's status line. A failure to verify is said, not thrown.
 * @param {string} source  the file's name
 * @param {object[]} runs  the records read_records returned
 */
export async function verifyImported(source, runs) {
  const box = byId("import-status");
  const list = el("ul", { class: "verify-results", "data-testid": "import-verdicts" });
  box.append(list);
  try {
    const verdicts = await verifyRecords(runs);
    verdicts.forEach((v, i) => list.append(verdictView(source, runs[i], v)));
  } catch (err) {
    list.append(el("li", { class: "bad", "data-testid": "verify-error" }, `${source}: cannot be re-scored: ${err.message}`));
  }
}

/**
 * One verdict as a list item: "re-scored: matches" or "does not match", the suite and
 * whether its hash is one this build publishes, and the notes.
 */
export function verdictView(source, record, v) {
  return el("li", { class: v.matches ? "ok" : "bad", "data-testid": "verify-verdict", "data-matches": String(v.matches) },
    el("strong", {}, v.label), ` · ${source} · ${String(record.model?.id ?? "?")} · `,
    `suite ${String(v.suite?.id ?? "?")} @ ${String(v.suite?.version ?? "?")} (${v.published ? "published suite hash" : "suite hash not published by this page"})`,
    v.mismatch_count ? ` · ${v.mismatch_count} field${v.mismatch_count === 1 ? "" : "s"} differ, e.g. ${v.mismatches.slice(0, 3).map((m) => m.where).join(", ")}` : "",
    ...(v.notes || []).map((n) => el("small", { class: "hint" }, ` ${n}`)));
}

/** The read-only card of a share link in the address (nothing stored). */
async function showShared() {
  const box = byId("shared-card");
  if (!location.hash.startsWith(HASH)) {
    box.hidden = true;
    return;
  }
  box.hidden = false;
  replace(byId("shared-body"), el("p", {}, "Reading the shared result…"));
  try {
    await ready;
    const card = await call("read_share", { fragment: location.hash.slice(HASH.length) });
    const ids = card.case_ids || await idsFromSuite(card);
    replace(byId("shared-body"), ...cardView(card), casesView(card, ids));
  } catch (err) {
    replace(byId("shared-body"), el("p", { class: "bad", "data-testid": "shared-error" }, `This share link cannot be read: ${err.message}`));
    report(`Share link: ${err.message}`);
  }
}

/** A link that left its case ids out (to stay short): the ids rebuilt by the evaluator
 * from the build's suite of that hash and the run's seed (share_case_ids), else null. */
async function idsFromSuite(card) {
  const entry = (pageData().suites || []).find((s) => s.id === card.suite.id && s.sha256 === card.suite.sha256);
  if (!entry?.url) return null;
  try {
    const response = await fetch(entry.url);
    if (!response.ok) return null;
    return await call("share_case_ids", { card, suite: await response.json() });
  } catch (err) {
    console.info(`localrate: case ids of the shared result: ${err.message}`);
    return null;
  }
}

/** Every case's status per run, folded away (a 300-case link is long). */
function casesView(card, ids) {
  const label = (s) => (s == null ? "–" : typeof s === "string" ? s : `${s.passed}/${s.attempts}`);
  const kind = (s) => (typeof s === "string" ? s : s == null ? "skip" : s.passed === s.attempts ? "pass" : s.passed ? "flaky" : "fail");
  const rows = [];
  for (let i = 0; i < card.case_count; i++) {
    rows.push(el("tr", {}, el("td", {}, el("code", {}, ids ? String(ids[i]) : `#${i + 1}`)),
      ...card.runs.map((run) => el("td", {}, el("span", { class: `status status-${kind(run.statuses[i])}` }, label(run.statuses[i]))))));
  }
  return el("details", { class: "shared-cases", "data-testid": "shared-cases" },
    el("summary", {}, `Each case (${card.case_count})${ids ? "" : ": the link left the case ids out, and this page does not have the suite to name them"}`),
    el("table", { class: "shared-table" },
      el("thead", {}, el("tr", {}, el("th", {}, "Case"), ...card.runs.map((run) => el("th", {}, String(run.model?.id ?? "?"))))),
      el("tbody", {}, ...rows)));
}

function statusCounts(statuses) {
  const counts = {};
  for (const s of statuses) {
    const key = s == null ? "missing" : typeof s === "string" ? s : `${s.passed}/${s.attempts}`;
    counts[key] = (counts[key] || 0) + 1;
  }
  return Object.entries(counts).map(([k, n]) => `${n} ${k}`).join(", ");
}

function cardView(card) {
  const head = el("p", { "data-testid": "shared-suite" }, "Suite ", el("code", {}, String(card.suite.id)), ` @ ${String(card.suite.version)} · ${card.case_count} case${card.case_count === 1 ? "" : "s"} · sha256 `,
    el("code", {}, String(card.suite.sha256).slice(0, 16)), "…");
  const rows = card.runs.map((run) => el("tr", { "data-testid": "shared-run" },
    el("td", {}, String(run.model?.id ?? "?")), el("td", {}, String(run.model?.runtime ?? "")),
    el("td", {}, pct(run.pass_ratio)), el("td", {}, String(run.verdict ?? "")),
    el("td", {}, run.pass_rate?.rate == null ? "–" : `${pct(run.pass_rate.rate)} (${pct(run.pass_rate.low)}–${pct(run.pass_rate.high)})`),
    el("td", {}, num(run.avg_tok_s, 1)), el("td", {}, String(run.seed ?? "–")),
    el("td", {}, String(run.localrate_version ?? "?")), el("td", {}, statusCounts(run.statuses || []))));
  const table = el("table", { class: "shared-table" },
    el("thead", {}, el("tr", {}, ...["Model", "Runtime", "Score", "Verdict", "Pass rate (95%)", "tok/s", "Seed", "localrate", "Cases"].map((h) => el("th", {}, h)))),
    el("tbody", {}, ...rows));
  const paired = (card.paired || []).map((p) => el("p", { "data-testid": "shared-paired" },
    `${String(card.runs[p.a].model?.id)} vs ${String(card.runs[p.b].model?.id)}: ${String(p.verdict)} (difference ${num(p.difference * 100, 1)} points, p = ${num(p.p_value, 3)})`));
  return [head, table, ...paired,
    el("p", { class: "hint" }, "Read-only: this card comes from the link itself; nothing was sent anywhere or stored in this browser. To check the scores, ask for the full record and verify it (localrate verify FILE, or Verify a record below).")];
}
