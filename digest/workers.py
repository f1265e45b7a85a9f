"""The process-pool edge: CPU work (parsing feeds, extracting pages, summarising) runs in worker processes so
the event loop stays responsive. The pool is an edge that can fail, and a failure costs one feed or one item:

- an exception that cannot cross back to the parent is turned into a `WorkerError` inside the worker;
- a worker that dies (the OOM killer, a segfault in a parser) breaks the pool: it is rebuilt, and each call
  caught in the break is tried again alone, up to twice, so only a call that kills its worker each time fails;
- workers are spawned, not forked, so they inherit no listening socket, and each watches its parent and exits
  when the parent is gone (a SIGKILLed `digest serve` leaves no worker holding its port).
"""

from __future__ import annotations

import asyncio
import logging
import os
import pickle
import signal
import threading
import time
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from .errors import WorkerError

if TYPE_CHECKING:
    from concurrent.futures import ProcessPoolExecutor

T = TypeVar("T")
log = logging.getLogger("digest")
_LONE_TRIES = 2  # tries alone after a break, before a call is held to have killed its worker
_GRACE = 5.0  # seconds a retired pool's manager gets before its remaining workers are killed


class Runner(Protocol):
    """Runs a picklable function somewhere: in this process, or in a worker."""

    async def run(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T: ...


class InlineRunner:
    """Runs the function here, on the event loop: for tests and one-off commands."""

    async def run(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        return fn(*args, **kwargs)


def _watch_parent(parent: int) -> None:
    while True:
        time.sleep(0.2)
        if os.getppid() != parent:
            os._exit(0)  # the parent is gone: no orphan keeps working, or holds anything


def _init_worker(parent: int) -> None:
    # Ctrl-C goes to the whole process group; the parent decides how to stop, the workers just go with it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_watch_parent, args=(parent,), name="watch-parent", daemon=True).start()


def _ready() -> None:
    """Nothing: submitted once per worker so that every worker starts with the pool."""


def _guarded(fn: Callable[..., T], args: tuple[Any, ...], kwargs: dict[str, Any]) -> T:
    """Run in the worker: any exception that would not survive the trip back becomes a WorkerError."""
    try:
        return fn(*args, **kwargs)
    except Exception as exc:
        try:
            pickle.loads(pickle.dumps(exc))
        except Exception:
            raise WorkerError(f"{type(exc).__name__}: {exc}") from None
        raise


def _retire(pool: ProcessPoolExecutor, *, wait: bool) -> None:
    """Shut a pool down and make sure none of its workers outlives it: its manager thread gets a few seconds
    to finish, then any worker still alive is killed (a manager left joining a live worker would hold the
    interpreter at exit for ever)."""
    pool.shutdown(wait=False, cancel_futures=True)

    def reap() -> None:
        manager = getattr(pool, "_executor_manager_thread", None)
        if manager is not None:
            manager.join(_GRACE)
        for process in list((getattr(pool, "_processes", None) or {}).values()):
            if process.is_alive():
                process.kill()

    reaper = threading.Thread(target=reap, name="retire-pool", daemon=True)
    reaper.start()
    if wait:
        reaper.join()


class WorkerPool:
    """A process pool that survives what its workers do. Use as a context manager, or call `close()`."""

    def __init__(self, workers: int = 2) -> None:
        self.workers = workers
        self._pool: ProcessPoolExecutor | None = None
        self._generation = 0
        self._alone = asyncio.Lock()  # calls caught in a break are retried one at a time
        self._closed = False
        self.rebuilds = 0

    def _current(self) -> tuple[ProcessPoolExecutor, int]:
        if self._closed:
            raise WorkerError("the worker pool is closed (the service is stopping)")
        if self._pool is None:
            # Imported here: multiprocessing costs a command 5-8 ms, and a poll with nothing new never needs it.
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            pool = ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_init_worker,
                initargs=(os.getpid(),),
            )
            # Start every worker now. A pool that spawns a worker for a submit while a broken pool's manager
            # is terminating the others joins that worker for ever (CPython 3.11): the process never exits.
            for _ in range(self.workers):
                pool.submit(_ready)
            self._pool = pool
        return self._pool, self._generation

    def _replace(self, generation: int) -> None:
        if generation != self._generation or self._pool is None:
            return  # another call already rebuilt it
        log.warning("a worker process died; starting a new pool")
        _retire(self._pool, wait=False)
        self._pool = None
        self._generation += 1
        self.rebuilds += 1

    async def run(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        from concurrent.futures.process import BrokenProcessPool  # imported by _current's pool in any case

        loop = asyncio.get_running_loop()
        call = partial(_guarded, fn, args, kwargs)
        pool, generation = self._current()
        try:
            return await loop.run_in_executor(pool, call)
        except BrokenProcessPool:
            self._replace(generation)
        async with self._alone:
            # Alone, a break is this call's own doing, or so nearly always: on a loaded machine an innocent call
            # was seen to fail once more (cause not found), so it gets a second lone try before it is blamed.
            broken: BrokenProcessPool | None = None
            for _ in range(_LONE_TRIES):
                pool, generation = self._current()
                try:
                    return await loop.run_in_executor(pool, call)
                except BrokenProcessPool as exc:
                    self._replace(generation)
                    broken = exc
            raise WorkerError(f"a worker process died running {getattr(fn, '__name__', fn)}") from broken

    def close(self) -> None:
        self._closed = True  # a job still running after this gets a WorkerError, not a new pool
        if self._pool is not None:
            _retire(self._pool, wait=True)
            self._pool = None

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
