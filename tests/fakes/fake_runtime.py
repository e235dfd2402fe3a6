"""A fake LLM runtime (Ollama, LM Studio, vLLM, llama.cpp, MLX) for tests.

In a test::

    with FakeRuntime({"dialect": "ollama", "models": [{"id": "qwen3:4b"}]}) as fake:
        httpx.get(fake.base_url + "/api/tags")

As a process (the browser tests use this)::

    python -m tests.fakes.fake_runtime --config cfg.json [--port 11434]

prints `ready http://127.0.0.1:PORT` once per server when it listens. The config file
may hold one config or a list of configs, each with its own `"port"`.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import threading
from pathlib import Path
from typing import Any, Self

from .config import Config, ConfigError, load_config, load_configs
from .server import App


class FakeRuntime:
    """One fake runtime served on its own thread and event loop."""

    def __init__(self, config: Config | dict[str, Any] | str | Path,
                 host: str = "127.0.0.1", port: int = 0) -> None:
        self.config = config if isinstance(config, Config) else load_config(config)
        self.host = host
        self.port = port or self.config.port or 0
        self.app = App(self.config)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.Server | None = None
        self._error: OSError | None = None

    @property
    def base_url(self) -> str:
        """`http://127.0.0.1:PORT`, no trailing slash."""
        return f"http://{self.host}:{self.port}"

    @property
    def requests(self) -> list[Any]:
        """The JSON bodies of the chat requests received, in order."""
        return self.app.requests

    @property
    def warmups(self) -> list[Any]:
        """The JSON bodies of the evaluator's warm-up requests received (kept apart from
        ``requests``, see tests/fakes/server.py)."""
        return self.app.warmups

    @property
    def log(self) -> list[dict[str, Any]]:
        """Every request received: {"method", "path", "headers", "body"}."""
        return self.app.log

    def start(self) -> Self:
        """Listen; returns once the port is bound (raises if it could not be)."""
        ready = threading.Event()
        loop = self._loop = asyncio.new_event_loop()

        def run() -> None:
            asyncio.set_event_loop(loop)
            try:
                self._server = loop.run_until_complete(
                    asyncio.start_server(self.app.handle, self.host, self.port))
                self.port = self._server.sockets[0].getsockname()[1]
            except OSError as exc:  # reported to the starting thread
                self._error = exc
                ready.set()
                return
            ready.set()
            loop.run_forever()

        self._thread = threading.Thread(target=run, name=f"fake-{self.config.dialect}",
                                        daemon=True)
        self._thread.start()
        ready.wait(10)
        if self._error is not None:
            raise RuntimeError(f"fake {self.config.dialect} runtime could not listen on "
                               f"{self.host}:{self.port}: {self._error}")
        return self

    def stop(self) -> None:
        """Close the port and every open connection, then end the thread."""
        loop, server = self._loop, self._server
        if loop is None or server is None or loop.is_closed():
            return

        async def shutdown() -> None:
            server.close()
            await self.app.shutdown()

        done = asyncio.run_coroutine_threadsafe(shutdown(), loop)
        try:
            done.result(5)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            if self._thread is not None:
                self._thread.join(5)
            loop.close()
            self._server = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


async def serve(configs: list[Config], host: str) -> None:
    """Serve every config on its own port until SIGINT/SIGTERM."""
    servers = []
    for cfg in configs:
        server = await asyncio.start_server(App(cfg).handle, host, cfg.port or 0)
        servers.append(server)
        port = server.sockets[0].getsockname()[1]
        print(f"ready http://{host}:{port}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    for server in servers:
        server.close()


def main(argv: list[str] | None = None) -> int:
    """Command line entry: --config FILE [--port N] [--host H]."""
    parser = argparse.ArgumentParser(prog="python -m tests.fakes.fake_runtime",
                                     description=__doc__.split("\n")[1])
    parser.add_argument("--config", required=True, help="JSON file: a config or a list")
    parser.add_argument("--port", type=int, default=None,
                        help="port for a single config (overrides its 'port')")
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args(argv)
    try:
        configs = load_configs(Path(args.config))
    except (ConfigError, OSError, ValueError) as exc:
        print(f"fake runtime: {exc}", file=sys.stderr)
        return 2
    if args.port is not None:
        if len(configs) != 1:
            print(f"fake runtime: --port {args.port} needs a single config, "
                  f"{args.config} holds {len(configs)}", file=sys.stderr)
            return 2
        configs[0].port = args.port
    try:
        asyncio.run(serve(configs, args.host))
    except OSError as exc:
        print(f"fake runtime: cannot listen: {exc}", file=sys.stderr)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
