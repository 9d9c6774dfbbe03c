"""Where the crawler parses: threads of its own process for a small crawl, then processes.

Parsing is pure Python for the most part, so threads share one core with fetching and storing.
A `ParsePool` parses the first `warmup` pages in threads (a small crawl never pays for starting
processes) and the rest in a pool of `processes` processes, so a long crawl uses more cores:
the crawling process fetches and stores while others parse. The parse callable and what it
returns must be picklable (pagetrail.pipeline.PageParser and ParsedPage are).

A pool process that dies (killed, out of memory) breaks the pool: that page is parsed again in
a thread and a new pool is started for the next ones.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any


def default_processes() -> int:
    """One process per core but the crawler's own."""
    return max(0, (os.cpu_count() or 1) - 1)


class ParsePool(Executor):
    def __init__(self, processes: int | None = None, *, warmup: int = 32) -> None:
        self.processes = default_processes() if processes is None or processes < 0 else processes
        self.warmup = warmup
        self._threads = ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 1), thread_name_prefix="parse")
        self._procs: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()
        self.submitted = 0
        # Set once prestarted pool processes have all answered: pages go to them from then on.
        self._ready = threading.Event()
        self._warming = False

    def prestart(self, parse: object = None) -> None:
        """Start the pool processes now, in the background (a crawl that knows it is long):
        pages keep going to threads until every process has started and imported the parser,
        then to the processes, whatever the warmup count. Starting them at the first page
        past the warmup instead stalls the crawl for their start-up (a second or more of
        imports per process, on the cores the crawl needs). `parse`: the parse callable, sent
        along so each process also imports what unpickling it needs."""
        if self.processes <= 0 or self._warming or self._ready.is_set():
            return
        self._warming = True
        pool = self._pool()
        pending = [pool.submit(_warm, parse) for _ in range(self.processes)]
        left = [len(pending)]

        def one_done(_f: Future) -> None:
            with self._lock:
                left[0] -= 1
                if left[0] == 0:
                    self._ready.set()

        for f in pending:
            f.add_done_callback(one_done)  # a failed start counts too: the relay copes with it

    def _pool(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._procs is None:
                # spawn: the crawling process has threads (and maybe a scheduler); forking it is unsafe
                self._procs = ProcessPoolExecutor(self.processes, mp_context=multiprocessing.get_context("spawn"),
                                                  initializer=_exit_with, initargs=(os.getpid(),))
            return self._procs

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:  # type: ignore[override]
        self.submitted += 1
        if self._ready.is_set():
            pass  # prestarted and up: to the processes
        elif self.processes <= 0 or self._warming or self.submitted <= self.warmup:
            return self._threads.submit(fn, *args, **kwargs)
        pool = self._pool()
        outer: Future = Future()

        def relay(inner: Future) -> None:
            exc = inner.exception()
            if isinstance(exc, BrokenProcessPool):
                with self._lock:
                    if self._procs is pool:
                        self._procs = None  # the next page starts a new pool
                again = self._threads.submit(fn, *args, **kwargs)
                again.add_done_callback(lambda f: _copy(f, outer))
            else:
                _copy(inner, outer)

        try:
            pool.submit(fn, *args, **kwargs).add_done_callback(relay)
        except BrokenProcessPool:
            with self._lock:
                self._procs = None
            return self._threads.submit(fn, *args, **kwargs)
        return outer

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self._threads.shutdown(wait=wait, cancel_futures=cancel_futures)
        if self._procs is not None:
            self._procs.shutdown(wait=wait, cancel_futures=cancel_futures)


def _warm(parse: object) -> int:
    """In a pool process, once: import the parser (and, by unpickling `parse`, its module)."""
    import parsers  # noqa: F401

    del parse
    return os.getpid()


def _exit_with(parent: int) -> None:
    """In a pool process: exit when the crawler that started it is gone. A crawler killed with
    SIGKILL cannot stop its pool, and an orphan would wait for work for ever (holding the
    crawler's stdout open, and memory)."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _copy(src: Future, dst: Future) -> None:
    if dst.done():  # cancelled by its waiter (a stopping crawl)
        return
    if src.cancelled():
        dst.cancel()
    elif src.exception() is not None:
        dst.set_exception(src.exception())
    else:
        dst.set_result(src.result())
