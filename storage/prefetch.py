"""Warm a storing transaction's cache (storage.txcache) for a whole batch of captures at once.

`Archive.store_captures` runs the unit of work once per capture; each one asks about its page
(the page row, its latest payload and that payload's delta chain, its latest versioned capture,
its newest revision, its comments and their newest texts) and whether its payload is stored
already. In a batch of captures of many different pages (a crawl round, an import), those
questions are asked here first, a few set-wise queries for all the batch's pages, so each
capture's unit of work finds the answers in the cache instead of a dozen round trips.

Nothing here decides anything: it only loads what the unit of work would have loaded itself,
in the same transaction, with the same locks (pages FOR UPDATE, in id order so two batch
loaders cannot deadlock each other).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from parsers.urls import InvalidURL, host_of, normalize_url
from storage import blobs, txcache
from storage.interface import CaptureIn
from storage.models import Blob, Capture, Comment, CommentVersion, Derivation, Page, Revision, Site, UrlAlias
from storage.refs import page_uid
from storage.sqlutil import insert_for, insert_ignore

# normalize_url is pure and a bulk load asks it about the same URLs again and again (each
# capture's page key, its canonical link): a third of the store's time before this cache.
# InvalidURL is raised each time (exceptions are not cached).
normalized_url = functools.lru_cache(maxsize=1 << 16)(normalize_url)

_CHUNK = 500  # values per IN (...): far below SQLite's and PostgreSQL's bind limits


def _chunks(values: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for i in range(0, len(values), _CHUNK):
        yield values[i:i + _CHUNK]


def _latest(model: Any, order: Sequence[Any], where: Any) -> Any:
    """Ids of each page's first row of `model` by `order` (a window: one query for all)."""
    rank = func.row_number().over(partition_by=model.page_id, order_by=list(order)).label("rank")
    ranked = select(model.id.label("id"), rank).where(where).subquery()
    return select(ranked.c.id).where(ranked.c.rank == 1)


def warm(s: Session, captures: Sequence[CaptureIn]) -> None:
    cache = txcache.of(s)
    assert cache is not None, "open the transaction's cache first (txcache.begin)"
    first: dict[str, datetime] = {}  # URL -> its first capture in the batch
    for c in captures:
        try:
            url = normalized_url(c.requested_url)
        except InvalidURL:
            continue  # the unit of work says so for that capture
        if url not in cache.pages and url not in first:
            first[url] = c.fetched_at
    urls = sorted(first)
    _create_pages(s, cache, first)
    pages: list[Page] = []
    for chunk in _chunks(urls):
        pages += s.scalars(select(Page).where(Page.url.in_(chunk)).order_by(Page.id).with_for_update())
    for page in pages:
        cache.pages[page.url] = page
        cache.aliases.add((page.id, page.url))
    ids = [p.id for p in pages]
    for chunk in _chunks(ids):
        _warm_pages(s, cache, list(chunk))
    _warm_blobs(s, cache, captures)


def _create_pages(s: Session, cache: txcache.StoreCache, first: dict[str, datetime]) -> None:
    """Create the batch's new pages in one statement (what the unit of work's page_for_url
    would do one by one: created at their first capture, on their site), in URL order so two
    loaders creating the same pages wait for each other instead of dead-locking."""
    known: set[str] = set()
    urls = sorted(first)
    for chunk in _chunks(urls):
        known.update(s.scalars(select(Page.url).where(Page.url.in_(chunk))))
    new = [u for u in urls if u not in known and first[u] is not None]
    if not new:
        return
    hosts = sorted({host_of(u) for u in new} - set(cache.sites))
    if hosts:
        insert_ignore(s, Site, [{"host": h, "created_at": min(first[u] for u in new if host_of(u) == h)}
                                for h in hosts], ["host"])
        cache.sites.update((h, i) for h, i in s.execute(select(Site.host, Site.id).where(Site.host.in_(hosts))))
    stmt = insert_for(s, Page).on_conflict_do_nothing(index_elements=["url"])
    s.connection().execute(stmt, [{"url": u, "uid": page_uid(u), "site_id": cache.sites[host_of(u)],
                                   "created_at": first[u]} for u in new])


def _warm_pages(s: Session, cache: txcache.StoreCache, ids: list[int]) -> None:
    # The latest payload of each page: the base its next payload is a delta of.
    latest = _latest(Capture, (Capture.fetched_at.desc(), Capture.id.desc()),
                     Capture.page_id.in_(ids) & Capture.blob_digest.is_not(None))
    for pid in ids:
        cache.latest_blob.setdefault(pid, None)
        cache.latest_versioned.setdefault(pid, None)
        cache.current_revision.setdefault(pid, None)
        cache.comments.setdefault(pid, ({}, {}))
    for pid, at, cid, digest in s.execute(
        select(Capture.page_id, Capture.fetched_at, Capture.id, Capture.blob_digest).where(Capture.id.in_(latest))
    ):
        cache.latest_blob[pid] = (at, cid, digest)
    for pid, at in s.execute(
        select(Capture.page_id, func.max(Capture.fetched_at))
        .join(Derivation, Derivation.capture_id == Capture.id)
        .where(Capture.page_id.in_(ids), Derivation.current.is_(True), Derivation.versioned.is_(True))
        .group_by(Capture.page_id)
    ):
        cache.latest_versioned[pid] = at
    newest = _latest(Revision, (Revision.ordinal.desc(),), Revision.page_id.in_(ids))
    for row in s.execute(select(Revision.__table__).where(Revision.id.in_(newest))):
        cache.current_revision[row.page_id] = txcache.RevisionRow(**row._mapping)
    for pid in ids:
        cache.revision_hashes.setdefault(pid, {})
    for pid, h, ordinal in s.execute(
        select(Revision.page_id, Revision.content_hash, func.max(Revision.ordinal))
        .where(Revision.page_id.in_(ids))
        .group_by(Revision.page_id, Revision.content_hash)
    ):
        cache.revision_hashes[pid][h] = ordinal
    for row in s.execute(select(Comment.__table__).where(Comment.page_id.in_(ids))):
        cache.comments[row.page_id][0][row.key] = txcache.CommentRow(**row._mapping)
    # the aliases the pages have (their canonical links): known, not asked again per capture
    cache.aliases.update((pid, url) for pid, url in s.execute(
        select(UrlAlias.page_id, UrlAlias.url).where(UrlAlias.page_id.in_(ids))))
    for pid, cid, text in s.execute(
        select(Comment.page_id, CommentVersion.comment_id, CommentVersion.text)
        .join(Comment, Comment.id == CommentVersion.comment_id)
        .where(Comment.page_id.in_(ids))
        .order_by(CommentVersion.first_seen, CommentVersion.id)
    ):
        cache.comments[pid][1][cid] = text  # the last one wins: the newest version


def _warm_blobs(s: Session, cache: txcache.StoreCache, captures: Sequence[CaptureIn]) -> None:
    """Which payloads are stored already; the chain links of every page's latest payload; and
    the payloads the new ones will be deltas of, restored into the payload cache together."""
    digests = sorted({blobs.sha256_hex(c.payload) for c in captures if c.payload is not None})
    present: set[str] = set()
    frontier = set(digests) | {v[2] for v in cache.latest_blob.values() if v is not None}
    frontier -= set(cache.blob_links)
    while frontier:  # level by level down the chains (a chain is at most max_depth deep)
        found = []
        for chunk in _chunks(sorted(frontier)):
            found += s.execute(
                select(Blob.digest, Blob.base_digest, Blob.depth, Blob.seq).where(Blob.digest.in_(chunk))
            ).all()
        for row in found:
            cache.blob_links[row[0]] = blobs.Link(*row)
            present.add(row[0])
        frontier = {row[1] for row in found if row[1] is not None} - set(cache.blob_links)
    cache.absent_blobs.update(d for d in digests if d not in present)
    bases = []
    for v in cache.latest_blob.values():
        if v is not None:
            base, _seq = blobs.choose_base(s, v[2], None)
            if base is not None:
                bases.append(base.digest)
    for chunk in _chunks(bases):
        blobs.warm(s, list(chunk))
