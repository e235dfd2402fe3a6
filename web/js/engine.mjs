// What the runtime tells about the engine behind a run (version, memory, context, KV
// cache), and what this browser tells about its own machine. I/O only: the requests are
// the evaluator's engine_plan, their answers are read by read_engine, and the browser's
// facts by browser_machine; every figure comes back with its source.

import { call } from "./evaluator.mjs";
import { observe } from "./discovery.mjs";
import { requestOptions } from "./keys.mjs";

let machine = null; // the browser's machine, read once per page

/**
 * The engine report of `model` (the evaluator's read_engine of engine_plan's answers).
 * @param {{id: string, runtime: string, base_url: string}} model
 * @returns {Promise<object>}
 */
export async function readEngine(model) {
  const plan = await call("engine_plan", { runtime: model.runtime, base_url: model.base_url, model_id: model.id });
  const responses = await Promise.all(plan.map(async (row) => {
    // the endpoint's API key and address space
    const extra = await requestOptions(row.url).catch(() => ({ headers: {}, space: "loopback" }));
    const o = await observe(row.url, { method: row.method, tellCors: false, ...extra });
    return { key: row.key, status: o.status, body: o.body, error: o.error };
  }));
  return call("read_engine", { runtime: model.runtime, model_id: model.id, responses });
}

/** What the browser exposes of its machine, as raw facts for browser_machine. */
async function browserFacts() {
  const nav = globalThis.navigator || {};
  const facts = {
    hardware_concurrency: nav.hardwareConcurrency ?? null,
    device_memory_gb: nav.deviceMemory ?? null,
    platform: nav.userAgentData?.platform || nav.platform || null,
    gpu: null,
  };
  try {
    const adapter = await nav.gpu?.requestAdapter?.();
    const info = adapter?.info;
    if (info) facts.gpu = { vendor: info.vendor || "", architecture: info.architecture || "", description: info.description || "" };
  } catch (err) {
    console.info(`localrate: WebGPU adapter: ${err.message}`);
  }
  return facts;
}

/** The browser's machine (the evaluator's browser_machine), asked once. @returns {Promise<object>} */
export function browserMachine() {
  if (!machine) {
    machine = browserFacts().then((facts) => call("browser_machine", { facts }));
    machine.catch(() => { machine = null; });
  }
  return machine;
}
