// Feed SSE byte chunks to the page's own parser (web/js/stream.mjs SseParser), decoding
// them as the page's readBody does (one streaming TextDecoder), and print the payloads.
//
// Usage: node tests/sse_runner.mjs  (stdin: JSON [[chunk, ...], ...], each chunk a list of
// byte values; stdout: JSON [[payload, ...], ...], one list per row)

import { SseParser } from "../web/js/stream.mjs";

let input = "";
for await (const piece of process.stdin) input += piece;
const rows = JSON.parse(input).map((chunks) => {
  const parser = new SseParser();
  const decoder = new TextDecoder();
  const out = [];
  const push = (payload) => out.push(payload);
  for (const bytes of chunks) parser.feed(decoder.decode(new Uint8Array(bytes), { stream: true }), push);
  parser.close(decoder.decode(), push);
  return out;
});
process.stdout.write(JSON.stringify(rows) + "\n");
