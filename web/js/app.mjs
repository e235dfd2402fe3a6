// Entry point of /local-models: read the page data, start discovery and, as soon as its
// probe requests are out, Python in its worker; wire the sections together.

import { byId, el, replace, report } from "./dom.mjs";
import { initDiscovery } from "./discovery.mjs";
import { onStatus, start } from "./evaluator.mjs";
import { renderComparison } from "./compare.mjs";
import { selectAll, setCards } from "./models.mjs";
import { initRating } from "./rating.mjs";
import { clearView, onViewChange } from "./results.mjs";
import { initRuns, refreshRuns } from "./runs.mjs";

function readPageData() {
  const node = document.getElementById("localrate-data");
  let data;
  try {
    data = JSON.parse(node.textContent);
  } catch (err) {
    throw new Error(`the page data block is missing or not JSON (${err.message})`);
  }
  // One shape for the rest of the page, whichever key names the build used.
  const py = data.pyodide || {};
  const zip = data.evaluator_zip;
  return {
    ...data,
    probes: data.probes || data.probe_plan || [],
    suites: (data.suites || []).map((s) => ({ ...s, cases: s.cases ?? s.case_count })),
    default_suite: data.default_suite || "local-model-rating",
    pyodide: {
      index_url: py.index_url,
      module_url: py.module_url || py.files?.["pyodide.mjs"]?.url || `${py.index_url}pyodide.mjs`,
      site_packages: py.site_packages || null,
    },
    evaluator_zip: typeof zip === "string" ? zip : zip?.url,
  };
}

function showEvaluatorStatus() {
  const box = byId("evaluator-status");
  onStatus((s) => {
    box.dataset.stage = s.stage;
    const text = s.stage === "ready"
      ? `Evaluator ready${s.ms ? ` (${(s.ms / 1000).toFixed(1)} s)` : ""}`
      : s.stage === "error" ? `Evaluator failed: ${s.message}` : `Python: ${s.message}…`;
    replace(box, el("span", { class: "dot", "aria-hidden": "true" }), text);
  });
}

function main() {
  const pageData = readPageData();
  showEvaluatorStatus();
  // Discovery first: its probes must not queue behind Pyodide's download and compile.
  let probesSent;
  try {
    probesSent = initDiscovery(pageData, setCards);
  } catch (err) {
    report(`Discovery could not start: ${err.message}`);
    console.error(err);
  }
  Promise.resolve(probesSent).then(() => start(new URL("./worker.mjs", import.meta.url), pageData));
  byId("select-all").addEventListener("click", () => selectAll(true));
  byId("select-none").addEventListener("click", () => selectAll(false));
  onViewChange(renderComparison);
  byId("clear-view").addEventListener("click", () => clearView());
  initRating(pageData, { onStored: () => refreshRuns() });
  initRuns();
  replace(byId("version"), `localrate ${pageData.version || ""}`);
}

try {
  main();
} catch (err) {
  report(`The page could not start: ${err.message}`);
  console.error(err);
}
