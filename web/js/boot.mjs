// The page's one module script. It starts discovery as soon as its own few modules are
// loaded (the template preloads just those). Only once the probes have answered (or
// after START_AFTER_MS, when one hangs) does it start Python in its worker and load the
// rest of the page (app.mjs and its larger graph): the probes' answers are what a visitor
// waits for first, and Pyodide's start keeps both cores of a small machine busy.

import { report } from "./dom.mjs";
import { firstAnswers, initDiscovery } from "./discovery.mjs";
import { start } from "./evaluator.mjs";
import { pageData } from "./pagedata.mjs";

const START_AFTER_MS = 200;
const data = pageData();
try {
  initDiscovery(data);
} catch (err) {
  report(`Discovery could not start: ${err.message}`);
  console.error(err);
}
Promise.race([firstAnswers, new Promise((resolve) => { setTimeout(resolve, START_AFTER_MS); })])
  .then(() => {
    start(new URL("./worker.mjs", import.meta.url), data);
    return import("./app.mjs");
  })
  .catch((err) => {
    report(`The page could not start: ${err.message}`);
    console.error(err);
  });
