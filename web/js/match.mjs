// Matching the evaluator's data tables, so the page writes no rule of its own: the first
// row whose every `when` field holds one of the listed values (a missing field reads as
// null). evaluator.discovery.provisional matches the same way (tests/test_discovery_rules.py).

/**
 * @param {{when?: Object<string, any[]>}[]} rows  tried in order
 * @param {object} observation
 * @returns {object|null}  the first matching row
 */
export function firstMatch(rows, observation) {
  return rows.find((row) => Object.entries(row.when || {})
    .every(([field, values]) => values.includes(observation[field] ?? null))) || null;
}
