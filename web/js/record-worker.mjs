// The recording worker: streams chat requests with stream.mjs's `record`, off the page's
// main thread, so that what the page draws (the results table, the live panel, the next
// case's row) never delays reading the stream or the times stamped on its events.
// Requests run one at a time, in the order they were posted: the page posts a case's
// request while the one before it still streams, and it starts the moment that one ends
// (no round trip through the page between two cases).
// Messages in:  {id, url, body, timeoutS, maxBytes, headers, space}  record one request (after
//                                             those before it; headers: an endpoint's API key;
//                                             space: the fetch's targetAddressSpace)
//               {id, abort: "<reason>"}       Stop/Skip: abort it (running or waiting)
// Messages out: {id, payloads: [...]}         data payloads read since the last message
//               {id, transcript}              the finished transcript (after its payloads)

import { newTranscript, record } from "./stream.mjs";

const running = new Map(); // id -> AbortController, for requests running or waiting
let chain = Promise.resolve(); // the requests, one after another
let queued = new Map(); // id -> payloads not posted yet
let flushing = false;

/** Payloads go to the page in batches: at most one message per task, not one per event. */
function forward(id, payload) {
  if (!queued.has(id)) queued.set(id, []);
  queued.get(id).push(payload);
  if (!flushing) {
    flushing = true;
    setTimeout(flush, 0);
  }
}

function flush() {
  flushing = false;
  const batches = queued;
  queued = new Map();
  for (const [id, payloads] of batches) self.postMessage({ id, payloads });
}

async function start({ id, url, body, timeoutS, maxBytes, headers, space }, ctl) {
  let transcript;
  try {
    transcript = await record(url, body, {
      timeoutS, maxBytes, signal: ctl.signal, headers: headers || {}, space: space === undefined ? "loopback" : space, onEvent: (payload) => forward(id, payload),
    });
  } catch (err) { // record() reports failures in the transcript; this is a bug's way out
    transcript = newTranscript(url, body, `recording failed: ${err && err.message ? err.message : err}`);
  }
  running.delete(id);
  flush(); // this request's last payloads before its transcript
  self.postMessage({ id, transcript });
}

self.onmessage = (event) => {
  const data = event.data || {};
  if (typeof data.abort === "string") {
    running.get(data.id)?.abort(data.abort); // a waiting one ends at once when its turn comes
    return;
  }
  const ctl = new AbortController();
  running.set(data.id, ctl);
  chain = chain.then(() => start(data, ctl));
};
