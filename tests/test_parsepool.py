"""Where a crawl parses (crawler/parsepool.py): threads for the first pages, then processes; a
pool process that dies costs no page; a real page parses the same in a pool process."""

from __future__ import annotations

import os
import signal
from datetime import datetime, timezone

from crawler.parsepool import ParsePool
from pagetrail.pipeline import PageParser


def whose(parent: int, die: bool = False) -> int:
    """The pid that ran this; with die, a pool process kills itself (never the crawler)."""
    if die and os.getpid() != parent:
        os.kill(os.getpid(), signal.SIGKILL)
    return os.getpid()


def test_threads_first_then_processes_and_a_dead_pool_process_costs_nothing():
    me = os.getpid()
    pool = ParsePool(1, warmup=2)
    try:
        assert [pool.submit(whose, me).result(timeout=60) for _ in range(2)] == [me, me]  # warm-up: threads
        in_pool = pool.submit(whose, me).result(timeout=60)
        assert in_pool != me
        # the pool process dies mid-parse: that page is parsed again here, the next in a new pool
        assert pool.submit(whose, me, True).result(timeout=60) == me
        again = pool.submit(whose, me).result(timeout=60)
        assert again not in (me, in_pool)
    finally:
        pool.shutdown()


def test_a_page_parses_the_same_in_a_pool_process():
    html = (b"<html><head><title>Liver</title></head><body><article><p>The liver, long enough to "
            b"count as a body, with a comma, and more words.</p></article></body></html>")
    args = (html, "http://www.example.test/liver", [("Content-Type", "text/html")],
            datetime(2019, 3, 3, tzinfo=timezone.utc))
    parse = PageParser(None)
    pool = ParsePool(1, warmup=0)
    try:
        assert pool.submit(parse, *args).result(timeout=60) == parse(*args)
    finally:
        pool.shutdown()


def test_prestart_sends_pages_to_processes_once_they_are_up_whatever_the_warmup():
    me = os.getpid()
    pool = ParsePool(1, warmup=1000)
    try:
        assert pool.submit(whose, me).result(timeout=60) == me  # not prestarted: threads first
        pool.prestart(PageParser(None))
        assert pool._ready.wait(60), "the prestarted pool process never answered"
        assert pool.submit(whose, me).result(timeout=60) != me  # long before 1000 pages
    finally:
        pool.shutdown()


def test_prestart_without_processes_keeps_threads():
    me = os.getpid()
    pool = ParsePool(0)
    try:
        pool.prestart()
        assert pool.submit(whose, me).result(timeout=60) == me
    finally:
        pool.shutdown()


def test_workers_on_postgresql_parse_in_their_own_process_unless_told_otherwise():
    """Several workers share a machine's cores: on PostgreSQL a worker's "auto" parse pool is
    its own threads (pages never leave the process, past the warm-up too); on SQLite, and when
    parse_processes is set, pages go to pool processes as in a one-process crawl."""
    from dataclasses import replace

    from crawler.parsepool import default_processes
    from pagetrail.pipeline import parse_pool
    from pagetrail.settings import Settings

    me = os.getpid()
    settings = Settings()
    pool = parse_pool(settings, worker_on="postgresql")
    try:
        assert pool.processes == 0
        assert {pool.submit(whose, me).result(timeout=60) for _ in range(40)} == {me}  # past the warm-up
    finally:
        pool.shutdown()
    told = parse_pool(replace(settings, parse_processes=1), worker_on="postgresql")
    told.shutdown()
    assert told.processes == 1
    alone = parse_pool(settings, worker_on="sqlite")
    alone.shutdown()
    assert alone.processes == default_processes()
