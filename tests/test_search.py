"""Full-text search over time, on SQLite FTS5 and PostgreSQL tsvector: same hits, both engines."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from pagetrail.cli import main
from parsers.records import Body, Comment, Metadata, ParsedPage, ThreadInfo
from storage import search
from storage.interface import CaptureIn

T0 = datetime(2019, 3, 1, tzinfo=timezone.utc)
LIVER = "http://www.wisegeek.com/liver.htm"
MALARIA = "http://other.example.org/malaria.htm"


def parsed(url, title, paragraphs, comments=()):
    return ParsedPage(
        url=url, profile="wisegeek", parser_version="t",
        metadata=Metadata(title=title), body=Body(text="\n\n".join(paragraphs), paragraphs=list(paragraphs)),
        comments=[Comment(id=None, key=str(n), number=n, author=a, text=t) for n, a, t in comments],
        thread=ThreadInfo(present=True, parsed_cleanly=True, complete=True),
    )


@pytest.fixture
def filled(archive):
    def store(url, days, page):
        archive.store_capture(CaptureIn(requested_url=url, fetched_at=T0 + timedelta(days=days), status=200,
                                        payload=b"x"), page)

    store(LIVER, 0, parsed(LIVER, "Liver calcification", ["Calcium deposits form on the liver."]))
    store(LIVER, 10, parsed(LIVER, "Liver calcification", ["Calcium deposits form on the liver.",
                                                           "Magnesium is sometimes suggested."],
                            comments=[(1, "ysmina", "Does magnesium help dissolve calcium?")]))
    store(MALARIA, 5, parsed(MALARIA, "DDT and malaria", ["DDT kills mosquitoes carrying malaria."]))
    return archive


def keys(hits):
    return sorted((h.url, h.kind, h.revision, h.comment_key) for h in hits)


def test_hits_across_revisions_and_comments(filled):
    with filled.sessions() as s:
        hits = search.search(s, "magnesium")
    assert keys(hits) == [(LIVER, "comment", None, "1"), (LIVER, "revision", 2, None)]
    rev = next(h for h in hits if h.kind == "revision")
    assert "**Magnesium**" in rev.snippet
    assert rev.valid_from == T0 + timedelta(days=10) and rev.valid_to is None


def test_stemming_and_filters(filled):
    with filled.sessions() as s:
        assert {h.url for h in search.search(s, "deposit")} == {LIVER}  # porter / english stemming
        old = search.search(s, "calcium", to=T0 + timedelta(days=5), where="body")
        assert keys(old) == [(LIVER, "revision", 1, None)]
        assert keys(search.search(s, "calcium", from_=T0 + timedelta(days=20), where="body")) == [
            (LIVER, "revision", 2, None)]
        assert keys(search.search(s, "magnesium", where="comments")) == [(LIVER, "comment", None, "1")]
        assert keys(search.search(s, "malaria", site="other.example.org")) == [(MALARIA, "revision", 1, None)]
        assert search.search(s, "malaria", site="www.wisegeek.com") == []
        with pytest.raises(search.BadQuery):
            search.search(s, "!!!")


def test_search_cli_json(filled, db_url, capsys):
    assert main(["search", "magnesium", "--db", db_url, "--json", "--in", "body"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [set(h) for h in out["hits"]] == [{"url", "page", "revision", "snippet", "valid_from", "valid_to"}]
    assert out["hits"][0]["revision"] == 2
