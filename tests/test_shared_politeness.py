"""Per-host politeness shared by several workers through the archive (crawler/engine.py
FrontierCrawl with shared_politeness, storage/frontier.py host claims), against real local
HTTP servers, on SQLite and PostgreSQL:

- a worker keeps the hosts it fetches: between its own requests to a host it makes no archive
  round trip, so the gap is the delay even when the archive is slow to answer;
- a URL whose host another worker holds goes back to the frontier for that worker instead of
  waiting (its lease is not held meanwhile), and is fetched once the host is free.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from sqlalchemy import select

from crawler.asyncrun import run_async
from crawler.engine import CrawlReport, FrontierCrawl
from crawler.settings import FetchSettings
from parsers.urls import host_of
from storage.archive import Archive
from storage.db import open_engine
from storage.frontier import job_key
from storage.models import FrontierEntry
from tests.httpserver import LocalSite, Reply, html
from tests.multihost import host_gaps, serve_hosts
from tests.test_service import _wait_for


class SlowClaims:
    """The archive, with every host claim taking `seconds` longer (a distant or busy database),
    and the claims counted."""

    def __init__(self, archive: Archive, seconds: float) -> None:
        self._archive, self.seconds, self.claims = archive, seconds, 0
        self.lease_seconds = archive.lease_seconds

    def __getattr__(self, name: str) -> Any:
        return getattr(self._archive, name)

    def claim_host_held(self, *a: Any, **kw: Any) -> Any:
        self.claims += 1
        time.sleep(self.seconds)
        return self._archive.claim_host_held(*a, **kw)


def site(pages: int, robots_delay: float = 0.0) -> LocalSite:
    s = LocalSite()
    s["/robots.txt"] = Reply(200, b"User-agent: *\nAllow: /\n", {"Content-Type": "text/plain"},
                             delay=robots_delay)
    for i in range(pages):
        s[f"/p{i}"] = html(f"<html><body><p>page {i}</p></body></html>")
    return s


def crawl(store: Any, urls: list[str], delay: float) -> CrawlReport:
    job = store.ensure_job(job_key("crawl", {"seeds": urls}), {"seeds": urls})
    engine = FrontierCrawl(store=store, owner="w1", shared_politeness=True, parse=lambda *a: None,
                           settings=FetchSettings(per_host_delay=delay, allow_private_addresses=True))
    return run_async(engine.run_job(job, one_shot=True, seeds=urls))


def test_no_archive_round_trip_between_requests_to_a_kept_host(db_url):
    delay, claim = 0.3, 0.6
    hosts = serve_hosts(site(5), 1, named=False)
    urls = [hosts.origin(0) + f"/p{i}" for i in range(5)]
    archive = Archive(open_engine(db_url))
    store = SlowClaims(archive, claim)
    try:
        crawl(store, urls, delay)
        hits = sorted((h for h in hosts.site.log if h.path.startswith("/p")), key=lambda h: h.start)
        assert sorted(h.path for h in hits) == sorted(f"/p{i}" for i in range(5))
        gaps = [b.start - a.end for a, b in zip(hits, hits[1:])]
        assert min(gaps) >= delay
        # Before, every request claimed the host first, after the delay: gaps of 0.3 + 0.6 s
        # (and more: the claim counted as the host's response time). Now the host is claimed
        # once and kept: the gap is the delay.
        assert max(gaps) < delay + claim, gaps
        assert store.claims == 1
    finally:
        hosts.close()
        archive.engine.dispose()


def test_a_url_whose_host_another_worker_holds_goes_back_to_the_frontier(db_url):
    delay, hold = 0.2, 8.0
    # robots.txt answers slowly: the worker has leased every URL when the other worker claims
    hosts = serve_hosts(site(2, robots_delay=1.5), 2, named=False)
    taken = [hosts.origin(0) + f"/p{i}" for i in range(2)]  # host 0: another worker takes it
    free = [hosts.origin(1) + f"/p{i}" for i in range(2)]
    archive = Archive(open_engine(db_url), lease_seconds=hold)  # a claim holds a host this long
    report: list[CrawlReport] = []
    try:
        t = threading.Thread(target=lambda: report.append(crawl(archive, taken + free, delay)))
        t.start()

        def states() -> set[tuple[str | None, str]]:
            with archive.sessions() as s:
                return set(s.execute(select(FrontierEntry.lease_owner, FrontierEntry.state)
                                     .where(FrontierEntry.url.in_(taken))).all())

        assert _wait_for(lambda: states() == {("w1", "leased")}, 10)
        token, _ = archive.claim_host_held(host_of(taken[0]))  # "the other worker" claims host 0
        held_until = time.monotonic() + hold
        assert token is not None, "the worker claimed host 0 first: nothing tested"

        def pages_of(k: int) -> list:
            return [h for h in hosts.site.log if h.path.startswith("/p") and h.host == hosts.origin(k)[7:]]

        # given back, not waited for: while the other worker holds host 0 its URLs are queued,
        # nobody's, for the holder to take (and this worker's leases skip them); host 1's are
        # fetched meanwhile
        assert _wait_for(lambda: states() == {(None, "queued")} and len(pages_of(1)) == 2, hold / 2)
        t.join(60)
        assert not t.is_alive() and report
        assert sorted(h.path for h in pages_of(0)) == ["/p0", "/p1"]  # each once, after the hold
        assert min(h.start for h in pages_of(0)) >= held_until - 0.5  # (the claim came just before)
        assert report[0].stats["given_back"] == 2  # once each: then leases left them alone
        assert min(host_gaps(h for h in hosts.site.log if h.path.startswith("/p")).values()) >= delay
    finally:
        hosts.close()
        archive.engine.dispose()
