// Model cards: one per discovered model, with capability chips that show where each
// capability came from. Chat models can be selected for rating; embedding models cannot.

import { byId, el, num, replace } from "./dom.mjs";

const SOURCE_TITLES = {
  runtime: "reported by the runtime",
  id: "implied by the model id",
  default: "assumed: every chat endpoint streams",
};

let cards = [];
const chosen = new Set();
const listeners = new Set();

/** Key of a card (selection survives a rescan). */
export function cardKey(card) {
  return `${card.base_url}|${card.id}`;
}

/** Be told when the selection or the card list changes. @param {() => void} fn */
export function onSelectionChange(fn) {
  listeners.add(fn);
}

/** Whether a card can be picked for a run: a chat model, described by the evaluator (a
 * provisional card, from the raw list before Python read it, has no chips yet). */
function rateable(card) {
  return card.kind !== "embeddings" && !card.provisional;
}

/** The selected chat model cards, in display order. */
export function selectedCards() {
  return cards.filter((c) => rateable(c) && chosen.has(cardKey(c)));
}

/** Every card currently shown. */
export function allCards() {
  return cards.slice();
}

/**
 * Show these model cards (from merge_metadata).
 * @param {object[]} next
 */
export function setCards(next) {
  cards = next;
  if (cards.length && !performance.getEntriesByName("localrate:first-card", "mark").length) {
    performance.mark("localrate:first-card"); // the benchmark reads it
  }
  const box = byId("model-cards");
  const empty = byId("models-empty");
  empty.hidden = cards.length > 0;
  replace(box, ...cards.map(cardView));
  for (const fn of listeners) fn();
}

function cardView(card) {
  const key = cardKey(card);
  const pickable = rateable(card);
  const id = `pick-${btoa(unescape(encodeURIComponent(key))).replace(/[^a-z0-9]/gi, "")}`;
  const box = el("input", {
    type: "checkbox", id, disabled: !pickable, checked: pickable && chosen.has(key),
    "data-testid": "model-select",
  });
  box.addEventListener("change", () => {
    if (box.checked) chosen.add(key);
    else chosen.delete(key);
    for (const fn of listeners) fn();
  });
  const where = new URL(card.base_url).host;
  const chips = (card.capabilities || []).map((cap) => el("li", {
    class: `chip chip-${cap.source}`, title: `${cap.name}: ${SOURCE_TITLES[cap.source] || cap.source}`,
    "data-cap": cap.name, "data-source": cap.source,
  }, cap.name));
  return el("article", {
    class: `model-card${pickable ? "" : " not-rateable"}`, "data-testid": "model-card",
    "data-model-id": card.id, "data-runtime": card.runtime, "data-kind": card.kind,
    "data-provisional": String(Boolean(card.provisional)),
  },
  el("label", { class: "model-pick", for: id }, box, el("span", { class: "model-id" }, card.id)),
  el("p", { class: "model-meta" }, `${card.label || card.runtime} · ${where}`,
    card.context_length ? ` · context ${num(card.context_length)}` : ""),
  el("ul", { class: "chips", "aria-label": "capabilities" }, ...chips),
  card.provisional ? el("p", { class: "hint" }, "Capabilities appear when the evaluator (Python) is ready.")
    : pickable ? null : el("p", { class: "hint" }, "Embedding model: shown for reference, not rated by a chat suite."));
}

/** Select or clear every rateable card. @param {boolean} on */
export function selectAll(on) {
  chosen.clear();
  if (on) for (const c of cards) if (rateable(c)) chosen.add(cardKey(c));
  setCards(cards);
}
