"""Seeded draws and templates (evaluator/draw.py): the generator against published splitmix64
values, pinned draws (the same on every Python: tests/test_pyodide_engine.py runs them in
Pyodide), stream independence, uniformity, the spec errors a suite author gets, and
``{{name}}`` rendering.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from typing import Any

import pytest

from evaluator.draw import MAX_PICK, MAX_VARS, Rng, check_spec, draw_vars, render, template_names
from evaluator.expr import ExprError

# The peer's own examples, as one generate.vars mapping.
PEER_SPEC: dict[str, Any] = {
    "a": {"int": {"min": 2, "max": 12}},
    "b": {"int": {"min": 2, "max": 12}},
    "product": {"expr": "a * b"},
    "pair": {"expr": "b + '-' + a"},
    "word": {"pick": ["strawberry", "bookkeeper", "banana"]},
    "letter": {"pick": ["r", "e", "a"]},
    "n": {"expr": "counti(word, letter)"},
    "status": {"pick": ["shipped", "pending"]},
    "shout": {"expr": "status.toUpperCase()"},
    "idx": {"int": {"min": 0, "max": 5}},
    "digit": {"expr": "[9, 8, 7, 6, 5, 4][idx]"},
    "ball": {"int": {"min": 5, "max": 95, "step": 5}},
    "diffCents": {"int": {"min": 100, "max": 300, "step": 10}},
    "price": {"expr": "((2 * ball + diffCents) / 100).toFixed(2)"},
    "half": {"expr": "a / 2"},
}
# Pinned: these draws must never change (a record's seed must reproduce its prompts).
PINNED = {
    0: {"a": 9, "b": 10, "product": 90, "pair": "10-9", "word": "banana", "letter": "a",
        "n": 3, "status": "shipped", "shout": "SHIPPED", "idx": 4, "digit": 5, "ball": 70,
        "diffCents": 120, "price": "2.60", "half": 4.5},
    42: {"a": 2, "b": 9, "product": 18, "pair": "9-2", "word": "bookkeeper", "letter": "e",
         "n": 3, "status": "shipped", "shout": "SHIPPED", "idx": 3, "digit": 6, "ball": 20,
         "diffCents": 140, "price": "1.80", "half": 1},
}


def test_splitmix64_matches_the_published_sequence() -> None:
    rng = Rng(1234567)  # the reference C code's values for this seed
    assert [rng.next64() for _ in range(5)] == [
        6457827717110365317, 3203168211198807973, 9817491932198370423,
        4593380528125082431, 16408922859458223821]
    assert Rng(0).next64() == 0xE220A8397B1DCDAF
    assert Rng(-1).state == (1 << 64) - 1


@pytest.mark.parametrize("seed", sorted(PINNED))
def test_draws_are_pinned(seed: int) -> None:
    assert draw_vars(PEER_SPEC, seed, "case-1") == PINNED[seed]


def test_the_spec_of_the_peer_examples_is_valid() -> None:
    assert check_spec(PEER_SPEC) is None


def test_a_draw_depends_on_the_seed_the_case_and_the_variable_only() -> None:
    spec = {"x": {"int": {"min": 0, "max": 10 ** 9}}}
    first = draw_vars(spec, 7, "alpha")
    assert draw_vars(spec, 7, "alpha") == first
    assert draw_vars(spec, 8, "alpha") != first
    assert draw_vars(spec, 7, "beta") != first
    # a variable added before it does not move it
    assert draw_vars({"w": {"pick": [1, 2]}, **spec}, 7, "alpha")["x"] == first["x"]
    # the same name in another case draws on its own
    assert Rng.keyed(7, "alpha", "x").next64() != Rng.keyed(7, "beta", "x").next64()


def test_keyed_streams_are_sha256_of_the_documented_material() -> None:
    material = "localrate.draw/1\0" + "42\0case-1\0a"
    state = int.from_bytes(hashlib.sha256(material.encode()).digest()[:8], "big")
    assert Rng.keyed(42, "case-1", "a").state == state


@pytest.mark.parametrize("seed", ["1", 1.0, True, None])
def test_a_seed_is_a_whole_number(seed: Any) -> None:
    with pytest.raises(TypeError, match="^a seed must be a whole number, got "):
        draw_vars({"x": {"pick": [1]}}, seed, "c")


def test_choices_are_uniform() -> None:
    rng = Rng(99)
    counts = Counter(rng.int_between(1, 6) for _ in range(60_000))
    assert sorted(counts) == [1, 2, 3, 4, 5, 6]
    assert all(9_500 < c < 10_500 for c in counts.values()), counts
    big = Rng(5)
    # n close to 2**64: rejection keeps every value possible and in range
    values = [big.below((1 << 64) - 1) for _ in range(1000)]
    assert all(0 <= v < (1 << 64) - 1 for v in values)


def test_int_between_keeps_to_its_steps_and_bounds() -> None:
    rng = Rng(3)
    seen = {rng.int_between(5, 95, 5) for _ in range(2000)}
    assert seen == set(range(5, 96, 5))
    assert {rng.int_between(0, 10, 4) for _ in range(500)} == {0, 4, 8}
    assert {rng.int_between(-3, -3) for _ in range(10)} == {-3}
    assert {rng.pick(["x", "y"]) for _ in range(100)} == {"x", "y"}
    with pytest.raises(ValueError, match="no value between 3 and 2"):
        rng.int_between(3, 2)
    with pytest.raises(ValueError, match="in steps of 0"):
        rng.int_between(1, 2, 0)


def test_values_are_what_javascript_holds() -> None:
    spec = {"f": {"pick": [2.0]}, "z": {"expr": "-0"}, "t": {"expr": "0.1 + 0.2"},
            "big": {"expr": "2 * 9007199254740992"}, "l": {"pick": [[1, "a", True]]},
            "yes": {"expr": "t > 0.3"}}
    values = draw_vars(spec, 1, "c")
    assert values == {"f": 2, "z": 0, "t": 0.30000000000000004, "big": 1.8014398509481984e16,
                      "l": [1, "a", True], "yes": True}
    assert [type(values[k]) for k in ("f", "z", "t", "big")] == [int, int, float, float]


SPEC_ERRORS: list[tuple[Any, str]] = [
    ([1], "vars: expected a mapping of names to specs, got list"),
    ({f"v{i}": {"pick": [1]} for i in range(MAX_VARS + 1)},
     f"vars: more than {MAX_VARS} variables"),
    ({"1x": {"pick": [1]}}, ("vars.1x: not a valid name (letters, digits, _ and $, not "
     "starting with a digit, at most 64; not true, false or Math)")),
    ({"Math": {"pick": [1]}}, ("vars.Math: not a valid name (letters, digits, _ and $, not "
     "starting with a digit, at most 64; not true, false or Math)")),
    ({"x": 3}, ("vars.x: expected a mapping such as {pick: [...]}, {int: {min, max}} or "
     "{expr: '...'}")),
    ({"x": {"choose": [1, 2]}}, "vars.x: unknown var kind 'choose' (expected pick, int or expr)"),
    ({"x": {}}, "vars.x: no var kind (expected pick, int or expr)"),
    ({"x": {"pick": [1], "int": {"min": 1, "max": 2}}},
     "vars.x: has both 'pick' and 'int'; give one kind"),
    ({"x": {"pick": []}}, "vars.x.pick: empty list"),
    ({"x": {"pick": "abc"}}, "vars.x.pick: expected a list of values, got str"),
    ({"x": {"pick": list(range(MAX_PICK + 1))}}, f"vars.x.pick: more than {MAX_PICK:,} values"),
    ({"x": {"pick": ["a", {"b": 1}]}},
     "vars.x.pick[1]: expected a string, number, true/false or a list of them, got dict"),
    ({"x": {"pick": [None]}},
     "vars.x.pick[0]: expected a string, number, true/false or a list of them, got NoneType"),
    ({"x": {"pick": [float("nan")]}}, "vars.x.pick[0]: a number must be finite"),
    ({"x": {"pick": [2 ** 60]}},
     f"vars.x.pick[0]: {2 ** 60} is beyond +-9007199254740991 (2**53 - 1)"),
    ({"x": {"pick": ["y" * 10_001]}}, "vars.x.pick[0]: longer than 10,000 characters"),
    ({"x": {"int": [1, 2]}}, "vars.x.int: expected a mapping {min, max, step?}, got list"),
    ({"x": {"int": {"max": 2}}}, "vars.x.int.min: missing"),
    ({"x": {"int": {"min": 1}}}, "vars.x.int.max: missing"),
    ({"x": {"int": {"min": 5, "max": 3}}}, "vars.x.int: min 5 is greater than max 3"),
    ({"x": {"int": {"min": 1.5, "max": 3}}}, "vars.x.int.min: expected a whole number, got 1.5"),
    ({"x": {"int": {"min": "1", "max": 3}}}, "vars.x.int.min: expected a whole number, got '1'"),
    ({"x": {"int": {"min": True, "max": 3}}},
     "vars.x.int.min: expected a whole number, got True"),
    ({"x": {"int": {"min": 0, "max": 2 ** 53}}},
     "vars.x.int.max: 9007199254740992 is beyond +-9007199254740991 (2**53 - 1)"),
    ({"x": {"int": {"min": 1, "max": 3, "step": 0}}}, "vars.x.int.step: must be 1 or more, got 0"),
    ({"x": {"int": {"min": 1, "max": 3, "step": 0.5}}},
     "vars.x.int.step: expected a whole number, got 0.5"),
    ({"x": {"expr": 5}}, "vars.x.expr: expected an expression as a string, got int"),
    ({"x": {"expr": "1 +"}}, "vars.x.expr: unexpected end of expression at column 4"),
    ({"x": {"expr": "eval('1')"}}, "vars.x.expr: 'eval' is not a helper at column 1"),
    ({"x": {"expr": "y * 2"}}, "vars.x.expr: unknown name 'y' at column 1"),
    ({"x": {"expr": "1 + y"}, "y": {"pick": [1]}},
     "vars.x.expr: 'y' is defined after 'x' at column 5; an expr can use only the vars above it"),
    ({"x": {"expr": "x + 1"}}, "vars.x.expr: 'x' uses itself at column 1"),
    ({"w": {"pick": ["pear"]}, "x": {"expr": "w.toFixed(2)"}},
     "vars.x.expr: toFixed needs a number, got string at column 3"),
    ({"x": {"expr": "0 / 0"}}, "vars.x.expr: the result is NaN, not a number"),
    ({"n": {"int": {"min": 5, "max": 5}}, "x": {"expr": "[1, 2][n]"}},
     "vars.x.expr: index 5 is outside the array of length 2 at column 7"),
]


@pytest.mark.parametrize(("spec", "message"), SPEC_ERRORS, ids=[m[:50] for _, m in SPEC_ERRORS])
def test_spec_errors_name_the_variable_and_field(spec: Any, message: str) -> None:
    assert check_spec(spec) == message
    with pytest.raises(ExprError) as caught:
        draw_vars(spec, 0, "case")
    assert str(caught.value) == message


def test_unknown_keys_beside_a_kind_are_ignored() -> None:
    assert check_spec({"x": {"pick": [1, 2], "note": "why"}}) is None


def test_templates() -> None:
    values = {"a": 3, "b": "x", "t": 0.30000000000000004, "l": [1, 2], "f": False,
              "loop": "{{a}}"}
    assert template_names("{{a}} and {{ b }} but not {{a b}} or {c}") == {"a", "b"}
    assert render("{{a}}*{{ b }}={{t}} {{l}} {{f}} {{loop}} {{a b}}", values) == \
        "3*x=0.30000000000000004 1,2 false {{a}} {{a b}}"
    assert render("no braces", {}) == "no braces"
    with pytest.raises(ExprError, match=r"^\{\{missing\}\} is not defined$"):
        render("{{missing}}", values)
