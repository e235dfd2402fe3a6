"""Checking a shared result: re-score a full record and compare, and look up its suite hash.

:func:`verify_record` re-scores every case of a run record from its own transcripts
(:func:`evaluator.summary.rescore_record`) and compares each case's ``status`` and
``score``, and the summary's counts, ``pass_ratio`` and ``verdict``, with what the record
says. It also says whether the record's suite hash is a published one: ``published`` lists
the suites the checker ships (``{"id", "version", "sha256"}``; the CLI's suites/ folder, the
page's built-in suites). When the shipped suite itself is given (``suite``, with that
hash), the cases are re-scored against its definitions, so an edited case copy inside the
record cannot make a forged answer pass; otherwise the record's own case copies are used
(and the report says so).
"""

from __future__ import annotations

from typing import Any

from evaluator.records import RecordError
from evaluator.suite import Suite
from evaluator.summary import rescore_record
from evaluator.version import record_version

CASE_FIELDS = ("status", "score")
SUMMARY_FIELDS = ("passed", "failed", "skipped", "errors", "total", "pass_ratio", "verdict")
MAX_LISTED = 50  # mismatches listed in full; the count is always exact
MATCHES, DIFFERS = "re-scored: matches", "re-scored: does not match"


def _published(suite: dict[str, Any], published: Any) -> dict[str, Any]:
    """``{"published": bool, "known_sha256": [...], "note"}`` for the record's suite."""
    rows = [p for p in published if isinstance(p, dict)] if isinstance(published, list) else []
    if any(p.get("sha256") == suite.get("sha256") for p in rows):
        same = next(p for p in rows if p.get("sha256") == suite.get("sha256"))
        note = f"suite {same.get('id')} {same.get('version')} as published"
        return {"published": True, "known_sha256": [same.get("sha256")], "note": note}
    named = [p for p in rows if p.get("id") == suite.get("id")
             and p.get("version") == suite.get("version")]
    if named:
        note = (f"suite {suite.get('id')} {suite.get('version')}: its hash is not the "
                "published one (the suite was changed)")
    else:
        note = (f"suite {suite.get('id')} {suite.get('version')} is not one this localrate "
                "ships (a custom or other version)")
    return {"published": False, "known_sha256": [p.get("sha256") for p in named],
            "note": note}


def _obj(record: dict[str, Any], key: str) -> dict[str, Any]:
    value = record.get(key)
    return value if isinstance(value, dict) else {}


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and \
            not isinstance(a, bool) and not isinstance(b, bool):
        return abs(float(a) - float(b)) <= 1e-9
    return bool(a == b)


def verify_record(record: Any, published: Any, suite: Suite | None = None) -> dict[str, Any]:
    """Re-score ``record`` (a run record that passed ``evaluator.records``) and compare.

    Returns ``{"matches", "mismatch_count", "mismatches": [{"where", "id", "field",
    "stored", "rescored"}], "published", "known_sha256", "suite": {"id", "version",
    "sha256"}, "seed", "localrate_version", "scored_with": "published suite"|"record's case
    copies", "cases", "label", "notes": [...]}``; ``label`` is ``re-scored: matches`` or
    ``re-scored: does not match``. Raises :class:`RecordError` when a case cannot be
    re-scored (no transcript, no case copy), naming the field.
    """
    if not isinstance(record, dict):
        raise RecordError("verify: expected a run record (an object)")
    stored_suite = _obj(record, "suite")
    use = suite if suite is not None and suite.sha256 == stored_suite.get("sha256") else None
    rescored = rescore_record(record, use)
    mismatches: list[dict[str, Any]] = []
    old_cases = record.get("cases") or []
    for i, (old, new) in enumerate(zip(old_cases, rescored["cases"], strict=True)):
        for field in CASE_FIELDS:
            if not _same(old.get(field), new.get(field)):
                mismatches.append({"where": f"cases[{i}].{field}", "id": old.get("id"),
                                   "field": field, "stored": old.get(field),
                                   "rescored": new.get(field)})
    old_summary = _obj(record, "summary")
    for field in SUMMARY_FIELDS:
        if not _same(old_summary.get(field), rescored["summary"].get(field)):
            mismatches.append({"where": f"summary.{field}", "id": None, "field": field,
                               "stored": old_summary.get(field),
                               "rescored": rescored["summary"].get(field)})
    found = _published(stored_suite, published)
    settings = _obj(record, "settings")
    notes = [found["note"]]
    if use is None:
        notes.append("scored with the record's own case copies (the published suite was "
                     "not at hand to score against)")
    if record_version(record) is None:
        notes.append("the record does not say which localrate version wrote it")
    return {"matches": not mismatches, "mismatch_count": len(mismatches),
            "mismatches": mismatches[:MAX_LISTED], "published": found["published"],
            "known_sha256": found["known_sha256"],
            "suite": {k: stored_suite.get(k) for k in ("id", "version", "sha256")},
            "seed": settings.get("seed"), "localrate_version": record_version(record),
            "scored_with": "published suite" if use is not None else "record's case copies",
            "cases": len(old_cases), "label": MATCHES if not mismatches else DIFFERS,
            "notes": notes}
