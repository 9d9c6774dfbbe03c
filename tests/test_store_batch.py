"""Archive.store_captures (many captures, one transaction) stores exactly what storing the same
captures one by one with Archive.store_capture stores: the same outcomes, history, comments,
as-of answers, search rows, ads, aliases and blobs (the same delta layout), on both databases.
It is the bulk path of imports and of bench/archive_scale.py."""

from __future__ import annotations

import uuid
from dataclasses import replace
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


def test_batch_that_needs_a_queued_payload_back(db_url, second_url):
    """A payload queued by the batch (not yet written) and no longer in the payload cache is
    the base of the page's next one: it is written first and restored, so the batch still
    stores the deltas one-by-one stores (not keyframes)."""
    old = blobs.POLICY
    blobs.set_policy(replace(old, cache_bytes=64))  # nothing stays in the payload cache
    one = Archive(open_engine(db_url))
    batch = Archive(open_engine(second_url))
    try:
        items = [it for it in scenario() if it[0].requested_url == LIVER]
        for c, p in items:
            one.store_capture(c, p)
        batch.store_captures(items)
        a, b = stored_blobs(one), stored_blobs(batch)
        assert b == a
        assert [row[1] for row in a].count("zstd-delta") == len(a) - 1  # one keyframe: the first
    finally:
        blobs.set_policy(old)
        one.engine.dispose()
        batch.engine.dispose()


def stored_blobs(archive: Archive) -> list[tuple]:
    blobs.clear_cache()
    with archive.sessions() as s:
        return sorted(
            (b.digest, b.codec, b.base_digest, b.depth, b.seq, b.stored_size,
             blobs.sha256_hex(blobs.get_blob(s, b.digest)))
            for b in s.scalars(select(Blob))
        )


def _recaptures(n: int, day: float) -> list[tuple[CaptureIn, ParsedPage]]:
    out = []
    for k in range(n):
        url = f"http://www.wisegeek.com/page-{k}.htm"
        payload, parsed = page(url, f"Page {k}", [f"Paragraph of page {k}."], [(1, "anon", f"First on {k}")],
                               widget=int(day))
        out.append((capture(url, day + k / 1000, payload), parsed))
    return out


def test_batch_statements_do_not_grow_with_the_batch(db_url):
    """Storing a batch costs a fixed number of statements, however many captures it holds
    (set-wise prefetch, ids taken up front, one executemany per table): the per-capture ORM
    round trips were most of the store's time. Recaptures of known pages, new pages, edits."""
    from sqlalchemy import event

    archive = Archive(open_engine(db_url))
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        statements.append(statement)

    try:
        archive.store_captures(_recaptures(40, 0))  # the pages exist
        counts = []
        runs = []
        for n, day in ((10, 1), (40, 2)):
            batch = _recaptures(n, day)
            edited = page(batch[0][0].requested_url, "Page 0", ["Edited."], [(1, "anon", "First on 0")], 9)
            batch[0] = (capture(batch[0][0].requested_url, day, edited[0]), edited[1])
            new_url = f"http://www.wisegeek.com/new-{n}.htm"
            batch += [(capture(new_url, day + 0.5, page(new_url, "New", ["New page."])[0]),
                       page(new_url, "New", ["New page."])[1])]
            statements.clear()
            event.listen(archive.engine, "before_cursor_execute", count)
            try:
                archive.store_captures(batch)
            finally:
                event.remove(archive.engine, "before_cursor_execute", count)
            counts.append(len(statements))
            runs.append(sorted(statements))
        # 4x the captures, the same statements (give or take a delta chain's link looked up
        # on the way: the one-by-one store ran about 3 statements per capture more)
        assert counts[1] - counts[0] <= 2, (counts, runs)
        with archive.sessions() as s:
            assert queries.totals(s)["captures"] == 40 + 11 + 41
            assert [r["revision"] for r in queries.history(s, "http://www.wisegeek.com/page-0.htm")["revisions"]] == [1, 2]
    finally:
        archive.engine.dispose()


def test_a_record_is_serialized_once(db_url, monkeypatch):
    """A bulk load hands the same record object for recaptures whose content did not change:
    its JSON is made once, and what is stored is the same."""
    calls = []
    original = ParsedPage.to_dict

    def counting(self):  # type: ignore[no-untyped-def]
        calls.append(self.url)
        return original(self)

    monkeypatch.setattr(ParsedPage, "to_dict", counting)
    archive = Archive(open_engine(db_url))
    try:
        payload, parsed = page(LIVER, "Liver", ["Calcium deposits form on the liver."])
        archive.store_captures([(capture(LIVER, 0, payload), parsed), (capture(LIVER, 1, payload + b" "), parsed)])
        archive.store_capture(capture(LIVER, 2, payload + b"  "), parsed)
        assert len(calls) == 1
        with archive.sessions() as s:
            from storage.models import Derivation

            records = s.scalars(select(Derivation.record)).all()
        assert len(records) == 3 and all(r == original(parsed) for r in records)
    finally:
        archive.engine.dispose()


def test_concurrent_batches_on_postgresql(second_url, db_url):
    """Two loaders storing disjoint pages at once (as parallel workers do) take ids from the
    sequences without colliding, and each page's history is whole."""
    if not db_url.startswith("postgresql"):
        pytest.skip("concurrent writers: PostgreSQL (SQLite has one writer at a time)")
    from concurrent.futures import ThreadPoolExecutor

    archive = Archive(open_engine(db_url))
    try:
        def load(part: int) -> None:
            for day in range(3):
                items = []
                for k in range(30):
                    url = f"http://www.wisegeek.com/p{part}-{k}.htm"
                    payload, parsed = page(url, f"P{part} {k}", [f"Text {k} v{day // 2}."], [(1, "a", f"c {k}")], day)
                    items.append((capture(url, day + k / 1000, payload), parsed))
                archive.store_captures(items)

        with ThreadPoolExecutor(2) as pool:
            list(pool.map(load, (1, 2)))
        with archive.sessions() as s:
            assert queries.totals(s) == {"pages": 60, "captures": 180, "revisions": 120, "comments": 60}
            h = queries.history(s, "http://www.wisegeek.com/p2-7.htm")
            assert [r["revision"] for r in h["revisions"]] == [1, 2]
    finally:
        archive.engine.dispose()


def test_a_crawl_batch_stores_what_one_by_one_stores_and_refuses_lost_leases(db_url, second_url):
    """Archive.store_capture_batch (the crawl's writer, captures that queued up behind a store):
    each capture with its frontier entry and discovered links, as store_capture does them one
    by one; a capture whose lease its owner lost is refused (LeaseLost) and nothing of it is
    written, while the rest of the batch is stored (so is a second capture handed in for one
    lease, as one by one: the first finished the entry)."""
    from storage.interface import FrontierDone, LeaseLost
    from storage.models import FrontierEntry

    items = scenario()[:6]
    urls = list(dict.fromkeys(c.requested_url for c, _p in items))
    outcomes = []
    for url, batched in ((db_url, True), (second_url, False)):
        archive = Archive(open_engine(url))
        try:
            job = archive.ensure_job("crawl:t", {})
            archive.enqueue(job, [(u, 0, 1.0) for u in urls])
            leased = {e.url: e for e in archive.lease("w1", len(urls), job_id=job)}
            lost = leased[SLEEP]
            archive.release("w1")  # the lease of SLEEP is lost: taken by another worker
            archive.lease("w2", len(urls), job_id=job)
            with archive.sessions.begin() as s:
                for e in s.scalars(select(FrontierEntry).where(FrontierEntry.url != SLEEP)):
                    e.state, e.lease_owner = "leased", "w1"  # the others are w1's again
            batch = []
            for c, p in items:
                entry = leased[c.requested_url]
                done = FrontierDone(entry.id, "w1", "http:200", None)
                batch.append((c, p, {"done": done, "discovered": [(c.requested_url + "?next", 1, -1.0)],
                                     "job_id": job}))
            if batched:
                results = archive.store_capture_batch(batch)
            else:
                results = []
                for c, p, kw in batch:
                    try:
                        results.append(archive.store_capture(c, p, **kw))
                    except LeaseLost as exc:
                        results.append(exc)
            # refused: the lost lease, and a second capture for one lease (its entry is finished)
            firsts = [c.requested_url != SLEEP and all(c.requested_url != d.requested_url for d, _p in items[:k])
                      for k, (c, _p) in enumerate(items)]
            assert [isinstance(r, LeaseLost) for r in results] == [not f for f in firsts]
            with archive.sessions() as s:
                entries = {e.url: (e.state, e.lease_owner) for e in s.scalars(select(FrontierEntry))}
                stored = sorted(s.scalars(select(Capture.requested_url)))
            assert SLEEP not in stored and entries[SLEEP] == ("leased", "w2")  # untouched
            outcomes.append(([getattr(r, "outcome", None) for r in results], stored, entries))
        finally:
            archive.engine.dispose()
    assert outcomes[0] == outcomes[1]
    _results, stored, entries = outcomes[0]
    assert stored and all(entries[u] == ("done", None) for u in stored)
    assert all(u + "?next" in entries for u in stored) and SLEEP + "?next" not in entries
