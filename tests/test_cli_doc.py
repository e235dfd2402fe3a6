"""docs/cli.md quotes every command's `--help` exactly (regenerate: python -m tests.cli_doc)."""

from __future__ import annotations

from tests.cli_doc import DOC, current_block, render


def test_cli_doc_matches_help() -> None:
    block = current_block(DOC.read_text(encoding="utf-8"))
    assert block, f"{DOC}: no generated --help block (run python -m tests.cli_doc)"
    assert block == render(), "docs/cli.md is stale: run python -m tests.cli_doc"


def test_every_command_is_in_the_doc() -> None:
    from server.cli.main import COMMANDS

    block = current_block(DOC.read_text(encoding="utf-8"))
    for name in COMMANDS:
        assert f"### localrate {name} --help" in block
