"""Run uvicorn servers (the page, the MLX bridge) so hostile clients cannot wear them down.

Used by `localrate serve` and `localrate bridge`:

* the open-file soft limit is raised toward the hard limit (server/mlx_bridge/fdlimit.py);
* a connection must send a complete request head within REQUEST_HEAD_S of connecting or
  of its last response (idle and slowloris connections are closed); uvicorn's keep-alive
  timeout (KEEP_ALIVE_S) applies as well;
* at most `connection_cap()` connections are open per server: a new one closes the
  longest-idle connection, or is closed itself when none is idle; uvicorn's
  `limit_concurrency` (cap + 32) answers 503 past that as a backstop;
* log records lose their tracebacks (one line each: what failed, the exception type and
  message), and the same line is written at most once per LOG_WINDOW_S, with a count of
  the ones left out (an accept() loop failing with "Too many open files" cannot flood it);
* Ctrl-C or SIGTERM stops every server at once: running generations are stopped at once
  (`on_stop`), connections get GRACEFUL_S to finish, a second Ctrl-C forces.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

import click
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from server.mlx_bridge.fdlimit import open_file_limits, raise_open_file_limit
from server.site.app import port_free

REQUEST_HEAD_S = 10.0
KEEP_ALIVE_S = 5
GRACEFUL_S = 3
LOG_WINDOW_S = 10.0
MAX_CONNECTIONS = 1024
LOGGERS = ("asyncio", "uvicorn.error", "localrate")
log = logging.getLogger("localrate.server")


def connection_cap(soft_limit: int, servers: int = 1) -> int:
    """Connections one server may hold: its share of the open-file limit, less headroom
    for the files a server opens itself, within 16..MAX_CONNECTIONS."""
    if soft_limit < 0:
        return MAX_CONNECTIONS
    return max(16, min(MAX_CONNECTIONS, (soft_limit - 128) // max(1, servers)))


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a request-head deadline and a cap on connections."""

    max_connections = MAX_CONNECTIONS
    request_head_s = REQUEST_HEAD_S

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._head_timer: asyncio.TimerHandle | None = None
        self._idle_since = self.loop.time()
        cap = self.max_connections
        if len(self.connections) > cap and _open_count(self) > cap:
            idle = [c for c in self.connections if c is not self and _waiting(c) and _open(c)]
            victim = min(idle, key=lambda c: getattr(c, "_idle_since", 0.0), default=self)
            log.warning(
                "server: over %d connections; closing the %s",
                cap,
                "longest-idle one" if victim is not self else "new one (none is idle)",
            )
            victim.transport.close()
            if victim is self:
                return
        self._arm()

    def _arm(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
        self._idle_since = self.loop.time()
        self._head_timer = self.loop.call_later(self.request_head_s, self._head_timeout)

    def _head_timeout(self) -> None:
        self._head_timer = None
        if _waiting(self) and not self.transport.is_closing():
            self.transport.close()

    def handle_events(self) -> None:
        super().handle_events()
        if not _waiting(self) and getattr(self, "_head_timer", None) is not None:
            self._head_timer.cancel()  # type: ignore[union-attr]
            self._head_timer = None

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        if getattr(self, "_head_timer", None) is not None:
            self._head_timer.cancel()  # type: ignore[union-attr]
        super().connection_lost(exc)


def _open(protocol: Any) -> bool:
    transport = getattr(protocol, "transport", None)
    return transport is not None and not transport.is_closing()


def _open_count(protocol: Any) -> int:
    """Connections not already being closed (closed ones leave the set a moment later)."""
    return sum(1 for c in protocol.connections if _open(c))


def _waiting(protocol: Any) -> bool:
    """True when a connection is between requests (idle), not serving one."""
    cycle = getattr(protocol, "cycle", None)
    return cycle is None or bool(cycle.response_complete)


class OneLineLogs(logging.Filter):
    """One line per record (no traceback); the same line at most once per `window_s`."""

    def __init__(self, window_s: float = LOG_WINDOW_S, clock: Callable[[], float] = time.monotonic):
        super().__init__()
        self.window_s, self.clock = window_s, clock
        self._seen: dict[tuple[str, str], tuple[float, int]] = {}
        self._lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        line = text.splitlines()[0].rstrip() if text else ""
        key_line = line
        exc = record.exc_info[1] if record.exc_info else None
        if exc is not None:
            detail = str(exc).splitlines()[0] if str(exc) else ""
            line = f"{line.rstrip(':.')}: {type(exc).__name__}: {detail}"[:500]
            key_line = f"{key_line} {type(exc).__name__}"
        record.msg, record.args = line, None
        record.exc_info, record.exc_text, record.stack_info = None, None, None
        key, now = (record.name, key_line), self.clock()
        with self._lock:
            last, left_out = self._seen.get(key, (float("-inf"), 0))
            if now - last < self.window_s:
                self._seen[key] = (last, left_out + 1)
                return False
            if len(self._seen) > 1000:
                self._seen.clear()
            self._seen[key] = (now, 0)
        if left_out:
            record.msg = f"{line} (and {left_out} more like it in {self.window_s:g} s)"
        return True


def quiet_logs(level: int = logging.INFO) -> OneLineLogs:
    """Put one `OneLineLogs` on the loggers servers write to; localrate's own lines go to
    stderr at `level`."""
    one_line = OneLineLogs()
    for name in LOGGERS:
        logger = logging.getLogger(name)
        for old in [f for f in logger.filters if isinstance(f, OneLineLogs)]:
            logger.removeFilter(old)
        logger.addFilter(one_line)
    ours = logging.getLogger("localrate")
    if not ours.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(levelname)s:     %(message)s"))
        ours.addHandler(handler)
        ours.propagate = False
    ours.setLevel(level)
    for name in ("localrate.bridge", "localrate.server"):
        logging.getLogger(name).addFilter(one_line)
    return one_line


def server(app: Any, host: str, port: int, *, cap: int, log_level: str) -> uvicorn.Server:
    """A uvicorn server for `app` with the guards above."""
    protocol = type(
        "CappedH11Protocol", (GuardedH11Protocol,), {"max_connections": cap}
    )
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        http=protocol,
        timeout_keep_alive=KEEP_ALIVE_S,
        limit_concurrency=cap + 32,  # a backstop; closing connections still count
        timeout_graceful_shutdown=GRACEFUL_S,
    )
    return uvicorn.Server(config)


def prepare(servers: int) -> int:
    """Raise the open-file limit; return the connection cap for each of `servers`."""
    raise_open_file_limit()
    return connection_cap(open_file_limits()[0], servers)


def limits_line(cap: int) -> str:
    """One line for the log: the open-file limits now, and the connection cap."""
    soft, hard = open_file_limits()
    shown = "unlimited" if hard < 0 else str(hard)
    return f"localrate: open-file limit {soft} (hard {shown}); up to {cap} connections per server"


def run(servers: list[uvicorn.Server], on_stop: Iterable[Callable[[], None]] = ()) -> None:
    """Serve until Ctrl-C or SIGTERM, then stop all servers together (see the module)."""
    stops = list(on_stop)
    for each in servers:
        each.capture_signals = contextlib.nullcontext  # type: ignore[method-assign,assignment]

    def handle(sig: int, frame: object) -> None:
        for each in servers:
            if each.should_exit and sig == signal.SIGINT:
                each.force_exit = True
            each.should_exit = True

    async def stop_when_told() -> None:
        while not any(each.should_exit for each in servers):
            await asyncio.sleep(0.1)
        for each in servers:
            each.should_exit = True
        for stop in stops:
            stop()

    async def main() -> None:
        watcher = asyncio.ensure_future(stop_when_told())
        try:
            await asyncio.gather(*(each.serve() for each in servers))
        finally:
            watcher.cancel()

    previous: dict[int, Any] = {}
    if threading.current_thread() is threading.main_thread():
        previous = {sig: signal.signal(sig, handle) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        asyncio.run(main())
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
        for stop in stops:
            stop()


def require_free(host: str, port: int, option: str) -> None:
    """A one-line error (exit 2) when `option`'s port is taken, before anything starts."""
    if not port_free(host, port):
        raise click.UsageError(f"{option} {port}: {host}:{port} is already in use "
                               "(is another localrate or model server running there?)")
