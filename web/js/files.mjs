// Export of run records as JSON files (the format `localrate bench --json` writes: one run
// record, or a comparison {"format": <the evaluator's comparison format>, "runs": [...]}).
// Reading them back is the evaluator's (page op read_records, see runs.mjs).

import { pageData } from "./pagedata.mjs";

/**
 * Offer `data` as a JSON download.
 * @param {string} name  file name
 * @param {any} data
 */
export function downloadJson(name, data) {
  const blob = new Blob([JSON.stringify(data, null, 2) + "\n"], { type: "application/json" });
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** A file-name-safe slug. @param {string} text */
export function slug(text) {
  return String(text).replace(/[^a-z0-9._-]+/gi, "-").replace(/^-+|-+$/g, "").slice(0, 60) || "run";
}

/** Export one run record. @param {object} record */
export function exportRecord(record) {
  const when = (record.started_at || "").replace(/[:]/g, "").replace(/Z$/, "");
  downloadJson(`localrate-${slug(record.model?.id)}-${slug(record.suite?.id)}-${when}.json`, record);
}

/** Export several run records as one comparison. @param {object[]} records */
export function exportComparison(records) {
  downloadJson(`localrate-comparison-${new Date().toISOString().slice(0, 19).replace(/:/g, "")}.json`,
    { format: pageData().contract.formats.comparison, runs: records });
}
