"""robots.txt, read by protego, cached per origin, with RFC 9309's failure rules.

- 2xx: the rules apply (Crawl-delay too);
- 4xx (401 and 403 included, as RFC 9309 says): no rules, everything allowed;
- 5xx, a network error or a redirect loop: the site is treated as fully disallowed for now,
  and robots.txt is asked again after `robots_retry_after_error` seconds.

Answers are cached in memory and, when a store is given (the archive's host state), in the
database with their expiry: a restarted service or a worker on another machine reuses the
answer instead of asking every host again.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from collections.abc import Awaitable, Callable
from typing import Any, Protocol
from urllib.parse import urlsplit

from protego import Protego

from crawler.fetcher import Fetcher
from parsers.urls import host_of

log = logging.getLogger("pagetrail.robots")


class RobotsStore(Protocol):
    """Where answers are shared between workers and restarts (storage's host state)."""

    def robots_cached(self, host: str) -> tuple[int | None, str | None, datetime] | None: ...

    def save_robots(self, host: str, status: int | None, body: str | None, expires_at: datetime,
                    crawl_delay: float | None) -> None: ...


@dataclass
class RobotsAnswer:
    allowed: bool
    reason: str  # for the capture's error message when disallowed


@dataclass
class _Entry:
    rules: Protego | None  # None: no restrictions
    disallow_all: bool
    expires: float
    note: str


class Robots:
    def __init__(self, fetcher: Fetcher, store: RobotsStore | None = None,
                 call: Callable[..., Awaitable[Any]] | None = None) -> None:
        """call: how to run the store's blocking methods (the crawl's archive threads);
        asyncio.to_thread by default."""
        self.fetcher = fetcher
        self._call = call or asyncio.to_thread
        self.settings = fetcher.settings
        self.store = store
        self._cache: dict[str, _Entry] = {}
        self._asking: dict[str, asyncio.Lock] = {}  # one robots.txt request per origin at a time
        self._saving: set[asyncio.Task[Any]] = set()  # answers being shared through the store

    @staticmethod
    def origin(url: str) -> str:
        p = urlsplit(url)
        return f"{p.scheme}://{p.netloc}"

    def _from_answer(self, status: int | None, body: str | None, expires: float, why: str | None = None) -> _Entry:
        if status is not None and 200 <= status < 300:
            return _Entry(Protego.parse(body or ""), False, expires, "robots.txt")
        if status is not None and 400 <= status < 500:
            return _Entry(None, False, expires, f"robots.txt answered {status}: no restrictions")
        why = why or (f"answered {status}" if status else "unreachable")
        return _Entry(None, True, expires, f"robots.txt {why}: the site is treated as disallowed for now (RFC 9309)")

    async def _entry(self, url: str) -> _Entry:
        origin = self.origin(url)
        entry = self._cache.get(origin)
        if entry is not None and entry.expires > time.monotonic():
            return entry
        # Many URLs of a new host arrive at once: the first asks, the others wait for its answer
        # (robots.txt requests are not spaced by the per-host delay, so ask once).
        async with self._asking.setdefault(origin, asyncio.Lock()):
            entry = self._cache.get(origin)
            if entry is not None and entry.expires > time.monotonic():
                return entry
            return await self._ask(url, origin)

    async def _ask(self, url: str, origin: str) -> _Entry:
        now = time.monotonic()
        host = host_of(url)
        if self.store is not None:
            saved = await self._call(self.store.robots_cached, host)
            if saved is not None:
                status, body, expires_at = saved
                left = (expires_at - datetime.now(timezone.utc)).total_seconds()
                entry = self._from_answer(status, body, now + left)
                self._cache[origin] = entry
                return entry
        result = await self.fetcher.fetch(origin + "/robots.txt")
        cap = result.capture
        ok = cap.error_kind is None and cap.status is not None
        status = cap.status if ok else None
        if ok and status is not None and (200 <= status < 300 or 400 <= status < 500):
            ttl = self.settings.robots_cache_ttl
        else:
            ttl = self.settings.robots_retry_after_error
        body = (result.content or b"").decode("utf-8", errors="replace") if ok and 200 <= (status or 0) < 300 else None
        why = None if ok else f"unreachable ({cap.error_kind})"
        entry = self._from_answer(status, body, now + ttl, why)
        self._cache[origin] = entry
        if self.store is not None:
            delay = entry.rules.crawl_delay(self.settings.user_agent) if entry.rules is not None else None
            expires_at = datetime.now(timezone.utc) + timedelta(seconds=ttl)
            # Shared in the background: this worker has the answer already, and the URL that
            # asked should not wait behind the archive's writer (on SQLite, the write lock a
            # capture's transaction holds) to be fetched.
            task = asyncio.create_task(self._call(
                self._save, host, status, body, expires_at, float(delay) if delay is not None else None))
            self._saving.add(task)
            task.add_done_callback(self._saving.discard)
        return entry

    def _save(self, host: str, status: int | None, body: str | None, expires_at: datetime,
              crawl_delay: float | None) -> None:
        assert self.store is not None
        try:
            self.store.save_robots(host, status, body, expires_at, crawl_delay)
        except Exception as exc:  # noqa: BLE001 - only sharing is lost: other workers ask the host themselves
            log.warning("could not share the robots.txt answer of %s (%s); other workers will ask it again",
                        host, exc)

    async def flush(self) -> None:
        """Wait for answers still being shared (the end of a crawl)."""
        if self._saving:
            await asyncio.gather(*self._saving, return_exceptions=True)

    async def check(self, url: str) -> RobotsAnswer:
        if not self.settings.obey_robots:
            return RobotsAnswer(True, "robots.txt not obeyed (obey_robots is off)")
        entry = await self._entry(url)
        if entry.disallow_all:
            return RobotsAnswer(False, entry.note)
        if entry.rules is None:
            return RobotsAnswer(True, entry.note)
        if entry.rules.can_fetch(url, self.settings.user_agent):
            return RobotsAnswer(True, "allowed by robots.txt")
        return RobotsAnswer(False, f"disallowed by {self.origin(url)}/robots.txt for {self.settings.user_agent!r}")

    async def crawl_delay(self, url: str) -> float | None:
        if not self.settings.obey_robots:
            return None
        entry = await self._entry(url)
        if entry.rules is None:
            return None
        delay = entry.rules.crawl_delay(self.settings.user_agent)
        return float(delay) if delay is not None else None

    async def sitemaps(self, url: str) -> list[str]:
        """The Sitemap: URLs robots.txt lists (normalized; others dropped)."""
        from parsers.urls import InvalidURL, normalize_url

        entry = await self._entry(url)
        out = []
        for m in (entry.rules.sitemaps if entry.rules is not None else []):
            try:
                out.append(normalize_url(m))
            except InvalidURL:
                continue
        return out
