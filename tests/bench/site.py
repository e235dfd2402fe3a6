"""Build the page with given runtime URLs, and serve a build the way `localrate serve` does.

``build(name, env)`` runs `localrate build --out <cache>/bench/sites/<name>` with the
runtime URL variables in ``env`` (the build bakes them into the page's probe plan), and
``serve(site)`` runs ``server.app.create_app(site)`` under uvicorn in its own process, as
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

from tests.bench.common import PYTHON, ROOT, cache_root, free_port, localrate_cmd


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
def serve(site: Path) -> Iterator[str]:
    """Serve ``site`` on a free port in a child process; yield its origin."""
    port = free_port()
    proc = subprocess.Popen([PYTHON, "-m", "tests.bench.site", str(site), str(port)],
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
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def main(argv: list[str]) -> int:
    """Serve SITE_DIR on 127.0.0.1:PORT until terminated."""
    import uvicorn

    from server.app import create_app

    if len(argv) != 2:
        print("usage: python -m tests.bench.site SITE_DIR PORT", file=sys.stderr)
        return 2
    uvicorn.run(create_app(Path(argv[0])), host="127.0.0.1", port=int(argv[1]),
                log_level="warning")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
