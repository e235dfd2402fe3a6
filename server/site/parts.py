"""The build's building blocks: options, errors, hashed names, the CSP, hashing web/.

Shared by `build.py` (the orchestration: input hash, manifest, swap-in) and `files.py`
(writing the site's files), so neither imports the other's module-level names in a circle.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from evaluator.discovery import DISCOVERY_ENV, RUNTIMES

REPO = Path(__file__).resolve().parents[2]
WEB_DIR = REPO / "web"
EVALUATOR_DIR = REPO / "evaluator"
PAGE = "local-models"
MANIFEST = "build.json"
IMMUTABLE_PREFIXES = ("assets/", "pyodide/", "suites/")
HASH_LEN = 8
SPECIFIER = re.compile(r"""(["'])(\.{1,2}/[\w./-]*\.mjs)\1""")
ORIGIN = re.compile(r"^https?://[A-Za-z0-9.-]+(:\d{1,5})?$")
INLINE_SCRIPT = re.compile(r"<script\b([^>]*)>(.*?)</script>", re.DOTALL | re.IGNORECASE)
INLINE_ATTR = re.compile(r"<[^>]*\s(on[a-z]+|style)\s*=", re.IGNORECASE)

Log = Callable[[str], None]


class BuildError(Exception):
    """The site cannot be built; the message names the file or option at fault."""


@dataclass
class BuildOptions:
    """What `localrate build` was asked for."""

    out: Path
    base_path: str = "/"
    origin: str | None = None
    pyodide: str = "vendored"  # or "cdn"
    web_dir: Path = WEB_DIR
    suites_dir: Path | None = None
    force: bool = False
    allowed_hosts: list[str] = field(default_factory=list)  # --allow-host, beyond loopback
    env: dict[str, str] = field(default_factory=lambda: dict(os.environ))


def short_hash(data: bytes) -> str:
    """The hash fragment put in file names."""
    return hashlib.sha256(data).hexdigest()[:HASH_LEN]


def hashed_name(rel: str, digest: str) -> str:
    """`js/app.mjs` + `3f2a9c1b` -> `js/app.3f2a9c1b.mjs`."""
    stem, dot, ext = rel.rpartition(".")
    return f"{stem}.{digest}.{ext}" if dot and "/" not in ext else f"{rel}.{digest}"


def normalize_base_path(value: str) -> str:
    """`/tools` -> `/tools/`; the base path must start with `/`."""
    if not value.startswith("/") or "//" in value or any(c in value for c in "?#\"' "):
        raise BuildError(f"--base-path {value!r}: must be an absolute URL path like /tools/")
    return value if value.endswith("/") else value + "/"


def check_origin(value: str | None) -> str | None:
    """`https://example.org` (no path, no trailing slash) or None."""
    if value is None:
        return None
    clean = value.rstrip("/")
    if not ORIGIN.match(clean):
        raise BuildError(f"--origin {value!r}: must look like https://example.org[:port]")
    return clean


def csp(extra_connect: list[str], cdn_origin: str | None, meta: bool = False) -> str:
    """The Content-Security-Policy. Runtimes are reached at http://127.0.0.1 on any port:
    visitors add custom endpoints at run time, so a fixed port list would block them.
    `extra_connect` adds the origins of *_BASE_URL settings and the --allow-host sources
    (evaluator.endpoints.csp_sources).
    `frame-ancestors` is ignored (with a console warning) in a meta tag, so `meta` drops it."""
    cdn = [cdn_origin] if cdn_origin else []
    parts = [
        "default-src 'self'",
        " ".join(["script-src 'self' 'wasm-unsafe-eval'", *cdn]),
        " ".join(["connect-src 'self' http://127.0.0.1:*", *extra_connect, *cdn]),
        "img-src 'self' data: blob:", "style-src 'self'", "worker-src 'self' blob:",
        "frame-ancestors 'none'", "base-uri 'none'", "object-src 'none'",
    ]
    return "; ".join(p for p in parts if not (meta and p.startswith("frame-ancestors")))


def _files(root: Path) -> list[Path]:
    skip = {"__pycache__", ".pytest_cache", "node_modules"}
    return sorted(p for p in root.rglob("*") if p.is_file() and not skip.intersection(p.parts)
                  and p.suffix != ".pyc" and not p.name.startswith("."))


def hash_assets(web_dir: Path) -> dict[str, tuple[str, bytes]]:
    """web/ files (templates aside) -> {source rel path: (hashed rel path, output bytes)}."""
    sources = {p.relative_to(web_dir).as_posix(): p.read_bytes() for p in _files(web_dir)
               if p.relative_to(web_dir).parts[0] != "templates"}
    deps: dict[str, list[str]] = {}
    for rel, body in sources.items():
        if rel.endswith(".mjs"):
            deps[rel] = []
            for _, spec in SPECIFIER.findall(body.decode("utf-8")):
                target = posixpath.normpath(posixpath.join(posixpath.dirname(rel), spec))
                if target not in sources:
                    raise BuildError(f"web/{rel}: imports {spec}, which is not in web/")
                deps[rel].append(target)
    names: dict[str, str] = {}
    for rel, body in sources.items():
        reach, todo = {rel}, list(deps.get(rel, []))
        while todo:
            dep = todo.pop()
            if dep not in reach:
                reach.add(dep)
                todo.extend(deps[dep])
        digest = hashlib.sha256()
        for name in sorted(reach):
            digest.update(name.encode() + b"\0" + hashlib.sha256(sources[name]).digest())
        names[rel] = hashed_name(rel, digest.hexdigest()[:HASH_LEN])
    out: dict[str, tuple[str, bytes]] = {}
    for rel, body in sources.items():
        if rel.endswith(".mjs"):
            def swap(m: re.Match[str], rel: str = rel) -> str:
                target = posixpath.normpath(posixpath.join(posixpath.dirname(rel), m[2]))
                new = posixpath.join(posixpath.dirname(m[2]), posixpath.basename(names[target]))
                return m[1] + new + m[1]
            body = SPECIFIER.sub(swap, body.decode("utf-8")).encode("utf-8")
        out[rel] = (names[rel], body)
    return out


def discovery_env(env: dict[str, str]) -> dict[str, str]:
    """The environment variables that change the probe plan (runtime URLs, the filter)."""
    keys = {row["env"] for row in RUNTIMES} | {"OLLAMA_HOST", DISCOVERY_ENV}
    return {k: env[k] for k in sorted(keys) if env.get(k)}
