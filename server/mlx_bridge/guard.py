"""The bridge's front door: which requests it answers at all, decided from headers alone.

Two ASGI middlewares run before any route, so a refused request costs no model work and
its body is never read:

* `LoopbackHostMiddleware`: a Host header that is not a loopback name is refused with 403
  (DNS rebinding: a foreign site's name pointed at 127.0.0.1).
* `ForeignPageMiddleware`: a web page on another origin must not drive the model. CORS
  alone only hides the answer from such a page; the browser still sends "simple"
  requests (a POST with a `text/plain` body needs no preflight). So:
  - a request whose `Origin` is present and not on the allowlist gets 403;
  - a request a browser marks `Sec-Fetch-Site: cross-site` or `same-site` gets 403 unless
    its Origin is on the allowlist;
  - a POST whose Content-Type is not `application/json` gets 415; a browser can only send
    that type cross-origin after a CORS preflight, which the allowlist then answers.
  CORS preflights (OPTIONS with Access-Control-Request-Method) pass on to the CORS
  middleware, which answers them from the same allowlist. Clients that send no Origin and
  no Sec-Fetch-Site (curl, the CLI, SDKs) are not browsers' pages and pass.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from server.mlx_bridge.chat import BridgeError

JSON_TYPES = ("application/json",)


def is_loopback_host(host_header: str | None, extra: Iterable[str] = ()) -> bool:
    """True for `localhost`, `127.x.y.z`, `[::1]` (any port), or a name in `extra`."""
    if not host_header:
        return False
    host = host_header.strip().lower()
    if host.startswith("["):
        host = host[1:].split("]", 1)[0]
    elif host.count(":") == 1:
        host = host.split(":", 1)[0]
    if host in ("localhost", *(h.lower() for h in extra)):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def error_response(exc: BridgeError) -> JSONResponse:
    return JSONResponse(exc.body(), status_code=exc.status, headers=exc.headers)


def _headers(scope: Scope) -> dict[bytes, bytes]:
    return {key.lower(): value for key, value in scope.get("headers") or []}


class LoopbackHostMiddleware:
    """Refuse (403 JSON) any request whose Host header is not a loopback name."""

    def __init__(self, app: ASGIApp, extra_hosts: Iterable[str] = ()) -> None:
        self.app, self.extra_hosts = app, tuple(extra_hosts)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            host = _headers(scope).get(b"host", b"").decode("latin-1")
            if not is_loopback_host(host, self.extra_hosts):
                exc = BridgeError(
                    403,
                    f"Host header {host!r} is not a loopback name; the bridge "
                    "answers only localhost, 127.0.0.1 and [::1] "
                    "(DNS rebinding guard)",
                )
                await error_response(exc)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def refusal(
    method: str, headers: dict[bytes, bytes], origins: frozenset[str]
) -> BridgeError | None:
    """Why a request from a browser page may not use the bridge, or None when it may."""
    origin = headers.get(b"origin", b"").decode("latin-1").strip()
    allowed = "*" in origins or origin in origins
    if origin and not allowed:
        return BridgeError(
            403,
            f"Origin {origin[:100]!r} is not allowed to use this bridge (allowed: the "
            "localrate page's own origins and --allow-origin ones)",
        )
    site = headers.get(b"sec-fetch-site", b"").decode("latin-1").strip().lower()
    if site in ("cross-site", "same-site") and not allowed:
        return BridgeError(
            403, f"a {site} request from a web page without an allowed Origin is refused"
        )
    if method == "POST":
        declared = headers.get(b"content-type", b"").decode("latin-1")
        media = declared.split(";", 1)[0].strip().lower()
        if media not in JSON_TYPES:
            return BridgeError(
                415,
                f"Content-Type {declared[:80]!r} is not supported: send the body as "
                "application/json",
            )
    return None


class ForeignPageMiddleware:
    """Refuse requests from foreign web pages before any route runs (see the module)."""

    def __init__(self, app: ASGIApp, allow_origins: Iterable[str] = ()) -> None:
        self.app, self.origins = app, frozenset(allow_origins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = _headers(scope)
            method = scope.get("method", "")
            preflight = method == "OPTIONS" and b"access-control-request-method" in headers
            exc = None if preflight else refusal(method, headers, self.origins)
            if exc is not None:
                await error_response(exc)(scope, receive, send)
                return
        await self.app(scope, receive, send)
