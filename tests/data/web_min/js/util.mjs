// Fixture: part of an import cycle with fmt.mjs.
import { label } from './fmt.mjs';

export function text(node, value) {
  node.textContent = label(value);
}
