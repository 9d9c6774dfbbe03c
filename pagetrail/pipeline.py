"""Wiring: settings -> archive, parser and crawler, for the faces (CLI, demo, API)."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from typing import TYPE_CHECKING

from crawler.asyncrun import run_async

from parsers.records import ParsedPage
from pagetrail.settings import Settings
from storage.archive import Archive
from storage.db import open_engine

if TYPE_CHECKING:
    from crawler.parsepool import ParsePool
    from parsers.profiles import Profile


def open_archive(settings: Settings, *, read_only: bool = False, must_exist: bool | None = None) -> Archive:
    """The archive named by settings.db. Read-only use refuses a missing database and, on
    SQLite, reads without taking the write lock (readers never block the crawler)."""
    must = read_only if must_exist is None else must_exist
    return Archive(open_engine(settings.db, must_exist=must, read_only=read_only),
                   lease_seconds=settings.lease_seconds)


def worker_id() -> str:
    """Who holds a lease: host, process and a random part (a restarted process is someone else)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def profiles_for(settings: Settings) -> dict[str, "Profile"]:
    from parsers.profiles import load_profiles

    extra = [Path(settings.profiles_dir)] if settings.profiles_dir else []
    return load_profiles(extra_dirs=extra)


_PROFILES: dict[str, dict[str, "Profile"]] = {}  # profiles folder -> profiles, per process


def _profiles_in(folder: str) -> dict[str, "Profile"]:
    if folder not in _PROFILES:
        from parsers.profiles import load_profiles

        _PROFILES[folder] = load_profiles(extra_dirs=[Path(folder)])
    return _PROFILES[folder]


class PageParser:
    """The crawler's parse callable: profiles loaded once per process, chosen per page.
    Picklable (only the profiles folder travels), so pages can be parsed in other processes."""

    def __init__(self, profiles_dir: str | None) -> None:
        self.profiles_dir = profiles_dir
        if profiles_dir:
            _profiles_in(profiles_dir)  # a broken profile is reported now, not at the first page

    def __call__(self, content: bytes, url: str, headers: list[tuple[str, str]], fetched_at: datetime) -> ParsedPage:
        import parsers

        header_map = {k.lower(): v for k, v in headers}
        profile: "Profile | str | None" = None
        if self.profiles_dir:  # user profiles take part in the choice
            profile = _choose(_profiles_in(self.profiles_dir), url, content, header_map)
        return parsers.parse(content, url, headers=header_map, fetched_at=fetched_at, profile=profile)


def make_parser(
    settings: Settings,
) -> Callable[[bytes, str, list[tuple[str, str]], datetime], ParsedPage | None]:
    """The crawler's parse callable: profiles loaded once, chosen per page."""
    return PageParser(settings.profiles_dir)


def parse_pool(settings: Settings, *, worker_on: str | None = None) -> "ParsePool":
    """Where a crawl parses: threads for its first pages, then `parse_processes` processes.

    `worker_on`: the database dialect of a worker service (`worker`, `run`). On PostgreSQL
    the unit of scale is the worker process (one per core, on as many machines as needed), so
    "auto" (-1) parses in the worker's own threads there: parse processes beside several
    workers only add processes to cores that are already busy, and a PostgreSQL worker's own
    fetching and storing is its bottleneck anyway (bench/crawl.py, 1,200 pages, 2 cores: 1/2/4
    workers 54/55/39 pages/s with a parse process each, 57/93/82 without). On SQLite, where
    one process is all there is, auto keeps one parse process per core but one."""
    from crawler.parsepool import ParsePool

    processes = settings.parse_processes
    if processes < 0 and worker_on == "postgresql":
        processes = 0
    return ParsePool(processes)


def archive_threads(archive: Archive) -> int:
    """Threads a crawl calls the archive from: one on SQLite (a single writer: calls from more
    threads only queue on its lock), several on PostgreSQL (host claims never wait behind a store)."""
    return 1 if archive.engine.dialect.name == "sqlite" else 4


def _choose(profiles: dict[str, "Profile"], url: str, content: bytes, headers: dict[str, str]) -> "Profile | str":
    from parsers.htmlload import decode_body, parse_html
    from parsers.profiles import choose_profile

    text, _charset, _warnings = decode_body(content, headers)
    chosen = choose_profile(url, parse_html(text), profiles)
    return chosen if chosen is not None else "generic"


def crawl(
    settings: Settings,
    urls: list[str],
    *,
    kind: str = "crawl",
    archive: Archive | None = None,
    on_event: Callable[[dict[str, Any]], None] | None = None,
    follow: bool = False,
    scope: str = "same-host",
    allow: list[str] | None = None,
    deny: list[str] | None = None,
    max_depth: int | None = None,
    max_pages: int | None = None,
):  # type: ignore[no-untyped-def]
    """Fetch, parse and archive these URLs now (DESIGN.md, One-shot crawls).

    The crawl is a job in the durable frontier keyed by its seeds and scope: running the same
    crawl again fetches the seeds again and continues whatever it left unfinished; URLs it
    already stored are not fetched again. With `follow`, links within the scope are queued.
    """
    from crawler.engine import FrontierCrawl
    from crawler.scope import Scope
    from parsers.urls import normalize_url
    from storage.frontier import job_key

    archive = archive or open_archive(settings)
    seeds = list(dict.fromkeys(normalize_url(u) for u in urls))
    config = {"seeds": sorted(seeds), "follow": follow, "scope": scope, "allow": allow or [],
              "deny": deny or [], "max_depth": max_depth, "max_pages": max_pages}
    job_id = archive.ensure_job(job_key("crawl", config), config)
    engine = FrontierCrawl(
        store=archive,
        owner=worker_id(),
        scope=Scope(scope, seeds, allow or [], deny or [], max_depth) if follow else None,
        max_pages=max_pages,
        # on a shared archive, workers elsewhere may crawl the same hosts: claim them there
        shared_politeness=archive.engine.dialect.name == "postgresql",
        settings=settings.fetch_settings(),
        parse=make_parser(settings),
        parse_executor=(pool := parse_pool(settings)),
        concurrency=settings.concurrency,
        per_host=settings.per_host,
        on_event=on_event,
        archive_threads=archive_threads(archive),
        store_batch=settings.store_batch,
    )
    try:
        return run_async(engine.run_job(job_id, one_shot=True, run_kind=kind, seeds=seeds))
    finally:
        pool.shutdown()
