"""Share links (evaluator.share): round trip, the 300-case 3-model length target, what never
goes in (base URLs, keys, outputs), and hostile fragments read as one-line errors."""

from __future__ import annotations

import base64
import json
import math
import random
import zlib
from typing import Any

import pytest

from evaluator import page_api
from evaluator.share import (
    LINK_BUDGET,
    MAX_FRAGMENT_CHARS,
    MAX_PAYLOAD_BYTES,
    ShareError,
    read_share,
    share_fragment,
)

SHA = "3f" * 32
TAGS = ["instruction-following", "json", "tool-use", "vision", "reasoning", "math"]
SECRET_URL = "http://10.1.2.3:8000/SECRET-PATH"


def record(model: str, statuses: list[str], ids: list[str] | None = None,
           attempts: list[int] | None = None, seed: int = 42) -> dict[str, Any]:
    ids = ids or [f"case-{i:03d}" for i in range(len(statuses))]
    cases = []
    for i, (case_id, status) in enumerate(zip(ids, statuses, strict=True)):
        for n in range(attempts[i] if attempts else 1):
            cases.append({"id": case_id, "status": status if n == 0 else "pass",
                          "score": 1.0 if status == "pass" else 0.0, "tags": [TAGS[i % 6]],
                          "output": "secret output sk-KEY-123", **(
                              {"attempt": n + 1} if attempts else {})})
    return {"format": "localrate.run/1", "localrate_version": "0.1.0",
            "suite": {"id": "local-model-rating", "version": "0.4.0", "sha256": SHA},
            "model": {"id": model, "runtime": "vllm", "base_url": SECRET_URL,
                      "capabilities": ["streaming"]},
            "settings": {"seed": seed, "temperature": 0}, "started_at": "2026-11-30T12:00:00Z",
            "cases": cases,
            "summary": {"pass_ratio": 0.75, "verdict": "pass", "pass_threshold": 0.6,
                        "avg_tok_s": 31.5, "p95_ms": 4200.0, "passed": 3, "failed": 1,
                        "skipped": 0, "errors": 0, "total": 4}}


def inflate(fragment: str) -> bytes:
    body = fragment[2:]
    return zlib.decompress(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)), -15)


def synthetic(models: int = 3, cases: int = 300, seed: int = 5) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    ids = [f"{TAGS[i % 6]}-{rng.choice(['alpha', 'bravo', 'delta'])}-{i:03d}"
           for i in range(cases)]
    names = ["qwen3:4b-instruct-2507-q4_K_M", "llama3.2:3b-instruct-q8_0",
             "gemma-3-4b-it-qat"][:models]
    return [record(name, [rng.choice(["pass", "pass", "fail", "error", "skip"])
                          for _ in ids], ids) for name in names]


def test_round_trip_of_two_runs() -> None:
    a = record("model-a", ["pass", "fail", "error", "skip"])
    b = record("model-b", ["pass", "pass", "pass", "fail"], seed=43)
    card = read_share(share_fragment([a, b]))
    assert card["format"] == "localrate.share/1"
    assert card["suite"] == {"id": "local-model-rating", "version": "0.4.0", "sha256": SHA}
    assert card["case_ids"] == ["case-000", "case-001", "case-002", "case-003"]
    assert [r["statuses"] for r in card["runs"]] == [["pass", "fail", "error", "skip"],
                                                      ["pass", "pass", "pass", "fail"]]
    first = card["runs"][0]
    assert first["model"] == {"id": "model-a", "runtime": "vllm"}
    assert (first["seed"], first["localrate_version"]) == (42, "0.1.0")
    assert card["runs"][1]["seed"] == 43
    assert (first["pass_ratio"], first["verdict"], first["pass_threshold"]) == (0.75, "pass",
                                                                               0.6)
    assert (first["avg_tok_s"], first["p95_ms"]) == (31.5, 4200.0)
    # 1 of 3 scored cases passed: Wilson's interval, by its formula here
    z, n, p = 1.959963984540054, 3, 1 / 3
    centre, half = p + z * z / (2 * n), z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    low, high = (centre - half) / (1 + z * z / n), (centre + half) / (1 + z * z / n)
    assert (round(low, 4), round(high, 4)) == (0.0615, 0.7923)  # published tables
    assert first["pass_rate"] == {"passed": 1, "attempts": 3, "cases": 3, "rate": 0.3333,
                                  "low": round(low, 4), "high": round(high, 4)}
    paired = card["paired"][0]
    assert (paired["a"], paired["b"], paired["cases"], paired["b_wins"]) == (0, 1, 3, 2)
    assert paired["p_value"] == 0.5  # exact McNemar, 0 vs 2 discordant: 2 * 0.5**2


def test_300_cases_3_models_fit_in_4000_characters() -> None:
    runs = synthetic()
    fragment = share_fragment(runs)
    assert len(fragment) <= LINK_BUDGET <= 4000
    card = read_share(fragment)
    assert card["case_count"] == 300 and len(card["runs"]) == 3
    assert card["case_ids"] == [c["id"] for c in runs[0]["cases"]]
    for run, got in zip(runs, card["runs"], strict=True):
        assert got["statuses"] == [c["status"] for c in run["cases"]]


def test_long_ids_are_left_out_when_they_would_not_fit() -> None:
    ids = [f"a-very-long-and-unique-case-identifier-{i:04d}-{random.Random(i).random()}"
           for i in range(300)]
    runs = [record(f"m{n}", ["pass"] * 300, ids) for n in range(3)]
    fragment = share_fragment(runs)
    assert len(fragment) <= LINK_BUDGET
    card = read_share(fragment)
    assert card["case_ids"] is None and card["case_count"] == 300
    assert card["runs"][2]["statuses"] == ["pass"] * 300


def test_repeats_round_trip_as_counts() -> None:
    a = record("r", ["fail", "pass", "error"], attempts=[3, 2, 1])
    card = read_share(share_fragment(a))
    assert card["repeats"] is True
    assert card["runs"][0]["statuses"] == [{"passed": 2, "attempts": 3, "errors": 0},
                                           {"passed": 2, "attempts": 2, "errors": 0},
                                           {"passed": 0, "attempts": 1, "errors": 1}]


def test_cases_one_run_lacks_are_null() -> None:
    a = record("a", ["pass", "fail"], ["x", "y"])
    b = record("b", ["fail", "pass"], ["y", "z"])
    card = read_share(share_fragment([a, b]))
    assert card["case_ids"] == ["x", "y", "z"]
    assert [r["statuses"] for r in card["runs"]] == [["pass", "fail", None],
                                                      [None, "fail", "pass"]]


def test_no_base_url_key_or_output_goes_in() -> None:
    runs = synthetic(models=2, cases=20)
    payload = inflate(share_fragment(runs)).decode("utf-8", "replace")
    for secret in (SECRET_URL, "10.1.2.3", "SECRET", "sk-KEY", "secret output", "http"):
        assert secret not in payload


def test_runs_of_different_suites_are_refused() -> None:
    a, b = record("a", ["pass"]), record("b", ["pass"])
    b["suite"]["sha256"] = "00" * 32
    with pytest.raises(ShareError, match="different suites"):
        share_fragment([a, b])


def fragment_of(head: Any, cells: bytes = b"\x01") -> str:
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    raw = (json.dumps(head).encode() if not isinstance(head, bytes) else head) + b"\0" + cells
    data = packer.compress(raw) + packer.flush()
    return "1." + base64.urlsafe_b64encode(data).decode().rstrip("=")


GOOD = {"s": ["s", "1", SHA], "n": 1, "k": 0, "h": "0" * 16,
        "r": [["m", "vllm", 1, "0.1.0", 1.0, "pass", 0.6, 10.0, 100.0]]}
BOMB = zlib.compressobj(9, zlib.DEFLATED, -15)
BOMB_DATA = BOMB.compress(b"\0" * (MAX_PAYLOAD_BYTES * 4)) + BOMB.flush()


@pytest.mark.parametrize(("fragment", "says"), [
    (None, "expected text"),
    ("2.abc", "not a localrate share link"),
    ("1.a b", "not base64url text"),
    ("1.<script>", "not base64url text"),
    ("1.A", "not base64url text"),
    ("1." + "A" * (MAX_FRAGMENT_CHARS + 1), f"more than the {MAX_FRAGMENT_CHARS}"),
    ("1.AAAA", "compressed data"),
    ("1." + base64.urlsafe_b64encode(BOMB_DATA).decode().rstrip("="),
     f"inflates to more than {MAX_PAYLOAD_BYTES} bytes"),
    (fragment_of(b"not json"), "the header is not JSON"),
    (fragment_of(b"[[[[" * 300), "the header is not JSON"),
    (fragment_of([1, 2]), "the header is not an object"),
    (fragment_of({**GOOD, "s": "x"}), "suite: expected [id, version, sha256]"),
    (fragment_of({**GOOD, "s": ["<b>", "1", "zz"]}), "suite.sha256: expected 64 hex"),
    (fragment_of({**GOOD, "n": True}), "case count"),
    (fragment_of({**GOOD, "n": 10**9}), "case count"),
    (fragment_of({**GOOD, "k": 2}), "mode: expected 0 or 1"),
    (fragment_of({**GOOD, "r": []}), "runs: expected a list of 1 to"),
    (fragment_of({**GOOD, "r": [["m"]]}), "runs[0]: expected a list of 9 fields"),
    (fragment_of({**GOOD, "r": [[{"x": 1}, None, 1, None, 1, "pass", 0.6, 1, 1]]}),
     "runs[0].model: expected text"),
    (fragment_of({**GOOD, "r": [["m\x1b[31m", None, 1, None, 1, "pass", 0.6, 1, 1]]}),
     "runs[0].model: expected text"),
    (fragment_of({**GOOD, "r": [["m", None, -1, None, 1, "pass", 0.6, 1, 1]]}),
     "runs[0].seed"),
    (fragment_of({**GOOD, "r": [["m", None, 1, None, 7, "pass", 0.6, 1, 1]]}),
     "runs[0].pass_ratio: expected a number 0 to 1"),
    (fragment_of({**GOOD, "r": [["m", None, 1, None, 1, "<img>", 0.6, 1, 1]]}),
     "runs[0].verdict"),
    (fragment_of(GOOD, b""), "statuses: expected 1 bytes, got 0"),
    (fragment_of(GOOD, b"\x09"), "case 0: unknown status code 9"),
    (fragment_of({**GOOD, "k": 1}, b"\x05\x02\x00"), "do not add up"),
    (fragment_of({**GOOD, "i": ["a", "b"]}), "case ids: expected a list of 1"),
    (fragment_of({**GOOD, "i": ["a"]}), "not the ones the hash names"),
    (fragment_of({**GOOD, "h": "xyz"}), "case ids hash"),
])
def test_hostile_fragments_are_one_line_errors(fragment: Any, says: str) -> None:
    with pytest.raises(ShareError) as err:
        read_share(fragment)
    message = str(err.value)
    assert message.startswith("share link: ") and says in message, message
    assert "\n" not in message and len(message) < 200
    reply = json.loads(page_api.call(json.dumps({"op": "read_share",
                                                 "args": {"fragment": fragment}})))
    assert reply == {"ok": False, "error": message}


def test_the_page_ops_round_trip() -> None:
    runs = synthetic(models=2, cases=10)
    made = json.loads(page_api.call(json.dumps({"op": "share_fragment",
                                                "args": {"records": runs}})))
    assert made["ok"] and made["value"] == share_fragment(runs)
    read = json.loads(page_api.call(json.dumps({"op": "read_share",
                                                "args": {"fragment": "#" + made["value"]}})))
    assert read["ok"] and read["value"] == read_share(made["value"])


def test_the_shipped_suite_with_3_models_fits_and_its_ids_come_back() -> None:
    """local-model-rating (every case of a run, its seed's order) for three models: the
    link leaves long id lists out, and the receiver rebuilds them from suite and seed."""
    from evaluator.expand import run_cases
    from evaluator.share import share_case_ids
    from server.rating import suites_io

    suite = suites_io.load("local-model-rating")
    ids = [case.id for case in run_cases(suite, 123)]
    rng = random.Random(3)
    runs = []
    for name in ("qwen3:4b", "llama3.2:3b", "gemma3:4b"):
        run = record(name, [rng.choice(["pass", "fail", "error", "skip"]) for _ in ids], ids,
                     seed=123)
        run["suite"] = {"id": suite.id, "version": suite.version, "sha256": suite.sha256}
        runs.append(run)
    fragment = share_fragment(runs)
    assert len(ids) >= 300 and len(fragment) <= LINK_BUDGET
    card = read_share(fragment)
    assert share_case_ids(card, suite) == ids
    reply = json.loads(page_api.call(json.dumps({"op": "share_case_ids", "args": {
        "card": card, "suite": suite.to_json()}})))
    assert reply == {"ok": True, "value": ids}
    assert share_case_ids({**card, "case_ids_hash": "0" * 16}, suite) is None  # no guess
    other = {**card, "suite": {**card["suite"], "sha256": "0" * 64}}
    assert share_case_ids(other, suite) is None
