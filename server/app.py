"""The Starlette app behind `localrate serve`: a built site, with strict headers.

Routes: `/` redirects (307) to `/local-models`, which is the page; everything else is a
static file of the build. Every response carries the build's Content-Security-Policy,
`X-Content-Type-Options: nosniff` and `Referrer-Policy: no-referrer`. Hashed assets,
Pyodide files and suites are cached for a year (`immutable`); the HTML is `no-cache`.
Text and wasm are gzipped (the zip and images are already compressed).
"""

from __future__ import annotations

import json
import mimetypes
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.datastructures import MutableHeaders
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.build import IMMUTABLE_PREFIXES, MANIFEST, PAGE

# Some systems' mime.types map these differently; browsers insist on these two.
mimetypes.add_type("text/javascript", ".mjs")
mimetypes.add_type("application/wasm", ".wasm")

IMMUTABLE = "public, max-age=31536000, immutable"
GZIP_MIN_BYTES = 1024
GZIP_LEVEL = 6  # 9 costs ~3x the CPU on the 9.6 MB wasm for ~2% less


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
    from server.demo_model import (
        DEMO_MODEL_ID,
        DemoModelError,
        RichProgress,
        ensure_demo_model,
        mlx_unavailable_reason,
    )

    reason = mlx_unavailable_reason()
    if reason is not None:
        return None, f"MLX bridge: not started, so no demo model ({reason})"
    if not _port_free(host, bridge_port):
        return None, (f"MLX bridge: not started ({host}:{bridge_port} is in use; "
                      "another MLX server may be there)")
    try:
        with RichProgress() as progress:
            demo = ensure_demo_model(progress, with_mlx=True)
    except DemoModelError as exc:
        return None, f"MLX bridge: not started ({exc})"
    if demo.mlx_dir is None:
        return None, f"MLX bridge: not started, so no demo model ({demo.mlx_reason})"
    from server.bridge import make_mlx_app

    app = make_mlx_app(str(demo.mlx_dir), DEMO_MODEL_ID, page_port=page_port)
    return app, (f"MLX bridge: {DEMO_MODEL_ID} on http://{host}:{bridge_port}/v1 "
                 "(the model loads in the background)")


def _port_free(host: str, port: int) -> bool:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def create_app(site: Path) -> Starlette:
    """The app serving the build in `site` (made by `localrate build`)."""
    try:
        manifest = json.loads((site / MANIFEST).read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise RuntimeError(f"{site / MANIFEST}: not a localrate build ({exc})") from exc
    page_file = site / manifest["page"]

    async def home(request: Request) -> Response:
        return RedirectResponse(url=f"/{PAGE}", status_code=307)

    async def page(request: Request) -> Response:
        return FileResponse(page_file, media_type="text/html; charset=utf-8")

    routes = [
        Route("/", home),
        Route(f"/{PAGE}", page),
        Mount("/", app=StaticFiles(directory=site, html=True)),
    ]
    middleware = [
        Middleware(GZipMiddleware, minimum_size=GZIP_MIN_BYTES, compresslevel=GZIP_LEVEL),
        Middleware(SecurityHeaders, csp=manifest["csp"]),
    ]
    return Starlette(routes=routes, middleware=middleware)
