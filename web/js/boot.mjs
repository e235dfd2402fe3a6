// The page's first module: starts discovery as soon as its own few modules are loaded,
// before app.mjs and the rest of the page are fetched and run (the template loads this
// one first). Discovery's probes are what a visitor waits for.

import { report } from "./dom.mjs";
import { initDiscovery } from "./discovery.mjs";
import { pageData } from "./pagedata.mjs";

try {
  initDiscovery(pageData());
} catch (err) {
  report(`Discovery could not start: ${err.message}`);
  console.error(err);
}
