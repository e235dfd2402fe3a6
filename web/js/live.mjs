// The live output panel: a fixed-size box the streamed text is appended to, so the page
// does not jump while a model writes. Text only (text nodes' appendData).

import { byId, replace } from "./dom.mjs";
import { liveDelta } from "./stream.mjs";

let answer = null;
let thinking = null;
let queued = []; // payloads not shown yet (the same strings the transcript holds)
let frame = 0;

/** Start showing a new case. @param {string} title */
export function startLive(title) {
  // The box is emptied for the new case, so text of the last case still waiting for a
  // frame is dropped (writing it first would force a layout for nothing).
  if (frame) cancelAnimationFrame(frame);
  frame = 0;
  queued = [];
  replace(byId("live-title"), title);
  thinking = document.createTextNode("");
  answer = document.createTextNode("");
  const reasoningBox = byId("live-reasoning");
  replace(reasoningBox, thinking);
  reasoningBox.hidden = true;
  replace(byId("live-output"), answer);
}

/**
 * Feed one SSE payload (display only). It is read at the next frame, with the others that
 * came meanwhile, so reading the stream does no more per event than record it.
 * @param {string} payload
 */
export function pushLive(payload) {
  queued.push(payload);
  if (!frame) frame = requestAnimationFrame(flush);
}

function flush() {
  frame = 0;
  let pending = "";
  let pendingThinking = "";
  for (const payload of queued) {
    const d = liveDelta(payload);
    pending += d.content + (d.tools ? `[tool call] ${d.tools}` : "");
    pendingThinking += d.reasoning;
  }
  queued = [];
  if (pendingThinking && thinking) {
    thinking.appendData(pendingThinking);
    byId("live-reasoning").hidden = false;
    byId("live-reasoning").scrollTop = 1e9;
  }
  if (pending && answer) {
    answer.appendData(pending);
    byId("live-output").scrollTop = 1e9;
  }
}

/**
 * The case's next request starts (a follow-up turn or a tool round): a separator line in
 * the box, whose earlier text stays. @param {number} n  the request's number in the case
 */
export function liveTurn(n) {
  if (frame) cancelAnimationFrame(frame);
  flush(); // the previous request's text first
  if (answer) {
    answer.appendData(`${answer.length ? "\n\n" : ""}── request ${n} ──\n`);
    byId("live-output").scrollTop = 1e9;
  }
}

/** A one-line note in the live panel's title (idle, done, stopped). @param {string} text */
export function liveNote(text) {
  replace(byId("live-title"), text);
}
