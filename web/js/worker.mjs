// The Pyodide worker: boots Python, unpacks the evaluator zip and answers bridge calls.
// Messages in:  {type: "init", pyodide: {index_url, module_url}, evaluator_zip}
//               {id, request: "<JSON string>"}
// Messages out: {type: "status", stage: "pyodide"|"evaluator"|"ready"|"error", message, ms}
//               {id, reply: "<JSON string>"}
// Python is only ever reached through evaluator.bridge.call(json_string): no Python source
// is built from strings here.

let bridge = null;
let booting = null;

function status(stage, message, ms) {
  self.postMessage({ type: "status", stage, message, ms });
}

async function boot(config) {
  const started = performance.now();
  status("pyodide", "loading Python (Pyodide)");
  // The evaluator zip downloads while Pyodide loads.
  const zip = fetch(config.evaluator_zip).then((response) => {
    if (!response.ok) throw new Error(`evaluator zip ${config.evaluator_zip}: HTTP ${response.status}`);
    return response.arrayBuffer();
  });
  zip.catch(() => {}); // reported when awaited below
  const { loadPyodide } = await import(config.pyodide.module_url);
  const pyodide = await loadPyodide({ indexURL: config.pyodide.index_url });
  status("evaluator", "loading the evaluator");
  const bytes = new Uint8Array(await zip);
  const sitePackages = config.pyodide.site_packages
    || pyodide.pyimport("sysconfig").get_path("purelib");
  pyodide.unpackArchive(bytes, "zip", { extractDir: sitePackages });
  bridge = pyodide.pyimport("evaluator.bridge");
  // Warm the import of jsonschema (the first check would otherwise pay for it).
  bridge.call(JSON.stringify({ op: "discovery_table", args: {} }));
  status("ready", "evaluator ready", performance.now() - started);
}

self.onmessage = async (event) => {
  const data = event.data || {};
  if (data.type === "init") {
    booting = boot(data).catch((err) => {
      status("error", String(err && err.message ? err.message : err).split("\n")[0]);
      throw err;
    });
    return;
  }
  const { id, request } = data;
  try {
    await booting;
    const reply = bridge.call(request);
    self.postMessage({ id, reply });
  } catch (err) {
    const message = String(err && err.message ? err.message : err);
    // A Python traceback ends with the one line that matters.
    const lines = message.trim().split("\n");
    self.postMessage({ id, reply: JSON.stringify({ ok: false, error: lines[lines.length - 1] }) });
  }
};
