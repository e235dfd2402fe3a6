"""Context-sweep material (evaluator/haystack.py): seeded haystacks of the asked size with the
needle at its depth, and the token estimate, measured against a real tokenizer's counts.
"""

from __future__ import annotations

import hashlib
import re
import time

import pytest

from evaluator.haystack import MAX_TOKENS, estimate_tokens, haystack

NEEDLE = "The code is 4812."

# Real counts from SmolLM2's tokenizer (the demo model's tokenizer.json, 49,152 entries, no
# special tokens), counted offline with the `tokenizers` package when this table was made.
SAMPLES = {
    "english": (
        "Local models have become good enough for everyday work, but choosing one is still "
        "guesswork. A rating page that runs the same graded suite against every model on your "
        "machine turns that guess into a table: which model follows instructions, which one "
        "calls tools correctly, and how fast each of them answers on your own hardware."),
    "markdown": (
        "## Suites\n\nA suite reads only its own folder. Every `input.file` and `image.file` "
        "must be a relative path inside it: no absolute path, drive letter, `..`, backslash, "
        "NUL or empty part.\n\n- **Sizes:** `suite.yaml` 1 MB, a prompt file 2 MB.\n"
        "- **YAML:** a safe loader, aliases refused, at most 64 levels deep.\n"),
    "python": (
        "def below(self, n: int) -> int:\n"
        "    \"\"\"A uniform integer in [0, n).\"\"\"\n"
        "    limit = ((1 << 64) // n) * n\n"
        "    while True:\n"
        "        x = self.next64()\n"
        "        if x < limit:\n"
        "            return x % n\n"),
    "json": (
        '{"id": "json-shape", "status": "pass", "score": 1.0, "weight": 1, '
        '"ttft_ms": 310.0, "total_ms": 2900.0, "tok_in": 85, "tok_out": 42, '
        '"tok_s": 15.1, "tokens_source": "usage", "tool_calls": []}'),
    "yaml": (
        "cases:\n  - id: echo-instruction\n    input: 'Reply with exactly: BENCH_TOKEN.'\n"
        "    expect: {kind: contains, value: BENCH_TOKEN}\n    weight: 1\n"
        "    tags: [instruction-following]\n"),
    "digits": "Invoice 20481 totals 7,392.55 EUR; due 2026-11-24, ref 88130042.",
    "chinese": "机器学习是人工智能的一个分支。它使计算机能够从数据中学习,而无需明确编程。",
    "russian": "Машинное обучение — это раздел искусственного интеллекта, изучающий методы.",
    "german": "Die Straßenbahn fährt über die Brücke, während die Kinder fröhlich spielen.",
}
SMOLLM2_COUNTS = {"english": 63, "markdown": 98, "python": 64, "json": 98, "yaml": 54,
                  "digits": 44, "chinese": 63, "russian": 59, "german": 33}
ESTIMATES = {"english": 62, "markdown": 92, "python": 66, "json": 106, "yaml": 43,
             "digits": 39, "chinese": 73, "russian": 68, "german": 24}
# the same tokenizer on haystack(2000, 1, NEEDLE, 50): 2,156 tokens, estimated 1,994
HAYSTACK_2000_SHA256 = "d300304fd90a47f8b8ee2526dfd10a05d793d5f0e32e753c14882f67b1dc48aa"


@pytest.mark.parametrize(("text", "tokens"), [
    ("", 0), ("hello world", 2), ("Hello, world!", 4), ("a,b", 3), ("12345", 5),
    ("snake_case_name", 5), ("  \n\t ", 0), ("\u00e9", 1), ("caf\u00e9", 2), ("\u4e2d\u6587", 4),
    ("\U0001F600", 2), ("\u041f\u0440\u0438\u0432\u0435\u0442", 6)])
def test_the_estimate_rule(text: str, tokens: int) -> None:
    assert estimate_tokens(text) == tokens


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_the_estimate_is_near_a_real_tokenizer(name: str) -> None:
    estimate, real = estimate_tokens(SAMPLES[name]), SMOLLM2_COUNTS[name]
    assert estimate == ESTIMATES[name]
    assert 0.7 <= estimate / real <= 1.2, (name, estimate, real)


def test_haystacks_are_pinned() -> None:
    text = haystack(2000, 1, NEEDLE, 50)
    assert hashlib.sha256(text.encode("utf-8")).hexdigest() == HAYSTACK_2000_SHA256
    assert haystack(2000, 1, NEEDLE, 50) == text
    assert haystack(2000, 2, NEEDLE, 50) != text


@pytest.mark.parametrize("size", [40, 1000, 4096, 32_768, 131_072])
def test_a_haystack_has_about_its_size(size: int) -> None:
    tokens = estimate_tokens(haystack(size, 3, NEEDLE, 50))
    assert size - 25 <= tokens <= size


@pytest.mark.parametrize("depth", [0, 10, 25, 50, 75, 90, 100])
def test_the_needle_is_once_at_its_depth(depth: float) -> None:
    text = haystack(8000, 5, NEEDLE, depth)
    assert text.count(NEEDLE) == 1
    at = text.index(NEEDLE) / (len(text) - len(NEEDLE))
    assert abs(at - depth / 100) < 0.01, at
    if depth == 0:
        assert text.startswith(NEEDLE + " ")
    if depth == 100:
        assert text.endswith(NEEDLE)


def test_the_filler_has_no_digits_and_grows_by_extension() -> None:
    small, large = haystack(1000, 9, "", 0), haystack(5000, 9, "", 0)
    assert not re.search(r"[0-9]", large)
    assert large.startswith(small)
    assert small == small.strip() and "\n\n" in large


def test_a_needle_larger_than_the_size_is_all_there_is() -> None:
    assert haystack(2, 1, NEEDLE, 50) == NEEDLE


def test_128k_tokens_generate_quickly() -> None:
    started = time.perf_counter()
    text = haystack(131_072, 11, NEEDLE, 50)
    assert time.perf_counter() - started < 5  # "finishes": about 0.05 s on a small machine
    assert len(text) > 400_000


@pytest.mark.parametrize(("args", "message"), [
    ((0, 1, "", 50), "size must be a whole number from 1 to 1,048,576, got 0"),
    ((MAX_TOKENS + 1, 1, "", 50), "size must be a whole number from 1 to 1,048,576, got 1048577"),
    ((True, 1, "", 50), "size must be a whole number from 1 to 1,048,576, got True"),
    ((100, 1, "", -1), "depthPercent must be a number from 0 to 100, got -1"),
    ((100, 1, "", 100.5), "depthPercent must be a number from 0 to 100, got 100.5"),
    ((100, 1, "", float("nan")), "depthPercent must be a number from 0 to 100, got nan"),
])
def test_bad_arguments(args: tuple[int, int, str, float], message: str) -> None:
    with pytest.raises(ValueError) as caught:
        haystack(*args)
    assert str(caught.value) == message
