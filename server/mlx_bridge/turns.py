"""The bridge's model thread and the turns requests take on it.

mlx-lm generation is not re-entrant, so every call into the model (loading, the chat
template, prefill, decoding) runs on one daemon thread (`ModelThread`: it never keeps the
process alive) and requests take turns behind an `asyncio.Lock`. At most `max_waiting`
requests wait for their turn; one more gets 503 with Retry-After. A waiter whose client
leaves gives its place back at once (`Worker.wait_turn` with a `Departure`), and
`Worker.shutdown()` sets the stop flag of every running generation.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from starlette.types import Receive

from server.mlx_bridge.chat import BridgeError
from server.mlx_bridge.gen import Generator

log = logging.getLogger("localrate.bridge")
T = TypeVar("T")
Job = tuple[Callable[..., Any], tuple[Any, ...], "asyncio.Future[Any]", asyncio.AbstractEventLoop]


def _settle(future: asyncio.Future[Any], ok: bool, value: Any) -> None:
    if future.done():
        return
    if ok:
        future.set_result(value)
    else:
        future.set_exception(value)


class ModelThread:
    """A daemon thread that runs the jobs given to `call`, one after another."""

    def __init__(self, name: str = "localrate-mlx") -> None:
        self._jobs: queue.SimpleQueue[Job | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._started = self._stopped = False

    def call(self, fn: Callable[..., T], *args: Any) -> asyncio.Future[T]:
        """Queue `fn(*args)`; await the future for its value (or exception)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        if self._stopped:
            future.set_exception(BridgeError.shutting_down())
            return future
        if not self._started:
            self._started = True
            self._thread.start()
        self._jobs.put((fn, args, future, loop))
        return future

    def _run(self) -> None:
        while (job := self._jobs.get()) is not None:
            fn, args, future, loop = job
            try:
                ok, value = True, fn(*args)
            except BaseException as exc:  # noqa: BLE001 - handed to the awaiting side
                ok, value = False, exc
            try:
                loop.call_soon_threadsafe(_settle, future, ok, value)
            except RuntimeError:
                pass  # the event loop is closed: nobody waits any more

    def stop(self) -> None:
        """Finish after the running job (no new ones start)."""
        self._stopped = True
        self._jobs.put(None)


class Worker:
    """Owns the model's thread, the turn lock, the count of admitted requests and the
    stop flags of running generations."""

    def __init__(
        self,
        generator: Generator | None,
        load: Callable[[], Generator] | None,
        max_waiting: int = 4,
        retry_after_s: int = 5,
    ) -> None:
        if generator is None and load is None:
            raise ValueError("Worker: give a generator or a load function")
        self.generator, self._load = generator, load
        self.load_error: str | None = None
        self.max_waiting, self.retry_after_s = max_waiting, retry_after_s
        self.generations = 0  # requests that reached the model (chat template applied)
        self.closing = threading.Event()
        self._thread = ModelThread()
        self._stops: set[threading.Event] = set()
        self._admitted = 0
        self._lock: asyncio.Lock | None = None

    async def start(self) -> None:
        """Load the model on the model thread (when given a load function)."""
        if self.generator is not None or self._load is None:
            return
        try:
            self.generator = await self.call(self._load)
            log.info("bridge: serving %s", self.generator.info.id)
        except Exception as exc:  # noqa: BLE001 - shown by /health and every request
            self.load_error = f"{type(exc).__name__}: {exc}"
            log.error("bridge: the model failed to load: %s", self.load_error)

    def ready(self) -> Generator:
        """The loaded generator, or a 503/500 BridgeError saying why not."""
        if self.closing.is_set():
            raise BridgeError.shutting_down()
        if self.generator is not None:
            return self.generator
        if self.load_error is not None:
            raise BridgeError(500, f"the model failed to load: {self.load_error}")
        raise BridgeError(
            503, "the model is still loading", {"Retry-After": str(self.retry_after_s)}
        )

    def call(self, fn: Callable[..., T], *args: Any) -> asyncio.Future[T]:
        """Run `fn(*args)` on the model thread; await the result to get its value."""
        return self._thread.call(fn, *args)

    def admit(self) -> None:
        """Take a place in the queue, or raise 503 when it is full."""
        if self._admitted >= 1 + self.max_waiting:
            raise BridgeError(
                503,
                f"the bridge is busy ({self._admitted} requests running or waiting); retry later",
                {"Retry-After": str(self.retry_after_s)},
            )
        self._admitted += 1

    def leave(self) -> None:
        self._admitted -= 1

    @property
    def turn(self) -> asyncio.Lock:
        if self._lock is None:
            self._lock = asyncio.Lock()
        return self._lock

    async def wait_turn(self, left: asyncio.Event) -> bool:
        """Take the turn lock; False (and no lock) when `left` is set first."""
        if left.is_set():
            return False
        acquire = asyncio.ensure_future(self.turn.acquire())
        gone = asyncio.ensure_future(left.wait())
        try:
            await asyncio.wait({acquire, gone}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            gone.cancel()
        if acquire.done() and not acquire.cancelled():
            if not left.is_set():
                return True
            self.turn.release()
            return False
        acquire.cancel()
        try:
            await acquire
        except asyncio.CancelledError:
            return False
        self.turn.release()  # acquired while being cancelled
        return False

    def stop_flag(self) -> threading.Event:
        """A new generation's stop flag (set at once when the bridge is closing)."""
        stop = threading.Event()
        if self.closing.is_set():
            stop.set()
        self._stops.add(stop)
        return stop

    def drop_flag(self, stop: threading.Event) -> None:
        self._stops.discard(stop)

    def shutdown(self) -> None:
        """Stop every running generation (within one prefill chunk or token) and the
        model thread; idempotent."""
        self.closing.set()
        for stop in list(self._stops):
            stop.set()
        self._thread.stop()


class Departure:
    """Watches an ASGI `receive` (once the body has been read) for the client leaving."""

    def __init__(self, receive: Receive) -> None:
        self.left = asyncio.Event()
        self._task = asyncio.ensure_future(self._watch(receive))

    async def _watch(self, receive: Receive) -> None:
        while True:
            message = await receive()
            if message.get("type") == "http.disconnect":
                self.left.set()
                return

    def close(self) -> None:
        self._task.cancel()
