"""Archive.store_captures (many captures, one transaction) stores exactly what storing the same
captures one by one with Archive.store_capture stores: the same outcomes, history, comments,
as-of answers, search rows, ads, aliases and blobs (the same delta layout), on both databases.
It is the bulk path of imports and of bench/archive_scale.py."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import create_engine, select, text

from parsers.records import Ad, Body, Comment, Metadata, ParsedPage, ThreadInfo
from storage import blobs, queries
from storage.archive import Archive
from storage.db import make_engine, normalize_db_url, open_engine, upgrade
from storage.interface import CaptureIn
from storage.models import AdObservation, Blob, Capture, SearchDoc, UrlAlias
from tests.conftest import PG_URL, pg_schema_url

T0 = datetime(2018, 5, 1, tzinfo=timezone.utc)
LIVER = "http://www.wisegeek.com/liver.htm"
SLEEP = "http://www.wisegeek.com/sleep.htm"
DDT = "http://other.example.org/ddt.htm"
CHROME = "".join(f"<div class='nav'>menu item {i} of the site chrome</div>" for i in range(60))


def page(url: str, title: str, paras: list[str], comments=(), widget: int = 0, complete=True) -> tuple[bytes, ParsedPage]:
    """A payload (its widget rotates) and the record a parser would make of it."""
    body = "".join(f"<p>{p}</p>" for p in paras)
    posts = "".join(f"<div class='post'>{n} {a}: {t}</div>" for n, a, t in comments)
    html = f"<html><title>{title}</title>{CHROME}{body}<div class='widget'>fact {widget}</div>{posts}</html>"
    parsed = ParsedPage(
        url=url, profile="wisegeek", parser_version="t",
        metadata=Metadata(title=title, canonical_url=url.replace("http://", "https://")),
        body=Body(text="\n\n".join(paras), paragraphs=list(paras)),
        ads=[Ad(kind="widget", slot="did-you-know", text=f"fact {widget}")],
        comments=[Comment(id=f"post_{n}", key=f"post_{n}", number=n, author=a, text=t) for n, a, t in comments],
        thread=ThreadInfo(present=True, parsed_cleanly=True, complete=complete),
    )
    return html.encode(), parsed


def capture(url: str, day: float, payload: bytes | None, status: int = 200, **kw) -> CaptureIn:
    return CaptureIn(requested_url=url, fetched_at=T0 + timedelta(days=day), status=status,
                     payload=payload, headers=[("Content-Type", "text/html")], **kw)


def scenario() -> list[tuple[CaptureIn, ParsedPage | None]]:
    """Captures of three pages, interleaved as a crawl stores them: recaptures with rotating
    widgets, an edit and a revert, comments posted, edited and removed, a 304, a 404 and the
    page back, a redirect, a page captured twice in a row, and one capture arriving late."""
    liver1 = ["Calcium deposits form on the liver.", "No treatment is needed."]
    liver2 = liver1 + ["Magnesium is sometimes suggested."]
    c1 = [(1, "ysmina", "Does magnesium help?")]
    c2 = [(2, "anon", "@ysmina-- it did for me."), *c1]
    c2_edit = [(2, "anon", "@ysmina-- it did for me, twice."), *c1]
    out: list[tuple[CaptureIn, ParsedPage | None]] = []

    def add(url, day, title, paras, comments=(), widget=0, **kw):
        payload, parsed = page(url, title, paras, comments, widget)
        out.append((capture(url, day, payload, **kw), parsed))

    add(LIVER, 0, "Liver", liver1, c1, 0)
    add(SLEEP, 0.5, "Sleep", ["Adults need seven hours of sleep."], (), 0)
    add(DDT, 1, "DDT", ["DDT kills mosquitoes carrying malaria."], (), 0,
        final_url="http://other.example.org/ddt-and-malaria.htm", redirects=[(DDT, 301)])
    add(LIVER, 2, "Liver", liver1, c1, 1)  # widget only: unchanged
    add(LIVER, 3, "Liver", liver2, c2, 2)  # edited, and a reply posted
    add(SLEEP, 4, "Sleep", ["Adults need seven hours of sleep."], (), 1)
    out.append((capture(SLEEP, 5, None, status=304), None))
    add(LIVER, 6, "Liver", liver2, c2_edit, 3)  # the reply's text edited
    add(LIVER, 6.5, "Liver", liver2, c2_edit, 4)  # twice in a row
    out.append((capture(DDT, 7, b"not found", status=404), None))
    add(DDT, 8, "DDT", ["DDT kills mosquitoes carrying malaria."], (), 1)  # back
    add(LIVER, 9, "Liver", liver1, c2[:1], 5)  # reverted; post 1 removed
    add(SLEEP, 1.5, "Sleep", ["Adults need eight hours of sleep."], (), 2)  # late: replays the page
    add(SLEEP, 10, "Sleep", ["Adults need seven hours of sleep."], (), 3)
    out.append((capture(LIVER, 11, None, error_kind="timeout", error_message="read timed out"), None))
    return out


@pytest.fixture
def second_url(db_url, tmp_path):
    """A second empty archive on the same backend as db_url."""
    if db_url.startswith("sqlite"):
        url = f"sqlite:///{tmp_path / 'batch.db'}"
        drop = None
    else:
        schema = "pt_" + uuid.uuid4().hex[:12]
        admin = create_engine(normalize_db_url(PG_URL), isolation_level="AUTOCOMMIT")
        with admin.connect() as c:
            c.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = pg_schema_url(schema)

        def drop() -> None:
            with admin.connect() as c:
                c.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    yield url
    if drop is not None:
        drop()


def snapshot(archive: Archive) -> dict:
    """Everything a user can observe of the archive, without row ids that need not match."""
    blobs.clear_cache()  # payloads restored from the database, not from memory
    with archive.sessions() as s:
        out: dict = {"totals": queries.totals(s), "storage": queries.storage_totals(s)}
        for url in (LIVER, SLEEP, DDT):
            h = queries.history(s, url)
            h.pop("page")
            out[url] = h
            out[url + " as of"] = [
                queries.as_of(s, url, T0 + timedelta(days=d)) for d in (2.5, 3.5, 6.7, 9.5, 12)
            ]
        out["captures"] = [
            (c.requested_url, c.fetched_at, c.status, c.not_modified, c.blob_digest, c.outcome, c.error_kind)
            for c in s.scalars(select(Capture).order_by(Capture.fetched_at, Capture.requested_url))
        ]
        out["search"] = sorted(
            (d.kind, d.title, d.text) for d in s.scalars(select(SearchDoc))
        )
        out["ads"] = sorted((a.kind, a.text) for a in s.scalars(select(AdObservation)))
        out["aliases"] = sorted((a.url, a.kind) for a in s.scalars(select(UrlAlias)))
        out["blobs"] = sorted(
            (b.digest, b.codec, b.base_digest, b.depth, b.seq, b.is_keyframe, b.stored_size,
             blobs.sha256_hex(blobs.get_blob(s, b.digest)))
            for b in s.scalars(select(Blob))
        )
    return out


def test_batch_stores_what_one_by_one_stores(db_url, second_url):
    items = scenario()
    one = Archive(open_engine(db_url))
    batch = Archive(open_engine(second_url))
    try:
        singles = [one.store_capture(c, p) for c, p in items]
        # two transactions, a page split across them, the late capture in the second one
        batched = batch.store_captures(items[:8]) + batch.store_captures(iter(items[8:]))
        assert [(r.outcome, r.revision, r.comments_added, r.comments_removed) for r in batched] == [
            (r.outcome, r.revision, r.comments_added, r.comments_removed) for r in singles]
        a, b = snapshot(one), snapshot(batch)
        for key in a:
            assert b[key] == a[key], key
        # the scenario did exercise what it claims
        assert [r["revision"] for r in a[LIVER]["revisions"]] == [1, 2, 3]
        assert a[LIVER]["revisions"][2]["same_as"] == 1
        assert [r["revision"] for r in a[SLEEP]["revisions"]] == [1, 2, 3]
        assert any(c["removed_at"] for c in a[LIVER]["comments"])
        assert a["storage"]["keyframes"] < len(a["blobs"])  # deltas were made
        assert ("http://other.example.org/ddt-and-malaria.htm", "final") in a["aliases"]
    finally:
        one.engine.dispose()
        batch.engine.dispose()


def test_batch_is_all_or_nothing(db_url):
    archive = Archive(open_engine(db_url))
    try:
        items = scenario()
        bad = capture(LIVER, 12, b"x" * 100)
        bad.fetched_at = None  # type: ignore[assignment]  # rejected by the database layer
        with pytest.raises(Exception):
            archive.store_captures([*items[:5], (bad, None)])
        with archive.sessions() as s:
            assert queries.totals(s) == {"pages": 0, "captures": 0, "revisions": 0, "comments": 0}
            assert s.scalar(select(Blob.digest).limit(1)) is None
        # and the same captures then go in whole
        assert len(archive.store_captures(items)) == len(items)
        with archive.sessions() as s:
            assert queries.totals(s)["captures"] == len(items)
    finally:
        archive.engine.dispose()
