"""Suite files on disk: find a suite by id or path, read it, hand it to the evaluator.

A suite argument is either an id (a folder under the suites directory, which is the repo's
``suites/`` folder, or ``$LOCALRATE_SUITES_DIR``), a path to a suite folder, or a path to a
``suite.yaml``. Reading is all this module does: validation is ``evaluator.suite.load_suite``.
Every problem raises :class:`evaluator.errors.SuiteError` with a one-line message.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from evaluator.errors import SuiteError

SUITES_ENV = "LOCALRATE_SUITES_DIR"
SUITE_FILE = "suite.yaml"


def suites_dir() -> Path:
    """The folder holding ``<id>/suite.yaml`` suites (``$LOCALRATE_SUITES_DIR`` wins)."""
    override = os.environ.get(SUITES_ENV)
    if override:
        return Path(override)
    return Path(__file__).resolve().parent.parent / "suites"


def display_path(path: Path) -> str:
    """``path`` relative to the current folder when it is below it, else absolute."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path.resolve())


def resolve_suite_file(arg: str) -> Path:
    """The ``suite.yaml`` named by ``arg`` (id, folder or file), or SuiteError."""
    given = Path(arg).expanduser()
    if given.is_file():
        return given
    if given.is_dir():
        candidate = given / SUITE_FILE
        if candidate.is_file():
            return candidate
        raise SuiteError(f"{arg}: folder has no {SUITE_FILE}")
    by_id = suites_dir() / arg / SUITE_FILE
    if "/" not in arg and by_id.is_file():
        return by_id
    root = suites_dir()
    ids = sorted(p.parent.name for p in root.glob(f"*/{SUITE_FILE}")) if root.is_dir() else []
    known = ", ".join(ids) or "none"
    raise SuiteError(f"{arg}: no such suite file, folder or suite id (known ids: {known})")


def parse_yaml(path: Path, source: str) -> Any:
    """Parse ``path`` with PyYAML safe_load; a syntax error becomes a one-line SuiteError."""
    import yaml

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SuiteError(f"{source}: cannot read: {exc}") from exc
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}:{mark.line + 1}" if mark is not None else source
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise SuiteError(f"{where}: YAML syntax error: {problem}") from exc


def read_files(folder: Path, names: list[str]) -> dict[str, bytes]:
    """The bytes of every referenced file that exists; missing ones stay absent."""
    files: dict[str, bytes] = {}
    for name in names:
        path = folder / name
        if path.is_file():
            files[name] = path.read_bytes()
    return files


def load(arg: str) -> Any:
    """Resolve, read and load the suite named by ``arg``: an ``evaluator.suite.Suite``."""
    from evaluator.suite import load_suite, referenced_files

    path = resolve_suite_file(arg)
    source = display_path(path)
    data = parse_yaml(path, source)
    files = read_files(path.parent, referenced_files(data))
    return load_suite(data, source, files)


def list_suites() -> list[dict[str, Any]]:
    """Every suite under the suites directory: id, version, cases, path (or error)."""
    from evaluator.suite import load_suite, referenced_files

    root = suites_dir()
    rows: list[dict[str, Any]] = []
    if not root.is_dir():
        return rows
    for path in sorted(root.glob(f"*/{SUITE_FILE}")):
        source = display_path(path)
        row: dict[str, Any] = {"id": path.parent.name, "version": None, "cases": None,
                               "path": source, "error": None}
        try:
            data = parse_yaml(path, source)
            suite = load_suite(data, source, read_files(path.parent, referenced_files(data)))
            row.update(id=suite.id, version=suite.version, cases=len(suite.cases))
        except SuiteError as exc:
            row["error"] = str(exc)
        rows.append(row)
    return rows
