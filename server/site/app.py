"""The Starlette app behind `localrate serve`: a built site, with strict headers.

Routes: `/` redirects (307) to `/local-models`, which is the page; everything else is a
static file of the build. Every response carries the build's Content-Security-Policy,
`X-Content-Type-Options: nosniff` and `Referrer-Policy: no-referrer`. Hashed assets,
Pyodide files and suites are cached for a year (`immutable`); the HTML is `no-cache`.

Compression is done once, by the build: a file listed in the manifest's `gzip` has a
`.gz` sibling, sent with `Content-Encoding: gzip` to clients that accept it (both forms
carry `Vary: Accept-Encoding`). The page and every file up to IN_MEMORY bytes (the
modules, the stylesheet, the suites, the evaluator zip) are read once and answered from
memory: a cold page load asks for a dozen of them at once, and each file read would be a
hop to a worker thread. Pyodide's large files are streamed from disk. The file table is
made when the app is created: a rebuild needs a restart.
"""

from __future__ import annotations

import hashlib
import json
import mimetypes
import os
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.datastructures import Headers, MutableHeaders
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.staticfiles import NotModifiedResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.site.build import IMMUTABLE_PREFIXES, MANIFEST, PAGE

# Some systems' mime.types map these differently; browsers insist on these two.
mimetypes.add_type("text/javascript", ".mjs")
mimetypes.add_type("application/wasm", ".wasm")

IMMUTABLE = "public, max-age=31536000, immutable"
IN_MEMORY = 1_000_000  # bytes: files up to this size are answered from memory
HTML = "text/html; charset=utf-8"


class SecurityHeaders:
    """Pure ASGI middleware: CSP and friends on every response, cache policy by path."""

    def __init__(self, app: ASGIApp, csp: str) -> None:
        self.app = app
        self.csp = csp

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"].lstrip("/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["Content-Security-Policy"] = self.csp
                headers["X-Content-Type-Options"] = "nosniff"
                headers["Referrer-Policy"] = "no-referrer"
                ok = message["status"] in (200, 304)
                headers["Cache-Control"] = (
                    IMMUTABLE if ok and path.startswith(IMMUTABLE_PREFIXES) else "no-cache")
            await send(message)

        await self.app(scope, receive, send_with_headers)


def bridge_app_if_available(no_bridge: bool, host: str, bridge_port: int, page_port: int
                            ) -> tuple[Any | None, str]:
    """The MLX bridge app to run beside the page, or None, and the line `serve` prints.

    Started where mlx-lm imports, serving the demo model (prepared on first start).
    Where it cannot run, the line says why in one sentence; the page is served anyway.
    """
    if no_bridge:
        return None, "MLX bridge: not started (--no-bridge)"
    from server.demo.model import (
        DEMO_MODEL_ID,
        DemoModelError,
        RichProgress,
        ensure_demo_model,
        mlx_unavailable_reason,
    )

    reason = mlx_unavailable_reason()
    if reason is not None:
        return None, f"MLX bridge: not started, so no demo model ({reason})"
    if not port_free(host, bridge_port):
        return None, (f"MLX bridge: not started ({host}:{bridge_port} is in use; "
                      "another MLX server may be there)")
    try:
        with RichProgress() as progress:
            demo = ensure_demo_model(progress, with_mlx=True)
    except DemoModelError as exc:
        return None, f"MLX bridge: not started ({exc})"
    if demo.mlx_dir is None:
        return None, f"MLX bridge: not started, so no demo model ({demo.mlx_reason})"
    from server.mlx_bridge.app import make_mlx_app

    app = make_mlx_app(str(demo.mlx_dir), DEMO_MODEL_ID, page_port=page_port)
    return app, (f"MLX bridge: {DEMO_MODEL_ID} on http://{host}:{bridge_port}/v1 "
                 "(the model loads in the background)")


def port_free(host: str, port: int) -> bool:
    """True when nothing listens on host:port (a bind succeeds)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def accepts_gzip(accept_encoding: str) -> bool:
    """True when an Accept-Encoding header allows gzip (`gzip`, but not `gzip;q=0`)."""
    for item in accept_encoding.lower().split(","):
        name, _, params = item.partition(";")
        if name.strip() == "gzip":
            return params.replace(" ", "") not in ("q=0", "q=0.0", "q=0.00", "q=0.000")
    return False


def not_modified(etag: str, request: Request) -> bool:
    """True when the request's If-None-Match already names `etag` (or is `*`)."""
    tags = request.headers.get("if-none-match")
    if tags is None:
        return False
    return tags.strip() == "*" or etag in [t.strip().removeprefix("W/") for t in tags.split(",")]


@dataclass(frozen=True)
class SiteFile:
    """One file of the build: its path and stat, and its `.gz` sibling's, if it has one."""

    path: Path
    stat: os.stat_result
    media_type: str
    gz: Path | None = None
    gz_stat: os.stat_result | None = None


def site_table(site: Path, gzipped: set[str]) -> dict[str, SiteFile]:
    """URL path (no leading `/`) -> file, for every file of the build but the `.gz`
    siblings; a folder's `index.html` also answers at `folder/`."""
    siblings = {rel + ".gz" for rel in gzipped}
    table: dict[str, SiteFile] = {}
    for path in sorted(p for p in site.rglob("*") if p.is_file()):
        rel = path.relative_to(site).as_posix()
        if rel in siblings:
            continue
        gz = path.with_name(path.name + ".gz") if rel in gzipped else None
        entry = SiteFile(path, path.stat(), mimetypes.guess_type(path.name)[0] or "text/plain",
                         gz, gz.stat() if gz else None)
        table[rel] = entry
        if path.name == "index.html":
            table[rel.removesuffix("index.html")] = entry
    return table


@dataclass(frozen=True)
class Held:
    """A file answered from memory: its bytes (and gzip sibling's) with their ETags."""

    media_type: str
    plain: bytes
    gz: bytes | None

    def etag(self, gz: bool) -> str:
        body = self.gz if gz and self.gz is not None else self.plain
        return f'"{hashlib.md5(body).hexdigest()}"'


def read(entry: SiteFile, media_type: str | None = None) -> Held:
    """The file (and its gzip sibling) read into memory."""
    return Held(media_type or entry.media_type, entry.path.read_bytes(),
                entry.gz.read_bytes() if entry.gz is not None else None)


def hold(entry: SiteFile) -> Held | None:
    """The file in memory when both its forms are at most IN_MEMORY bytes, else None."""
    if entry.stat.st_size > IN_MEMORY or (entry.gz_stat and entry.gz_stat.st_size > IN_MEMORY):
        return None
    return read(entry)


def answer(held: Held, request: Request) -> Response:
    """A file from memory: gzip when the client takes it, ETag / 304, HEAD."""
    gz = held.gz is not None and accepts_gzip(request.headers.get("accept-encoding", ""))
    body = held.gz if gz and held.gz is not None else held.plain
    headers = {"etag": held.etag(gz)}  # lower case: NotModifiedResponse filters by it
    if held.gz is not None:
        headers["vary"] = "Accept-Encoding"
    if gz:
        headers["content-encoding"] = "gzip"
    if not_modified(headers["etag"], request):
        return NotModifiedResponse(Headers(headers))
    if request.method == "HEAD":
        headers["content-length"] = str(len(body))
        body = b""
    return Response(body, media_type=held.media_type, headers=headers)


def create_app(site: Path) -> Starlette:
    """The app serving the build in `site` (made by `localrate build`)."""
    try:
        manifest = json.loads((site / MANIFEST).read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise RuntimeError(f"{site / MANIFEST}: not a localrate build ({exc})") from exc
    gzipped = set(manifest.get("gzip", []))
    files = site_table(site, gzipped)
    the_page = read(files[manifest["page"]], HTML)  # whatever its size
    held = {rel: h for rel, entry in files.items() if (h := hold(entry)) is not None}

    async def home(request: Request) -> Response:
        return RedirectResponse(url=f"/{PAGE}", status_code=307)

    async def page(request: Request) -> Response:
        return answer(the_page, request)

    async def static(request: Request) -> Response:
        rel = request.path_params["path"]
        if rel in held:
            return answer(held[rel], request)
        entry = files.get(rel)
        if entry is None:
            return PlainTextResponse("Not Found", status_code=404)
        headers = {}
        path, stat = entry.path, entry.stat
        if entry.gz is not None:
            headers["vary"] = "Accept-Encoding"
            if entry.gz_stat and accepts_gzip(request.headers.get("accept-encoding", "")):
                headers["content-encoding"] = "gzip"
                path, stat = entry.gz, entry.gz_stat
        response = FileResponse(path, media_type=entry.media_type, headers=headers,
                                stat_result=stat)
        if not_modified(response.headers["etag"], request):
            return NotModifiedResponse(response.headers)
        return response

    routes = [
        Route("/", home),
        Route(f"/{PAGE}", page),
        Route("/{path:path}", static),
    ]
    middleware = [Middleware(SecurityHeaders, csp=manifest["csp"])]
    return Starlette(routes=routes, middleware=middleware)
