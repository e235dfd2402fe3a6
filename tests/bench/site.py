"""Build the page with given runtime URLs, and serve a build the way `localrate serve` does.

``build(name, env)`` runs `localrate build --out <cache>/bench/sites/<name>` with the
runtime URL variables in ``env`` (the build bakes them into the page's probe plan), and
``serve(site)`` runs ``server.site.app.create_app(site)`` under uvicorn in its own process, as
`localrate serve` does. As a process::

    python -m tests.bench.site SITE_DIR PORT
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tests.bench.common import PYTHON, ROOT, cache_root, free_port, localrate_cmd
from tests.procs import stop_process


def build(name: str, env: dict[str, str]) -> Path:
    """Build the site into the bench cache with ``env``; return its folder."""
    out = cache_root() / "bench" / "sites" / name
    done = subprocess.run([*localrate_cmd(), "build", "--out", str(out)], cwd=ROOT, env=env,
                          check=False, capture_output=True, text=True, timeout=900)
    if done.returncode != 0:
        raise RuntimeError(f"localrate build --out {out} exited {done.returncode}: "
                           f"{done.stderr.strip()[-400:]}")
    return out


def wait_port(port: int, timeout: float = 30.0) -> None:
    """Return once 127.0.0.1:port accepts connections (RuntimeError after timeout)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), 0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout:g} s")


@contextlib.contextmanager
def serve(site: Path, plain: bool = False) -> Iterator[str]:
    """Serve ``site`` on a free port in a child process; yield its origin. ``plain``: a
    bare ASGI app answering every request with the page's bytes (uvicorn's ceiling)."""
    port = free_port()
    extra = ["--plain"] if plain else []
    proc = subprocess.Popen([PYTHON, "-m", "tests.bench.site", str(site), str(port), *extra],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        try:
            wait_port(port)
        except RuntimeError:
            proc.terminate()
            err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
            raise RuntimeError(f"page server for {site} did not start: {err[-300:]}")
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_process(proc, grace_s=5)


def plain_app(body: bytes) -> Any:
    """The smallest ASGI app: 200 with ``body`` as HTML, whatever the request."""
    headers = [(b"content-type", b"text/html; charset=utf-8"),
               (b"content-length", str(len(body)).encode())]

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return app


def main(argv: list[str]) -> int:
    """Serve SITE_DIR on 127.0.0.1:PORT until terminated (``--plain``: see plain_app)."""
    import uvicorn

    from server.site.app import create_app

    plain = "--plain" in argv
    args = [a for a in argv if a != "--plain"]
    if len(args) != 2:
        print("usage: python -m tests.bench.site SITE_DIR PORT [--plain]", file=sys.stderr)
        return 2
    site = Path(args[0])
    app = plain_app((site / "local-models.html").read_bytes()) if plain else create_app(site)
    uvicorn.run(app, host="127.0.0.1", port=int(args[1]), log_level="warning")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
