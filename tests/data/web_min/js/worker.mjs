// Fixture worker: loads the vendored Pyodide named in the page data.
self.onmessage = async (event) => {
  const info = event.data.pyodide;
  const { loadPyodide } = await import(info.files["pyodide.mjs"].url);
  const pyodide = await loadPyodide({ indexURL: info.index_url });
  self.postMessage(`ready: Python ${pyodide.runPython("import sys; sys.version.split()[0]")}`);
};
