// One chat request, streamed and recorded as a transcript (docs/architecture.md):
//   {url, request, status, events: [[ms, payload], ...], ended_ms, error}
// This module records; it never interprets. SSE is parsed here only to feed the live view.
// Redirects are never followed (fetch's redirect: "manual"): the transcript notes one in
// `redirect: {status, location}` (both null for the browser's opaque redirect) and the
// evaluator makes it the case's error.

/**
 * A transcript with nothing received yet (`error` set when it can never get more).
 * @param {string} url
 * @param {object} body
 * @param {string|null} [error]
 */
export function newTranscript(url, body, error = null) {
  return { url, request: body, status: null, events: [], ended_ms: null, error };
}

/**
 * Send one request and record its transcript.
 * @param {string} url            the chat completions URL
 * @param {object} body           the exact JSON body (from the evaluator's build_request)
 * @param {object} opts
 * @param {number} opts.timeoutS  per-case timeout in seconds (the evaluator's plan_case)
 * @param {number} opts.maxBytes  the response is cut past this many bytes (plan_case)
 * @param {AbortSignal} [opts.signal]  aborted by Stop/Skip; its reason is the error text
 * @param {(payload: string) => void} [opts.onEvent]  each data payload, for the live view
 * @param {Record<string, string>} [opts.headers]  extra headers (an endpoint's API key, from
 *   the evaluator's auth_headers); never recorded in the transcript
 * @param {string|null} [opts.space]  the fetch's targetAddressSpace (the evaluator's
 *   address_space of the URL; null: none named)
 * @returns {Promise<object>} the transcript
 */
export async function record(url, body, { timeoutS, maxBytes, signal, onEvent = () => {}, headers = {}, space = "loopback" }) {
  const transcript = newTranscript(url, body);
  if (Object.keys(headers).length) transcript.with_key = true; // a key was sent, never which
  const ctl = new AbortController();
  let abortReason = null;
  const abort = (reason) => {
    if (abortReason) return;
    abortReason = reason;
    ctl.abort();
  };
  const timer = setTimeout(() => abort(`timed out after ${timeoutS} s`), timeoutS * 1000);
  const onUserAbort = () => abort(String(signal.reason || "aborted by the user"));
  if (signal) {
    if (signal.aborted) onUserAbort();
    signal.addEventListener("abort", onUserAbort);
  }
  const t0 = performance.now();
  const since = () => Math.round((performance.now() - t0) * 10) / 10;
  const push = (payload) => {
    transcript.events.push([since(), payload]);
    onEvent(payload);
  };
  let response = null;
  try {
    response = await fetch(url, {
      method: "POST",
      headers: { ...headers, "Content-Type": "application/json" },
      body: JSON.stringify(body),
      signal: ctl.signal,
      cache: "no-store",
      redirect: "manual",
      ...(space ? { targetAddressSpace: space } : {}),
    });
    if (response.type === "opaqueredirect" || (response.status >= 300 && response.status < 400)) {
      transcript.status = response.status || null; // 0 for an opaque redirect: none is known
      transcript.redirect = { status: response.status || null, location: response.headers.get("location") };
      if (response.body) response.body.cancel().catch(() => {});
    } else {
      transcript.status = response.status;
      transcript.error = await readBody(response, push, maxBytes);
    }
  } catch (err) {
    if (!abortReason) {
      const why = (err && err.message) || String(err);
      transcript.error = response
        ? "connection reset by the runtime"
        : `could not connect to ${url}: ${why}`.slice(0, 300);
    }
  } finally {
    clearTimeout(timer);
    if (signal) signal.removeEventListener("abort", onUserAbort);
  }
  if (abortReason) transcript.error = abortReason;
  transcript.ended_ms = since();
  return transcript;
}

/** Read a response into events (via `push`); return the transport error or null. */
async function readBody(response, push, maxBytes) {
  const reader = response.body ? response.body.getReader() : null;
  const decoder = new TextDecoder();
  if (response.status >= 400) {
    let text = "";
    while (reader) {
      const { done, value } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
      if (text.length > maxBytes) break;
    }
    text = (text + decoder.decode()).split(/\s+/).filter(Boolean).join(" ");
    return text ? `HTTP ${response.status}: ${text.slice(0, 200)}` : `HTTP ${response.status} (empty body)`;
  }
  let parser = null;
  let raw = "";
  let total = 0;
  let first = true;
  while (reader) {
    const { done, value } = await reader.read();
    if (done) break;
    let chunk = value;
    if (first) {
      first = false;
      if (isSse(response.headers.get("content-type"), chunk)) parser = new SseParser();
    }
    total += chunk.byteLength;
    const over = total > maxBytes;
    if (over) chunk = chunk.subarray(0, Math.max(0, chunk.byteLength - (total - maxBytes)));
    if (parser) parser.feed(decoder.decode(chunk, { stream: !over }), push);
    else raw += decoder.decode(chunk, { stream: !over });
    if (over) {
      if (!parser) push(raw);
      reader.cancel().catch(() => {});
      return `output exceeded ${maxBytes} bytes`;
    }
  }
  if (parser) parser.close(decoder.decode(), push);
  else if ((raw += decoder.decode())) push(raw);
  return null;
}

function isSse(contentType, first) {
  if (contentType) return contentType.toLowerCase().includes("text/event-stream");
  const head = new TextDecoder().decode(first.subarray(0, 64)).trimStart();
  return head.startsWith("data:") || head.startsWith(":");
}

/**
 * Incremental SSE parser (the same rules as server/rating/stream.py): lines end with \n, \r\n or
 * \r; ":" lines are comments; several data: lines before a blank line are one payload
 * joined by "\n"; other fields are ignored. Linear however the stream is cut: an unfinished
 * line is kept in pieces and joined once, when its end arrives; each character is scanned
 * for a line end once.
 */
export class SseParser {
  constructor() {
    this.pending = []; // the unfinished line, in pieces; no line end inside
    this.cr = false; // the last piece ends with "\r": a line end, maybe half of "\r\n"
    this.data = [];
  }

  /** The pending pieces plus `tail`, as one line; nothing stays pending. */
  take(tail) {
    const line = this.pending.length ? this.pending.join("") + tail : tail;
    this.pending = [];
    return line;
  }

  feed(text, push) {
    if (!text) return;
    let pos = 0; // start of the first line in text not read yet
    if (this.cr) {
      this.cr = false;
      this.line(this.take("").slice(0, -1), push);
      if (text[0] === "\n") pos = 1;
    }
    const lineEnd = /\r\n|\n|\r/g;
    lineEnd.lastIndex = pos;
    for (let m = lineEnd.exec(text); m; m = lineEnd.exec(text)) {
      if (m[0] === "\r" && m.index + 1 === text.length) {
        this.cr = true; // maybe half of \r\n
        break;
      }
      this.line(this.take(text.slice(pos, m.index)), push);
      pos = m.index + m[0].length;
    }
    if (pos < text.length) this.pending.push(text.slice(pos));
  }

  close(text, push) {
    this.feed(text, push);
    if (this.pending.length) this.line(this.take("").replace(/\r$/, ""), push);
    this.cr = false;
    this.line("", push);
  }

  line(line, push) {
    if (line === "") {
      if (this.data.length) push(this.data.join("\n"));
      this.data = [];
      return;
    }
    if (line.startsWith(":")) return;
    const colon = line.indexOf(":");
    const name = colon < 0 ? line : line.slice(0, colon);
    if (name !== "data") return;
    const value = colon < 0 ? "" : line.slice(colon + 1);
    this.data.push(value.startsWith(" ") ? value.slice(1) : value);
  }
}

/**
 * The text pieces of one SSE payload for the live view (never used for scoring).
 * @param {string} payload
 * @returns {{content: string, reasoning: string, tools: string}}
 */
export function liveDelta(payload) {
  const out = { content: "", reasoning: "", tools: "" };
  let data;
  try {
    data = JSON.parse(payload);
  } catch {
    return out;
  }
  const choice = data && Array.isArray(data.choices) ? data.choices[0] : null;
  const delta = choice ? choice.delta || choice.message || {} : {};
  if (typeof delta.content === "string") out.content = delta.content;
  const reasoning = delta.reasoning ?? delta.reasoning_content;
  if (typeof reasoning === "string") out.reasoning = reasoning;
  for (const call of Array.isArray(delta.tool_calls) ? delta.tool_calls : []) {
    const fn = call.function || {};
    out.tools += `${fn.name || ""}${typeof fn.arguments === "string" ? fn.arguments : ""}`;
  }
  return out;
}
