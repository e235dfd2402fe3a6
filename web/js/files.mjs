// Export and import of run records as JSON files (the format `localrate bench --json`
// writes: one run record, or {"format": "localrate.comparison/1", "runs": [...]}).

export const RUN_FORMAT = "localrate.run/1";
export const COMPARISON_FORMAT = "localrate.comparison/1";

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
    { format: COMPARISON_FORMAT, runs: records });
}

/**
 * The run records in an imported file's text; throws a one-line error naming the file.
 * @param {string} name
 * @param {string} text
 * @returns {object[]}
 */
export function recordsFromText(name, text) {
  let data;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new Error(`${name}: not JSON (${err.message})`);
  }
  const runs = data && data.format === COMPARISON_FORMAT ? data.runs : [data];
  if (!Array.isArray(runs) || !runs.length) throw new Error(`${name}: the comparison holds no runs`);
  runs.forEach((run, i) => {
    if (!run || run.format !== RUN_FORMAT) {
      throw new Error(`${name}: run ${i + 1}: format is ${JSON.stringify(run?.format)}, expected "${RUN_FORMAT}" or a "${COMPARISON_FORMAT}" file`);
    }
    if (!Array.isArray(run.cases) || !run.model) throw new Error(`${name}: run ${i + 1}: no cases or model`);
  });
  return runs;
}
