"""robots.txt, read by protego, cached per origin, with RFC 9309's failure rules.

- 2xx: the rules apply (Crawl-delay too);
- 4xx (401 and 403 included, as RFC 9309 says): no rules, everything allowed;
- 5xx, a network error or a redirect loop: the site is treated as fully disallowed for now,
  and robots.txt is asked again after `robots_retry_after_error` seconds.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from protego import Protego

from crawler.fetcher import Fetcher


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
    def __init__(self, fetcher: Fetcher) -> None:
        self.fetcher = fetcher
        self.settings = fetcher.settings
        self._cache: dict[str, _Entry] = {}

    @staticmethod
    def origin(url: str) -> str:
        p = urlsplit(url)
        return f"{p.scheme}://{p.netloc}"

    async def _entry(self, url: str) -> _Entry:
        origin = self.origin(url)
        entry = self._cache.get(origin)
        now = time.monotonic()
        if entry is not None and entry.expires > now:
            return entry
        result = await self.fetcher.fetch(origin + "/robots.txt")
        cap = result.capture
        ttl = self.settings.robots_cache_ttl
        if cap.status is not None and 200 <= cap.status < 300 and cap.error_kind is None:
            text = (result.content or b"").decode("utf-8", errors="replace")
            entry = _Entry(Protego.parse(text), False, now + ttl, "robots.txt")
        elif cap.status is not None and 400 <= cap.status < 500:
            entry = _Entry(None, False, now + ttl, f"robots.txt answered {cap.status}: no restrictions")
        else:
            why = f"answered {cap.status}" if cap.status else f"unreachable ({cap.error_kind})"
            entry = _Entry(None, True, now + self.settings.robots_retry_after_error,
                           f"robots.txt {why}: the site is treated as disallowed for now (RFC 9309)")
        self._cache[origin] = entry
        return entry

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
