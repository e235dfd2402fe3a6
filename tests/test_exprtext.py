"""The suite expressions' own helpers (evaluator/exprtext.py), against literal values."""

from __future__ import annotations

import pytest

from evaluator import expr
from evaluator.jsvalue import ExprError


def ev(source: str, **values: object) -> object:
    return expr.evaluate(expr.parse(source), values)


@pytest.mark.parametrize(("source", "values", "want"), [
    ("reverse(w)", {"w": "strawberry"}, "yrrebwarts"),
    ("reverse(w)", {"w": "été"}, "été"),
    ("caesar(w, 3)", {"w": "Hello, World!"}, "Khoor, Zruog!"),
    ("caesar(w, -3)", {"w": "Khoor"}, "Hello"),
    ("caesar(w, 29)", {"w": "xyz"}, "abc"),
    ("atbash(w)", {"w": "Wizard"}, "Draziw"),
    ("b64(w)", {"w": "Man"}, "TWFu"),
    ("b64(w)", {"w": "hello"}, "aGVsbG8="),
    ("b64(w)", {"w": "é"}, "w6k="),
    ("gcd(a, b)", {"a": 84.0, "b": 36.0}, 12.0),
    ("gcd(a, 0)", {"a": 7.0}, 7.0),
    ("join(sort([10, 9, 100]), ',')", {}, "9,10,100"),
    ("join(sort(['b', 'B', 'a']), '')", {}, "Bab"),
    ("sum([1, 2, 3.5])", {}, 6.5),
    ("len(reverse(w))", {"w": "abc"}, 3.0),
])
def test_helpers(source: str, values: dict[str, object], want: object) -> None:
    assert ev(source, **values) == want


@pytest.mark.parametrize(("source", "message"), [
    ("gcd(1.5, 2)", "gcd needs whole numbers"),
    ("sort([1, 'a'])", "sort needs an array of numbers or an array of strings"),
    ("sum(5)", "sum needs an array"),
    ("reverse()", "reverse"),
])
def test_bad_arguments_are_expression_errors(source: str, message: str) -> None:
    with pytest.raises(ExprError, match=message):
        ev(source)
