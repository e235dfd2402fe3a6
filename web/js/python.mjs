// Starting Python for the evaluator: Pyodide (restored from a memory snapshot when there is
// one), the evaluator zip unpacked into site-packages, evaluator.page_api imported. Shared by
// the page's worker (worker.mjs) and the Node test runner (tests/pyodide_runner.mjs), so
// the tests start Python exactly as the page does.
//
// A memory snapshot is Pyodide's own (`_makeSnapshot` / `makeMemorySnapshot` /
// `_loadSnapshot`): the whole WebAssembly memory once Python has started and imported the
// evaluator, about 30 MB. Restoring it skips starting CPython and importing the evaluator
// and jsonschema, which is most of a start once the browser has the wasm compiled. The
// zip is unpacked again after a restore, because the file system is not in the snapshot
// (modules imported later, lazily, are read from it).

/**
 * @param {(opts: object) => Promise<object>} loadPyodide  pyodide.mjs's export
 * @param {object} opts
 * @param {string} opts.indexURL          where pyodide.asm.wasm and its siblings are
 * @param {Uint8Array|Promise<Uint8Array>} opts.zip  the evaluator zip (or its promise)
 * @param {string} [opts.sitePackages]    where to unpack it (default: Python's own)
 * @param {Uint8Array|Promise<Uint8Array>|null} [opts.snapshot]  a snapshot made by this
 *   function earlier (or the promise of one: Pyodide reads it when it needs it)
 * @param {boolean} [opts.makeSnapshot]   make one when not restored from one
 * @param {(stage: string) => void} [opts.onStage]  "restore", "pyodide", "evaluator"
 * @returns {Promise<{api: object, restored: boolean, snapshot: Uint8Array|null,
 *   restoreError: string|null, sitePackages: string}>}
 */
export async function startPython(loadPyodide, opts) {
  const { indexURL, zip, snapshot = null, makeSnapshot = false, onStage = () => {} } = opts;
  let pyodide = null;
  let restoreError = null;
  if (snapshot) {
    onStage("restore");
    try {
      pyodide = await loadPyodide({ indexURL, _loadSnapshot: snapshot });
    } catch (err) {
      restoreError = String(err && err.message ? err.message : err).split("\n")[0];
    }
  }
  const restored = pyodide !== null;
  if (!restored) {
    onStage("pyodide");
    pyodide = await loadPyodide(makeSnapshot ? { indexURL, _makeSnapshot: true } : { indexURL });
  }
  onStage("evaluator");
  const sitePackages = opts.sitePackages || pyodide.pyimport("site").getsitepackages().toJs()[0];
  pyodide.unpackArchive(await zip, "zip", { extractDir: sitePackages });
  const api = pyodide.pyimport("evaluator.page_api");
  // One call imports what the page's first calls need (discovery, capabilities).
  api.call(JSON.stringify({ op: "discovery_table", args: {} }));
  const made = !restored && makeSnapshot ? pyodide.makeMemorySnapshot() : null;
  return { api, restored, snapshot: made, restoreError, sitePackages };
}
