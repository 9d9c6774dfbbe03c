"""The crawl engine: fetch with bounded concurrency and per-host politeness, parse, hand each
capture to the archive writer — one writer task, so captures are stored one transaction at a
time and SQLite is never written concurrently.

The engine knows no SQL: it sees the archive only through storage.interface.ArchiveWriter.
"""

from __future__ import annotations

import asyncio
import email.utils
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from crawler.fetcher import Fetcher, FetchResult
from crawler.netpolicy import PolicyRefused
from crawler.politeness import HostSlots
from crawler.robots import Robots
from crawler.settings import FetchSettings
from parsers.records import ParsedPage
from parsers.urls import InvalidURL, host_of, normalize_url
from storage.interface import ArchiveWriter, CaptureIn, StoredCapture

ParseFn = Callable[[bytes, str, list[tuple[str, str]], datetime], ParsedPage | None]
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
    ) -> None:
        self.settings = settings
        self.writer = writer
        self.parse = parse
        self.concurrency = max(1, concurrency)
        self.slots = HostSlots(per_host)
        self.parse_executor = parse_executor
        self.on_event = on_event
        self.stats: Counter[str] = Counter()
        self.run_id: int | None = None
        self._store_queue: asyncio.Queue[tuple[CaptureIn, ParsedPage | None, asyncio.Future[StoredCapture]] | None]

    async def _writer_task(self) -> None:
        while True:
            item = await self._store_queue.get()
            if item is None:
                return
            capture, parsed, done = item
            try:
                stored = await asyncio.to_thread(self.writer.store_capture, capture, parsed)
            except BaseException as exc:  # surfaced to the fetch that produced it
                done.set_exception(exc)
            else:
                done.set_result(stored)

    async def store(self, capture: CaptureIn, parsed: ParsedPage | None) -> StoredCapture:
        done: asyncio.Future[StoredCapture] = asyncio.get_running_loop().create_future()
        await self._store_queue.put((capture, parsed, done))
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
                        conditional: dict[str, str] | None = None) -> tuple[CaptureIn, ParsedPage | None]:
        """Robots, politeness, fetch and parse one URL (no storing)."""
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
        host = host_of(url)
        async with self.slots.slot(host, delay):
            result = await fetcher.fetch(url, conditional=conditional)
        cap = result.capture
        if cap.status in (429, 503):
            wait = retry_after_seconds(cap.header("retry-after"), datetime.now(timezone.utc))
            if wait is not None:
                self.slots.hold_off(host, time.monotonic() + wait)
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
        t0 = time.monotonic()
        report = CrawlReport(run_id=None)
        normalized: list[str] = []
        for u in urls:
            try:
                normalized.append(normalize_url(u))
            except InvalidURL as exc:
                report.items.append(UrlOutcome(u, "invalid_url", error_message=str(exc)))
        normalized = list(dict.fromkeys(normalized))
        self.run_id = await asyncio.to_thread(self.writer.start_run, run_kind, normalized)
        report.run_id = self.run_id
        self._store_queue = asyncio.Queue()
        writer = asyncio.create_task(self._writer_task())
        gate = asyncio.Semaphore(self.concurrency)
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
            await asyncio.to_thread(self.writer.finish_run, self.run_id, report.stats, status)
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
