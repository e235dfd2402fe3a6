// Fixture: imports util.mjs back (a cycle the build must handle).
import * as util from "./util.mjs";

export function label(value) {
  return util && String(value);
}
