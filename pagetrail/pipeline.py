"""Wiring: settings -> archive, parser and crawler, for the faces (CLI, demo, API)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from typing import TYPE_CHECKING

from parsers.records import ParsedPage
from pagetrail.settings import Settings
from storage.archive import Archive
from storage.db import open_engine

if TYPE_CHECKING:
    from parsers.profiles import Profile


def open_archive(settings: Settings, *, read_only: bool = False) -> Archive:
    """The archive named by settings.db. Read-only commands refuse a missing database."""
    return Archive(open_engine(settings.db, must_exist=read_only))


def profiles_for(settings: Settings) -> dict[str, "Profile"]:
    from parsers.profiles import load_profiles

    extra = [Path(settings.profiles_dir)] if settings.profiles_dir else []
    return load_profiles(extra_dirs=extra)


def make_parser(
    settings: Settings,
) -> Callable[[bytes, str, list[tuple[str, str]], datetime], ParsedPage | None]:
    """The crawler's parse callable: profiles loaded once, chosen per page."""
    import parsers

    profiles = profiles_for(settings)

    def parse(content: bytes, url: str, headers: list[tuple[str, str]], fetched_at: datetime) -> ParsedPage:
        header_map = {k.lower(): v for k, v in headers}
        profile: "Profile | str | None" = None
        if settings.profiles_dir:  # user profiles take part in the choice
            profile = _choose(profiles, url, content, header_map)
        return parsers.parse(content, url, headers=header_map, fetched_at=fetched_at, profile=profile)

    return parse


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
):  # type: ignore[no-untyped-def]
    """Fetch, parse and archive these URLs now; returns the crawler's CrawlReport."""
    from crawler.engine import run_crawl

    archive = archive or open_archive(settings)
    return asyncio.run(
        run_crawl(
            urls,
            settings=settings.fetch_settings(),
            writer=archive,
            parse=make_parser(settings),
            concurrency=settings.concurrency,
            per_host=settings.per_host,
            run_kind=kind,
            on_event=on_event,
        )
    )
