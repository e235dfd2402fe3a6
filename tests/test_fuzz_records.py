"""Property-based fuzz (hypothesis, derandomized) of reading records and of the SSE parsers.

* ``read_records`` on random JSON values, on valid records with one field replaced or
  removed, and on their text cut or spliced: the only outcomes are the records (which then
  re-score and summarize without error and can be written out as UTF-8) or one
  ``RecordError`` line naming the source, each within a time bound.
* ``SSEParser`` (server/rating/stream.py) on random byte streams split at random points: never
  raises, and the payloads are those of the unsplit stream. The page's parser
  (web/js/stream.mjs, under Node) gets a seeded batch of the same kind of streams and must
  give the same payloads.
"""

from __future__ import annotations

import copy
import itertools
import json
import random
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evaluator.errors import SuiteError
from evaluator.records import RecordError, read_records
from evaluator.summary import rescore_record, summarize
from tests.test_records import record
from tests.test_stream import parse

BOUND_S = 2.0
FUZZ = settings(derandomize=True, database=None, deadline=None, max_examples=150,
                suppress_health_check=[HealthCheck.too_slow])
SCALARS = (st.none() | st.booleans() | st.integers() | st.floats()
           | st.text(max_size=20) | st.sampled_from(["pass", "x", "localrate.run/1", ""]))
JSON = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4)
                    | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=12)
VALID = record()


def outcome(text: str) -> dict[str, Any] | None:
    """read_records' answer (None for a RecordError), checked as the module docstring says."""
    start = time.perf_counter()
    try:
        data = read_records(text, "fuzz.json")
    except RecordError as err:
        assert str(err).startswith("fuzz.json: ")
        assert "\n" not in str(err)
        data = None
    assert time.perf_counter() - start < BOUND_S
    for run in data["runs"] if data is not None else []:
        try:
            again = rescore_record(copy.deepcopy(run))
        except (RecordError, SuiteError) as err:  # typed: e.g. a case with no definition
            assert "\n" not in str(err)
            continue
        summarize(again["cases"], again["summary"]["pass_threshold"])
        json.dumps(again, ensure_ascii=False, allow_nan=False).encode("utf-8")
    return data


@FUZZ
@given(JSON)
def test_random_json_values(value: Any) -> None:
    outcome(json.dumps(value))


def paths(value: Any, here: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a value inside ``value`` (not the root)."""
    found = []
    items = value.items() if isinstance(value, dict) else enumerate(value) \
        if isinstance(value, list) else ()
    for key, item in items:
        found.append((*here, key))
        found.extend(paths(item, (*here, key)))
    return found


ALL_PATHS = paths(VALID)


@FUZZ
@given(st.sampled_from(ALL_PATHS), JSON, st.booleans())
def test_valid_records_with_one_field_changed(path: tuple[Any, ...], value: Any,
                                              remove: bool) -> None:
    mutated = copy.deepcopy(VALID)
    parent = mutated
    for key in path[:-1]:
        parent = parent[key]
    if remove:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    outcome(json.dumps(mutated))


VALID_TEXT = json.dumps(VALID)


@FUZZ
@given(st.integers(0, len(VALID_TEXT)), st.integers(0, 40), st.text(max_size=8))
def test_valid_record_text_cut_and_spliced(at: int, cut: int, insert: str) -> None:
    outcome(VALID_TEXT[:at] + insert + VALID_TEXT[at + cut:])


def test_a_valid_record_is_read_back() -> None:
    assert outcome(VALID_TEXT) == {"format": "localrate.run/1", "runs": [VALID]}


# -- the SSE parsers ------------------------------------------------------------------------

SSE_BYTES = st.lists(st.sampled_from([b"data:", b"data: ", b"\n", b"\r", b"\r\n", b":",
                                      b" x", b"\xc3", b"\xa9", b"\xff", b"event: e",
                                      b"{\"a\": 1}", b"[DONE]", b"id: 1"]) | st.binary(max_size=6),
                     max_size=40).map(b"".join)


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({min(c, len(data)) for c in cuts})
    edges = [0, *points, len(data)]
    return [data[a:b] for a, b in itertools.pairwise(edges)]


@FUZZ
@given(SSE_BYTES, st.lists(st.integers(0, 400), max_size=12))
def test_sse_split_anywhere_gives_the_same_payloads(data: bytes, cuts: list[int]) -> None:
    assert parse(split(data, cuts)) == parse([data])


def test_the_pages_sse_parser_agrees_on_random_streams() -> None:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not installed (./dev.sh test installs it with apt-get)")
    rng = random.Random(11)
    pieces = [b"data:", b"data: ", b"\n", b"\r", b"\r\n", b":", b" x", b"\xc3\xa9", b"\xe2\x82",
              b"\xac", b"event: e", b"[DONE]", bytes([rng.randrange(256)])]
    rows, expected = [], []
    for _ in range(300):
        data = b"".join(rng.choice(pieces) for _ in range(rng.randrange(40)))
        cuts = [rng.randrange(len(data) + 1) for _ in range(rng.randrange(10))]
        rows.append([list(chunk) for chunk in split(data, cuts)])
        expected.append(parse([data]))
    done = subprocess.run([node, str(Path(__file__).parent / "sse_runner.mjs")],
                          input=json.dumps(rows), capture_output=True, text=True, timeout=60,
                          check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout) == expected
