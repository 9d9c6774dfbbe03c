"""The crawl engine: fetch with bounded concurrency and per-host politeness, parse, hand each
capture to the archive writer — one writer task, so captures are stored one transaction at a
time and SQLite is never written concurrently.

The engine knows no SQL: it sees the archive only through storage.interface.ArchiveWriter.
"""

from __future__ import annotations

import asyncio
import email.utils
import functools
import random
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, TypeVar

from crawler.fetcher import Fetcher, FetchResult
from crawler.netpolicy import PolicyRefused
from crawler.politeness import HostHeldOff, HostSlots
from crawler.robots import Robots
from crawler.settings import FetchSettings
from parsers.records import ParsedPage
from parsers.urls import InvalidURL, host_of, normalize_url
from crawler.scope import Scope
from storage.interface import (ArchiveWriter, CaptureIn, FrontierDone, FrontierStore, Leased, LeaseLost,
                               StoredCapture)

T = TypeVar("T")
ParseFn = Callable[[bytes, str, list[tuple[str, str]], datetime], ParsedPage | None]
# A capture queued for the writer: (capture, parsed, store_capture's keyword arguments, its outcome)
StoreItem = tuple[CaptureIn, ParsedPage | None, dict[str, Any], "asyncio.Future[StoredCapture]"]
# Seconds added to a per-host delay (when there is one): see fetch_one.
END_MARGIN = 0.01
# Responses worth parsing; anything else is archived as bytes only.
PARSEABLE_TYPES = ("html", "xml", "text/plain")


@dataclass
class UrlOutcome:
    url: str
    outcome: str  # StoredCapture.outcome, or "invalid_url"
    status: int | None = None
    error_kind: str | None = None
    error_message: str | None = None
    revision: int | None = None
    capture_id: int | None = None
    parked: bool = False  # given up on for now: too many failures or a long back-off


@dataclass
class CrawlReport:
    run_id: int | None
    items: list[UrlOutcome] = field(default_factory=list)
    stats: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "run": self.run_id,
            "seconds": round(self.seconds, 3),
            "stats": dict(self.stats),
            "urls": [vars(i) for i in self.items],
        }

    def summary(self) -> str:
        s = self.stats
        lines = [
            f"crawl run {self.run_id}: {s.get('fetched', 0)} fetched in {self.seconds:.1f} s — "
            f"{s.get('new_revisions', 0)} new revisions, {s.get('unchanged', 0)} unchanged, "
            f"{s.get('not_modified', 0)} not modified, {s.get('errors', 0)} errors"
        ]
        for i in self.items:
            if i.error_kind or i.outcome in ("error", "invalid_url", "gone"):
                why = i.error_message or (f"HTTP {i.status}" if i.status else i.outcome)
                lines.append(f"  {i.url}: {i.error_kind or i.outcome}: {why}")
        parked = [i for i in self.items if i.parked]
        if parked:
            lines.append(f"{len(parked)} URL(s) parked (not retried in this crawl; run it again to retry):")
            lines.extend(f"  {i.url}" for i in parked)
        return "\n".join(lines)


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """Retry-After as seconds or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - now).total_seconds())


def is_parseable(capture: CaptureIn) -> bool:
    if capture.status is None or not 200 <= capture.status < 300:
        return False
    ctype = (capture.header("content-type") or "").lower()
    return not ctype or any(t in ctype for t in PARSEABLE_TYPES)


class Crawl:
    """One crawl's moving parts; `run_crawl` is the simple entry point."""

    def __init__(
        self,
        *,
        settings: FetchSettings,
        writer: ArchiveWriter,
        parse: ParseFn,
        concurrency: int = 16,
        per_host: int = 1,
        parse_executor: Executor | None = None,
        on_event: Callable[[dict[str, Any]], None] | None = None,
        archive_threads: int = 4,
        store_batch: int = 32,
    ) -> None:
        self.settings = settings
        # Captures stored in one transaction at most, when that many queued up behind a store.
        self.store_batch = max(1, store_batch)
        # Threads that call the archive. 1 (SQLite: one writer at a time anyway) sends every
        # call, stores included, through one thread in order: calls from several threads
        # would only queue on the database's write lock, whose busy handler sleeps up to
        # 100 ms per retry (seconds of convoy at a crawl's start). Otherwise the writer gets a
        # thread of its own and the frontier calls (leases, host claims) `archive_threads`
        # more, so they never wait behind a store. (On PostgreSQL three writers stored no
        # faster than one on 2 cores: a crawl there is CPU-bound.)
        self.archive_threads = max(1, archive_threads)
        self._archive_pool: ThreadPoolExecutor | None = None
        self._writer_pool: ThreadPoolExecutor | None = None
        self.writer = writer
        self.parse = parse
        self.concurrency = max(1, concurrency)
        # `concurrency` bounds fetches in flight (DESIGN.md). URLs waiting for a host's delay
        # hold no fetch slot, so a polite crawl over many hosts is not capped below what the
        # delays allow; up to twice as many URLs are taken on (tasks, leases) to keep the
        # fetch slots busy while others wait.
        self.tasks = 2 * self.concurrency
        self._fetch_gate = asyncio.Semaphore(self.concurrency)
        self.slots = HostSlots(per_host)
        self.parse_executor = parse_executor
        self.on_event = on_event
        self.stats: Counter[str] = Counter()
        self.run_id: int | None = None
        self._store_queue: asyncio.Queue[StoreItem | None]
        # The writer's batch store, if its class has one (a wrapper that only overrides
        # store_capture, as tests do, is called capture by capture).
        self._store_batch = getattr(type(writer), "store_capture_batch", None)

    def _open_pools(self) -> None:
        self._archive_pool = ThreadPoolExecutor(self.archive_threads, thread_name_prefix="archive")
        self._writer_pool = (self._archive_pool if self.archive_threads == 1
                             else ThreadPoolExecutor(1, thread_name_prefix="archive-writer"))

    def _close_pools(self) -> None:
        for pool in {self._archive_pool, self._writer_pool}:
            if pool is not None:
                pool.shutdown(wait=False)  # every call was awaited: nothing is left running

    async def _archive(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """Call the archive in one of the crawl's archive threads (blocking database I/O)."""
        return await asyncio.get_running_loop().run_in_executor(
            self._archive_pool, functools.partial(fn, *args, **kwargs))

    def _take_batch(self, first: StoreItem) -> tuple[list[StoreItem], bool]:
        """`first` and whatever else is queued for the writer (up to store_batch): stored in
        one transaction when the writer can (ArchiveWriter.store_capture_batch), so a crawl
        whose storing falls behind pays a transaction's fixed costs once per batch. Nothing
        waits to fill a batch: a writer that keeps up stores one capture at a time. Also says
        whether the end marker (None) was met."""
        batch = [first]
        if self._store_batch is None:
            return batch, False
        while len(batch) < self.store_batch and not self._store_queue.empty():
            item = self._store_queue.get_nowait()
            if item is None:
                return batch, True
            batch.append(item)
        return batch, False

    async def _writer_task(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            item = await self._store_queue.get()
            if item is None:
                return
            batch, last = self._take_batch(item)
            try:
                if len(batch) == 1:
                    capture, parsed, extra, _done = batch[0]
                    outcomes: list[Any] = [await loop.run_in_executor(
                        self._writer_pool, functools.partial(self.writer.store_capture, capture, parsed, **extra))]
                else:
                    assert self._store_batch is not None
                    outcomes = await loop.run_in_executor(
                        self._writer_pool, self._store_batch, self.writer, [(c, p, x) for c, p, x, _d in batch])
            except BaseException as exc:  # surfaced to the fetches that produced them
                outcomes = [exc] * len(batch)
            for (_c, _p, _x, done), outcome in zip(batch, outcomes):
                if done.cancelled():  # that fetch's task may be cancelled already (a stop)
                    continue
                if isinstance(outcome, BaseException):
                    done.set_exception(outcome)
                else:
                    done.set_result(outcome)
            if last:
                return

    async def store(self, capture: CaptureIn, parsed: ParsedPage | None, **extra: Any) -> StoredCapture:
        """Queue for the one writer task; extra: done=, discovered=, job_id= for frontier crawls."""
        done: asyncio.Future[StoredCapture] = asyncio.get_running_loop().create_future()
        await self._store_queue.put((capture, parsed, extra, done))
        return await done

    async def _parse(self, result: FetchResult) -> ParsedPage | None:
        cap = result.capture
        if result.content is None or not is_parseable(cap):
            return None
        url = cap.final_url or cap.requested_url
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self.parse_executor, self.parse, result.content, url, cap.headers, cap.fetched_at
        )

    async def fetch_one(self, fetcher: Fetcher, robots: Robots, url: str,
                        conditional: dict[str, str] | None = None,
                        max_hold: float | None = None,
                        on_fetched: Callable[[], None] | None = None) -> tuple[CaptureIn, ParsedPage | None]:
        """Robots, politeness, fetch and parse one URL (no storing). max_hold: raise
        HostHeldOff rather than wait out a longer Retry-After of the host. on_fetched: called
        once the request is over and the host released (before parsing), so the caller can
        take on the next URL while this one is parsed and stored."""
        try:
            return await self._fetch_one(fetcher, robots, url, conditional, max_hold, on_fetched)
        finally:
            if on_fetched is not None:
                on_fetched()  # idempotent: also after an early return or an error

    async def _fetch_one(self, fetcher: Fetcher, robots: Robots, url: str, conditional: dict[str, str] | None,
                         max_hold: float | None,
                         on_fetched: Callable[[], None] | None) -> tuple[CaptureIn, ParsedPage | None]:
        try:  # a host we may not contact at all is reported as such, not as a robots.txt failure
            await fetcher.policy.target(url)
        except PolicyRefused as exc:
            return CaptureIn(requested_url=url, fetched_at=datetime.now(timezone.utc),
                             error_kind=exc.kind, error_message=str(exc)), None
        answer = await robots.check(url)
        if not answer.allowed:
            cap = CaptureIn(requested_url=url, fetched_at=datetime.now(timezone.utc),
                            error_kind="robots", error_message=answer.reason)
            return cap, None
        delay = max(self.settings.per_host_delay, await robots.crawl_delay(url) or 0.0)
        if delay > 0:
            # The delay runs from the response's end as seen here; the server notes that end a
            # little later (its thread writes, then may wait for a core before it stamps), and
            # politeness is what the server's log shows: 0.498 s for 0.5 s with 4 workers on 2
            # busy cores (bench/crawl.py). A small margin keeps its log at or above the delay.
            delay += END_MARGIN
        host = host_of(url)
        async with self.slots.slot(host, delay, max_hold=max_hold) as turn:
            shared = getattr(self, "shared_politeness", False)
            if shared:
                await self._shared_slot(host, delay)  # type: ignore[attr-defined]
            ended_at: datetime | None = None
            try:
                async with self._fetch_gate:
                    turn.started = time.monotonic()
                    result = await fetcher.fetch(url, conditional=conditional)
                    # the delay runs from here, not from after the archive calls below
                    turn.ended, ended_at = time.monotonic(), datetime.now(timezone.utc)
            finally:
                if shared:
                    await self._shared_done(host, delay, ended_at)  # type: ignore[attr-defined]
        cap = result.capture
        if cap.status in (429, 503):
            wait = retry_after_seconds(cap.header("retry-after"), datetime.now(timezone.utc))
            if wait is not None:
                self.slots.hold_off(host, time.monotonic() + wait)
        if on_fetched is not None:
            on_fetched()
        parsed = await self._parse(result)
        return cap, parsed

    def count(self, cap: CaptureIn, stored: StoredCapture) -> None:
        self.stats["fetched"] += 1
        self.stats["bytes"] += len(cap.payload or b"")
        if cap.error_kind:
            self.stats["errors"] += 1
            self.stats[f"error:{cap.error_kind}"] += 1
        elif cap.status is not None and cap.status >= 400:
            self.stats["errors"] += 1
            self.stats[f"http:{cap.status}"] += 1
        key = {"new_revision": "new_revisions", "unchanged": "unchanged", "not_modified": "not_modified"}
        if stored.outcome in key:
            self.stats[key[stored.outcome]] += 1

    async def run(self, urls: list[str], run_kind: str = "crawl") -> CrawlReport:
        self._open_pools()
        try:
            return await self._run(urls, run_kind)
        finally:
            self._close_pools()

    async def _run(self, urls: list[str], run_kind: str) -> CrawlReport:
        t0 = time.monotonic()
        report = CrawlReport(run_id=None)
        normalized: list[str] = []
        for u in urls:
            try:
                normalized.append(normalize_url(u))
            except InvalidURL as exc:
                report.items.append(UrlOutcome(u, "invalid_url", error_message=str(exc)))
        normalized = list(dict.fromkeys(normalized))
        self.run_id = await self._archive(self.writer.start_run, run_kind, normalized)
        report.run_id = self.run_id
        self._store_queue = asyncio.Queue()
        writer = asyncio.create_task(self._writer_task())
        gate = asyncio.Semaphore(self.tasks)
        status = "failed"
        try:
            async with Fetcher(self.settings) as fetcher:
                robots = Robots(fetcher)

                async def one(url: str) -> None:
                    async with gate:
                        cap, parsed = await self.fetch_one(fetcher, robots, url)
                    cap.crawl_run_id = self.run_id
                    stored = await self.store(cap, parsed)
                    self.count(cap, stored)
                    item = UrlOutcome(url, stored.outcome, cap.status, cap.error_kind, cap.error_message,
                                      stored.revision, stored.capture_id)
                    report.items.append(item)
                    if self.on_event:
                        self.on_event({"event": "stored", **vars(item)})

                await asyncio.gather(*(one(u) for u in normalized))
            status = "finished"
        finally:
            await self._store_queue.put(None)
            await writer
            report.stats = dict(self.stats)
            report.seconds = time.monotonic() - t0
            await self._archive(self.writer.finish_run, self.run_id, report.stats, status)
        return report


@dataclass
class RetryPolicy:
    """How failed fetches are retried: exponential back-off with jitter, capped, then parked."""

    max_attempts: int = 4  # failures in a row before a URL is parked
    base_delay: float = 1.0  # seconds before the first retry; doubles each time
    max_delay: float = 3600.0
    # One-shot crawls do not wait out long back-offs: a retry further away than this parks the
    # URL (reported); None waits (scheduled crawls).
    park_beyond: float | None = 30.0

    def delay(self, attempts: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return retry_after
        d = min(self.max_delay, self.base_delay * 2 ** max(0, attempts - 1))
        return d * (0.5 + random.random())  # jitter: no thundering herd of retries


@dataclass
class Recrawl:
    """When a page is fetched again (scheduled crawls): shorter when it changes, longer when not."""

    min_seconds: float = 3600.0
    max_seconds: float = 30 * 86400.0
    first_seconds: float = 86400.0

    def next_interval(self, current: float | None, changed: bool) -> float:
        cur = current or self.first_seconds
        cur = cur / 2 if changed else cur * 1.5
        return max(self.min_seconds, min(self.max_seconds, cur))


def _failed(cap: CaptureIn) -> bool:
    if cap.error_kind is not None:
        return cap.error_kind not in ("robots", "private_address", "invalid_url")
    return cap.status is not None and (cap.status == 429 or cap.status >= 500)


class HostTaken(Exception):
    """Another worker holds the host: this worker gives the URL back instead of waiting."""

    def __init__(self, host: str) -> None:
        super().__init__(f"{host} is being fetched by another worker")
        self.host = host


@dataclass
class _HeldHost:
    """A host this worker holds in the archive (storage.frontier.claim_host_held)."""

    token: datetime  # the claim's hold time: no other worker claims the host before it
    delay: float
    ended: datetime | None = None  # end of the last response; None while a request is in flight
    extending: "asyncio.Future[Any] | None" = None  # a claim again with the token, under way


class FrontierCrawl(Crawl):
    """A crawl that takes its work from the durable frontier by lease (one job, or all jobs)."""

    def __init__(self, *, store: FrontierStore, owner: str, scope: Scope | None = None,
                 retry: RetryPolicy | None = None, recrawl: Recrawl | None = None,
                 max_pages: int | None = None, poll: float = 0.5,
                 job_policy: Callable[[int], tuple[Scope | None, Recrawl | None, int | None]] | None = None,
                 shared_politeness: bool = False, **kw: Any) -> None:
        super().__init__(writer=store, **kw)
        self.store_ = store
        self.owner = owner
        self.scope = scope
        self.retry = retry or RetryPolicy()
        self.recrawl = recrawl
        self.max_pages = max_pages
        self.poll = poll
        self.parked: list[UrlOutcome] = []
        # For workers serving every job: each job's scope, recrawl bounds and page cap.
        self.job_policy = job_policy
        # Several workers (processes, machines) on one archive: the per-host delay is claimed in
        # the database, so it holds across all of them.
        self.shared_politeness = shared_politeness
        # Everything leased and not yet stored (fetched pages waiting for the parser or the
        # writer included): bounds memory and leases when parsing and storing fall behind.
        self.backlog = self.backlog_for(self.concurrency)
        # Hosts this worker keeps between its own requests (claims in the archive), and its
        # URLs per host whose fetch is not over yet (a host is kept while any are left).
        self._held: dict[str, _HeldHost] = {}
        self._pending: Counter[str] = Counter()
        hold = float(getattr(store, "lease_seconds", 60.0))  # a claim's hold (Archive.claim_host_held)
        # A held host opens a request without a round trip while more than half its hold is
        # left; the hold is extended (in the background) once less than three quarters are.
        self._claim_margin = timedelta(seconds=hold / 2)
        self._extend_below = timedelta(seconds=hold * 3 / 4)
        # A host held elsewhere for longer than this is given up (its URLs go back to the
        # frontier); a shorter wait is waited out. Leases skip hosts held elsewhere likewise.
        self._held_margin = max(1.0, self.settings.per_host_delay) + 1.0
        # Several workers: a URL whose host another worker holds goes back to the frontier
        # (leases skip hosts held elsewhere, so the holder takes it) rather than wait here.
        self.give_up_taken_hosts = shared_politeness
        self._given_back: set[int] = set()  # entries given back (HostTaken) whose task may not have ended yet
        self.lease_batch = max(1, self.concurrency // 2)
        self._prestarted = False

    @staticmethod
    def backlog_for(concurrency: int) -> int:
        """Leases a crawl holds at most: the URLs before or in their fetch (2 x concurrency)
        and fetched pages waiting to be parsed and stored, room for a few seconds of fetching
        while the writer catches up (a crawl's first stores are its slowest). A worker that
        dies loses the fetches of at most this many URLs (fetched again once their leases
        expire)."""
        return 8 * max(1, concurrency)

    def _prestart_parsing(self) -> None:
        """Start the parse executor's processes now, in the background, if it has any: a long
        crawl would otherwise start them at its 33rd page and stall for their start-up."""
        self._prestarted = True
        prestart = getattr(self.parse_executor, "prestart", None)
        if prestart is not None:
            prestart(self.parse)

    async def _shared_slot(self, host: str, delay: float) -> None:
        """Take the host in the archive for this request (several workers: the delay holds
        across them). A host this worker holds already, with more than half its hold left, is
        its own: no round trip (the delay since this worker's previous request was kept by
        self.slots; the hold is extended in the background). A host another worker holds is
        given up (HostTaken) when its hold has longer to run than the lease's margin: the URL
        goes back to the frontier for the holder (leases skip hosts held elsewhere) rather than
        waiting here, holding a fetch task. A shorter wait (the host's delay after another
        worker's last request, a dead worker's hold running out) is waited out."""
        held = self._held.get(host)
        if held is not None and held.token - datetime.now(timezone.utc) > self._claim_margin:
            held.ended = None  # a request in flight
            return
        step = 0.05
        while True:
            held = self._held.get(host)
            if held is not None and held.extending is not None:
                await asyncio.wait([held.extending])  # its token may be the host's now
            token, again = await self._archive(self.store_.claim_host_held, host, held.token if held else None)
            if token is not None:
                self._held[host] = _HeldHost(token, delay)
                return
            self._held.pop(host, None)  # the token no longer opens the host: it is void
            assert again is not None
            wait = (again - datetime.now(timezone.utc)).total_seconds()
            if self.give_up_taken_hosts and wait > self._held_margin:
                raise HostTaken(host)
            if wait > delay + 0.05:  # in flight elsewhere: when it ends is unknown, ask again soon
                wait, step = min(wait, step), min(step * 2, 1.0)
            await asyncio.sleep(min(max(wait, 0.005), 5.0))

    def _extend(self, host: str, held: "_HeldHost") -> "asyncio.Future[Any]":
        """Extend this worker's hold on the host (claim it again with its token), in an archive
        thread, once at a time; the new token is recorded there, so a task cancelled meanwhile
        loses nothing. It fails only when the hold ran out already (and another worker took
        the host): the old token then opens nothing, and the next request claims afresh."""
        if held.extending is not None and not held.extending.done():
            return held.extending

        def claim_again() -> None:
            token, _again = self.store_.claim_host_held(host, held.token)
            if token is not None:
                held.token = token

        held.extending = asyncio.get_running_loop().run_in_executor(self._archive_pool, claim_again)
        # an error (a lost connection) surfaces at the next claim or release; not here
        held.extending.add_done_callback(lambda f: f.cancelled() or f.exception())
        return held.extending

    def _hold_is_old(self, held: "_HeldHost") -> bool:
        return held.token - datetime.now(timezone.utc) < self._extend_below

    async def _shared_done(self, host: str, delay: float, ended_at: datetime | None) -> None:
        """The response ended (at ended_at; None: the request failed before one). While more
        of this worker's URLs of the host are under way, keep the host: no round trip to open
        it to others and none to claim it back (its hold is extended in the background once it
        is old); else reopen it `delay` after this response's end. (Keeping it idle for the
        next lease's URLs saved a claim and a reopening a page at delay 0, but the first
        worker to lease then kept every host and the others had no work.)"""
        held = self._held.get(host)
        if held is None:
            return
        held.ended, held.delay = ended_at or datetime.now(timezone.utc), delay
        if self._pending[host] > 1:  # this URL counts there until its fetch is over
            if self._hold_is_old(held):
                self._extend(host, held)
            return
        await self._reopen(host, held)

    async def _reopen(self, host: str, held: "_HeldHost") -> None:
        """Give the host back: open `delay` after its last response's end."""
        if self._held.get(host) is not held:
            return
        del self._held[host]
        if held.extending is not None:
            await asyncio.wait([held.extending])  # so the token below is the host's
        ended = held.ended or datetime.now(timezone.utc)  # stopping: a request cancelled mid-way
        await self._archive(self.store_.host_done, host, held.delay, ended_at=ended, token=held.token)

    async def _tend_hosts(self, idle_only: bool) -> None:
        """Extend the holds of the hosts this worker keeps (requests in flight included), and
        reopen those kept for URLs that no longer wait for them (given up, parked; all of them
        at a stop): otherwise a host stays closed to other workers until its hold runs out."""
        for host, held in list(self._held.items()):
            if idle_only and (held.ended is None or self._pending[host] > 0):
                if self._hold_is_old(held):
                    await asyncio.wait([self._extend(host, held)])
                continue
            await self._reopen(host, held)

    def _policy(self, job_id: int) -> tuple[Scope | None, Recrawl | None, int | None]:
        if self.job_policy is None:
            return self.scope, self.recrawl, self.max_pages
        return self.job_policy(job_id)

    def _done(self, item: Leased, cap: CaptureIn) -> FrontierDone:
        now = datetime.now(timezone.utc)
        recrawl = self._policy(item.job_id)[1]
        failed = _failed(cap)
        outcome = cap.error_kind or (f"http:{cap.status}" if cap.status else "none")
        if failed:
            attempts = item.attempts + 1
            retry_after = retry_after_seconds(cap.header("retry-after"), now) if cap.status in (429, 503) else None
            delay = self.retry.delay(attempts, retry_after)
            park = attempts >= self.retry.max_attempts or (
                self.retry.park_beyond is not None and delay > self.retry.park_beyond)
            return FrontierDone(item.id, self.owner, outcome, None if park else now + timedelta(seconds=delay),
                                failed=True, park=park)
        etag, last_modified = cap.header("etag"), cap.header("last-modified")
        if recrawl is None:  # one-shot: done with this URL
            return FrontierDone(item.id, self.owner, outcome, None, etag=etag, last_modified=last_modified)
        # A 304 or an error page did not change; a 2xx may have: the archive knows once it has
        # compared content hashes, so both intervals go with the capture and it picks one.
        may_have_changed = cap.status is not None and 200 <= cap.status < 300 and cap.status != 304
        interval = recrawl.next_interval(item.recrawl_seconds, may_have_changed)
        unchanged = recrawl.next_interval(item.recrawl_seconds, False) if may_have_changed else None
        return FrontierDone(item.id, self.owner, outcome, now + timedelta(seconds=interval), etag=etag,
                            last_modified=last_modified, recrawl_seconds=interval,
                            unchanged_recrawl_seconds=unchanged)

    def _discovered(self, item: Leased, parsed: ParsedPage | None, cap: CaptureIn) -> list[tuple[str, int, float]]:
        scope = self._policy(item.job_id)[0]
        if scope is None or parsed is None or not (cap.status and 200 <= cap.status < 300):
            return []
        depth = item.depth + 1
        out = []
        for link in parsed.links:
            url = scope.admits(link, depth)
            if url is not None:
                out.append((url, depth, -float(depth)))  # shallower first
        return out

    async def _process(self, fetcher: Fetcher, robots: Robots, item: Leased, report: CrawlReport,
                       on_fetched: Callable[[], None] | None = None) -> None:
        conditional = {"etag": item.etag or "", "last_modified": item.last_modified or ""}
        try:
            cap, parsed = await self.fetch_one(fetcher, robots, item.url, conditional=conditional,
                                               max_hold=self.retry.park_beyond, on_fetched=on_fetched)
        except HostTaken:
            self._given_back.add(item.id)  # leased again, it is a new lease, not this one
            await self._archive(self.store_.give_back, self.owner, [item.id])
            self.stats["given_back"] += 1
            return
        except HostHeldOff as held:
            # The host asked us to stay away (Retry-After) longer than a one-shot crawl waits
            # (before this URL's turn, or while it waited in line): park it without a request.
            done = FrontierDone(item.id, self.owner, "host_backoff", None, failed=True, park=True)
            await self._archive(self.store_.finish_entry, done)
            report.items.append(UrlOutcome(item.url, "parked", error_kind="host_backoff", parked=True,
                                           error_message=str(held)))
            self.stats["parked"] += 1
            return
        cap.crawl_run_id = item.run_id or self.run_id
        done = self._done(item, cap)
        try:
            stored = await self.store(cap, parsed, done=done, discovered=self._discovered(item, parsed, cap),
                                      job_id=item.job_id, max_total=self._policy(item.job_id)[2])
        except LeaseLost:
            # The lease ran out and the URL went to another worker (or back to the queue):
            # nothing was stored; whoever holds the URL now stores it (exactly once).
            self.stats["lease_lost"] += 1
            if self.on_event:
                self.on_event({"event": "lease_lost", "url": item.url})
            return
        self.count(cap, stored)
        out = UrlOutcome(item.url, stored.outcome, cap.status, cap.error_kind, cap.error_message,
                         stored.revision, stored.capture_id, parked=done.park)
        report.items.append(out)
        if done.park:
            self.stats["parked"] += 1
            self.parked.append(out)
        elif done.failed:
            self.stats["retries"] += 1
        if self.on_event:
            self.on_event({"event": "stored", "parked": done.park, **vars(out)})

    async def run_job(self, job_id: int | None, *, one_shot: bool, stop: asyncio.Event | None = None,
                      run_kind: str = "crawl", seeds: list[str] | None = None) -> CrawlReport:
        """Lease, fetch, store until the job has nothing left (one_shot) or `stop` is set.
        Seeds are queued for the job again (due now) at the start of the run."""
        self._open_pools()
        try:
            return await self._run_job(job_id, one_shot=one_shot, stop=stop, run_kind=run_kind, seeds=seeds)
        finally:
            self._close_pools()

    async def _run_job(self, job_id: int | None, *, one_shot: bool, stop: asyncio.Event | None,
                       run_kind: str, seeds: list[str] | None) -> CrawlReport:
        t0 = time.monotonic()
        report = CrawlReport(run_id=None)
        stop = stop or asyncio.Event()
        self.run_id = await self._archive(self.writer.start_run, run_kind, seeds or [])
        report.run_id = self.run_id
        if seeds and job_id is not None:
            await self._archive(self.store_.enqueue, job_id, [(u, 0, 1.0) for u in seeds], force=True,
                              run_id=self.run_id)
        self._store_queue = asyncio.Queue()
        writer = asyncio.create_task(self._writer_task())
        in_flight: dict[asyncio.Task[None], Leased] = {}
        status = "failed"

        wake = asyncio.Event()  # a task is done, a fetch is over, or the renewer stopped
        # Renew held leases well before they expire (URLs waiting for a busy host included).
        renew_every = max(0.5, float(getattr(self.store_, "lease_seconds", 60.0)) / 3)

        async def renew_leases() -> None:
            while True:
                await asyncio.sleep(renew_every)
                ids = [i.id for i in in_flight.values()]
                if ids:
                    await self._archive(self.store_.renew, self.owner, ids)
                if self.shared_politeness:
                    await self._tend_hosts(idle_only=True)

        renewer = asyncio.create_task(renew_leases())
        # A renewal that fails (a lost connection) ends the pass like any other archive call:
        # a pass whose leases silently stopped being renewed would see them run out under it.
        renewer.add_done_callback(lambda _t: wake.set())
        # Two bounds. `self.tasks` URLs may be before or in their fetch (waiting for a host's
        # delay included); a URL whose fetch is over no longer counts there, so the next URL is
        # leased while this one is parsed and stored (tying the lease to the store left hosts
        # idle for seconds behind a slow store or a parse pool starting). `self.backlog` bounds
        # everything not yet stored: if parsing and storing fall behind, fetching waits.
        fetching = 0
        drained_at = -1e9  # monotonic: when a lease last found fewer due URLs than asked for

        def fetched_once(host: str) -> Callable[[], None]:
            called = False
            self._pending[host] += 1

            def fetched() -> None:
                nonlocal called, fetching
                if not called:
                    called = True
                    fetching -= 1
                    self._pending[host] -= 1
                    wake.set()

            return fetched

        try:
            async with Fetcher(self.settings) as fetcher:
                try:
                    robots = Robots(fetcher, store=self.store_, call=self._archive)
                    while not stop.is_set():
                        room = min(self.tasks - fetching, self.backlog - len(in_flight))
                        # Lease in batches (a transaction per fetch would cost more than it saves),
                        # and after a lease came back short, not again before the poll interval
                        # (nothing was due; links found meanwhile wait that long at most).
                        # When the backlog bounds the room (parsing and storing are behind),
                        # wait for a batch's worth too: a store frees one place at a time, and
                        # leasing one URL per store cost a transaction a page.
                        backlog_room = self.backlog - len(in_flight)
                        want = room >= self.lease_batch or (
                            room > 0 and fetching < self.lease_batch and backlog_room >= self.lease_batch)
                        if want and (not in_flight or time.monotonic() - drained_at >= self.poll):
                            # several workers: not the URLs of hosts another worker holds
                            mine = list(self._held) if self.shared_politeness else None
                            leased = await self._archive(self.store_.lease, self.owner, room, job_id=job_id,
                                                         hosts_held=mine, held_margin=self._held_margin)
                            if len(leased) < room:
                                drained_at = time.monotonic()
                            if leased and not self._prestarted and len(in_flight) + len(leased) >= self.tasks:
                                self._prestart_parsing()  # a long crawl: start the parse processes now
                            held = {i.id for i in in_flight.values()}
                            for item in leased:
                                if item.id in held and item.id not in self._given_back:
                                    # our own lease ran out and we took the URL again: it is under
                                    # way here already (the lease is ours again, renewed)
                                    continue
                                self._given_back.discard(item.id)
                                fetching += 1
                                task = asyncio.create_task(self._process(fetcher, robots, item, report,
                                                                         fetched_once(item.host)))
                                task.add_done_callback(lambda _t: wake.set())
                                in_flight[task] = item
                        if not in_flight:
                            if one_shot and job_id is not None:
                                due_only = self._policy(job_id)[1] is not None  # a scheduled job's run
                                left = await self._archive(self.store_.unfinished, job_id, due_only=due_only)
                                if left == 0:
                                    break
                            drained_at = -1e9  # idle: the next pass leases at once
                            try:
                                await asyncio.wait_for(stop.wait(), self.poll)
                            except TimeoutError:
                                pass
                            continue
                        wake.clear()
                        if not any(t.done() for t in in_flight) and not renewer.done():
                            try:
                                await asyncio.wait_for(wake.wait(), self.poll)
                            except TimeoutError:
                                pass
                        if renewer.done():
                            renewer.result()  # its error ends the pass
                        for task in [t for t in in_flight if t.done()]:
                            in_flight.pop(task)
                            task.result()  # a storing error is a bug: surface it
                    if in_flight:  # stopping: let fetches under way finish and be stored
                        await asyncio.gather(*in_flight)
                    await robots.flush()
                except BaseException:
                    # The pass ends on an error: abandon the URLs under way while the HTTP client
                    # is still open. Closing it first broke their requests mid-way, and each was
                    # then stored as a failed capture ("read") and fetched again: two captures of
                    # one URL in one run. Cancelled, they store nothing and their leases go back.
                    # Fetched pages already queued for the writer are still stored below.
                    for task in in_flight:
                        task.cancel()
                    await asyncio.gather(*in_flight, return_exceptions=True)
                    raise
            status = "finished" if not stop.is_set() or one_shot else "stopped"
        finally:
            renewer.cancel()
            for task in in_flight:
                task.cancel()
            await self._store_queue.put(None)
            await writer
            if self.shared_politeness:
                await self._tend_hosts(idle_only=False)
            await self._archive(self.store_.release, self.owner)  # anything not stored goes back
            report.stats = dict(self.stats)
            report.seconds = time.monotonic() - t0
            await self._archive(self.writer.finish_run, self.run_id, report.stats, status)
        return report


async def run_crawl(
    urls: list[str],
    *,
    settings: FetchSettings,
    writer: ArchiveWriter,
    parse: ParseFn,
    concurrency: int = 16,
    per_host: int = 1,
    run_kind: str = "crawl",
    parse_executor: Executor | None = None,
    on_event: Callable[[dict[str, Any]], None] | None = None,
) -> CrawlReport:
    """Fetch, parse and store these URLs now. Returns when every URL has a capture."""
    crawl = Crawl(settings=settings, writer=writer, parse=parse, concurrency=concurrency,
                  per_host=per_host, parse_executor=parse_executor, on_event=on_event)
    return await crawl.run(urls, run_kind)
