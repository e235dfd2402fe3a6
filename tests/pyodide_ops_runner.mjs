// Send api requests to the evaluator inside the vendored Pyodide, under Node.
//
// Usage: node tests/pyodide_ops_runner.mjs <pyodide dir> <evaluator zip> <requests.json>
//
// Starts Python with web/js/python.mjs exactly as the page's worker does, then sends every
// request of the file (a JSON list of request strings, each `{"op", "args"}` as JSON text)
// through the one api function `evaluator.page_api.call(jsonString)`, one after another in
// the same interpreter, as the page's run does. Prints one JSON list of the reply strings.

import { readFile } from "node:fs/promises";
import path from "node:path";
import { pathToFileURL } from "node:url";

import { startPython } from "../web/js/python.mjs";

const [pyodideDir, zipPath, requestsPath] = process.argv.slice(2);
if (!pyodideDir || !zipPath || !requestsPath) {
  console.error("usage: node pyodide_ops_runner.mjs <pyodide dir> <evaluator zip> <requests.json>");
  process.exit(2);
}

const indexURL = path.resolve(pyodideDir) + path.sep;
const { loadPyodide } = await import(pathToFileURL(path.join(indexURL, "pyodide.mjs")).href);
const zip = new Uint8Array(await readFile(zipPath));
const requests = JSON.parse(await readFile(requestsPath, "utf8"));
const { api } = await startPython(loadPyodide, { indexURL, zip });
const replies = requests.map((request) => api.call(request));
process.stdout.write(JSON.stringify(replies) + "\n");
