"""One daemon thread per database, whose calls the event loop awaits with a time limit.

A frozen server (SIGSTOP, a dead NAT entry) never answers and never enforces its own statement
timeout, so a call can block its thread for ever. The loop stops waiting after the limit; the
thread is abandoned (it is a daemon: it cannot hold up the process's exit) and the next call
gets a fresh one. A ThreadPoolExecutor would be joined at exit and hang a SIGTERM.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from typing import Any, Callable, TypeVar

T = TypeVar("T")


class CallThread:
    """Runs calls in order on one daemon thread; `call` waits at most `limit` seconds, then
    abandons the thread and raises TimeoutError."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._queue: queue.SimpleQueue | None = None
        self.abandoned = 0  # threads left hanging (each on one call that never returned)

    def _start(self) -> queue.SimpleQueue:
        q: queue.SimpleQueue = queue.SimpleQueue()
        threading.Thread(target=_serve, args=(q,), name=self.name, daemon=True).start()
        self._queue = q
        return q

    async def call(self, fn: Callable[..., T], *args: Any, limit: float | None = None,
                   cleanup: Callable[[], Any] | None = None) -> T:
        """fn(*args) on the thread; after `limit` s the thread is abandoned, and runs `cleanup`
        (say, closing the connection it hung on) if its call ever returns."""
        loop = asyncio.get_running_loop()
        fut: asyncio.Future = loop.create_future()
        q = self._queue or self._start()
        q.put((fn, args, loop, fut))
        try:
            return await asyncio.wait_for(asyncio.shield(fut), limit)
        except asyncio.TimeoutError:
            self.abandon(fut, cleanup)
            raise TimeoutError(f"no answer within {limit:g} s") from None
        except asyncio.CancelledError:
            if not fut.done():
                self.abandon(fut, cleanup)  # still running: the next call must not queue behind it
            raise

    def abandon(self, fut: asyncio.Future | None = None, cleanup: Callable[[], Any] | None = None) -> None:
        """Leave the current thread to its call; the next call starts a new one."""
        if fut is not None:  # nobody awaits it any more: its late outcome is dropped, not logged
            fut.add_done_callback(lambda f: f.cancelled() or f.exception())
        if self._queue is not None:
            if cleanup is not None:
                self._queue.put((cleanup, (), None, None))
            self._queue.put(None)  # ends the old thread if its call ever returns
            self._queue = None
            self.abandoned += 1


def _serve(q: queue.SimpleQueue) -> None:
    while (item := q.get()) is not None:
        fn, args, loop, fut = item
        try:
            result, error = fn(*args), None
        except BaseException as exc:  # noqa: BLE001 — handed to the awaiting coroutine
            result, error = None, exc
        if loop is None:
            continue  # a cleanup after abandonment: nobody waits for it
        try:
            loop.call_soon_threadsafe(_settle, fut, result, error)
        except RuntimeError:
            return  # the loop is closed: nobody is waiting any more


def _settle(fut: asyncio.Future, result: Any, error: BaseException | None) -> None:
    if fut.done():
        return
    if error is not None:
        fut.set_exception(error)
    else:
        fut.set_result(result)
