"""The `--help` of every `localrate` command, as docs/cli.md quotes it.

`python -m tests.cli_doc` rewrites the block between the markers in docs/cli.md;
tests/test_cli_doc.py fails when the block and the CLI differ, so the doc cannot go stale.
"""

from __future__ import annotations

import sys
from pathlib import Path

from click.testing import CliRunner

from server.cli.main import COMMANDS, main

DOC = Path(__file__).resolve().parent.parent / "docs" / "cli.md"
BEGIN = "<!-- help:begin (python -m tests.cli_doc writes this block) -->"
END = "<!-- help:end -->"
WIDTH = 100


def help_text(args: list[str]) -> str:
    """What `localrate ARGS --help` prints, at a fixed width."""
    result = CliRunner().invoke(main, [*args, "--help"], prog_name="localrate",
                                terminal_width=WIDTH)
    if result.exit_code != 0:
        raise RuntimeError(f"localrate {' '.join(args)} --help exited {result.exit_code}")
    return result.output.rstrip() + "\n"


def render() -> str:
    """The whole generated block, markers included."""
    parts = [BEGIN, "", "### localrate --help", "", "```text", help_text([]).rstrip(), "```"]
    for name in COMMANDS:
        parts += ["", f"### localrate {name} --help", "", "```text",
                  help_text([name]).rstrip(), "```"]
    return "\n".join([*parts, "", END])


def current_block(doc: str) -> str:
    """The block docs/cli.md holds now (markers included), or '' when it has none."""
    start, end = doc.find(BEGIN), doc.find(END)
    return doc[start:end + len(END)] if start >= 0 and end > start else ""


def write() -> None:
    doc = DOC.read_text(encoding="utf-8")
    block = current_block(doc)
    new = doc.replace(block, render()) if block else doc.rstrip() + "\n\n" + render() + "\n"
    DOC.write_text(new, encoding="utf-8")


if __name__ == "__main__":
    write()
    sys.stdout.write(f"wrote {DOC}\n")
