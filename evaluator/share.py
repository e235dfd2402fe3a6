"""Share links: one or more runs' summary and per-case statuses, packed into a URL fragment.

:func:`share_fragment` packs what a result card shows — the suite (id, version, sha256),
per run the model (id, runtime), seed, localrate version, pass ratio, verdict, threshold,
decode speed and p95 latency, and every case's status by its index in run order — into a
small header (JSON) and one byte per case and run (three with repeats: passed, scored
attempts, errors), compressed with raw deflate and written as base64url after ``1.``.
Case ids go in too when the link stays within ``LINK_BUDGET`` characters; otherwise only
their hash (the receiver can match them against the suite expanded with the seed).
Nothing else of a record goes in: no base URL, no output, no transcript, no API key.

:func:`read_share` reads a fragment from anywhere (hostile): at most
``MAX_FRAGMENT_CHARS`` characters, at most ``MAX_PAYLOAD_BYTES`` once inflated (a zlib
bomb stops there), every field checked; anything wrong is one :class:`ShareError` line.
The card it returns recomputes each run's pass rate with its Wilson interval and the
paired verdict of run 1 against each other run from the statuses (:mod:`evaluator.stats`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
import re
import zlib
from typing import Any

from evaluator.casespec import MAX_SEED
from evaluator.records import run_list
from evaluator.safejson import finite_number, loads
from evaluator.stats_compare import compare
from evaluator.stats_runs import by_case, pass_rates
from evaluator.version import record_version

SHARE_FORMAT = "localrate.share/1"
PREFIX = "1."
LINK_BUDGET = 3800  # fragment characters: leaves room for the page's address in 4,000
MAX_FRAGMENT_CHARS = 65_536
MAX_PAYLOAD_BYTES = 1_048_576
MAX_RUNS = 16
MAX_CASES = 20_000
MAX_TEXT = 200  # a model id, suite id, runtime or version
MAX_REPEAT_COUNT = 250  # one byte per count
CODES = (None, "pass", "fail", "skip", "error")  # one-attempt cells; 0: the run lacks the case
_B64 = re.compile(r"[A-Za-z0-9_-]*")
_HEX = re.compile(r"[0-9a-f]{64}")


class ShareError(ValueError):
    """A share link cannot be made or read; the message is one line."""


def _records(value: Any) -> list[dict[str, Any]]:
    """A run record, a comparison ``{"runs": [...]}`` or a list of records → the list."""
    return run_list(value, MAX_RUNS, "share", ShareError)


def _text(value: Any) -> str | None:
    return value[:MAX_TEXT] if isinstance(value, str) else None


def ids_hash(ids: list[str]) -> str:
    """The first 16 hex digits of the sha256 of the case ids joined by newlines."""
    return hashlib.sha256("\n".join(ids).encode("utf-8")).hexdigest()[:16]


def _cells(records: list[dict[str, Any]]) -> tuple[list[str], bool, bytes]:
    groups = [by_case(r["cases"]) for r in records]
    ids: list[str] = []
    for group in groups:
        ids.extend(k for k in group if k not in ids)
    repeats = any(len(attempts) > 1 for group in groups for attempts in group.values())
    out = bytearray()
    for group in groups:
        for case_id in ids:
            attempts = group.get(case_id)
            if not repeats:
                status = attempts[0].get("status") if attempts else None
                out.append(CODES.index(status) if status in CODES[1:] else 0)
                continue
            if attempts is None:
                out += bytes([255, 255, 255])
                continue
            scored = [a for a in attempts if a.get("status") in ("pass", "fail", "error")]
            counts = (sum(1 for a in scored if a.get("status") == "pass"), len(scored),
                      sum(1 for a in scored if a.get("status") == "error"))
            if counts[1] > MAX_REPEAT_COUNT:
                raise ShareError(f"share: case {case_id[:40]!r} has {counts[1]} attempts, "
                                 f"more than {MAX_REPEAT_COUNT}")
            out += bytes(counts)
    return ids, repeats, bytes(out)


def _obj(record: dict[str, Any], key: str) -> dict[str, Any]:
    value = record.get(key)
    return value if isinstance(value, dict) else {}


def _run_head(record: dict[str, Any]) -> list[Any]:
    model, settings, summary = (_obj(record, k) for k in ("model", "settings", "summary"))
    seed = settings.get("seed")
    return [_text(model.get("id")) or "?", _text(model.get("runtime")),
            seed if isinstance(seed, int) and not isinstance(seed, bool) else None,
            _text(record_version(record)), finite_number(summary.get("pass_ratio")),
            _text(summary.get("verdict")), finite_number(summary.get("pass_threshold")),
            finite_number(summary.get("avg_tok_s")), finite_number(summary.get("p95_ms"))]


def _encode(head: dict[str, Any], cells: bytes) -> str:
    text = json.dumps(head, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    packed = packer.compress(text.encode("utf-8") + b"\0" + cells) + packer.flush()
    return PREFIX + base64.urlsafe_b64encode(packed).decode("ascii").rstrip("=")


def share_fragment(records: Any) -> str:
    """The share fragment of 1..``MAX_RUNS`` run records of one suite (see the module
    docstring): ``1.<base64url of raw deflate>``, without ``#``."""
    runs = _records(records)
    suites = {json.dumps([r.get("suite", {}).get(k) if isinstance(r.get("suite"), dict)
                          else None for k in ("id", "version", "sha256")]) for r in runs}
    if len(suites) != 1:
        raise ShareError("share: the runs are of different suites (or suite versions); a "
                         "link holds runs of one suite")
    suite = json.loads(next(iter(suites)))
    if not all(isinstance(v, str) for v in suite):
        raise ShareError("share: runs[0].suite: expected id, version and sha256")
    ids, repeats, cells = _cells(runs)
    if len(ids) > MAX_CASES:
        raise ShareError(f"share: {len(ids)} cases, more than the {MAX_CASES} a link holds")
    head: dict[str, Any] = {"s": [_text(suite[0]), _text(suite[1]), suite[2][:64]],
                            "n": len(ids), "k": int(repeats), "h": ids_hash(ids),
                            "r": [_run_head(r) for r in runs]}
    with_ids = _encode({**head, "i": ids}, cells)
    return with_ids if len(with_ids) <= LINK_BUDGET else _encode(head, cells)


# ---- reading -------------------------------------------------------------------------


def _fail(what: str) -> ShareError:
    return ShareError(f"share link: {what}")


def _inflate(fragment: Any) -> bytes:
    if not isinstance(fragment, str):
        raise _fail("expected text")
    text = fragment.strip()
    text = text.removeprefix("#").removeprefix("share=")
    if len(text) > MAX_FRAGMENT_CHARS:
        raise _fail(f"{len(text)} characters, more than the {MAX_FRAGMENT_CHARS} a link may "
                    "have")
    if not text.startswith(PREFIX):
        raise _fail("not a localrate share link (it must start with '1.')")
    body = text[len(PREFIX):]
    if not _B64.fullmatch(body) or len(body) % 4 == 1:
        raise _fail("not base64url text (only A-Z a-z 0-9 - _ may follow '1.')")
    try:
        packed = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except (binascii.Error, ValueError):
        raise _fail("not base64url text") from None
    unpacker = zlib.decompressobj(-15)
    try:
        data = unpacker.decompress(packed, MAX_PAYLOAD_BYTES)
    except zlib.error:
        raise _fail("not compressed data (damaged or cut short)") from None
    if unpacker.unconsumed_tail:
        raise _fail(f"inflates to more than {MAX_PAYLOAD_BYTES} bytes")
    if not unpacker.eof:
        raise _fail("compressed data cut short")
    return data


def _str(value: Any, where: str, nullable: bool = False) -> str | None:
    if value is None and nullable:
        return None
    if not isinstance(value, str) or len(value) > MAX_TEXT or \
            re.search("[\x00-\x1f\x7f\ud800-\udfff]", value):
        raise _fail(f"{where}: expected text of at most {MAX_TEXT} characters"
                    + (" or null" if nullable else ""))
    return value


def _num(value: Any, where: str, high: float | None = None) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or \
            not math.isfinite(value) or value < 0 or (high is not None and value > high) or \
            value > 2**53:
        bound = f"0 to {high:g}" if high is not None else "at least 0"
        raise _fail(f"{where}: expected a number {bound} or null")
    return value


def _read_run(raw: Any, i: int) -> dict[str, Any]:
    where = f"runs[{i}]"
    if not isinstance(raw, list) or len(raw) != 9:
        raise _fail(f"{where}: expected a list of 9 fields")
    seed = raw[2]
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)
                             or not 0 <= seed <= MAX_SEED):
        raise _fail(f"{where}.seed: expected an integer from 0 to {MAX_SEED} or null")
    verdict = raw[5]
    if verdict not in (None, "pass", "fail", "n/a"):
        raise _fail(f"{where}.verdict: expected pass, fail, n/a or null")
    return {"model": {"id": _str(raw[0], f"{where}.model"),
                      "runtime": _str(raw[1], f"{where}.runtime", True)},
            "seed": seed, "localrate_version": _str(raw[3], f"{where}.version", True),
            "pass_ratio": _num(raw[4], f"{where}.pass_ratio", 1), "verdict": verdict,
            "pass_threshold": _num(raw[6], f"{where}.pass_threshold", 1),
            "avg_tok_s": _num(raw[7], f"{where}.avg_tok_s"),
            "p95_ms": _num(raw[8], f"{where}.p95_ms")}


def _head(data: bytes) -> tuple[dict[str, Any], bytes]:
    end = data.find(b"\0")
    if end < 0:
        raise _fail("no header")
    try:
        head = loads(data[:end].decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise _fail("the header is not JSON") from None
    if not isinstance(head, dict):
        raise _fail("the header is not an object")
    return head, data[end + 1:]


def _results(cells: bytes, repeats: bool, ids: list[str]) -> tuple[list[Any], list[Any]]:
    """The statuses (and with repeats the counts) of one run, and results for the stats."""
    statuses: list[Any] = []
    results: list[dict[str, Any]] = []
    if not repeats:
        for j, code in enumerate(cells):
            if code >= len(CODES):
                raise _fail(f"case {j}: unknown status code {code}")
            statuses.append(CODES[code])
            if CODES[code] is not None:
                results.append({"id": ids[j], "status": CODES[code]})
        return statuses, results
    for j in range(len(ids)):
        passed, scored, errors = cells[3 * j:3 * j + 3]
        if (passed, scored, errors) == (255, 255, 255):
            statuses.append(None)
            continue
        if scored > MAX_REPEAT_COUNT or passed + errors > scored:
            raise _fail(f"case {j}: counts {passed}, {scored}, {errors} do not add up")
        statuses.append({"passed": passed, "attempts": scored, "errors": errors})
        results += [{"id": ids[j], "status": "pass"}] * passed
        results += [{"id": ids[j], "status": "error"}] * errors
        results += [{"id": ids[j], "status": "fail"}] * (scored - passed - errors)
        if not scored:
            results.append({"id": ids[j], "status": "skip"})
    return statuses, results


def read_share(fragment: Any) -> dict[str, Any]:
    """Read a share fragment (see the module docstring) → the card: ``{"format", "suite":
    {"id", "version", "sha256"}, "case_count", "case_ids" (or None), "case_ids_hash",
    "repeats", "runs": [{"model": {"id", "runtime"}, "seed", "localrate_version",
    "pass_ratio", "verdict", "pass_threshold", "avg_tok_s", "p95_ms", "pass_rate",
    "statuses"}], "paired": [compare of run 1 with run i, i = 2..]}``. A status is
    ``pass``/``fail``/``skip``/``error``, or ``{"passed", "attempts", "errors"}`` with
    repeats, or None where the run lacks the case."""
    head, cells = _head(_inflate(fragment))
    suite = head.get("s")
    if not isinstance(suite, list) or len(suite) != 3:
        raise _fail("suite: expected [id, version, sha256]")
    sha = suite[2]
    if not isinstance(sha, str) or not _HEX.fullmatch(sha):
        raise _fail("suite.sha256: expected 64 hex digits")
    count, repeats = head.get("n"), head.get("k")
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_CASES:
        raise _fail(f"case count: expected an integer from 1 to {MAX_CASES}")
    if repeats not in (0, 1) or isinstance(repeats, bool):
        raise _fail("mode: expected 0 or 1")
    runs_raw = head.get("r")
    if not isinstance(runs_raw, list) or not 1 <= len(runs_raw) <= MAX_RUNS:
        raise _fail(f"runs: expected a list of 1 to {MAX_RUNS} runs")
    digest = head.get("h")
    if not isinstance(digest, str) or not re.fullmatch("[0-9a-f]{16}", digest):
        raise _fail("case ids hash: expected 16 hex digits")
    ids_raw = head.get("i")
    if ids_raw is not None:
        if not isinstance(ids_raw, list) or len(ids_raw) != count:
            raise _fail(f"case ids: expected a list of {count}")
        for j, case_id in enumerate(ids_raw):
            _str(case_id, f"case ids[{j}]")
        if len(set(ids_raw)) != count or ids_hash(ids_raw) != digest:
            raise _fail("case ids: repeated, or not the ones the hash names")
    ids = ids_raw if ids_raw is not None else [f"#{j + 1}" for j in range(count)]
    width = count * (3 if repeats else 1)
    if len(cells) != width * len(runs_raw):
        raise _fail(f"statuses: expected {width * len(runs_raw)} bytes, got {len(cells)}")
    runs, results = [], []
    for i, raw in enumerate(runs_raw):
        run = _read_run(raw, i)
        statuses, own = _results(cells[i * width:(i + 1) * width], bool(repeats), ids)
        run.update({"pass_rate": pass_rates(own)["overall"], "statuses": statuses})
        runs.append(run)
        results.append(own)
    paired = [{"a": 0, "b": i, **{k: v for k, v in compare(results[0], results[i]).items()
                                  if k not in ("differing", "unpaired", "method")}}
              for i in range(1, len(runs))]
    return {"format": SHARE_FORMAT,
            "suite": {"id": _str(suite[0], "suite.id"),
                      "version": _str(suite[1], "suite.version"), "sha256": sha},
            "case_count": count, "case_ids": ids_raw, "case_ids_hash": digest,
            "repeats": bool(repeats), "runs": runs, "paired": paired}


def share_case_ids(card: Any, suite: Any) -> list[str] | None:
    """The case ids of a card that left them out, rebuilt from the suite it names (a
    ``Suite``) and its first run's seed (:func:`evaluator.expand.run_cases`): the ids when
    their hash is the card's (the run ran the whole suite, in order), else None."""
    from evaluator.expand import run_cases

    if not isinstance(card, dict) or not isinstance(card.get("runs"), list) or \
            not card["runs"] or getattr(suite, "sha256", None) != card.get("suite", {}).get(
                "sha256"):
        return None
    if isinstance(card.get("case_ids"), list):
        return list(card["case_ids"])
    seed = card["runs"][0].get("seed") if isinstance(card["runs"][0], dict) else None
    ids: list[str] = []
    for case in run_cases(suite, seed if isinstance(seed, int) else 0):
        if case.id not in ids:
            ids.append(case.id)
    return ids if ids_hash(ids) == card.get("case_ids_hash") else None
