"""The parser of suite expressions: source text to a tree of nodes (see ``evaluator/expr.py``
for the grammar and the API). Whitelisting: anything not in the grammar is an ExprError that
names what is wrong and the column where it is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from evaluator.exprtext import ARITY
from evaluator.jsvalue import JS_SPACE, ExprError

MAX_CHARS = 500
MAX_DEPTH = 32

# name -> (fewest, most) arguments; None: no upper bound
HELPERS: dict[str, tuple[int, int | None]] = {
    "count": (2, 2), "counti": (2, 2), "len": (1, 1), "abs": (1, 1), "floor": (1, 1),
    "ceil": (1, 1), "round": (1, 1), "min": (1, None), "max": (1, None), **ARITY}
MATH_HELPERS = ("abs", "floor", "ceil", "round", "min", "max")
METHODS: dict[str, tuple[int, int]] = {"toFixed": (0, 1), "toUpperCase": (0, 0),
                                       "toLowerCase": (0, 0)}
LEVELS = (("||",), ("&&",), ("===", "!==", "==", "!="), ("<", "<=", ">", ">="), ("+", "-"),
          ("*", "/", "%"))
_OPERATORS = ("===", "!==", "==", "!=", "<=", ">=", "&&", "||", "**", "++", "--", "??", "=>",
              "<", ">", "+", "-", "*", "/", "%", "!", "?", ":", "(", ")", "[", "]", ",", ".",
              "=", "&", "|")
_UNSUPPORTED = {"**", "++", "--", "??", "=>", "=", "&", "|"}
_NUMBER = re.compile(r"(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_NAME = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "v": "\v"}


@dataclass(frozen=True)
class Node:
    """A node of the tree; ``pos`` is its offset in the source (column - 1)."""

    pos: int


@dataclass(frozen=True)
class Lit(Node):
    value: float | str | bool


@dataclass(frozen=True)
class Name(Node):
    name: str


@dataclass(frozen=True)
class Array(Node):
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Unary(Node):
    op: str
    operand: Node


@dataclass(frozen=True)
class Op(Node):
    op: str
    left: Node
    right: Node


@dataclass(frozen=True)
class Cond(Node):
    test: Node
    yes: Node
    no: Node


@dataclass(frozen=True)
class Index(Node):
    obj: Node
    index: Node


@dataclass(frozen=True)
class Length(Node):
    obj: Node


@dataclass(frozen=True)
class Method(Node):
    obj: Node
    name: str
    args: tuple[Node, ...]


@dataclass(frozen=True)
class Call(Node):
    name: str
    args: tuple[Node, ...]


@dataclass(frozen=True)
class Token:
    kind: str  # "num", "str", "name", "op", "end"
    text: str  # the source text (for "str": the decoded value)
    pos: int

    def shown(self) -> str:
        if self.kind == "end":
            return "end of expression"
        if self.kind == "str":
            return "a string"
        return f"'{self.text}'"


def _col(pos: int) -> str:
    return f"at column {pos + 1}"


def tokenize(text: str) -> list[Token]:
    """The tokens of ``text``, ending with an "end" token."""
    tokens: list[Token] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch in JS_SPACE:
            i += 1
        elif ch.isdigit() and ch.isascii() or ch == "." and text[i + 1:i + 2].isdigit():
            i = _number(text, i, tokens)
        elif ch in "'\"":
            i = _string(text, i, tokens)
        elif (name := _NAME.match(text, i)) is not None:
            tokens.append(Token("name", name.group(), i))
            i = name.end()
        else:
            op = next((o for o in _OPERATORS if text.startswith(o, i)), None)
            if op is None:
                raise ExprError(f"unexpected character {ch!r} {_col(i)}")
            if op in _UNSUPPORTED:
                hint = " (compare with ===)" if op == "=" else ""
                raise ExprError(f"'{op}' is not supported{hint} {_col(i)}")
            tokens.append(Token("op", op, i))
            i += len(op)
    tokens.append(Token("end", "", len(text)))
    return tokens


def _number(text: str, i: int, tokens: list[Token]) -> int:
    found = _NUMBER.match(text, i)
    assert found is not None
    end = found.end()
    literal = found.group()
    if end < len(text) and (text[end].isalnum() or text[end] in "_$"):
        raise ExprError(f"bad number {_col(i)}")
    if len(literal) > 1 and literal[0] == "0" and literal[1].isdigit():
        raise ExprError(f"a number must not start with 0 {_col(i)}")
    tokens.append(Token("num", literal, i))
    return end


def _string(text: str, start: int, tokens: list[Token]) -> int:
    quote = text[start]
    units: list[str] = []
    i = start + 1
    while True:
        if i >= len(text) or text[i] in "\n\r":
            raise ExprError(f"unterminated string {_col(start)}")
        ch = text[i]
        if ch == quote:
            break
        if ch != "\\":
            units.append(ch)
            i += 1
            continue
        i, unit = _escape(text, i)
        units.append(unit)
    value = "".join(units)
    # \uD83D\uDE00 written as two escapes: join the pair as JS does; refuse a lone half
    value = value.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")
    if any(0xD800 <= ord(c) <= 0xDFFF for c in value):
        raise ExprError(f"a string holds half of a UTF-16 pair {_col(start)}")
    tokens.append(Token("str", value, start))
    return i + 1


def _escape(text: str, i: int) -> tuple[int, str]:
    """Read the escape at ``text[i] == "\\"``; return the next offset and the text."""
    nxt = text[i + 1:i + 2]
    if nxt == "":
        raise ExprError(f"unterminated string {_col(i)}")
    if nxt in _ESCAPES:
        return i + 2, _ESCAPES[nxt]
    if nxt == "0" and not text[i + 2:i + 3].isdigit():
        return i + 2, "\0"
    if nxt.isdigit():
        raise ExprError(f"octal escapes are not supported {_col(i)}")
    if nxt in "\n\u2028\u2029":
        return i + 2, ""
    if nxt == "\r":
        return (i + 3 if text[i + 2:i + 3] == "\n" else i + 2), ""
    if nxt == "x":
        return i + 4, chr(_hex(text[i + 2:i + 4], 2, i))
    if nxt == "u":
        if text[i + 2:i + 3] == "{":
            end = text.find("}", i + 3)
            code = _hex(text[i + 3:end] if end > 0 else "", 0, i)
            if code > 0x10FFFF:
                raise ExprError(f"bad \\u{{...}} escape {_col(i)}")
            return end + 1, chr(code)
        return i + 6, chr(_hex(text[i + 2:i + 6], 4, i))
    return i + 2, nxt


def _hex(digits: str, width: int, pos: int) -> int:
    ok = digits and all(c in "0123456789abcdefABCDEF" for c in digits) and len(digits) <= 6
    if not ok or (width and len(digits) != width):
        raise ExprError(f"bad escape {_col(pos)}")
    return int(digits, 16)


def parse_tree(text: str) -> Node:
    """The tree of ``text`` (see the grammar in ``evaluator/expr.py``)."""
    if len(text) > MAX_CHARS:
        raise ExprError(f"expression longer than {MAX_CHARS} characters")
    if not text.strip(JS_SPACE):
        raise ExprError("empty expression")
    parser = _Parser(tokenize(text))
    root = parser.expression()
    parser.expect_end()
    return root


class _Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.i = 0
        self.depth = 0

    def peek(self) -> Token:
        return self.tokens[self.i]

    def take(self) -> Token:
        token = self.tokens[self.i]
        self.i += 1
        return token

    def at(self, text: str) -> bool:
        token = self.peek()
        return token.kind == "op" and token.text == text

    def expect(self, text: str) -> Token:
        if not self.at(text):
            token = self.peek()
            raise ExprError(f"expected '{text}' but found {token.shown()} {_col(token.pos)}")
        return self.take()

    def expect_end(self) -> None:
        token = self.peek()
        if token.kind != "end":
            raise ExprError(f"unexpected {token.shown()} {_col(token.pos)}")

    def nest(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ExprError(f"nested deeper than {MAX_DEPTH} levels {_col(self.peek().pos)}")

    def expression(self) -> Node:
        self.nest()
        node = self.binary(0)
        if self.at("?"):
            pos = self.take().pos
            yes = self.expression()
            self.expect(":")
            node = Cond(pos, node, yes, self.expression())
        self.depth -= 1
        return node

    def binary(self, level: int) -> Node:
        if level == len(LEVELS):
            return self.unary()
        node = self.binary(level + 1)
        while self.peek().kind == "op" and self.peek().text in LEVELS[level]:
            token = self.take()
            node = Op(token.pos, token.text, node, self.binary(level + 1))
        return node

    def unary(self) -> Node:
        token = self.peek()
        if token.kind == "op" and token.text in ("-", "+", "!"):
            self.take()
            self.nest()
            node = Unary(token.pos, token.text, self.unary())
            self.depth -= 1
            return node
        return self.postfix(self.primary())

    def postfix(self, node: Node) -> Node:
        while True:
            if self.at("["):
                pos = self.take().pos
                node = Index(pos, node, self.expression())
                self.expect("]")
            elif self.at("."):
                node = self.member(node, self.take().pos)
            elif self.at("("):
                raise ExprError(f"only helpers can be called {_col(self.peek().pos)}")
            else:
                return node

    def member(self, obj: Node, dot: int) -> Node:
        token = self.take()
        if token.kind != "name":
            raise ExprError(f"expected a property name after '.' {_col(dot)}")
        if token.text == "length":
            if self.at("("):
                raise ExprError(f"'.length' is not a method {_col(token.pos)}")
            return Length(token.pos, obj)
        if token.text not in METHODS:
            raise ExprError(f"'.{token.text}' is not supported (only .length, "
                            f".toFixed(), .toUpperCase(), .toLowerCase()) {_col(token.pos)}")
        if not self.at("("):
            raise ExprError(f"'.{token.text}' must be called {_col(token.pos)}")
        args = self.arguments(token.text, METHODS[token.text], token.pos)
        return Method(token.pos, obj, token.text, args)

    def arguments(self, name: str, arity: tuple[int, int | None], pos: int) -> tuple[Node, ...]:
        self.expect("(")
        args = self.items(")")
        fewest, most = arity
        if len(args) < fewest or (most is not None and len(args) > most):
            want = str(fewest) if fewest == most else \
                f"{fewest} to {most}" if most is not None else f"at least {fewest}"
            plural = "" if want in ("1", "at least 1") else "s"
            raise ExprError(f"{name} takes {want} argument{plural}, got {len(args)} {_col(pos)}")
        return args

    def items(self, close: str) -> tuple[Node, ...]:
        found: list[Node] = []
        while not self.at(close):
            if self.at(","):
                raise ExprError(f"unexpected ',' {_col(self.peek().pos)}")
            found.append(self.expression())
            if not self.at(close):
                self.expect(",")
        self.take()
        return tuple(found)

    def primary(self) -> Node:
        token = self.take()
        if token.kind == "num":
            return Lit(token.pos, float(token.text))
        if token.kind == "str":
            return Lit(token.pos, token.text)
        if token.kind == "name":
            return self.named(token)
        if token.kind == "op" and token.text == "[":
            return Array(token.pos, self.items("]"))
        if token.kind == "op" and token.text == "(":
            node = self.expression()
            self.expect(")")
            return node
        raise ExprError(f"unexpected {token.shown()} {_col(token.pos)}")

    def named(self, token: Token) -> Node:
        if token.text in ("true", "false"):
            return Lit(token.pos, token.text == "true")
        if token.text == "Math":
            self.expect(".")
            member = self.take()
            if member.kind != "name" or member.text not in MATH_HELPERS:
                shown = f"'Math.{member.text}'" if member.kind == "name" else "that"
                raise ExprError(f"{shown} is not a helper {_col(member.pos)}")
            args = self.arguments(f"Math.{member.text}", HELPERS[member.text], token.pos)
            return Call(token.pos, member.text, args)
        if self.at("("):
            if token.text not in HELPERS:
                raise ExprError(f"'{token.text}' is not a helper {_col(token.pos)}")
            return Call(token.pos, token.text, self.arguments(token.text, HELPERS[token.text],
                                                              token.pos))
        return Name(token.pos, token.text)
