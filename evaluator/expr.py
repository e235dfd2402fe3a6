"""Suite expressions: the small subset of JavaScript that ``generate`` vars are written in.

A whitelisting parser builds a tree; :func:`evaluate` walks it. Nothing is ever handed to
``eval``, and only the names below can be called. The grammar (JS precedence, lowest first)::

    expression  := or ( "?" expression ":" expression )?
    or          := and ( "||" and )*
    and         := equality ( "&&" equality )*
    equality    := relation ( ( "===" | "!==" | "==" | "!=" ) relation )*
    relation    := additive ( ( "<" | "<=" | ">" | ">=" ) additive )*
    additive    := term ( ( "+" | "-" ) term )*
    term        := unary ( ( "*" | "/" | "%" ) unary )*
    unary       := ( "-" | "+" | "!" ) unary | postfix
    postfix     := primary ( "[" expression "]" | ".length"
                           | "." ( "toFixed" | "toUpperCase" | "toLowerCase" ) "(" args ")" )*
    primary     := number | string | "true" | "false" | name
                 | helper "(" args ")" | "Math." mathhelper "(" args ")"
                 | "[" ( expression ( "," expression )* ","? )? "]" | "(" expression ")"
    helper      := "count" | "counti" | "len" | mathhelper
    mathhelper  := "abs" | "floor" | "ceil" | "round" | "min" | "max"

Numbers are decimal literals (``12``, ``1.5``, ``.5``, ``2e3``); strings take single or
double quotes with JS escapes (``\\n \\t \\' \\" \\\\ \\xHH \\uHHHH \\u{H..}``). Values
follow JS (see ``evaluator/jsvalue.py``). ``count(s, sub)`` counts non-overlapping
occurrences (0 for an empty ``sub``), ``counti`` the same ignoring case, ``len(x)`` is
``x.length``. Reading an array or string outside its bounds, or a property of the wrong
type, is an :class:`ExprError` (JS would give ``undefined`` or throw).

Bounds: :data:`MAX_CHARS` characters of source, :data:`MAX_DEPTH` levels of nesting, and
string results of at most ``jsvalue.MAX_TEXT`` characters.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from evaluator import exprtext
from evaluator import jsvalue as js
from evaluator.exprparse import (
    HELPERS,
    Array,
    Call,
    Cond,
    Index,
    Length,
    Lit,
    Method,
    Name,
    Node,
    Op,
    Unary,
    parse_tree,
)
from evaluator.jsvalue import ExprError, Value

__all__ = ["HELPERS", "Expr", "ExprError", "Value", "evaluate", "names", "parse", "to_text"]

to_text = js.to_text


@dataclass(frozen=True)
class Expr:
    """A parsed expression: its source text and its tree."""

    source: str
    root: Node


def parse(text: object) -> Expr:
    """Parse ``text``; raise ExprError (one line: what is wrong, at which column)."""
    if not isinstance(text, str):
        raise ExprError(f"expected an expression as a string, got {type(text).__name__}")
    return Expr(text, parse_tree(text))


def names(expr: Expr) -> set[str]:
    """The variables ``expr`` reads."""
    return {node.name for node in name_nodes(expr)}


def name_nodes(expr: Expr) -> list[Name]:
    """Every variable reference of ``expr``, in source order."""
    found: list[Name] = []
    stack: list[Node] = [expr.root]
    while stack:
        node = stack.pop()
        if isinstance(node, Name):
            found.append(node)
        stack.extend(_children(node))
    return sorted(found, key=lambda n: n.pos)


def _children(node: Node) -> list[Node]:
    if isinstance(node, Array):
        return list(node.items)
    if isinstance(node, Method):
        return [node.obj, *node.args]
    if isinstance(node, Call):
        return list(node.args)
    if isinstance(node, Unary):
        return [node.operand]
    if isinstance(node, Op):
        return [node.left, node.right]
    if isinstance(node, Cond):
        return [node.test, node.yes, node.no]
    if isinstance(node, Index):
        return [node.obj, node.index]
    if isinstance(node, Length):
        return [node.obj]
    return []


def evaluate(expr: Expr, variables: Mapping[str, object]) -> Value:
    """The value of ``expr`` with ``variables``; raise ExprError when it cannot be had."""
    value = _eval(expr.root, variables)
    if isinstance(value, str):
        js.capped(value)
    elif isinstance(value, list):
        js.capped(js.text_of(value))
    return value


def _at(node: Node) -> str:
    return f"at column {node.pos + 1}"


def _eval(node: Node, env: Mapping[str, object]) -> Value:
    if isinstance(node, Lit):
        return node.value
    if isinstance(node, Name):
        if node.name not in env:
            raise ExprError(f"unknown name '{node.name}' {_at(node)}")
        return js.to_value(env[node.name])
    if isinstance(node, Op):
        return _operator(node, env)
    if isinstance(node, Unary):
        operand = _eval(node.operand, env)
        if node.op == "!":
            return not js.truthy(operand)
        number = js.to_number(operand)
        return -number if node.op == "-" else number
    if isinstance(node, Cond):
        return _eval(node.yes if js.truthy(_eval(node.test, env)) else node.no, env)
    if isinstance(node, Array):
        items = [_eval(item, env) for item in node.items]
        js.capped(js.text_of(items))
        return items
    if isinstance(node, Index):
        return _index(node, _eval(node.obj, env), _eval(node.index, env))
    if isinstance(node, Length):
        obj = _eval(node.obj, env)
        if isinstance(obj, str):
            return float(js.utf16_len(obj))
        if isinstance(obj, list):
            return float(len(obj))
        raise ExprError(f"'.length' needs a string or an array, got {js.type_name(obj)} "
                        f"{_at(node)}")
    if isinstance(node, Method):
        return _method(node, _eval(node.obj, env), [_eval(a, env) for a in node.args])
    assert isinstance(node, Call)
    return _call(node, [_eval(a, env) for a in node.args])


def _operator(node: Op, env: Mapping[str, object]) -> Value:
    left = _eval(node.left, env)
    if node.op == "&&":
        return _eval(node.right, env) if js.truthy(left) else left
    if node.op == "||":
        return left if js.truthy(left) else _eval(node.right, env)
    right = _eval(node.right, env)
    try:
        if node.op in ("===", "!==", "==", "!="):
            return js.equal(node.op, left, right)
        if node.op in ("<", "<=", ">", ">="):
            return js.relation(node.op, left, right)
        return js.arithmetic(node.op, left, right)
    except ExprError as exc:
        raise ExprError(f"{exc} {_at(node)}") from None


def _index(node: Index, obj: Value, key: Value) -> Value:
    if not isinstance(obj, (list, str)):
        raise ExprError(f"cannot index a {js.type_name(obj)} {_at(node)}")
    if not isinstance(key, float) or isinstance(key, bool):
        raise ExprError(f"an index must be a number, got {js.type_name(key)} {_at(node)}")
    size = len(obj) if isinstance(obj, list) else js.utf16_len(obj)
    if not key.is_integer():
        raise ExprError(f"index {js.number_text(key)} is not a whole number {_at(node)}")
    if not 0 <= key < size:
        kind = "array" if isinstance(obj, list) else "string"
        raise ExprError(f"index {js.number_text(key)} is outside the {kind} of length "
                        f"{size} {_at(node)}")
    i = int(key)
    if isinstance(obj, list):
        return obj[i]
    unit = js.utf16_units(obj)[2 * i:2 * i + 2].decode("utf-16-le", "surrogatepass")
    if 0xD800 <= ord(unit) <= 0xDFFF:
        raise ExprError(f"index {i} falls inside a character of two UTF-16 units {_at(node)}")
    return unit


def _method(node: Method, obj: Value, args: list[Value]) -> Value:
    if node.name == "toFixed":
        if not isinstance(obj, float) or isinstance(obj, bool):
            raise ExprError(f"toFixed needs a number, got {js.type_name(obj)} {_at(node)}")
        raw = js.to_number(args[0]) if args else 0.0
        digits = 0.0 if math.isnan(raw) else raw if math.isinf(raw) else float(math.trunc(raw))
        if not 0 <= digits <= js.MAX_FIXED_DIGITS:
            raise ExprError(f"toFixed digits must be between 0 and {js.MAX_FIXED_DIGITS}, "
                            f"got {js.number_text(digits)} {_at(node)}")
        return js.to_fixed(obj, int(digits))
    if not isinstance(obj, str):
        raise ExprError(f"{node.name} needs a string, got {js.type_name(obj)} {_at(node)}")
    return js.capped(obj.upper() if node.name == "toUpperCase" else obj.lower())


def _count(args: list[Value], fold: bool) -> float:
    text, sub = js.text_of(args[0]), js.text_of(args[1])
    if fold:
        text, sub = text.lower(), sub.lower()
    return float(text.count(sub)) if sub else 0.0


def _length(value: Value) -> float:
    if isinstance(value, str):
        return float(js.utf16_len(value))
    if isinstance(value, list):
        return float(len(value))
    raise ExprError(f"len needs a string or an array, got {js.type_name(value)}")


_NUMERIC: dict[str, Callable[[float], float]] = {
    "abs": abs, "floor": js.js_floor, "ceil": js.js_ceil, "round": js.js_round}


def _call(node: Call, args: list[Value]) -> Value:
    name = node.name
    try:
        if name in ("count", "counti"):
            return _count(args, name == "counti")
        if name == "len":
            return _length(args[0])
        if name in _NUMERIC:
            return _NUMERIC[name](js.to_number(args[0]))
        if name in exprtext.ARITY:
            return exprtext.call(name, args)
        return js.js_min_max([js.to_number(a) for a in args], name == "max")
    except ExprError as exc:
        raise ExprError(f"{exc} {_at(node)}") from None
