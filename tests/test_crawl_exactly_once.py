"""A crawl pass that ends on an error (a lost database connection) stores nothing for the
fetches it abandons: storing stays exactly-once when the pass starts again (DESIGN.md, Scale).

The archive is the real one (SQLite) behind a thin wrapper that fails one call the way a lost
connection does; the pages come from real local HTTP servers.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from sqlalchemy import select

from crawler.asyncrun import run_async
from crawler.engine import FrontierCrawl
from crawler.settings import FetchSettings
from storage.archive import Archive
from storage.db import open_engine
from storage.frontier import job_key
from storage.models import Capture, FrontierEntry
from tests.httpserver import LocalSite, Reply, html
from tests.multihost import serve_hosts
from tests.test_service import _wait_for

SLOW = 3.0  # seconds a slow page takes: still in flight when the pass ends


class DatabaseLost(ConnectionError):
    pass


class FailingArchive:
    """The archive, with the store of one URL, or every lease renewal, failing as a lost
    connection would."""

    def __init__(self, archive: Archive, fail_store_of: str | None = None, fail_renew: bool = False) -> None:
        self._archive = archive
        self.lease_seconds = archive.lease_seconds
        self.fail_store_of, self.fail_renew = fail_store_of, fail_renew

    def __getattr__(self, name: str) -> Any:
        return getattr(self._archive, name)

    def store_capture(self, capture: Any, parsed: Any, **kw: Any) -> Any:
        if capture.requested_url == self.fail_store_of:
            raise DatabaseLost("server closed the connection unexpectedly")
        return self._archive.store_capture(capture, parsed, **kw)

    def renew(self, owner: str, entry_ids: list[int]) -> None:
        if self.fail_renew:
            raise DatabaseLost("server closed the connection unexpectedly")
        self._archive.renew(owner, entry_ids)


def site(fast_waits_for_slow: int = 0) -> LocalSite:
    """/slow answers after SLOW seconds. With fast_waits_for_slow=n, /fast answers only once n
    requests for /slow have arrived (or after SLOW / 2 seconds at most): the store that fails then
    comes while they are all in flight, however slowly a loaded machine sends them."""
    s = LocalSite()
    s["/robots.txt"] = Reply(200, b"User-agent: *\nAllow: /\n", {"Content-Type": "text/plain"})
    slow_arrived = threading.Semaphore(0)

    def slow() -> Reply:
        slow_arrived.release()
        reply = html("<html><body><p>slow</p></body></html>")
        reply.delay = SLOW
        return reply

    def fast() -> Reply:
        deadline = time.monotonic() + SLOW / 2
        for _ in range(fast_waits_for_slow):
            if not slow_arrived.acquire(timeout=max(0.0, deadline - time.monotonic())):
                break
        return html("<html><body><p>fast</p></body></html>")

    s["/fast"], s["/slow"] = fast, slow
    return s


def run_pass(store: FailingArchive, urls: list[str], concurrency: int = 16) -> None:
    job = store.ensure_job(job_key("crawl", {"seeds": urls}), {"seeds": urls})
    engine = FrontierCrawl(store=store, owner="w1", settings=FetchSettings(per_host_delay=0.0,
                           allow_private_addresses=True), parse=lambda *a: None, concurrency=concurrency)
    run_async(engine.run_job(job, one_shot=True, seeds=urls))


def captures_and_states(archive: Archive) -> tuple[list[tuple[str, str | None]], dict[str, str]]:
    with archive.sessions() as s:
        caps = [(u, e) for u, e in s.execute(select(Capture.requested_url, Capture.error_kind))]
        states = {u: st for u, st in s.execute(select(FrontierEntry.url, FrontierEntry.state))}
    return caps, states


def test_fetches_under_way_when_a_store_fails_are_abandoned_not_stored_as_failures(sqlite_url):
    # many connections: the client's close went through them one by one, and the fetches on
    # the first ones resumed (with a read error) before the pass cancelled them
    hosts = serve_hosts(site(fast_waits_for_slow=11), 12, named=False)
    fast = hosts.origin(0) + "/fast"
    slow = [hosts.origin(k) + "/slow" for k in range(1, 12)]
    archive = Archive(open_engine(sqlite_url, must_exist=False))
    try:
        with pytest.raises(DatabaseLost):
            run_pass(FailingArchive(archive, fail_store_of=fast), [fast, *slow])
        # a request is logged once its (delayed) answer is written
        assert _wait_for(lambda: len(hosts.site.hits("/slow")) == len(slow), SLOW + 5), \
            "the slow pages were not in flight: nothing tested"
        caps, states = captures_and_states(archive)
        # Before: the HTTP client closed under the slow fetches, each was stored as a failed
        # capture and fetched again on the next pass (two captures of one URL in one run).
        assert caps == []
        assert {states[u] for u in [fast, *slow]} == {"queued"}  # given back, due again

        run_pass(FailingArchive(archive), [fast, *slow])  # the next pass stores each once
        caps, states = captures_and_states(archive)
        assert sorted(caps) == sorted((u, None) for u in [fast, *slow])
    finally:
        hosts.close()
        archive.engine.dispose()


def test_a_failed_lease_renewal_ends_the_pass(sqlite_url):
    """Before, the renewal task died silently and the pass went on with leases nobody renewed:
    they ran out under it and the URLs could be taken (and stored) again."""
    hosts = serve_hosts(site(), 2, named=False)
    slow = [hosts.origin(k) + "/slow" for k in (0, 1)]
    archive = Archive(open_engine(sqlite_url, must_exist=False), lease_seconds=1.5)  # renewed every 0.5 s
    try:
        with pytest.raises(DatabaseLost):
            run_pass(FailingArchive(archive, fail_renew=True), slow)
        caps, states = captures_and_states(archive)
        assert caps == [] and {states[u] for u in slow} == {"queued"}
    finally:
        hosts.close()
        archive.engine.dispose()
