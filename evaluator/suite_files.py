"""What a suite may reference: relative paths inside its folder, sizes, image bytes.

A suite names files as ``input: {file: prompts/x.txt}`` and ``image: {file: images/y.png}``.
The rules, which the shell (server/rating/suites_io.py) and this evaluator both apply:

* a path is relative and stays inside the suite's folder: no absolute path, no drive letter,
  no ``..`` part, no backslash, no NUL, no empty part (``a//b``, a trailing ``/``);
  :func:`path_problem` says why a path is refused (pure: the shell also resolves symlinks,
  which only it can see, and refuses a file that lands outside the folder);
* ``suite.yaml`` is at most :data:`MAX_SUITE_BYTES`, a prompt file
  :data:`MAX_PROMPT_BYTES`, an image :data:`MAX_IMAGE_BYTES`;
* an image's bytes are the type its name declares (png, jpeg, webp, gif), checked by their
  magic bytes (:func:`image_problem`).
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from evaluator.errors import SuiteError

MAX_SUITE_BYTES = 1_000_000
MAX_PROMPT_BYTES = 2_000_000
MAX_IMAGE_BYTES = 8_000_000
IMAGE_TYPES = {"png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg",
               "webp": "image/webp", "gif": "image/gif"}
_NAMES = {"image/png": "PNG", "image/jpeg": "JPEG", "image/webp": "WebP", "image/gif": "GIF"}
_DRIVE = re.compile(r"[A-Za-z]:")
_BASE64 = re.compile(r"[A-Za-z0-9+/]*={0,2}")
MAX_DATA_URL_CHARS = len("data:image/jpeg;base64,") + 4 * -(-MAX_IMAGE_BYTES // 3)


def megabytes(limit: int) -> str:
    """``2 MB`` for 2_000_000."""
    return f"{limit / 1_000_000:g} MB"


def shown(value: Any, limit: int = 60) -> str:
    """``repr(value)`` on one line, cut to about ``limit`` characters."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "…"


def path_problem(path: Any) -> str | None:
    """Why ``path`` cannot name a file of the suite, or None (pure: no file system)."""
    if not isinstance(path, str) or not path:
        return f"must be a relative path inside the suite's folder, got {shown(path)}"
    if "\x00" in path:
        return f"{shown(path)} contains a NUL character"
    if "\\" in path:
        return f"{shown(path)} contains a backslash (write paths with /)"
    if path.startswith("/") or _DRIVE.match(path):
        return f"{shown(path)} is an absolute path (give a path inside the suite's folder)"
    parts = path.split("/")
    if ".." in parts:
        return f"{shown(path)} is outside the suite's folder"
    if "" in parts:
        return f"{shown(path)} has an empty part (a // or a trailing /)"
    return None


@dataclass(frozen=True)
class FileRef:
    """One file a case names: where (case, field), and how many bytes it may have."""

    path: str
    case: str  # "case 'x'" or "case #3", as in every SuiteError
    field: str  # "input.file" or "image.file"
    max_bytes: int

    def error(self, source: str, what: str) -> SuiteError:
        """``<source>: case 'x': input.file: <what>``."""
        return SuiteError(f"{source}: {self.case}: {self.field}: {what}")


def case_label(raw: Any, number: int) -> str:
    """How errors name a case: ``case 'id'``, or ``case #n`` when it has no usable id."""
    case_id = raw.get("id") if isinstance(raw, dict) else None
    if isinstance(case_id, str) and id_problem(case_id) is None:
        return f"case {case_id!r}"
    return f"case #{number}"


def id_problem(case_id: str) -> str | None:
    """Why a (string) id cannot be used, or None."""
    if not case_id:
        return "missing"
    if len(case_id) > 200:
        return f"longer than 200 characters ({shown(case_id, 40)})"
    if not case_id.isprintable():
        return f"contains a control character ({shown(case_id, 40)})"
    return None


def file_refs(data: Any) -> list[FileRef]:
    """Every ``input.file`` / ``image.file`` whose path is acceptable, in case order
    (a path refused by :func:`path_problem` is left out: the evaluator reports it)."""
    return list(_refs(data))


def _refs(data: Any) -> Iterator[FileRef]:
    cases = data.get("cases") if isinstance(data, dict) else None
    for number, case in enumerate(cases if isinstance(cases, list) else [], start=1):
        if not isinstance(case, dict):
            continue
        for key, limit in (("input", MAX_PROMPT_BYTES), ("image", MAX_IMAGE_BYTES)):
            ref = case.get(key)
            path = ref.get("file") if isinstance(ref, dict) else None
            if isinstance(path, str) and path_problem(path) is None:
                yield FileRef(path, case_label(case, number), f"{key}.file", limit)


def size_problem(path: str, size: int, limit: int, what: str) -> str | None:
    """``'x.png' is larger than the 8 MB limit for images`` or None."""
    if size > limit:
        return f"{shown(path)} is larger than the {megabytes(limit)} limit for {what}"
    return None


def suite_size_problem(source: str, size: int) -> SuiteError | None:
    """The error for a ``suite.yaml`` over :data:`MAX_SUITE_BYTES`, or None."""
    if size > MAX_SUITE_BYTES:
        return SuiteError(f"{source}: file is larger than the {megabytes(MAX_SUITE_BYTES)} "
                          "limit for suite files")
    return None


def suite_text(raw: bytes, source: str) -> str:
    """A suite file's bytes as text: SuiteError when it is over the size limit or not
    UTF-8 (the CLI's loader and the page's import both read suites through this)."""
    too_big = suite_size_problem(source, len(raw))
    if too_big:
        raise too_big
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SuiteError(f"{source}: not UTF-8 text ({exc.reason} at byte {exc.start})") \
            from None


def image_type(data: bytes) -> str | None:
    """The MIME type ``data`` starts like (png, jpeg, webp, gif), or None."""
    if data.startswith(b"\x89PNG"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def image_problem(path: str, declared: str, data: bytes) -> str | None:
    """Why ``data`` is not the image type ``declared`` (a MIME type), or None."""
    found = image_type(data)
    if found == declared:
        return None
    seen = f"its bytes are {_NAMES[found]}" if found else "its first bytes are not an image's"
    return f"{shown(path)} is not a {_NAMES[declared]} image ({seen})"


def data_url_problem(url: str) -> str | None:
    """Why a resolved image (``data:image/png;base64,...``) is refused, or None."""
    head, comma, payload = url.partition(",")
    declared = head[len("data:"):-len(";base64")] if head.endswith(";base64") else ""
    if not comma or not head.startswith("data:") or declared not in _NAMES:
        return "must be a data:image/(png|jpeg|webp|gif);base64,... URL"
    if len(url) > MAX_DATA_URL_CHARS:
        return f"image is larger than the {megabytes(MAX_IMAGE_BYTES)} limit for images"
    if len(payload) % 4 or not _BASE64.fullmatch(payload):
        return "image is not valid base64"
    try:
        start = base64.b64decode(payload[:16], validate=True)
    except (binascii.Error, ValueError):
        return "image is not valid base64"
    found = image_type(start)
    if found != declared:
        seen = f"its bytes are {_NAMES[found]}" if found else "its first bytes are not an image's"
        return f"is not a {_NAMES[declared]} image ({seen})"
    return None


def json_problem(value: Any) -> str | None:
    """Why ``value`` is not plain JSON (string keys; str, finite number, bool, null, list,
    object), as ``$.path: what``; or None. No recursion; a path is only spelled out for the
    value that fails (a case's JSON is read back for every score, haystacks included)."""
    # (item, parent's index in `seen`, key or index under the parent)
    seen: list[tuple[Any, int, str | int]] = []
    stack: list[tuple[Any, int, str | int]] = [(value, -1, "$")]

    def where(at: int) -> str:
        parts: list[str] = []
        while at >= 0:
            _, at, key = seen[at]
            parts.append(f"[{key}]" if isinstance(key, int) else
                         key if key == "$" and at < 0 else f".{key}")
        return "".join(reversed(parts))

    while stack:
        entry = stack.pop()
        item = entry[0]
        if isinstance(item, dict):
            seen.append(entry)
            here = len(seen) - 1
            for key, child in item.items():
                if not isinstance(key, str):
                    return f"{where(here)}: key {shown(key, 30)} is not a string"
                stack.append((child, here, key))
        elif isinstance(item, list):
            seen.append(entry)
            here = len(seen) - 1
            stack.extend((child, here, i) for i, child in enumerate(item))
        elif isinstance(item, (str, bool, int)) or item is None:
            continue
        else:
            seen.append(entry)
            path = where(len(seen) - 1)
            if isinstance(item, float):
                if math.isfinite(item):
                    continue
                return f"{path}: {item!r} is not a finite number"
            return f"{path}: {shown(item, 40)} is not JSON ({type(item).__name__})"
    return None
