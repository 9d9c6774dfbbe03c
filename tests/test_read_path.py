"""The read path's "as of T" steps, on SQLite and PostgreSQL: which capture each part comes
from when the latest capture at T was not versioned, and resolution through aliases.

as_of reads the latest parsed capture at or before T once, for its ads and (when it took part
in versioning) the comment order; these tests pin the case where the two differ.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from parsers.records import Ad, Body, Comment, Metadata, ParsedPage, ThreadInfo
from storage import queries
from storage.interface import CaptureIn

URL = "http://www.wisegeek.com/what-is-zinc.htm"
FINAL = "http://www.wisegeek.com/zinc-moved.htm"
T0 = datetime(2020, 1, 1, tzinfo=timezone.utc)


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def record(profile: str, order: tuple[int, ...], widget: str) -> ParsedPage:
    comments = {
        1: Comment(id="post_1", key="post_1", number=1, author="ann", text="One"),
        2: Comment(id="post_2", key="post_2", number=2, author="ben", text="Two"),
    }
    return ParsedPage(
        url=URL, profile=profile, parser_version="t",
        metadata=Metadata(title="Zinc"), body=Body(text="Zinc.", paragraphs=["Zinc."]),
        ads=[Ad(kind="widget", slot="fact", text=widget)],
        comments=[comments[n] for n in order],
        thread=ThreadInfo(present=True, parsed_cleanly=True, complete=True, first_number=2, last_number=1),
    )


def store(archive, hours: float, parsed: ParsedPage, final_url: str = URL) -> None:
    archive.store_capture(
        CaptureIn(requested_url=URL, fetched_at=at(hours), final_url=final_url, status=200,
                  redirects=[(URL, 301)] if final_url != URL else [],
                  payload=f"<html>{hours}</html>".encode()),
        parsed,
    )


def test_ads_from_the_latest_parsed_capture_comment_order_from_the_latest_versioned(archive):
    store(archive, 0, record("wisegeek", (2, 1), "Fact one"))
    # A degraded parse (a required field failed): not versioned, yet its ads are what the page
    # showed then; its comment order is not the versioned one.
    store(archive, 1, replace(record("wisegeek", (1, 2), "Fact two"), degraded=True))
    with archive.sessions() as s:
        early, late = queries.as_of(s, URL, at(0.5)), queries.as_of(s, URL, at(2))
    assert [a["text"] for a in early["ads"]] == ["Fact one"]
    assert [a["text"] for a in late["ads"]] == ["Fact two"]
    assert [c["key"] for c in early["comments"]] == ["post_2", "post_1"]
    assert [c["key"] for c in late["comments"]] == ["post_2", "post_1"]
    assert late["revision"]["revision"] == 1
    assert [c["text"] for c in late["comments"]] == ["Two", "One"]


def test_as_of_resolves_an_alias_and_says_what_exists_before_the_first_capture(archive):
    store(archive, 0, record("wisegeek", (2, 1), "Fact one"), final_url=FINAL)
    with archive.sessions() as s:
        view = queries.as_of(s, FINAL, at(1))  # the final URL after a redirect: an alias
        assert view["url"] == URL and view["revision"]["revision"] == 1
        assert queries.history(s, FINAL)["url"] == URL
        with pytest.raises(queries.NotFound, match="first revision is from 2020-01-01T00:00:00Z"):
            queries.as_of(s, URL, at(-1))
        with pytest.raises(queries.NotFound, match="is not in the archive"):
            queries.as_of(s, "http://www.wisegeek.com/never.htm", at(1))
