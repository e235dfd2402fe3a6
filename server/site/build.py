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
import shutil
import time
from pathlib import Path
from typing import Any

from evaluator.endpoints import EndpointError, csp_sources, parse_allowed_hosts
from server.rating.suites_io import suites_dir as default_suites_dir
from server.site import files as site_files
from server.site.parts import (
    EVALUATOR_DIR,
    IMMUTABLE_PREFIXES,
    MANIFEST,
    PAGE,
    REPO,
    WEB_DIR,
    BuildError,
    BuildOptions,
    Log,
    _files,
    check_origin,
    discovery_env,
    normalize_base_path,
)

__all__ = ["EVALUATOR_DIR", "IMMUTABLE_PREFIXES", "MANIFEST", "PAGE", "REPO", "WEB_DIR",
           "BuildError", "BuildOptions", "Log", "build_site", "input_hash", "read_manifest"]


def input_hash(opts: BuildOptions, suites_dir: Path) -> str:
    """Content hash of everything a build reads: sources, pins, options, env overrides."""
    here = Path(__file__).resolve().parent  # server/site
    digest = hashlib.sha256(json.dumps(
        [opts.base_path, opts.origin, opts.pyodide, discovery_env(opts.env),
         opts.allowed_hosts]).encode())
    roots = [opts.web_dir, suites_dir, EVALUATOR_DIR]
    code = [here / name for name in ("build.py", "files.py", "assets.py", "pins.json")]
    code.append(here.parent / "rating" / "suites_io.py")
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
    opts.base_path = normalize_base_path(opts.base_path)
    opts.origin = check_origin(opts.origin)
    if opts.pyodide not in ("vendored", "cdn"):
        raise BuildError(f"--pyodide {opts.pyodide!r}: must be vendored or cdn")
    try:
        allowed = parse_allowed_hosts(opts.allowed_hosts)
    except EndpointError as exc:
        raise BuildError(str(exc)) from exc
    opts.allowed_hosts = [host["text"] for host in allowed]
    if allowed:  # never widened silently
        log(f"allow-host: the page may also connect to {', '.join(csp_sources(allowed))} "
            "(Content-Security-Policy connect-src; listed in the page data)")
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

