// The page data block (`<script type="application/json" id="localrate-data">`, written by
// the build), read once and given one shape whichever key names the build used.

let cached = null;

/** The page data (parsed once). Throws when the block is missing or not JSON. */
export function pageData() {
  if (!cached) cached = readPageData();
  return cached;
}

function readPageData() {
  const node = document.getElementById("localrate-data");
  let data;
  try {
    data = JSON.parse(node.textContent);
  } catch (err) {
    throw new Error(`the page data block is missing or not JSON (${err.message})`);
  }
  // One shape for the rest of the page, whichever key names the build used.
  const py = data.pyodide || {};
  const zip = data.evaluator_zip;
  return {
    ...data,
    probes: data.probes || data.probe_plan || [],
    suites: (data.suites || []).map((s) => ({ ...s, cases: s.cases ?? s.case_count })),
    pyodide: {
      index_url: py.index_url,
      module_url: py.module_url || py.files?.["pyodide.mjs"]?.url || `${py.index_url}pyodide.mjs`,
      site_packages: py.site_packages || null,
    },
    evaluator_zip: typeof zip === "string" ? zip : zip?.url,
  };
}
