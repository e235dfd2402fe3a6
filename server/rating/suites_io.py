"""Suite files on disk: find a suite by id or path, read it, hand it to the evaluator.

A suite argument is either an id (a folder under the suites directory, which is the repo's
``suites/`` folder, or ``$LOCALRATE_SUITES_DIR``), a path to a suite folder, or a path to a
``suite.yaml``. Reading is all this module does: validation is ``evaluator.suite.load_suite``.
Every problem raises :class:`evaluator.errors.SuiteError` with a one-line message.

What only the file system can tell is checked here, with the evaluator's limits
(``evaluator.suite_files``): a referenced file whose real path (symlinks resolved) is outside
the suite's folder, or that is not a regular file, is refused before it is read; no file is
read past its size limit. YAML is parsed without aliases (``*name``: refused, so no alias
bomb) and at most ``MAX_YAML_DEPTH`` levels deep (checked on the event stream, before any
recursion), and every error from the YAML library becomes one line.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from evaluator.errors import SuiteError
from evaluator.suite import load_suite
from evaluator.suite_cost import duration_note, suite_cost
from evaluator.suite_files import (
    MAX_SUITE_BYTES,
    FileRef,
    file_refs,
    shown,
    suite_text,
)

MAX_YAML_DEPTH = 64

SUITES_ENV = "LOCALRATE_SUITES_DIR"
SUITE_FILE = "suite.yaml"


def suites_dir() -> Path:
    """The folder holding ``<id>/suite.yaml`` suites (``$LOCALRATE_SUITES_DIR`` wins)."""
    override = os.environ.get(SUITES_ENV)
    if override:
        return Path(override)
    return Path(__file__).resolve().parents[2] / "suites"


def display_path(path: Path) -> str:
    """``path`` relative to the current folder when it is below it, else absolute (quoted
    when it holds a character that would break the one-line error)."""
    try:
        text = str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        text = str(path.resolve())
    return text if text.isprintable() else repr(text)


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


def _read_capped(path: Path, limit: int) -> bytes:
    """At most ``limit + 1`` bytes of a regular file (a FIFO or device is never opened)."""
    if not stat.S_ISREG(os.stat(path).st_mode):
        raise OSError(0, "not a regular file")
    with path.open("rb") as handle:
        return handle.read(limit + 1)


def _check_events(events: Iterable[Any], source: str) -> None:
    """Refuse aliases and nesting deeper than MAX_YAML_DEPTH, before anything is built."""
    import yaml

    level = 0
    for event in events:
        line = event.start_mark.line + 1 if event.start_mark else 0
        if isinstance(event, yaml.AliasEvent):
            raise SuiteError(f"{source}:{line}: YAML alias {shown('*' + str(event.anchor), 40)} "
                             "is not supported (write the value out instead of & and *)")
        if isinstance(event, yaml.CollectionStartEvent):
            level += 1
            if level > MAX_YAML_DEPTH:
                raise SuiteError(f"{source}:{line}: YAML nested deeper than {MAX_YAML_DEPTH} "
                                 "levels")
        elif isinstance(event, yaml.CollectionEndEvent):
            level -= 1


def parse_yaml(path: Path, source: str) -> Any:
    """Parse ``path`` as YAML (safe tags only, no aliases, bounded depth and size); every
    problem becomes a one-line SuiteError naming the file (and the line when known)."""
    import yaml

    try:
        raw = _read_capped(path, MAX_SUITE_BYTES)
    except OSError as exc:
        raise SuiteError(f"{source}: cannot read: {exc.strerror or exc}") from None
    text = suite_text(raw, source)
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        _check_events(yaml.parse(text, Loader=loader), source)
        return yaml.load(text, Loader=loader)  # a safe loader: CSafeLoader or SafeLoader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}:{mark.line + 1}" if mark is not None else source
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        kind = "value cannot be read" if isinstance(exc, yaml.constructor.ConstructorError) \
            else "syntax error"
        raise SuiteError(f"{where}: YAML {kind}: {' '.join(str(problem).split())}") from None
    except SuiteError:
        raise
    except (ValueError, TypeError, OverflowError, RecursionError) as exc:
        # e.g. an integer of 5,000 digits, a date like 2024-13-45
        raise SuiteError(f"{source}: YAML value cannot be read: "
                         f"{' '.join(str(exc).split())[:160]}") from None


def _inside(real: str, root: str) -> bool:
    return real == root or real.startswith(root.rstrip(os.sep) + os.sep)


def read_files(folder: Path, refs: Iterable[FileRef], source: str) -> dict[str, bytes]:
    """The bytes of every referenced file (at most its limit + 1); a missing file stays
    absent (the evaluator names it). A file whose real path is outside ``folder``, or that
    is not a regular file, is a SuiteError naming the case and the field; it is not read."""
    root = os.path.realpath(folder)
    files: dict[str, bytes] = {}
    by_path: dict[str, list[FileRef]] = {}
    for ref in refs:
        by_path.setdefault(ref.path, []).append(ref)
    for name, uses in by_path.items():
        path = Path(folder) / name
        real = os.path.realpath(path)
        if not os.path.lexists(path):
            continue
        if not _inside(real, root):
            raise uses[0].error(source, f"{shown(name)} leads outside the suite's folder "
                                        "(a symbolic link)")
        if not os.path.exists(real):
            continue
        if not stat.S_ISREG(os.stat(real).st_mode):
            raise uses[0].error(source, f"{shown(name)} is not a regular file")
        try:
            files[name] = _read_capped(Path(real), max(ref.max_bytes for ref in uses))
        except OSError as exc:
            raise uses[0].error(source, f"cannot read {shown(name)}: "
                                        f"{exc.strerror or exc}") from None
    return files


def load_file(path: Path, within: Path | None = None) -> Any:
    """Read, parse and load the ``suite.yaml`` at ``path``: an ``evaluator.suite.Suite``.

    With ``within`` (a suites directory being listed or built), a ``suite.yaml`` whose real
    path is outside it is refused."""
    source = display_path(path)
    if within is not None and not _inside(os.path.realpath(path), os.path.realpath(within)):
        raise SuiteError(f"{source}: leads outside {display_path(within)} (a symbolic link)")
    data = parse_yaml(path, source)
    files = read_files(path.parent, file_refs(data), source)
    return load_suite(data, source, files)


def suite_files_in(root: Path) -> Iterator[Path]:
    """Every ``<id>/suite.yaml`` under a suites directory, sorted."""
    yield from sorted(root.glob(f"*/{SUITE_FILE}")) if root.is_dir() else ()


def load(arg: str) -> Any:
    """Resolve, read and load the suite named by ``arg``: an ``evaluator.suite.Suite``."""
    return load_file(resolve_suite_file(arg))


ANSWERS_FILE = "answers.yaml"


def load_answers(folder: Path) -> dict[str, Any] | None:
    """A suite folder's reference answers (``answers.yaml``, read with the suite's YAML
    guards; :mod:`evaluator.references`), or None when it has none."""
    path = folder / ANSWERS_FILE
    if not path.is_file():
        return None
    data = parse_yaml(path, display_path(path))
    if not isinstance(data, dict):
        raise SuiteError(f"{display_path(path)}: expected a mapping of case id to answers")
    return data


def suite_summary(suite: Any, folder: Path) -> dict[str, Any]:
    """``{"cases": concrete cases (a sweep once per size), "duration": the evaluator's
    one-line time estimate}`` (:mod:`evaluator.suite_cost`)."""
    cost = suite_cost(suite, load_answers(folder))
    return {"cases": cost["cases"], "duration": duration_note(cost)}


def list_suites() -> list[dict[str, Any]]:
    """Every suite under the suites directory: id, version, cases (a sweep once per size),
    how long it takes, path (or error)."""
    root = suites_dir()
    rows: list[dict[str, Any]] = []
    for path in suite_files_in(root):
        row: dict[str, Any] = {"id": path.parent.name, "version": None, "cases": None,
                               "duration": None, "path": display_path(path), "error": None}
        try:
            suite = load_file(path, within=root)
            row.update(id=suite.id, version=suite.version, **suite_summary(suite, path.parent))
        except SuiteError as exc:
            row["error"] = str(exc)
        rows.append(row)
    return rows
