// The page's side of the recording worker (record-worker.mjs): `recordCase` has the
// signature of stream.mjs's `record`, and runs it in that worker, after the requests
// posted before it (one at a time). Where a worker cannot start, it records on the main
// thread instead (same code, same transcript, also one at a time).

import { requestOptions } from "./keys.mjs";
import { newTranscript, record } from "./stream.mjs";

let worker = null;
let failed = false;
let nextId = 1;
let inPage = Promise.resolve(); // requests recorded on the main thread, one after another
let posting = Promise.resolve(); // requests handed on in the order recordCase was called
const pending = new Map(); // id -> {resolve, onEvent, url, body}

/** Start the recording worker ahead of the first request (its start takes a while). */
export function startRecorder() {
  recorder();
}

function recorder() {
  if (worker || failed) return worker;
  try {
    worker = new Worker(new URL("./record-worker.mjs", import.meta.url),
      { type: "module", name: "localrate-recorder" });
  } catch (err) {
    failed = true;
    console.info(`localrate: recording on the main thread (${err.message})`);
    return null;
  }
  worker.onmessage = (event) => {
    const { id, payloads, transcript } = event.data || {};
    const p = pending.get(id);
    if (!p) return;
    if (payloads) for (const payload of payloads) p.onEvent(payload);
    if (transcript) {
      pending.delete(id);
      p.resolve(transcript);
    }
  };
  worker.onerror = (event) => {
    event.preventDefault?.();
    const why = event.message || "unknown error (see the console)";
    for (const [, p] of pending) {
      p.resolve(newTranscript(p.url, p.body, `the recording worker failed: ${why}`));
    }
    pending.clear();
    worker = null;
    failed = true; // later cases record on the main thread
  };
  return worker;
}

/**
 * Send one request, once those posted before it have ended, and record its transcript in
 * the recording worker (see stream.mjs's `record` for the arguments and the transcript).
 * @param {string} url
 * @param {object} body
 * @param {{timeoutS: number, maxBytes: number, signal?: AbortSignal, onEvent?: (payload: string) => void}} opts
 * @returns {Promise<object>} the transcript
 */
export function recordCase(url, body, opts) {
  // The endpoint's API key header and address space (keys.mjs), then the request, in order.
  const extra = requestOptions(url).catch((err) => {
    console.info(`localrate: request options for ${url}: ${err.message}`);
    return { headers: {}, space: "loopback" };
  });
  const handed = posting.then(() => extra).then((x) => ({ go: send(url, body, { ...opts, ...x }) }));
  posting = handed.then(() => {}, () => {});
  return handed.then(({ go }) => go);
}

function send(url, body, { timeoutS, maxBytes, signal, onEvent = () => {}, headers, space }) {
  const w = recorder();
  if (!w) {
    const transcript = inPage.then(() => record(url, body, { timeoutS, maxBytes, signal, onEvent, headers, space }));
    inPage = transcript;
    return transcript;
  }
  const id = nextId++;
  return new Promise((resolve) => {
    const onAbort = () => w.postMessage({ id, abort: String(signal.reason || "aborted by the user") });
    pending.set(id, {
      url, body, onEvent,
      resolve: (transcript) => {
        signal?.removeEventListener("abort", onAbort);
        resolve(transcript);
      },
    });
    w.postMessage({ id, url, body, timeoutS, maxBytes, headers, space });
    if (signal?.aborted) onAbort();
    else signal?.addEventListener("abort", onAbort);
  });
}
