"""Suite expressions (evaluator/expr.py): a table of expressions whose expected text real
JavaScript printed, checked again against Node in this run (the independent reference),
plus the errors a hostile or mistaken suite gets. The same table runs inside Pyodide
(tests/test_pyodide_engine.py).
"""

from __future__ import annotations

import builtins
import json
import shutil
import subprocess
from typing import Any

import pytest

from evaluator.expr import ExprError, evaluate, names, parse, to_text
from evaluator.jsvalue import MAX_TEXT, number_text, to_fixed

# (expression, variables, what JavaScript's String(result) gives); expected values were
# printed by Node 20, and test_node_agrees_with_the_table checks them again.
ROWS: list[tuple[str, dict[str, Any], str]] = [
    # the peer's own examples
    ("a * b", {"a": 6, "b": 7}, "42"),
    ("b + '-' + a", {"a": 3, "b": 12}, "12-3"),
    ("counti(word, letter)", {"word": "Strawberry", "letter": "R"}, "3"),
    ("status.toUpperCase()", {"status": "shipped"}, "SHIPPED"),
    ("[9, 8, 7, 6, 5, 4][idx]", {"idx": 3}, "6"),
    ("((2 * ball + diffCents) / 100).toFixed(2)", {"ball": 5, "diffCents": 110}, "1.20"),
    # numbers as JS prints them
    ("0.1 + 0.2", {}, "0.30000000000000004"),
    ("1 / 3", {}, "0.3333333333333333"),
    ("100 / 3", {}, "33.333333333333336"),
    ("10 / 4", {}, "2.5"),
    ("6 / 3", {}, "2"),
    ("1e21", {}, "1e+21"),
    ("1e21 - 1e5", {}, "999999999999999900000"),
    ("123456789012345680000", {}, "123456789012345680000"),
    ("2e-7", {}, "2e-7"),
    ("0.000001", {}, "0.000001"),
    ("0.0000001", {}, "1e-7"),
    ("-1.5e-10", {}, "-1.5e-10"),
    ("1.7976931348623157e308 * 10", {}, "Infinity"),
    ("9007199254740993", {}, "9007199254740992"),
    ("2 * 4503599627370496", {}, "9007199254740992"),
    ("1 / 0", {}, "Infinity"),
    ("-1 / 0", {}, "-Infinity"),
    ("0 / 0", {}, "NaN"),
    ("1 / (0 * -1)", {}, "-Infinity"),
    ("-0", {}, "0"),
    ("5 % 3", {}, "2"),
    ("-5 % 3", {}, "-2"),
    ("5.5 % 2", {}, "1.5"),
    ("5 % 0", {}, "NaN"),
    (".5 + 1.", {}, "1.5"),
    ("1.5e3", {}, "1500"),
    ("x * 1.1", {"x": 3}, "3.3000000000000003"),
    ("x / y", {"x": 22, "y": 7}, "3.142857142857143"),
    ("n * n * n * n * n", {"n": 1234}, "2861381721051424"),
    ("1e16 + 1", {}, "10000000000000000"),
    ("-(3)", {}, "-3"),
    ("- -3", {}, "3"),
    ("+'  12  '", {}, "12"),
    ("+'0x1f'", {}, "31"),
    ("+'1e3'", {}, "1000"),
    ("+'abc'", {}, "NaN"),
    ("+''", {}, "0"),
    ("+true + +false", {}, "1"),
    ("'3' * '4'", {}, "12"),
    ("'7' - 2", {}, "5"),
    ("[5] * 2", {}, "10"),
    # toFixed
    ("(1.005).toFixed(2)", {}, "1.00"),
    ("(2.5).toFixed(0)", {}, "3"),
    ("(-2.5).toFixed(0)", {}, "-3"),
    ("(1.45).toFixed(1)", {}, "1.4"),
    ("(1.255).toFixed(2)", {}, "1.25"),
    ("(8.345).toFixed(2)", {}, "8.35"),
    ("(10.235).toFixed(2)", {}, "10.23"),
    ("(0.5).toFixed()", {}, "1"),
    ("(1.5).toFixed()", {}, "2"),
    ("(-0.0001).toFixed(2)", {}, "-0.00"),
    ("(0).toFixed(3)", {}, "0.000"),
    ("(123.456).toFixed(10)", {}, "123.4560000000"),
    ("(0.1).toFixed(20)", {}, "0.10000000000000000555"),
    ("(1e21).toFixed(2)", {}, "1e+21"),
    ("(1e20).toFixed(2)", {}, "100000000000000000000.00"),
    ("(12.5).toFixed(2.9)", {}, "12.50"),
    ("(x / 3).toFixed(4)", {"x": 10}, "3.3333"),
    ("price.toFixed(2)", {"price": 19.999}, "20.00"),
    # Math helpers
    ("round(2.5)", {}, "3"),
    ("round(-2.5)", {}, "-2"),
    ("round(0.49999999999999994)", {}, "0"),
    ("Math.round(-0.5)", {}, "0"),
    ("1 / round(-0.4)", {}, "-Infinity"),
    ("round(1.4999)", {}, "1"),
    ("Math.floor(-2.5)", {}, "-3"),
    ("floor(7 / 2)", {}, "3"),
    ("ceil(7 / 2)", {}, "4"),
    ("1 / ceil(-0.5)", {}, "-Infinity"),
    ("abs(-4.25)", {}, "4.25"),
    ("Math.abs('-3')", {}, "3"),
    ("min(3, 1, 2)", {}, "1"),
    ("Math.max(1, '5', 2)", {}, "5"),
    ("max(1, 0 / 0)", {}, "NaN"),
    ("1 / max(-0, 0)", {}, "Infinity"),
    ("1 / min(0, -0)", {}, "-Infinity"),
    ("max(x, y) - min(x, y)", {"x": 4, "y": 11}, "7"),
    # strings
    ("'a' + 1 + 2", {}, "a12"),
    ("1 + 2 + 'a'", {}, "3a"),
    ("'x' + [1, 2]", {}, "x1,2"),
    ("[1, 2] + [3]", {}, "1,23"),
    ("'n' + true", {}, "ntrue"),
    ("true + 1", {}, "2"),
    ("\"double\" + 'single'", {}, "doublesingle"),
    ("'it\\'s'", {}, "it's"),
    ("'\\u00e9t\\u00e9'", {}, "\u00e9t\u00e9"),
    ("'\\x41\\x42'", {}, "AB"),
    ("'a\\tb\\\\c'", {}, "a\tb\\c"),
    ("'\\u{1F600}'.length", {}, "2"),
    ("'\\uD83D\\uDE00' === '\\u{1F600}'", {}, "true"),
    ("'\U0001F600'.length", {}, "2"),
    ("'h\u00e9llo'.length", {}, "5"),
    ("'abc'[1]", {}, "b"),
    ("word[0].toUpperCase() + word", {"word": "pear"}, "Ppear"),
    ("'stra\u00dfe'.toUpperCase()", {}, "STRASSE"),
    ("'\u0130'.toLowerCase().length", {}, "2"),
    ("'\u039f\u0394\u039f\u03a3'.toLowerCase()", {}, "\u03bf\u03b4\u03bf\u03c2"),
    ("'MiXeD'.toLowerCase()", {}, "mixed"),
    ("len('abc') + len([1, 2])", {}, "5"),
    ("len(word)", {"word": "\U0001F600x"}, "3"),
    ("count('banana', 'an')", {}, "2"),
    ("count('aaaa', 'aa')", {}, "2"),
    ("count('abc', '')", {}, "0"),
    ("count(12121, 1)", {}, "3"),
    ("counti('Mississippi', 'SS')", {}, "2"),
    ("counti(word, letter) + ' ' + letter", {"word": "Bookkeeper", "letter": "e"}, "3 e"),
    ("[1, [2, 3]].length", {}, "2"),
    ("[[1, 2], [3]][0][1]", {}, "2"),
    ("[1, [2, [3, 4]], 'x', true]", {}, "1,2,3,4,x,true"),
    ("[]", {}, ""),
    ("[1, 2, ]", {}, "1,2"),
    ("items[i] + '!'", {"items": ["red", "green"], "i": 1}, "green!"),
    ("items.length", {"items": ["red", "green", "blue"]}, "3"),
    ("items", {"items": ["red", 2, False]}, "red,2,false"),
    # comparisons and logic
    ("'10' < '9'", {}, "true"),
    ("10 < 9", {}, "false"),
    ("'10' < 9", {}, "false"),
    ("'b' > 'a'", {}, "true"),
    ("'\uffff' < '\U0001F600'", {}, "false"),
    ("1 == '1'", {}, "true"),
    ("1 === '1'", {}, "false"),
    ("1 !== '1'", {}, "true"),
    ("true == 1", {}, "true"),
    ("'' == 0", {}, "true"),
    ("0 / 0 == 0 / 0", {}, "false"),
    ("0 / 0 < 1", {}, "false"),
    ("0 / 0 >= 1", {}, "false"),
    ("2 <= 2", {}, "true"),
    ("3 >= 4", {}, "false"),
    ("-0 === 0", {}, "true"),
    ("'' || 'default'", {}, "default"),
    ("0 && 1", {}, "0"),
    ("'a' && 'b'", {}, "b"),
    ("!''", {}, "true"),
    ("!!'x'", {}, "true"),
    ("!0 + 1", {}, "2"),
    ("1 < 2 === true", {}, "true"),
    ("1 + 1 == 2 && 3 > 2", {}, "true"),
    ("n % 2 === 0 ? 'even' : 'odd'", {"n": 7}, "odd"),
    ("n > 10 ? 'big' : n > 5 ? 'medium' : 'small'", {"n": 7}, "medium"),
    ("flag ? 1 : 2", {"flag": False}, "2"),
    # precedence
    ("1 + 2 * 3", {}, "7"),
    ("(1 + 2) * 3", {}, "9"),
    ("-2 * -3", {}, "6"),
    ("2 - -2", {}, "4"),
    ("7 % 4 * 2", {}, "6"),
    ("2 * 3 % 4", {}, "2"),
    ("10 - 2 - 3", {}, "5"),
    ("64 / 4 / 2", {}, "8"),
    ("-x.length", {"x": "abcd"}, "-4"),
    ("-(2).toFixed(1)", {}, "-2"),
]

# The helpers as the peer's JavaScript defines them; every row is evaluated by real JS.
NODE_REFERENCE = r"""
const rows = JSON.parse(require("fs").readFileSync(0, "utf8"));
const count = (s, sub) => {
  s = String(s); sub = String(sub);
  return sub === "" ? 0 : s.split(sub).length - 1;
};
const counti = (s, sub) => count(String(s).toLowerCase(), String(sub).toLowerCase());
const len = (x) => x.length;
const { abs, floor, ceil, round, min, max } = Math;
const helpers = { count, counti, len, abs, floor, ceil, round, min, max };
const out = rows.map(([expr, vars]) => {
  const names = [...Object.keys(helpers), ...Object.keys(vars)];
  const values = [...Object.values(helpers), ...Object.values(vars)];
  return String(new Function(...names, `"use strict"; return (${expr});`)(...values));
});
process.stdout.write(JSON.stringify(out));
"""

LONG = "x" * 6000
NESTED_17: list[Any] = [1]
for _ in range(16):
    NESTED_17 = [NESTED_17]
# (expression, variables, the ExprError message)
ERRORS: list[tuple[str, dict[str, Any], str]] = [
    ("foo + 1", {}, "unknown name 'foo' at column 1"),
    ("eval('1')", {}, "'eval' is not a helper at column 1"),
    ("require('fs')", {}, "'require' is not a helper at column 1"),
    ("Math.sqrt(4)", {}, "'Math.sqrt' is not a helper at column 6"),
    ("Math.PI", {}, "'Math.PI' is not a helper at column 6"),
    ("Math.floor", {}, "expected '(' but found end of expression at column 11"),
    ("s.constructor", {"s": "a"}, ("'.constructor' is not supported (only .length, "
     ".toFixed(), .toUpperCase(), .toLowerCase()) at column 3")),
    ("s.split(',')", {"s": "a"}, ("'.split' is not supported (only .length, .toFixed(), "
     ".toUpperCase(), .toLowerCase()) at column 3")),
    ("s.toUpperCase", {"s": "a"}, "'.toUpperCase' must be called at column 3"),
    ("s.length()", {"s": "a"}, "'.length' is not a method at column 3"),
    ("s.toUpperCase(1)", {"s": "a"}, "toUpperCase takes 0 arguments, got 1 at column 3"),
    ("(a)(1)", {"a": 1}, "only helpers can be called at column 4"),
    ("1 +", {}, "unexpected end of expression at column 4"),
    ("(1", {}, "expected ')' but found end of expression at column 3"),
    ("1 2", {}, "unexpected '2' at column 3"),
    ("a = 1", {}, "'=' is not supported (compare with ===) at column 3"),
    ("2 ** 3", {}, "'**' is not supported at column 3"),
    ("a++", {}, "'++' is not supported at column 2"),
    ("x => x", {}, "'=>' is not supported at column 3"),
    ("1; 2", {}, "unexpected character ';' at column 2"),
    ("`t`", {}, "unexpected character '`' at column 1"),
    ("/a/", {}, "unexpected '/' at column 1"),
    ("'abc", {}, "unterminated string at column 1"),
    ("'\\uD83D'", {}, "a string holds half of a UTF-16 pair at column 1"),
    ("'\\u12'", {}, "bad escape at column 2"),
    ("'\\1'", {}, "octal escapes are not supported at column 2"),
    ("007", {}, "a number must not start with 0 at column 1"),
    ("3in", {}, "bad number at column 1"),
    ("1.toFixed(2)", {}, "bad number at column 1"),
    ("[1,,2]", {}, "unexpected ',' at column 4"),
    ("", {}, "empty expression"),
    ("   ", {}, "empty expression"),
    ("1" + "+1" * 250, {}, "expression longer than 500 characters"),
    ("(" * 40 + "1" + ")" * 40, {}, "nested deeper than 32 levels at column 33"),
    ("- " * 40 + "1", {}, "nested deeper than 32 levels at column 65"),
    ("[" * 40 + "]" * 40, {}, "nested deeper than 32 levels at column 33"),
    ("floor(1, 2)", {}, "floor takes 1 argument, got 2 at column 1"),
    ("count('a')", {}, "count takes 2 arguments, got 1 at column 1"),
    ("max()", {}, "max takes at least 1 argument, got 0 at column 1"),
    ("(1).toFixed(1, 2)", {}, "toFixed takes 0 to 1 arguments, got 2 at column 5"),
    ("[1, 2][5]", {}, "index 5 is outside the array of length 2 at column 7"),
    ("[1, 2][-1]", {}, "index -1 is outside the array of length 2 at column 7"),
    ("[1, 2][0.5]", {}, "index 0.5 is not a whole number at column 7"),
    ("[1, 2]['0']", {}, "an index must be a number, got string at column 7"),
    ("(5)[0]", {}, "cannot index a number at column 4"),
    ("'\U0001F600'[0]", {}, "index 0 falls inside a character of two UTF-16 units at column 4"),
    ("s.toFixed(2)", {"s": "1.5"}, "toFixed needs a number, got string at column 3"),
    ("(1).toFixed(101)", {}, "toFixed digits must be between 0 and 100, got 101 at column 5"),
    ("(1).toFixed(-1)", {}, "toFixed digits must be between 0 and 100, got -1 at column 5"),
    ("n.toUpperCase()", {"n": 5}, "toUpperCase needs a string, got number at column 3"),
    ("n.length", {"n": True}, "'.length' needs a string or an array, got boolean at column 3"),
    ("len(5)", {}, "len needs a string or an array, got number at column 1"),
    ("[1] == [1]", {}, "'==' cannot compare arrays at column 5"),
    ("a < [2]", {"a": 1}, "'<' cannot compare arrays at column 3"),
    ("s + s", {"s": LONG}, f"a string result is longer than {MAX_TEXT:,} characters at column 3"),
    ("s", {"s": "y" * (MAX_TEXT + 1)}, f"a string result is longer than {MAX_TEXT:,} characters"),
    ("s.toUpperCase()", {"s": "\u00df" * 6000},
     f"a string result is longer than {MAX_TEXT:,} characters"),
    ("[s, s]", {"s": LONG}, f"a string result is longer than {MAX_TEXT:,} characters"),
    ("x", {"x": {"a": 1}}, "unsupported value of type dict"),
    ("x", {"x": None}, "unsupported value of type NoneType"),
    ("x", {"x": NESTED_17}, "a value nests lists deeper than 16 levels"),
    ("x + 1", {"x": 10 ** 400}, f"the number {10 ** 400} is too large"),
]


@pytest.mark.parametrize(("source", "variables", "expected"), ROWS,
                         ids=[row[0][:40] for row in ROWS])
def test_python_prints_what_javascript_prints(source: str, variables: dict[str, Any],
                                              expected: str) -> None:
    assert to_text(evaluate(parse(source), variables)) == expected


def test_node_agrees_with_the_table() -> None:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not installed: it is the reference for this table")
    rows = [[source, variables] for source, variables, _ in ROWS]
    proc = subprocess.run([node, "-e", NODE_REFERENCE], input=json.dumps(rows),
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == [expected for _, _, expected in ROWS]


@pytest.mark.parametrize(("source", "variables", "message"), ERRORS,
                         ids=[row[0][:40] for row in ERRORS])
def test_errors_are_one_line_saying_what_and_where(source: str, variables: dict[str, Any],
                                                   message: str) -> None:
    with pytest.raises(ExprError) as caught:
        evaluate(parse(source), variables)
    assert str(caught.value) == message
    assert "\n" not in str(caught.value)


def test_parse_needs_a_string() -> None:
    with pytest.raises(ExprError, match="^expected an expression as a string, got int$"):
        parse(5)


def test_names_are_the_variables_read() -> None:
    expr = parse("a + b * count(c, 'x') + Math.max(d, 1) + [e][0].length + (f ? g : h)")
    assert names(expr) == {"a", "b", "c", "d", "e", "f", "g", "h"}
    assert names(parse("true && count('a', 'b') > len('x')")) == set()


def test_the_longest_accepted_expression_evaluates() -> None:
    source = "1" + "+1" * 249
    assert len(source) == 499
    assert to_text(evaluate(parse(source), {})) == "250"
    deep = "(" * 31 + "x" + ")" * 31
    assert evaluate(parse(deep), {"x": "ok"}) == "ok"
    # array literals 31 deep around a variable nested 16 deep still print
    assert to_text(evaluate(parse("[" * 31 + "x" + "]" * 31), {"x": NESTED_17[0]})) == "1"


def test_nothing_is_handed_to_eval(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("eval, exec or compile was called")

    for name in ("eval", "exec", "compile"):
        monkeypatch.setattr(builtins, name, refuse)
    assert to_text(evaluate(parse("((2 * ball + diffCents) / 100).toFixed(2)"),
                            {"ball": 5, "diffCents": 110})) == "1.20"


def test_values_keep_their_kind() -> None:
    assert evaluate(parse("a * b"), {"a": 6, "b": 7}) == 42.0
    assert evaluate(parse("[a, 'b', true]"), {"a": 1}) == [1.0, "b", True]
    assert evaluate(parse("1 < 2"), {}) is True


@pytest.mark.parametrize(("x", "text"), [
    (5e-324, "5e-324"), (1.7976931348623157e308, "1.7976931348623157e+308"),
    (-1e-7, "-1e-7"), (1e-6, "0.000001"), (123e18, "123000000000000000000"),
    (1.5e21, "1.5e+21"), (2.0 ** 53, "9007199254740992"), (-0.0, "0"), (0.1, "0.1")])
def test_number_text(x: float, text: str) -> None:
    assert number_text(x) == text


def test_to_fixed_on_extremes() -> None:
    assert to_fixed(5e-324, 100) == "0." + "0" * 100
    assert to_fixed(999999999999999999999.0, 2) == "1e+21"
    assert to_fixed(float("nan"), 2) == "NaN"
