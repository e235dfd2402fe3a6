// Run the evaluator's check table inside the vendored Pyodide, under Node.
//
// Usage: node tests/pyodide_runner.mjs <pyodide dir> <evaluator zip> <table.json>
//
// Starts Python with web/js/python.mjs, exactly as the page's worker does (Pyodide, the
// evaluator zip unpacked into site-packages, a memory snapshot made), then sends every
// row of the table through the one api function `evaluator.page_api.call(jsonString)`.
// Then it starts a second Python restored from that snapshot, as a returning visitor's
// page does, and sends the table again. Prints one JSON object on stdout:
// {"site_packages", "results": [{"id", "reply"}...], "restored": {...same, from the snapshot},
//  "snapshot_bytes", "ms": {"fresh", "restored"}}.
// Python source is never built from strings: rows go in as JSON strings.

import { readFile } from "node:fs/promises";
import path from "node:path";
import { pathToFileURL } from "node:url";

import { startPython } from "../web/js/python.mjs";

const [pyodideDir, zipPath, tablePath] = process.argv.slice(2);
if (!pyodideDir || !zipPath || !tablePath) {
  console.error("usage: node pyodide_runner.mjs <pyodide dir> <evaluator zip> <table.json>");
  process.exit(2);
}

const indexURL = path.resolve(pyodideDir) + path.sep;
const { loadPyodide } = await import(pathToFileURL(path.join(indexURL, "pyodide.mjs")).href);
// Node's Buffer is not accepted by unpackArchive: hand it a plain Uint8Array.
const zip = new Uint8Array(await readFile(zipPath));
const table = JSON.parse(await readFile(tablePath, "utf8"));
const rows = Array.isArray(table) ? table : table.rows;

function runTable(api) {
  return rows.map((row) => {
    const args = { expect: row.expect, answer: row.answer, tool_calls: row.tool_calls ?? [] };
    const request = JSON.stringify({ op: "run_check", args });
    return { id: row.id, reply: JSON.parse(api.call(request)) };
  });
}

let t0 = performance.now();
const fresh = await startPython(loadPyodide, { indexURL, zip, makeSnapshot: true });
const freshMs = performance.now() - t0;
const results = runTable(fresh.api);
if (!fresh.snapshot) throw new Error("no snapshot was made");

t0 = performance.now();
const again = await startPython(loadPyodide, { indexURL, zip, snapshot: fresh.snapshot });
const restoredMs = performance.now() - t0;
if (!again.restored) throw new Error(`the snapshot did not restore: ${again.restoreError}`);
const restoredResults = runTable(again.api);

process.stdout.write(JSON.stringify({
  site_packages: fresh.sitePackages, results,
  restored: { site_packages: again.sitePackages, results: restoredResults },
  snapshot_bytes: fresh.snapshot.length, ms: { fresh: freshMs, restored: restoredMs },
}) + "\n");
