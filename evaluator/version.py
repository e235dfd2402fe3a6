"""The localrate version every run record, report and share link carries.

The evaluator has no I/O, so it cannot ask the installed package; this constant is the
version, and ``tests/test_verify.py`` checks it equals the distribution's (pyproject.toml).
"""

from __future__ import annotations

LOCALRATE_VERSION = "0.1.0"
VERSION_FIELD = "localrate_version"  # the run record's top-level key


def record_version(record: object) -> str | None:
    """The version a run record says wrote it, or None (records before the field)."""
    if isinstance(record, dict):
        value = record.get(VERSION_FIELD)
        return value if isinstance(value, str) else None
    return None
