// The rest of /local-models: wire the sections together. boot.mjs loads this module once
// discovery's probe requests are out (and has started Python in its worker by then).

import { byId, el, replace, report } from "./dom.mjs";
import { onCards } from "./discovery.mjs";
import { onStatus } from "./evaluator.mjs";
import { pageData as readPageData } from "./pagedata.mjs";
import { renderComparison } from "./compare.mjs";
import { selectAll, setCards } from "./models.mjs";
import { initRating } from "./rating.mjs";
import { clearView, onViewChange } from "./results.mjs";
import { initRuns, refreshRuns } from "./runs.mjs";
import { initHistory } from "./history.mjs";
import { initShare } from "./share.mjs";
import { initSuiteEditor } from "./suite-editor.mjs";

function showEvaluatorStatus() {
  const box = byId("evaluator-status");
  onStatus((s) => {
    box.dataset.stage = s.stage;
    box.dataset.restored = String(s.restored);
    box.dataset.saved = String(s.saved); // a snapshot is kept for the next visit
    const took = s.ms ? `${(s.ms / 1000).toFixed(1)} s` : "";
    const how = [took, s.restored ? "restored" : ""].filter(Boolean).join(", ");
    box.dataset.note = s.note ? "true" : "false"; // not restored, or no snapshot kept: why
    const text = s.stage === "ready"
      ? `Evaluator ready${how ? ` (${how})` : ""}${s.note ? ` · ${s.note}` : ""}`
      : s.stage === "error" ? `Evaluator failed: ${s.message}` : `Python: ${s.message}…`;
    replace(box, el("span", { class: "dot", "aria-hidden": "true" }), text);
  });
}

function main() {
  const pageData = readPageData();
  showEvaluatorStatus();
  onCards(setCards);
  byId("select-all").addEventListener("click", () => selectAll(true));
  byId("select-none").addEventListener("click", () => selectAll(false));
  onViewChange(renderComparison);
  byId("clear-view").addEventListener("click", () => clearView());
  initRating(pageData, { onStored: () => refreshRuns() });
  initRuns();
  initSuiteEditor(); // issue 15: your suites, share and report, history
  initShare();
  initHistory();
  replace(byId("version"), `localrate ${pageData.version || ""}`);
}

try {
  main();
} catch (err) {
  report(`The page could not start: ${err.message}`);
  console.error(err);
}
