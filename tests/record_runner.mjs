// Record one chat request with the page's own record() (web/js/stream.mjs) under Node and
// print the transcript.
//
// Usage: node tests/record_runner.mjs <url> <timeout s>  (stdin: the JSON request body;
// stdout: the transcript as JSON)
//
// Node's fetch is not a browser: with redirect: "manual" it hands back the 3xx response
// itself (a browser gives an opaque redirect with status 0), so this checks that record()
// never follows a redirect and notes it; the browser's opaque form is left to Playwright.

import { record } from "../web/js/stream.mjs";

const [url, timeout] = process.argv.slice(2);
let input = "";
for await (const piece of process.stdin) input += piece;
const transcript = await record(url, JSON.parse(input), { timeoutS: Number(timeout || 10), maxBytes: 1_000_000 });
process.stdout.write(JSON.stringify(transcript) + "\n");
