"""A suite the visitor brings or writes in the page: import, check, export.

The page keeps a custom suite as a *draft*, a plain-JSON object it stores in IndexedDB:
``{"format": DRAFT_FORMAT, "name", "data", "files", "disabled"}``, where ``data`` is the
suite mapping as written (``passThreshold``, ``followUps``, ``input: {file: ...}``...),
``files`` maps each referenced path to its bytes in base64, and ``disabled`` is one boolean
per case (a disabled case stays in the draft but is not run nor exported).

* :func:`import_suite` reads what the visitor dropped or picked: one YAML or JSON file, the
  files of a folder, or a ``.zip`` (read with :mod:`zipfile`, in memory) holding
  ``suite.yaml`` with ``prompts/`` and ``images/``. The limits are the CLI's
  (:mod:`evaluator.suite_files`), plus :data:`MAX_ZIP_BYTES` and :data:`MAX_ZIP_ENTRIES`
  for an archive; the suite is checked by :func:`evaluator.suite.load_suite`, so every
  problem is the CLI's one-line :class:`SuiteError`.
* :func:`check_draft` resolves the enabled cases: the resolved suite (the form a run uses,
  hash included) or the one-line error.
* :func:`export_yaml` writes one ``suite.yaml`` with every file inlined (prompts as text,
  images as ``image: {dataUrl: ...}``), which ``localrate bench --suite`` loads to the same
  resolved suite and hash; :func:`export_zip` keeps the files beside it instead.
"""

from __future__ import annotations

import base64
import binascii
import io
import posixpath
import zipfile
from typing import Any

from evaluator import safejson, yaml_lite
from evaluator.errors import SuiteError
from evaluator.suite import load_suite
from evaluator.suite_files import (
    IMAGE_TYPES,
    MAX_IMAGE_BYTES,
    MAX_PROMPT_BYTES,
    MAX_SUITE_BYTES,
    file_refs,
    json_problem,
    megabytes,
    shown,
    suite_text,
)
from evaluator.yaml_write import dump

DRAFT_FORMAT = "localrate.suite-draft/1"
MAX_ZIP_BYTES = 50_000_000
MAX_ZIP_ENTRIES = 2_000
MAX_UPLOAD_BYTES = 50_000_000
SUITE_NAMES = ("suite.yaml", "suite.yml", "suite.json")
TEXT_SUFFIXES = (".yaml", ".yml", ".json")


def limits() -> dict[str, Any]:
    """The limits the page states beside its import, in bytes."""
    return {"suite": MAX_SUITE_BYTES, "prompt": MAX_PROMPT_BYTES, "image": MAX_IMAGE_BYTES,
            "zip": MAX_ZIP_BYTES, "zip_entries": MAX_ZIP_ENTRIES, "upload": MAX_UPLOAD_BYTES,
            "text": (f"suite file up to {megabytes(MAX_SUITE_BYTES)}, prompt files up to "
                     f"{megabytes(MAX_PROMPT_BYTES)}, images up to "
                     f"{megabytes(MAX_IMAGE_BYTES)}, a .zip up to "
                     f"{megabytes(MAX_ZIP_BYTES)} and {MAX_ZIP_ENTRIES} files")}


def _bytes(entry: Any, where: str) -> tuple[str, bytes]:
    if not isinstance(entry, dict) or not isinstance(entry.get("path"), str) \
            or not isinstance(entry.get("data"), str):
        raise SuiteError(f"{where}: expected {{path, data}} with base64 data")
    try:
        return entry["path"], base64.b64decode(entry["data"], validate=True)
    except (binascii.Error, ValueError):
        raise SuiteError(f"{shown(entry['path'])}: not valid base64") from None


def _unzip(name: str, data: bytes) -> dict[str, bytes]:
    """The files of a zip (folders skipped), each read no further than its limit."""
    if len(data) > MAX_ZIP_BYTES:
        raise SuiteError(f"{name}: file is larger than the {megabytes(MAX_ZIP_BYTES)} limit "
                         "for .zip files")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = [info for info in archive.infolist() if not info.is_dir()]
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise SuiteError(f"{name}: not a readable .zip file ({exc})") from None
    if len(infos) > MAX_ZIP_ENTRIES:
        raise SuiteError(f"{name}: holds {len(infos)} files, more than the "
                         f"{MAX_ZIP_ENTRIES} allowed")
    out: dict[str, bytes] = {}
    total = 0
    for info in infos:
        try:  # no file a suite may use is larger than an image; the loader checks each
            with archive.open(info) as handle:
                body = handle.read(MAX_IMAGE_BYTES + 1)
        except (zipfile.BadZipFile, OSError, ValueError, EOFError,
                NotImplementedError, RuntimeError) as exc:
            raise SuiteError(f"{name}: {shown(info.filename)}: cannot be read ({exc})") from None
        total += len(body)
        if total > MAX_ZIP_BYTES:
            raise SuiteError(f"{name}: unpacks to more than {megabytes(MAX_ZIP_BYTES)}")
        out[info.filename] = body
    return out


def _pick_suite(paths: list[str], name: str) -> str:
    """The suite file among ``paths``: a ``suite.yaml`` (or .yml/.json) nearest the top,
    else the only YAML or JSON file."""
    named = [p for p in paths if posixpath.basename(p) in SUITE_NAMES]
    if named:
        return min(named, key=lambda p: (p.count("/"), p))
    texts = [p for p in paths if p.endswith(TEXT_SUFFIXES)]
    if len(texts) == 1:
        return texts[0]
    raise SuiteError(f"{name}: no suite.yaml found (give a suite.yaml, a folder or a .zip "
                     "holding one)")


def parse_text(raw: bytes, source: str) -> Any:
    """A suite file's bytes parsed: JSON when it is ``.json``, else YAML (the page's
    reader, :mod:`evaluator.yaml_lite`)."""
    text = suite_text(raw, source)
    if source.endswith(".json"):
        try:
            return safejson.loads(text)
        except ValueError as exc:
            raise SuiteError(f"{source}: not JSON: {' '.join(str(exc).split())[:160]}") \
                from None
    return yaml_lite.parse(text, source)


def import_suite(entries: Any, name: str = "") -> dict[str, Any]:
    """A draft from uploaded files (``[{"path", "data": base64}]``: one file, a folder's
    files with their relative paths, or one ``.zip``), checked; SuiteError otherwise."""
    if not isinstance(entries, list) or not entries:
        raise SuiteError("no file given")
    files: dict[str, bytes] = {}
    total = 0
    for i, entry in enumerate(entries):
        path, body = _bytes(entry, f"files[{i}]")
        total += len(body)
        if total > MAX_UPLOAD_BYTES:
            raise SuiteError(f"{shown(path)}: the files are larger than "
                             f"{megabytes(MAX_UPLOAD_BYTES)} together")
        files[path] = body
    if len(files) == 1 and next(iter(files)).lower().endswith(".zip"):
        zip_name = next(iter(files))
        files = _unzip(zip_name, files[zip_name])
        name = name or zip_name
    chosen = _pick_suite(sorted(files), name or "upload")
    source = name if name and not name.lower().endswith(".zip") else chosen
    if name.lower().endswith(".zip"):
        source = f"{name}/{chosen}"
    data = parse_text(files[chosen], source)
    folder = posixpath.dirname(chosen)
    inside = {posixpath.relpath(p, folder) if folder else p: body
              for p, body in files.items() if not folder or p.startswith(folder + "/")}
    if not isinstance(data, dict):
        load_suite(data, source, {})  # the loader's own error for a non-mapping
    problem = json_problem(data)
    if problem is not None:
        raise SuiteError(f"{source}: {problem}")
    refs = {ref.path for ref in file_refs(data)}
    kept = {path: body for path, body in inside.items() if path in refs}
    load_suite(data, source, kept)
    cases = data.get("cases")
    return {"format": DRAFT_FORMAT, "name": source, "data": data,
            "files": {p: base64.b64encode(b).decode("ascii") for p, b in sorted(kept.items())},
            "disabled": [False] * (len(cases) if isinstance(cases, list) else 0)}


def new_draft(name: str = "my-suite") -> dict[str, Any]:
    """An empty draft with one case to start from."""
    data = {"name": name, "version": "0.1.0", "description": "", "passThreshold": 0.6,
            "cases": [{"id": "case-1", "input": "Reply with exactly: OK",
                       "expect": {"kind": "contains", "value": "OK"}}]}
    return {"format": DRAFT_FORMAT, "name": "suite.yaml", "data": data, "files": {},
            "disabled": [False]}


def _files_of(draft: dict[str, Any]) -> dict[str, bytes]:
    files = draft.get("files") or {}
    if not isinstance(files, dict):
        raise SuiteError("draft.files: expected an object")
    out = {}
    for path, text in files.items():
        _, body = _bytes({"path": path, "data": text}, "draft.files")
        out[path] = body
    return out


def enabled_data(draft: Any) -> dict[str, Any]:
    """The draft's suite mapping with only its enabled cases."""
    if not isinstance(draft, dict) or draft.get("format") != DRAFT_FORMAT:
        raise SuiteError(f"draft: expected an object with format {DRAFT_FORMAT!r}")
    data = draft.get("data")
    if not isinstance(data, dict):
        raise SuiteError(f"{draft.get('name')}: must be a mapping of suite fields")
    cases = data.get("cases")
    if not isinstance(cases, list):
        return data
    off = draft.get("disabled") or []
    return {**data, "cases": [case for i, case in enumerate(cases)
                              if not (i < len(off) and off[i] is True)]}


def check_draft(draft: Any) -> dict[str, Any]:
    """``{"ok": true, "suite": resolved JSON}`` or ``{"ok": false, "error": one line}``."""
    try:
        source = str(draft.get("name") or "suite.yaml") if isinstance(draft, dict) \
            else "suite.yaml"
        suite = load_suite(enabled_data(draft), source, _files_of(draft))
    except SuiteError as err:
        return {"ok": False, "error": " ".join(str(err).split()), "suite": None}
    return {"ok": True, "error": None, "suite": suite.to_json()}


def _inlined(data: dict[str, Any], files: dict[str, bytes]) -> dict[str, Any]:
    cases = []
    for case in data.get("cases") or []:
        if isinstance(case, dict):
            case = dict(case)
            ref = case.get("input")
            if isinstance(ref, dict) and isinstance(ref.get("file"), str) \
                    and ref["file"] in files:
                case["input"] = files[ref["file"]].decode("utf-8", errors="strict")
            img = case.get("image")
            if isinstance(img, dict) and isinstance(img.get("file"), str) \
                    and img["file"] in files:
                ext = img["file"].rsplit(".", 1)[-1].lower()
                payload = base64.b64encode(files[img["file"]]).decode("ascii")
                case["image"] = {"dataUrl": f"data:{IMAGE_TYPES.get(ext, 'image/png')};"
                                            f"base64,{payload}"}
        cases.append(case)
    return {**data, "cases": cases}


def export_yaml(draft: Any) -> str:
    """One self-contained ``suite.yaml`` of the enabled cases (files inlined); SuiteError
    when the draft does not load."""
    checked = check_draft(draft)
    if not checked["ok"]:
        raise SuiteError(checked["error"])
    return dump(_inlined(enabled_data(draft), _files_of(draft)))


def export_zip(draft: Any) -> str:
    """A ``.zip`` (base64) holding ``suite.yaml`` and its files, as the CLI reads a folder."""
    checked = check_draft(draft)
    if not checked["ok"]:
        raise SuiteError(checked["error"])
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, body in [("suite.yaml", dump(enabled_data(draft)).encode("utf-8")),
                           *sorted(_files_of(draft).items())]:
            info = zipfile.ZipInfo(path, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, body)
    return base64.b64encode(out.getvalue()).decode("ascii")
