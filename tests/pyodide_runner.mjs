// Run the evaluator's check table inside the vendored Pyodide, under Node.
//
// Usage: node tests/pyodide_runner.mjs <pyodide dir> <evaluator zip> <table.json>
//
// Boots Pyodide from <pyodide dir> (the cached, verified files), unpacks the evaluator
// zip into site-packages exactly as the page's worker does, then sends every row of the
// table through the one bridge function `evaluator.bridge.call(jsonString)` and prints
// one JSON array on stdout: [{"id": ..., "reply": <parsed reply of bridge.call>}, ...].
// Python source is never built from strings: rows go in as JSON strings.

import { readFile } from "node:fs/promises";
import path from "node:path";
import { pathToFileURL } from "node:url";

const [pyodideDir, zipPath, tablePath] = process.argv.slice(2);
if (!pyodideDir || !zipPath || !tablePath) {
  console.error("usage: node pyodide_runner.mjs <pyodide dir> <evaluator zip> <table.json>");
  process.exit(2);
}

const indexURL = path.resolve(pyodideDir) + path.sep;
const { loadPyodide } = await import(pathToFileURL(path.join(indexURL, "pyodide.mjs")).href);
const pyodide = await loadPyodide({ indexURL });
const sitePackages = pyodide.runPython("import site; site.getsitepackages()[0]");
// Node's Buffer is not accepted by unpackArchive: hand it a plain Uint8Array.
const zipBytes = new Uint8Array(await readFile(zipPath));
pyodide.unpackArchive(zipBytes, "zip", { extractDir: sitePackages });

const bridge = pyodide.pyimport("evaluator.bridge");
const table = JSON.parse(await readFile(tablePath, "utf8"));
const rows = Array.isArray(table) ? table : table.rows;
const results = rows.map((row) => {
  const args = { expect: row.expect, answer: row.answer, tool_calls: row.tool_calls ?? [] };
  const request = JSON.stringify({ op: "run_check", args });
  return { id: row.id, reply: JSON.parse(bridge.call(request)) };
});
process.stdout.write(JSON.stringify({ site_packages: sitePackages, results }) + "\n");
