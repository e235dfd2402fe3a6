// Run the suite engine's pure parts (evaluator.expr, evaluator.draw, evaluator.haystack)
// inside the vendored Pyodide, under Node, for tests/test_pyodide_engine.py.
//
// Usage: node tests/engine_runner.mjs <pyodide dir> <evaluator zip> <rows.json>
//
// Boots Pyodide the way web/js/python.mjs does (loadPyodide, the evaluator zip unpacked into
// site-packages), then runs every row of the file: a JSON list of {"op", "call"}, where
// `call` is the JSON text of [[arg, ...]]. Arguments are decoded by Python's json inside
// Pyodide and applied there (itertools.starmap), so no number changes type on the way and
// no Python source is built from strings. Prints one JSON list with one string per row:
//   expr      [[source, variables]]        String(value), or "!" + the error line
//   draw      [[spec, seed, case id]]      json.dumps(values), or "!" + the error line
//   check     [[spec]]                     json.dumps(check_spec(spec))
//   render    [[template, values]]         the text, or "!" + the error line
//   haystack  [[size, seed, needle, depth]] "<sha256 of its UTF-8> <estimate_tokens>"
//   estimate  [[text]]                     estimate_tokens(text)
//   rng       [[seed, count]]              the first `count` outputs of Rng(seed), by ","

import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { pathToFileURL } from "node:url";

const [pyodideDir, zipPath, rowsPath] = process.argv.slice(2);
if (!pyodideDir || !zipPath || !rowsPath) {
  console.error("usage: node engine_runner.mjs <pyodide dir> <evaluator zip> <rows.json>");
  process.exit(2);
}

const indexURL = path.resolve(pyodideDir) + path.sep;
const { loadPyodide } = await import(pathToFileURL(path.join(indexURL, "pyodide.mjs")).href);
const zip = new Uint8Array(await readFile(zipPath));
const rows = JSON.parse(await readFile(rowsPath, "utf8"));

const pyodide = await loadPyodide({ indexURL });
const sitePackages = pyodide.pyimport("site").getsitepackages().toJs()[0];
pyodide.unpackArchive(zip, "zip", { extractDir: sitePackages });

const builtins = pyodide.pyimport("builtins");
const starmap = pyodide.pyimport("itertools").starmap;
const json = pyodide.pyimport("json");
const expr = pyodide.pyimport("evaluator.expr");
const draw = pyodide.pyimport("evaluator.draw");
const haystack = pyodide.pyimport("evaluator.haystack");

// fn(*args) inside Python, args decoded from JSON by Python's json
const apply = (fn, call) => builtins.next(starmap(fn, json.loads(call)));

// the last line of a Python traceback: "module.Error: message"
function errorLine(err) {
  if (err?.constructor?.name !== "PythonError") throw err;
  const lines = String(err.message).trimEnd().split("\n");
  return "!" + lines[lines.length - 1];
}

function orError(work) {
  try {
    return work();
  } catch (err) {
    return errorLine(err);
  }
}

const OPS = {
  expr: (call) => orError(() => {
    const args = json.loads(call).get(0);
    return expr.to_text(expr.evaluate(apply(expr.parse, JSON.stringify([[args.get(0)]])),
                                      args.get(1)));
  }),
  draw: (call) => orError(() => json.dumps(apply(draw.draw_vars, call))),
  check: (call) => json.dumps(apply(draw.check_spec, call)),
  render: (call) => orError(() => apply(draw.render, call)),
  haystack: (call) => {
    const text = apply(haystack.haystack, call);
    const sha = createHash("sha256").update(text, "utf8").digest("hex");
    return `${sha} ${haystack.estimate_tokens(text)}`;
  },
  estimate: (call) => String(apply(haystack.estimate_tokens, call)),
  rng: (call) => {
    const [seed, count] = JSON.parse(call)[0];
    const rng = apply(draw.Rng, JSON.stringify([[seed]]));
    return Array.from({ length: count }, () => String(rng.next64())).join(",");
  },
};

const out = rows.map(({ op, call }) => OPS[op](call));
process.stdout.write(JSON.stringify({ python: pyodide.pyimport("sys").version, results: out })
                     + "\n");
