"""`localrate build`: render web/ into a static folder that works from any static host.

Output (every URL in the pages starts with the base path, so any base path works):

    local-models.html, local-models/index.html   the page (same bytes)
    index.html                                   a redirect to local-models (no script)
    assets/js/app.3f2a9c1b.mjs ...               web/ files (not templates), hashed names
    assets/evaluator.<hash>.zip                  evaluator + jsonschema & co + rpds shim
    suites/<id>.<hash>.json                      resolved suites (evaluator's own loader)
    pyodide/<version>/...                        the five pinned Pyodide files (vendored)
    <file>.gz                                    gzip of each text or wasm file (>= 1 KiB)
    build.json                                   manifest: input hash, CSP, asset map, .gz list
    _headers                                     the same headers for hosts that read it

Hashed names and imports: each `.mjs` file's hash covers its own source and the sources of
every module it reaches through relative imports, so a change anywhere below a module
renames it. Then every string literal `"./x.mjs"` (or `'../y/x.mjs'`) naming a web/ module
is rewritten to the hashed name; this covers `import`, `export ... from`, `import()` and
`new URL("./worker.mjs", import.meta.url)`. Cycles need no special order.

Template context (web/templates/*.j2, autoescaped, unknown names are errors):
`asset(path)` -> URL of a web/ file by its source path (`asset("js/app.mjs")`),
`base_path`, `page_data` (dict), `page_data_json` (escaped JSON for
`<script type="application/json" id="localrate-data">`), `csp_meta` (the `<meta>` tag;
added after `<head>` when the template leaves it out), `pyodide_version`, `suites`.
"""

from __future__ import annotations

import hashlib
import json
import os
import posixpath
import re
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
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
    from evaluator.discovery import DISCOVERY_ENV, RUNTIMES

    keys = {row["env"] for row in RUNTIMES} | {"OLLAMA_HOST", DISCOVERY_ENV}
    return {k: env[k] for k in sorted(keys) if env.get(k)}


def input_hash(opts: BuildOptions, suites_dir: Path) -> str:
    """Content hash of everything a build reads: sources, pins, options, env overrides."""
    here = Path(__file__).resolve().parent
    digest = hashlib.sha256(json.dumps(
        [opts.base_path, opts.origin, opts.pyodide, discovery_env(opts.env)]).encode())
    roots = [opts.web_dir, suites_dir, EVALUATOR_DIR]
    code = [here / name for name in
            ("build.py", "site_files.py", "assets.py", "pins.json", "suites_io.py")]
    for root in roots:
        for path in _files(root) if root.is_dir() else []:
            # A link under suites/ counts by its target's name, so hashing never reads a file
            # outside (loading refuses a link that leads out of its suite's folder).
            link = root == suites_dir and path.is_symlink()
            body = os.readlink(path).encode() if link else path.read_bytes()
            digest.update(f"{root}:{path.relative_to(root)}\0".encode() + body)
    for path in code:
        if path.is_file():
            digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()


def read_manifest(out: Path) -> dict[str, Any] | None:
    """The build.json of a previous build in `out`, or None."""
    try:
        data = json.loads((out / MANIFEST).read_text("utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _swap_in(new: Path, out: Path) -> None:
    """Replace `out` with the finished build `new` (two renames; `out` is never half-built)."""
    if out.exists():
        trash = out.with_name(f".{out.name}.old-{os.getpid()}")
        out.rename(trash)
        shutil.rmtree(trash, ignore_errors=True)
    new.rename(out)


def build_site(opts: BuildOptions, log: Log = print) -> dict[str, Any]:
    """Build (or reuse) the site in `opts.out`; returns the manifest (`skipped` when reused)."""
    from server import site_files
    from server.suites_io import suites_dir as default_suites_dir

    opts.base_path = normalize_base_path(opts.base_path)
    opts.origin = check_origin(opts.origin)
    if opts.pyodide not in ("vendored", "cdn"):
        raise BuildError(f"--pyodide {opts.pyodide!r}: must be vendored or cdn")
    suites_dir = opts.suites_dir or default_suites_dir()
    key = input_hash(opts, suites_dir)
    old = read_manifest(opts.out)
    if old and old.get("input_hash") == key and not opts.force:
        log(f"site is up to date: {opts.out} (inputs {key[:12]})")
        return {**old, "skipped": True}
    if opts.out.exists() and any(opts.out.iterdir()) and old is None:
        raise BuildError(f"{opts.out}: not empty and not a localrate build (no {MANIFEST})")
    started = time.monotonic()
    tmp = opts.out.with_name(f".{opts.out.name}.building-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        manifest = site_files.write_site(tmp, opts, suites_dir, log)
        manifest["input_hash"] = key
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True), "utf-8")
        _swap_in(tmp, opts.out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    log(f"built {opts.out} in {time.monotonic() - started:.1f} s (inputs {key[:12]})")
    return {**manifest, "skipped": False}

