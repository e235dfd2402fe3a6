"""Write the files of one build into a fresh folder (called by `server.site.build.build_site`).

Each function writes one part of the site and returns what the page data needs to know
about it; `write_site` glues them and returns the manifest. Layout: see server/site/build.py.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
import shutil
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jinja2
from markupsafe import Markup

from evaluator.discovery import discovery_table, probe_plan
from evaluator.endpoints import csp_sources
from evaluator.records import COMPARISON_FORMAT, RECORD_FORMAT
from evaluator.request import DEFAULT_SETTINGS, DEFAULT_SUITE_ID, MAX_TOKENS_LIMIT
from evaluator.settings import OPTIONAL_DEFAULTS, REPEATS, THINKING_LEVELS
from evaluator.suite import suite_from_json
from server.rating.suites_io import SUITE_FILE, load_file, suite_files_in, suite_summary
from server.site import assets
from server.site.parts import (
    EVALUATOR_DIR,
    INLINE_ATTR,
    INLINE_SCRIPT,
    PAGE,
    BuildError,
    BuildOptions,
    Log,
    csp,
    discovery_env,
    hash_assets,
    hashed_name,
    short_hash,
)

# Written with a `.gz` sibling (zip and images are compressed already).
GZIP_SUFFIXES = frozenset({".html", ".mjs", ".js", ".css", ".json", ".wasm", ".svg", ".txt"})
GZIP_MIN_BYTES = 1024  # below this the headers outweigh the saving
GZIP_CACHE_MIN_BYTES = 1 << 20  # big files (the pinned Pyodide ones) are reused across builds
CHARSET_META = re.compile(r"<meta\s+charset=[^>]*>", re.IGNORECASE)
HEAD_TAG = re.compile(r"<head\b[^>]*>", re.IGNORECASE)
REDIRECT_HTML = (
    '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">\n'
    '<meta http-equiv="refresh" content="0; url={page}">\n<link rel="icon" href="data:,">\n'
    '<title>localrate</title></head>\n'
    '<body><p><a href="{page}">Go to {page}</a></p></body></html>\n'
)


def _write(path: Path, body: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(body)


def write_suites(dest: Path, suites_dir: Path, base: str, log: Log) -> list[dict[str, Any]]:
    """Every `<id>/suite.yaml`, validated by the evaluator, as resolved JSON."""
    rows = []
    for path in suite_files_in(suites_dir):
        # SuiteError names the file, case and field; nothing outside a suite's folder is read
        suite = load_file(path, within=suites_dir)
        obj = suite.to_json()
        suite_from_json(obj)  # the form the page loads must load back
        # Keys in the evaluator's order: generate.vars is ordered (an expr uses the vars
        # above it), so sorting would make a valid suite fail to load in the page.
        body = json.dumps(obj, ensure_ascii=False).encode("utf-8")
        name = hashed_name(f"suites/{suite.id}.json", short_hash(body))
        _write(dest / name, body)
        summary = suite_summary(suite, path.parent)  # concrete cases, the time estimate
        rows.append({"id": suite.id, "version": suite.version, "description": suite.description,
                     "case_count": summary["cases"], "duration": summary["duration"],
                     "sha256": suite.sha256, "url": base + name})
    if not rows:
        raise BuildError(f"{suites_dir}: no */{SUITE_FILE} found")
    log(f"suites: {', '.join(r['id'] for r in rows)}")
    return rows


def write_pyodide(dest: Path, mode: str, base: str, log: Log) -> dict[str, Any]:
    """Vendor the pinned Pyodide files (or point at the CDN with SRI when asked or no npm)."""
    folder = assets.fetch_pyodide(log=log) if mode == "vendored" else None
    version = assets.PYODIDE_VERSION
    if folder is None:
        files = assets.cdn_files()
        index_url = files["pyodide.mjs"]["url"].rsplit("/", 1)[0] + "/"
        mode = "cdn"
    else:
        index_url = f"{base}pyodide/{version}/"
        files = {}
        for name, pin in assets.PINS["pyodide"]["files"].items():
            target = dest / "pyodide" / version / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(folder / name, target)
            files[name] = {"url": index_url + name, "integrity": pin}
    log(f"pyodide {version}: {mode} ({index_url})")
    return {"version": version, "mode": mode, "index_url": index_url,
            "site_packages": assets.SITE_PACKAGES, "files": files}


def write_evaluator_zip(dest: Path, base: str, log: Log) -> dict[str, Any]:
    """The zip unpacked into Pyodide's site-packages: evaluator + jsonschema & co."""
    data = assets.build_evaluator_zip(assets.fetch_wheels(log=log), EVALUATOR_DIR)
    name = hashed_name("assets/evaluator.zip", short_hash(data))
    _write(dest / name, data)
    log(f"evaluator zip: {name} ({len(data) // 1024} KiB)")
    return {"url": base + name, "integrity": assets.sri(data), "size": len(data)}


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def check_page(html: str, where: str) -> None:
    """Reject what the CSP would block: inline script code, on* handlers, style attributes."""
    for attrs, body in INLINE_SCRIPT.findall(html):
        if body.strip() and "application/json" not in attrs.lower():
            raise BuildError(f"{where}: inline <script> code (the CSP allows only src=)")
    bad = INLINE_ATTR.search(html)
    if bad:
        raise BuildError(f"{where}: inline {bad[1]}= attribute (the CSP blocks it)")


def insert_csp_meta(html: str, tag: str, where: str) -> str:
    """Put the CSP <meta> after <meta charset> (else right after <head>)."""
    anchor = CHARSET_META.search(html) or HEAD_TAG.search(html)
    if anchor is None:
        raise BuildError(f"{where}: no <head> to put the Content-Security-Policy meta in")
    return html[: anchor.end()] + "\n" + tag + html[anchor.end():]


def json_for_html(data: Any) -> str:
    """JSON that is safe inside <script type="application/json">."""
    text = json.dumps(data, ensure_ascii=False, sort_keys=True)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def render_pages(dest: Path, opts: BuildOptions, context: dict[str, Any],
                 urls: dict[str, str]) -> list[str]:
    """Render every web/templates/*.j2 (names starting with `_` are partials)."""
    folder = opts.web_dir / "templates"
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(folder), autoescape=True,
                             undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    pages = []
    for tpl in sorted(folder.glob("*.j2")) if folder.is_dir() else []:
        if tpl.name.startswith("_"):
            continue
        where = f"web/templates/{tpl.name}"

        def asset(rel: str, where: str = where) -> str:
            if rel not in urls:
                raise BuildError(f"{where}: asset({rel!r}): no such file in web/")
            return urls[rel]

        try:
            html = env.get_template(tpl.name).render(**context, asset=asset)
        except jinja2.TemplateError as exc:
            raise BuildError(f"{where}: {exc}") from exc
        if 'http-equiv="Content-Security-Policy"' not in html:
            html = insert_csp_meta(html, str(context["csp_meta"]), where)
        check_page(html, where)
        out_name = tpl.name[: -len(".j2")]
        _write(dest / out_name, html.encode("utf-8"))
        pages.append(out_name)
        stem = out_name.removesuffix(".html")
        if out_name.endswith(".html") and stem != "index":
            _write(dest / stem / "index.html", html.encode("utf-8"))
    if f"{PAGE}.html" not in pages:
        raise BuildError(f"{folder}: no {PAGE}.html.j2 template")
    if "index.html" not in pages:
        _write(dest / "index.html", REDIRECT_HTML.format(page=PAGE).encode("utf-8"))
    return pages


def headers_file(base: str, header_csp: str) -> str:
    """`_headers` (read by some static hosts) with the headers `localrate serve` sends."""
    return (f"{base}*\n  Content-Security-Policy: {header_csp}\n"
            "  X-Content-Type-Options: nosniff\n  Referrer-Policy: no-referrer\n"
            + "".join(f"{base}{p}*\n  Cache-Control: public, max-age=31536000, immutable\n"
                      for p in ("assets/", "pyodide/", "suites/")))


def gzip_bytes(data: bytes) -> bytes:
    """Deterministic gzip (level 9, mtime 0); big inputs are cached by content hash."""
    if len(data) < GZIP_CACHE_MIN_BYTES:
        return gzip.compress(data, compresslevel=9, mtime=0)
    cached = assets.cache_dir() / "gzip" / f"{hashlib.sha256(data).hexdigest()}.gz"
    if cached.is_file():
        return cached.read_bytes()
    body = gzip.compress(data, compresslevel=9, mtime=0)
    cached.parent.mkdir(parents=True, exist_ok=True)
    part = cached.with_name(f".{cached.name}.part")
    part.write_bytes(body)
    part.replace(cached)
    return body


def write_gzip_siblings(dest: Path, log: Log) -> list[str]:
    """Write `x.gz` next to every compressible file `x`; returns the `x` paths, sorted."""
    done = []
    for path in sorted(p for p in dest.rglob("*") if p.is_file()):
        if path.suffix not in GZIP_SUFFIXES or path.stat().st_size < GZIP_MIN_BYTES:
            continue
        data = path.read_bytes()
        body = gzip_bytes(data)
        if len(body) < len(data):
            _write(path.with_name(path.name + ".gz"), body)
            done.append(path.relative_to(dest).as_posix())
    log(f"gzip: {len(done)} files precompressed")
    return sorted(done)


def page_contract() -> dict[str, Any]:
    """What the page needs of the run contract before Python is ready, from the evaluator:
    the record formats it writes, the settings' defaults its form shows and the choices of
    its repeat and thinking selectors."""
    return {"formats": {"run": RECORD_FORMAT, "comparison": COMPARISON_FORMAT},
            "settings": dict(DEFAULT_SETTINGS), "max_tokens_limit": MAX_TOKENS_LIMIT,
            "optional_defaults": dict(OPTIONAL_DEFAULTS), "repeats": list(REPEATS),
            "thinking_levels": list(THINKING_LEVELS)}


def write_site(dest: Path, opts: BuildOptions, suites_dir: Path, log: Log) -> dict[str, Any]:
    """Write the whole site into `dest`; returns the manifest (without the input hash)."""
    base = opts.base_path
    urls = {}
    for rel, (hashed, body) in hash_assets(opts.web_dir).items():
        _write(dest / "assets" / hashed, body)
        urls[rel] = f"{base}assets/{hashed}"
    log(f"assets: {len(urls)} files from {opts.web_dir}")
    suites = write_suites(dest, suites_dir, base, log)
    pyodide = write_pyodide(dest, opts.pyodide, base, log)
    evaluator_zip = write_evaluator_zip(dest, base, log)
    try:
        plan = probe_plan(discovery_env(opts.env))
    except ValueError as exc:
        raise BuildError(f"discovery settings: {exc}") from exc
    # Loopback http runtimes are covered by http://127.0.0.1:*; others are added by origin.
    extra = sorted({_origin(p["base_url"]) for p in plan
                    if not p["base_url"].startswith("http://127.0.0.1:")})
    extra += [s for s in csp_sources(opts.allowed_hosts) if s not in extra]  # --allow-host
    cdn_origin = _origin(pyodide["index_url"]) if pyodide["mode"] == "cdn" else None
    header_csp, meta_csp = csp(extra, cdn_origin), csp(extra, cdn_origin, meta=True)
    ids = [s["id"] for s in suites]
    page_data = {
        "format": "localrate.page/1", "base_path": base, "origin": opts.origin,
        "page_url": f"{base}{PAGE}", "assets": urls, "suites": suites,
        "default_suite": DEFAULT_SUITE_ID if DEFAULT_SUITE_ID in ids else ids[0],
        "discovery": discovery_table(), "probe_plan": plan,
        "pyodide": pyodide, "evaluator_zip": evaluator_zip,
        "contract": page_contract(),
        "allowed_hosts": list(opts.allowed_hosts),  # the page says so, and checks endpoints
    }
    context = {
        "base_path": base, "page_data": page_data,
        "page_data_json": Markup(json_for_html(page_data)),
        "csp_meta": Markup('<meta http-equiv="Content-Security-Policy" content="{}">')
        .format(meta_csp),
        "pyodide_version": pyodide["version"], "suites": suites,
    }
    pages = render_pages(dest, opts, context, urls)
    (dest / "_headers").write_text(headers_file(base, header_csp), "utf-8")
    log(f"pages: {', '.join(pages)}")
    gzipped = write_gzip_siblings(dest, log)
    return {"format": "localrate.build/1", "base_path": base, "page": f"{PAGE}.html",
            "pages": pages, "csp": header_csp, "csp_meta": meta_csp, "assets": urls,
            "allowed_hosts": list(opts.allowed_hosts),
            "pyodide": {"version": pyodide["version"], "mode": pyodide["mode"]},
            "suites": [s["url"] for s in suites], "evaluator_zip": evaluator_zip["url"], "gzip": gzipped}
