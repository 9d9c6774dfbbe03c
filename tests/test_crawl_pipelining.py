"""The frontier crawl's pipeline (crawler/engine.py): a URL whose fetch is over makes room for
the next at once, while it is parsed and stored; robots.txt answers are shared without holding
up the URL that asked; with one archive thread every archive call runs in that one thread."""

from __future__ import annotations

import threading
import time
from typing import Any

from crawler.asyncrun import run_async
from crawler.engine import FrontierCrawl
from crawler.settings import FetchSettings
from parsers.urls import host_of
from storage.archive import Archive
from storage.db import open_engine
from storage.frontier import job_key
from tests.httpserver import LocalServer, LocalSite, Reply, html


class SlowArchive:
    """The archive, with every store taking `store_seconds` longer and the threads it is
    called from (and the calls' names) recorded."""

    def __init__(self, archive: Archive, store_seconds: float = 0.0, save_robots_seconds: float = 0.0) -> None:
        self._archive = archive
        self.store_seconds, self.save_robots_seconds = store_seconds, save_robots_seconds
        self.lease_seconds = archive.lease_seconds
        self.stored_at: list[float] = []
        self.robots_saved_at: list[float] = []
        self.threads: set[int] = set()

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._archive, name)
        if not callable(attr):
            return attr

        def call(*a: Any, **kw: Any) -> Any:
            self.threads.add(threading.get_ident())
            return attr(*a, **kw)

        return call

    def store_capture(self, *a: Any, **kw: Any) -> Any:
        self.threads.add(threading.get_ident())
        time.sleep(self.store_seconds)
        out = self._archive.store_capture(*a, **kw)
        self.stored_at.append(time.monotonic())
        return out

    def save_robots(self, *a: Any, **kw: Any) -> None:
        self.threads.add(threading.get_ident())
        time.sleep(self.save_robots_seconds)
        self._archive.save_robots(*a, **kw)
        self.robots_saved_at.append(time.monotonic())


def crawl(store: SlowArchive, urls: list[str], *, concurrency: int, archive_threads: int = 4) -> None:
    job = store.ensure_job(job_key("crawl", {"seeds": urls}), {"seeds": urls})
    engine = FrontierCrawl(store=store, owner="w1", settings=FetchSettings(per_host_delay=0.0,
                           allow_private_addresses=True), parse=lambda *a: None, concurrency=concurrency,
                           archive_threads=archive_threads)
    run_async(engine.run_job(job, one_shot=True, seeds=urls))


def serve(n: int) -> tuple[LocalServer, list[str]]:
    site = LocalSite()
    site["/robots.txt"] = Reply(200, b"User-agent: *\nAllow: /\n", {"Content-Type": "text/plain"})
    for i in range(n):
        site[f"/p{i}"] = html(f"<html><body><p>page {i}</p></body></html>")
    server = LocalServer(site)
    return server, [f"{server.base_url}/p{i}" for i in range(n)]


def test_the_next_urls_are_fetched_while_earlier_ones_are_still_being_stored(sqlite_url):
    # 1 fetch in flight, 2 URLs taken on at a time, each store 0.4 s: when the next lease
    # waited for a store, the 6th request came after 4 stores (1.6 s); now every request is
    # made while the first pages are still being stored.
    server, urls = serve(6)
    engine = open_engine(sqlite_url, must_exist=False)
    store = SlowArchive(Archive(engine), store_seconds=0.4)
    try:
        crawl(store, urls, concurrency=1)
        pages = [h for h in server.site.log if h.path.startswith("/p")]
        assert sorted(h.path for h in pages) == sorted(f"/p{i}" for i in range(6))  # each once
        assert len(store.stored_at) == 6
        last_request = max(h.start for h in pages)
        assert last_request < store.stored_at[1], "a fetch waited for the store of an earlier page"
    finally:
        server.close()
        engine.dispose()


def test_a_robots_answer_is_shared_without_holding_up_the_url_that_asked(sqlite_url):
    server, urls = serve(1)
    engine = open_engine(sqlite_url, must_exist=False)
    store = SlowArchive(Archive(engine), save_robots_seconds=1.0)
    try:
        crawl(store, urls, concurrency=4)
        page = next(h for h in server.site.log if h.path == "/p0")
        assert store.robots_saved_at, "the answer was not shared"
        assert page.start < store.robots_saved_at[0]
        assert Archive(engine).robots_cached(host_of(urls[0])) is not None
    finally:
        server.close()
        engine.dispose()


def test_with_one_archive_thread_every_archive_call_runs_in_it(sqlite_url):
    server, urls = serve(8)
    engine = open_engine(sqlite_url, must_exist=False)
    store = SlowArchive(Archive(engine))
    try:
        crawl(store, urls, concurrency=4, archive_threads=1)
        assert len(store.stored_at) == 8
        store.threads.discard(threading.get_ident())  # ensure_job, called here by the test
        assert len(store.threads) == 1
    finally:
        server.close()
        engine.dispose()


class CountingLeases(SlowArchive):
    def __init__(self, archive: Archive, store_seconds: float) -> None:
        super().__init__(archive, store_seconds=store_seconds)
        self.leases = 0

    def lease(self, *a: Any, **kw: Any) -> Any:
        self.leases += 1
        return self._archive.lease(*a, **kw)


def test_a_crawl_behind_on_storing_leases_in_batches(sqlite_url):
    # Storing is the bottleneck (25 ms a page; 8 hosts answer at once): the backlog of leased,
    # unstored pages (8 x 8) fills and each store frees one place. Before, every freed place
    # was leased at once: a lease transaction per page, between the stores. Now the crawl
    # waits for a batch's worth (concurrency / 2: 4).
    from tests.multihost import serve_hosts

    site = LocalSite()
    site["/robots.txt"] = Reply(200, b"User-agent: *\nAllow: /\n", {"Content-Type": "text/plain"})
    for i in range(20):
        site[f"/p{i}"] = html(f"<html><body><p>page {i}</p></body></html>")
    hosts = serve_hosts(site, 8, named=False)
    urls = hosts.interleaved(lambda k: [f"/p{i}" for i in range(20)])
    engine = open_engine(sqlite_url, must_exist=False)
    store = CountingLeases(Archive(engine), store_seconds=0.025)
    try:
        crawl(store, urls, concurrency=8)
        assert len(store.stored_at) == 160
        assert store.leases <= 160 // 4 + 10, store.leases  # before: 105
    finally:
        hosts.close()
        engine.dispose()
