// Minimal fixture page module: reads the page data, starts the worker.
import { text } from "./util.mjs";

const data = JSON.parse(document.getElementById("localrate-data").textContent);
const worker = new Worker(new URL("./worker.mjs", import.meta.url), { type: "module" });
worker.onmessage = (event) => text(document.getElementById("status"), event.data);
worker.postMessage(data);
