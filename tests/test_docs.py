"""The docs: README stays a user's page (at most 8 KB), every link resolves inside the repo."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = sorted([ROOT / "README.md", *(ROOT / "docs").glob("*.md"), ROOT / "playwright" / "README.md"])
LINK = re.compile(r"\]\(([^)\s]+)\)")


def test_readme_is_short() -> None:
    assert (ROOT / "README.md").stat().st_size <= 8 * 1024


def test_readme_starts_with_the_two_commands() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    first_block = text.split("```sh\n", 1)[1].split("```", 1)[0]
    assert [line.split()[0:2] for line in first_block.splitlines()] == [
        ["./dev.sh", "serve"], ["./dev.sh", "test"]]


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_links_resolve_inside_the_repo(doc: Path) -> None:
    bad = []
    for target in LINK.findall(doc.read_text(encoding="utf-8")):
        if target.startswith(("http://", "https://", "mailto:", "#")):
            continue
        path = (doc.parent / target.split("#", 1)[0]).resolve()
        if not path.is_relative_to(ROOT) or not path.exists():
            bad.append(target)
    assert not bad, f"{doc.relative_to(ROOT)}: links that do not resolve in the repo: {bad}"


# Paths of the machine the project was first written on, and its notes, which are not in
# the repository (a reader of a clone cannot open them).
OUTSIDE = re.compile(r"/work/|\.\./shared/|\b(?:design|house-style)\.md\b")
TEXT_SUFFIXES = {".md", ".py", ".mjs", ".js", ".j2", ".html", ".css", ".sh", ".toml", ".yaml"}


def repo_text_files() -> list[Path]:
    folders = ("docs", "evaluator", "server", "web", "tests", "playwright", "suites")
    files = [ROOT / "README.md", ROOT / "dev.sh", ROOT / "pyproject.toml"]
    files += [p for folder in folders for p in (ROOT / folder).rglob("*")
              if p.is_file() and p.suffix in TEXT_SUFFIXES and "artifacts" not in p.parts]
    return [p for p in files if p != Path(__file__).resolve()]


def test_nothing_points_outside_the_repo() -> None:
    bad = [f"{p.relative_to(ROOT)}:{n}: {line.strip()[:80]}" for p in repo_text_files()
           for n, line in enumerate(p.read_text("utf-8", errors="replace").splitlines(), 1)
           if OUTSIDE.search(line)]
    assert not bad, "files that name a path outside the repository:\n" + "\n".join(bad)


@pytest.mark.parametrize("line", ["Read `../shared/design.md` first.",
                                  '"""The dialects of /work/shared/runtimes.md."""',
                                  "the summary of design.md"])
def test_the_outside_check_can_fail(line: str) -> None:
    assert OUTSIDE.search(line)
