"""A YAML reader for the page: the subset suite files are written in, read as PyYAML reads it.

The CLI parses ``suite.yaml`` with PyYAML's safe loader. The page's Pyodide does not ship
PyYAML's wheel, so a suite imported in the page goes through :func:`parse` instead. It reads
block mappings and sequences (compact ``- key: v`` items, sequences under a key at the
key's indentation), flow ``[...]`` and ``{...}`` (over several lines too), plain,
single- and double-quoted scalars (folded over lines), literal ``|`` and folded ``>`` block
scalars with chomping and indentation indicators, comments, and one document (``---`` /
``...``). Plain scalars are typed with YAML 1.1's rules, exactly as PyYAML does (``yes`` is
true, ``0x1f`` is 31, ``1_000`` is 1000, ``~`` is null).

What it does not read is refused with one line naming the file and line, never guessed:
anchors and aliases (the CLI refuses aliases too), tags (``!!str``), ``?`` complex keys,
several documents, dates (PyYAML would make a date, which no suite field takes), ``<<``
merge keys and directives. Nesting is bounded as in the CLI (64 levels), and so is the size
(:data:`evaluator.suite_files.MAX_SUITE_BYTES`). ``tests/test_yaml_lite.py`` checks the
answers against PyYAML's on every shipped suite and on generated documents.
"""

from __future__ import annotations

import re
from typing import Any

from evaluator.errors import SuiteError
from evaluator.suite_files import suite_size_problem
from evaluator.yaml_scalars import Incomplete, flow_value, fold, plain_value, quoted_end, unquote

MAX_DEPTH = 64
_ODD_BREAKS = "\r\x85\u2028\u2029"  # line breaks to PyYAML besides \n
_INDICATORS = "&*!%@`"


class _Line:
    __slots__ = ("indent", "number", "text")

    def __init__(self, number: int, indent: int, text: str) -> None:
        self.number, self.indent, self.text = number, indent, text


def strip_comment(text: str) -> str:
    """``text`` without a trailing ``# comment`` (a ``#`` after a space, outside quotes)."""
    i, quote = 0, ""
    while i < len(text):
        ch = text[i]
        if quote:
            if ch == quote:
                if quote == "'" and text[i + 1:i + 2] == "'":
                    i += 1
                else:
                    quote = ""
            elif ch == "\\" and quote == '"':
                i += 1
        elif ch in "'\"" and (i == 0 or text[i - 1] in " \t[{,:-"):
            quote = ch
        elif ch == "#" and (i == 0 or text[i - 1] in " \t"):
            return text[:i].rstrip()
        i += 1
    return text.rstrip()


class _Reader:
    def __init__(self, text: str, source: str) -> None:
        self.source = source
        self.raw = text.split("\n")
        if self.raw[-1] == "":
            self.raw.pop()  # the text's last line break ends a line; it starts none
        self.pos = 0
        self.depth = 0

    def fail(self, number: int, what: str) -> SuiteError:
        return SuiteError(f"{self.source}:{number}: YAML syntax error: {what}")

    def unsupported(self, number: int, what: str) -> SuiteError:
        return SuiteError(f"{self.source}:{number}: YAML {what} is not supported in the page "
                          "(write the value out, or load the suite with the CLI)")

    def peek(self) -> _Line | None:
        """The next line with content (blank and comment-only lines skipped)."""
        while self.pos < len(self.raw):
            line = self.raw[self.pos].rstrip("\r")
            body = line.lstrip(" ")
            if body.startswith("\t") or (body == "" and "\t" in line):
                if body.strip() == "":
                    self.pos += 1
                    continue
                raise self.fail(self.pos + 1, "a tab in the indentation (indent with spaces)")
            if body == "" or body.startswith("#"):
                self.pos += 1
                continue
            return _Line(self.pos + 1, len(line) - len(body), body)
        return None

    def document(self) -> Any:
        first = self.peek()
        if first is not None and first.text.startswith("%"):
            raise self.unsupported(first.number, "directive")
        if first is not None and first.text.rstrip() == "---":
            self.pos += 1
        elif first is not None and first.text.startswith("--- "):
            raise self.unsupported(first.number, "value on the '---' line")
        line = self.peek()
        value = None if line is None or line.text.rstrip() == "..." else self.node(line, -1)
        rest = self.peek()
        if rest is not None and rest.text.rstrip() == "...":
            self.pos += 1
            rest = self.peek()
        if rest is not None:
            if rest.text.startswith("---"):
                raise self.unsupported(rest.number, "second document ('---')")
            raise self.fail(rest.number, "unexpected text after the document's end "
                                         "(check its indentation)")
        return value

    def node(self, line: _Line, parent: int) -> Any:
        """The block node starting at ``line`` (indented more than ``parent``)."""
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise SuiteError(f"{self.source}:{line.number}: YAML nested deeper than "
                             f"{MAX_DEPTH} levels")
        try:
            if _is_item(line.text):
                return self.sequence(line.indent)
            if self.key_of(line) is not None:
                return self.mapping(line.indent)
            self.pos = line.number - 1
            return self.inline(line.text, line, parent)
        finally:
            self.depth -= 1

    def sequence(self, indent: int) -> list[Any]:
        items: list[Any] = []
        while (line := self.peek()) is not None and line.indent == indent \
                and _is_item(line.text):
            rest = line.text[1:]
            body = rest.lstrip(" ")
            if strip_comment(body) == "":
                self.pos += 1
                items.append(self.block_value(indent, sequence_ok=False))
                continue
            column = indent + 1 + len(rest) - len(body)
            # the item's node starts on this line, at the column after "- "
            self.raw[self.pos] = " " * column + body
            items.append(self.node(_Line(line.number, column, body), indent))
        self.expect_end(indent)
        return items

    def mapping(self, indent: int) -> dict[Any, Any]:
        out: dict[Any, Any] = {}
        while (line := self.peek()) is not None and line.indent == indent \
                and not _is_item(line.text) and not _is_marker(line):
            found = self.key_of(line)
            if found is None:
                raise self.fail(line.number, "expected 'key: value' in this mapping")
            key, rest = found
            if key == "<<" and line.text.startswith("<<"):
                raise self.unsupported(line.number, "merge key '<<'")
            value_text = strip_comment(rest)
            self.pos += 1
            if value_text == "":
                out[key] = self.block_value(indent, sequence_ok=True)
            else:
                out[key] = self.inline(rest.lstrip(" "), line, indent)
        self.expect_end(indent)
        return out

    def expect_end(self, indent: int) -> None:
        line = self.peek()
        if line is not None and line.indent > indent:
            raise self.fail(line.number, "unexpected indentation")

    def block_value(self, parent: int, sequence_ok: bool) -> Any:
        """The value under a ``key:`` or ``-`` with nothing after it: a nested block, or
        null."""
        line = self.peek()
        if line is None:
            return None
        if line.indent > parent or (sequence_ok and line.indent == parent
                                    and _is_item(line.text)):
            return self.node(line, parent)
        return None

    def key_of(self, line: _Line) -> tuple[Any, str] | None:
        """``(key, rest after ':')`` when the line is a mapping entry, else None."""
        text = line.text
        if text[0] in "'\"":
            end = quoted_end(text, 0)
            if end is None or not text[end:].startswith(":") \
                    or text[end + 1:end + 2] not in ("", " "):
                return None
            return unquote(text[:end], self.error_at(line.number)), text[end + 1:]
        if text[0] in "[{":
            return None
        if text[0] == "?" and text[1:2] in ("", " "):
            raise self.unsupported(line.number, "complex key ('?')")
        match = re.search(r":( |$)", strip_comment(text))
        if match is None:
            return None
        raw_key = text[:match.start()].rstrip()
        self.check_plain(raw_key, line.number)
        return plain_value(raw_key, self.error_at(line.number)), text[match.start() + 1:]

    def error_at(self, number: int) -> Any:
        return lambda what: self.fail(number, what)

    def check_plain(self, text: str, number: int) -> None:
        if text[:1] in _INDICATORS:
            names = {"&": "anchor ('&')", "*": "alias ('*')", "!": "tag ('!')"}
            if text[0] in names:
                raise self.unsupported(number, names[text[0]])
            raise self.fail(number, f"a plain value cannot start with {text[0]!r}")

    def inline(self, text: str, line: _Line, parent: int) -> Any:
        """A value written on ``line`` from ``text`` on (a block scalar header, a flow
        collection, a quoted or a plain scalar, perhaps continued on later lines)."""
        self.check_plain(text, line.number)
        head = text[:1]
        if head in "|>":
            return self.block_scalar(strip_comment(text), line, parent)
        if head in "[{'\"":
            return self.multiline(text, line, parent, head)
        body = strip_comment(text)
        if ": " in body or body.endswith(":"):
            raise self.fail(line.number, "mapping values are not allowed here (quote a value "
                                         "that holds ': ')")
        if _is_item(body):
            raise self.fail(line.number, "a sequence cannot start here")
        lines = [body]
        self.pos = line.number
        ended = body != text.rstrip()  # a comment ends a plain value
        while not ended and (more := self.peek()) is not None and more.indent > parent \
                and not _is_marker(more):
            extra = strip_comment(more.text)
            if ": " in extra or extra.endswith(":") or _is_item(extra):
                raise self.fail(more.number, "unexpected indentation")
            lines.extend([""] * (more.number - 1 - self.last_content(more.number)))
            lines.append(extra)
            ended = extra != more.text.rstrip()
            self.pos = more.number
        return plain_value(fold(lines), self.error_at(line.number))

    def last_content(self, number: int) -> int:
        """The number of the last line with content before line ``number``."""
        n = number - 1
        while n > 1 and self.raw[n - 1].strip() == "":
            n -= 1
        return n

    def multiline(self, text: str, line: _Line, parent: int, head: str) -> Any:
        """A quoted scalar or a flow collection, taking further lines until it closes."""
        chunks = [text]
        self.pos = line.number
        while True:
            joined = "\n".join(chunks)
            if head in "'\"":
                end = quoted_end(joined, 0)
                if end is not None:
                    tail = strip_comment(joined[end:])
                    if tail:
                        raise self.fail(self.pos, f"unexpected {tail[:20]!r} after a quoted "
                                                  "value")
                    return unquote(joined[:end], self.error_at(line.number))
            else:
                try:
                    return flow_value(joined, self.error_at(line.number),
                                      self.unsupported_at(line.number))[0]
                except Incomplete:
                    pass
            nxt = self.raw[self.pos].rstrip("\r") if self.pos < len(self.raw) else None
            if nxt is None or (nxt.strip() and len(nxt) - len(nxt.lstrip(" ")) <= parent):
                raise self.fail(line.number, "a quoted value or [ ] { } is never closed")
            chunks.append(nxt)
            self.pos += 1

    def unsupported_at(self, number: int) -> Any:
        return lambda what: self.unsupported(number, what)

    def block_scalar(self, header: str, line: _Line, parent: int) -> str:
        """A ``|`` or ``>`` scalar: its lines, indented more than ``parent``, then folding
        and chomping as PyYAML's scanner does them."""
        match = re.fullmatch(r"([|>])(?:([1-9])([+-]?)|([+-]?)([1-9]?))", header)
        if match is None:
            raise self.fail(line.number, f"bad block scalar header {header[:20]!r}")
        style, n1, chomp1, chomp2, n2 = match.groups()
        chomp = chomp1 or chomp2 or ""
        explicit = n1 or n2
        indent = max(parent, 0) + int(explicit) if explicit else None
        self.pos = line.number
        taken: list[str | None] = []  # None: an empty line
        while self.pos < len(self.raw):
            raw = self.raw[self.pos].rstrip("\r")
            width = len(raw) - len(raw.lstrip(" "))
            if raw.strip(" ") == "" and (indent is None or width <= indent):
                taken.append(None)
            else:
                if indent is None:
                    if width <= parent:
                        break
                    indent = width
                if width < indent:
                    break
                taken.append(raw[indent:])
            self.pos += 1
        while taken and taken[-1] is None:
            taken.pop()
            self.pos -= 1
        trailing = 0
        while self.pos < len(self.raw) and self.raw[self.pos].strip(" \r") == "":
            trailing += 1
            self.pos += 1
        return _block_text(taken, style == ">", chomp, trailing)


def _block_text(taken: list[str | None], folded: bool, chomp: str, trailing: int) -> str:
    """PyYAML's scan_block_scalar over the lines taken (None: an empty line)."""
    chunks: list[str] = []
    breaks = 0
    line_break = ""
    contents = [(i, x) for i, x in enumerate(taken) if x is not None]
    breaks = contents[0][0] if contents else 0  # empty lines before the first
    for n, (i, text) in enumerate(contents):
        chunks.append("\n" * breaks)
        leading_non_space = not text.startswith((" ", "\t"))
        chunks.append(text)
        line_break = "\n"
        if n + 1 < len(contents):
            after, nxt = contents[n + 1]
            breaks = after - i - 1
            if folded and leading_non_space and not nxt.startswith((" ", "\t")):
                if not breaks:
                    chunks.append(" ")
            else:
                chunks.append("\n")
        else:
            breaks = len(taken) - i - 1 + trailing
    if not contents:
        breaks = len(taken) + trailing
    if chomp != "-":
        chunks.append(line_break)
    if chomp == "+":
        chunks.append("\n" * breaks)
    return "".join(chunks)


def _is_marker(line: _Line) -> bool:
    """A document start or end marker (``---``, ``...``) at the first column."""
    return line.indent == 0 and line.text.rstrip() in ("...", "---")


def _is_item(text: str) -> bool:
    return text == "-" or text.startswith(("- ", "-\t"))


def parse(text: str, source: str) -> Any:
    """The value of one YAML document ``text``, as PyYAML's safe loader reads it; a
    one-line :class:`SuiteError` naming ``source`` and the line for anything else."""
    too_big = suite_size_problem(source, len(text.encode("utf-8")))
    if too_big:
        raise too_big
    text = text.removeprefix("\ufeff").replace("\r\n", "\n")
    for number, line in enumerate(text.split("\n"), start=1):
        odd = next((ch for ch in line if ch in _ODD_BREAKS), None)
        if odd is not None:
            raise SuiteError(f"{source}:{number}: YAML line break U+{ord(odd):04X} inside a "
                             "line is not supported in the page (write it as an escape in "
                             "double quotes)")
    return _Reader(text, source).document()
