// Send api requests to the evaluator inside the vendored Pyodide, under Node, for
// tests/test_pyodide_conversation.py (the suite engine v2: run_cases, next_request,
// score_turns, plan_case with a context length, rescore_record of conversations).
//
// Usage: node tests/conversation_runner.mjs <pyodide dir> <evaluator zip> <requests.json>
//
// Boots Pyodide as tests/engine_runner.mjs does (loadPyodide, the evaluator zip unpacked into
// site-packages), then passes every request of the file (a JSON list of request strings,
// each `{"op", "args"}` as JSON text) to `evaluator.page_api.call`, one after another in the
// same interpreter. No Python source is built from strings. Prints one JSON object:
// {"python": sys.version, "replies": [reply string, ...]}.

import { readFile } from "node:fs/promises";
import path from "node:path";
import { pathToFileURL } from "node:url";

const [pyodideDir, zipPath, requestsPath] = process.argv.slice(2);
if (!pyodideDir || !zipPath || !requestsPath) {
  console.error("usage: node conversation_runner.mjs <pyodide dir> <evaluator zip> <requests.json>");
  process.exit(2);
}

const indexURL = path.resolve(pyodideDir) + path.sep;
const { loadPyodide } = await import(pathToFileURL(path.join(indexURL, "pyodide.mjs")).href);
const zip = new Uint8Array(await readFile(zipPath));
const requests = JSON.parse(await readFile(requestsPath, "utf8"));

const pyodide = await loadPyodide({ indexURL });
const sitePackages = pyodide.pyimport("site").getsitepackages().toJs()[0];
pyodide.unpackArchive(zip, "zip", { extractDir: sitePackages });

const api = pyodide.pyimport("evaluator.page_api");
const replies = requests.map((request) => api.call(request));
process.stdout.write(JSON.stringify({ python: pyodide.pyimport("sys").version, replies })
                     + "\n");
