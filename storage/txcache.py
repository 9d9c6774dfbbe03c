"""What one write transaction of the unit of work has learned, and the rows it will write.

`Archive.store_capture` and `Archive.store_captures` open one of these per transaction (in
`Session.info`); the unit of work's helpers read through it and keep it in step with what they
write. Everything here is either a row this transaction holds locked (the page, and so its
captures, revisions and comments: DESIGN.md, one writer per page at a time) or immutable (blob
chain links), so within the transaction an entry can only go stale through this transaction's
own writes, which update it. It is dropped with the session: nothing survives a commit.

Pending rows. The unit of work does not INSERT each row as it decides on it: it gives the row
its id at once (`next_id`: ids taken from the table's sequence on PostgreSQL, counted on from
max(id) under SQLite's write lock) and queues it here; `flush` writes every queued row, one
executemany per table in foreign-key order, and the changed revisions and comments with one
executemany UPDATE each. A store of many captures then costs a handful of statements per
batch instead of a dozen per capture (the per-row ORM flush was most of the store's CPU).
Anything that reads the tables these rows go to must `flush` first (the unit of work does,
before its rare reads: a 304's confirmed payload, a replayed history, redaction rules).

Code that writes without it (reparse, imports, integrity) either queries, as before, or opens
one for its own call with `scope`, which flushes and closes it at the end.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from storage.models import (
    AdObservation,
    Blob,
    Capture,
    Comment,
    CommentVersion,
    Derivation,
    Page,
    Revision,
    SearchDoc,
)

_KEY = "pagetrail.store_cache"
UNKNOWN: Any = object()  # "not looked up yet", as opposed to a looked-up None


@dataclass(eq=False)
class RevisionRow:
    """A revision as the unit of work sees it (a plain row: no ORM bookkeeping per change)."""

    id: int
    page_id: int
    ordinal: int
    content_hash: str
    first_capture_id: int
    last_capture_id: int
    derivation_id: int
    first_seen: datetime
    valid_to: datetime | None
    last_seen: datetime
    same_as: int | None
    title: str | None
    modified: str | None

    INSERT_COLUMNS = ("id", "page_id", "ordinal", "content_hash", "first_capture_id", "last_capture_id",
                      "derivation_id", "first_seen", "valid_to", "last_seen", "same_as", "title", "modified")
    UPDATE_COLUMNS = ("last_capture_id", "valid_to", "last_seen")


@dataclass(eq=False)
class CommentRow:
    id: int
    page_id: int
    key: str
    site_comment_id: str | None
    number: int | None
    author: str | None
    posted: str | None
    reply_to: str | None
    reply_to_key: str | None
    first_seen: datetime
    last_seen: datetime
    removed_at: datetime | None

    INSERT_COLUMNS = ("id", "page_id", "key", "site_comment_id", "number", "author", "posted", "reply_to",
                      "reply_to_key", "first_seen", "last_seen", "removed_at")
    UPDATE_COLUMNS = ("number", "author", "reply_to_key", "last_seen", "removed_at")


# Tables whose rows the unit of work queues, in an order that satisfies every foreign key
# between them (a blob before the delta built on it and the capture naming it, ...).
_INSERT_ORDER = (Blob, Capture, Derivation, Revision, Comment, CommentVersion, SearchDoc, AdObservation)
# Tables whose ids the unit of work needs before writing (other rows name them); search and
# ad rows take theirs from the database as they are inserted.
_ID_TABLES = (Capture, Derivation, Revision, Comment, CommentVersion)
# Two workers may store the same payload at once: both succeed (storage.blobs).
_BLOB_INSERT = {
    "postgresql": pg_insert(Blob).on_conflict_do_nothing(index_elements=["digest"]),
    "sqlite": sqlite_insert(Blob).on_conflict_do_nothing(index_elements=["digest"]),
}
_UPDATES = {
    model: update(model.__table__)
    .where(model.__table__.c.id == bindparam("_id"))
    .values({c: bindparam(c) for c in row.UPDATE_COLUMNS})
    for model, row in ((Revision, RevisionRow), (Comment, CommentRow))
}
# What the unit of work changes on a page (storage.archive); the ORM would UPDATE each page
# on its own (it checks every row count on SQLite), so the flush writes them in one go.
_PAGE_COLUMNS = ("profile", "first_seen", "last_seen", "gone_at")
_PAGE_UPDATE = (
    update(Page.__table__)
    .where(Page.__table__.c.id == bindparam("_id"))
    .values({c: bindparam(c) for c in _PAGE_COLUMNS})
)


@dataclass
class StoreCache:
    pages: dict[str, Page] = field(default_factory=dict)  # normalized URL -> its locked page
    sites: dict[str, int] = field(default_factory=dict)  # host -> site id
    # page id -> (fetched_at, capture id, digest) of its latest capture with a payload, or None
    latest_blob: dict[int, tuple[datetime, int, str] | None] = field(default_factory=dict)
    # page id -> fetched_at of its latest capture with a current versioned derivation, or None
    latest_versioned: dict[int, datetime | None] = field(default_factory=dict)
    current_revision: dict[int, RevisionRow | None] = field(default_factory=dict)  # highest ordinal
    # page id -> {content hash: highest ordinal of a revision with it} (a revert's same_as)
    revision_hashes: dict[int, dict[str, int]] = field(default_factory=dict)
    # page id -> ({comment key: row}, {comment id: its newest text})
    comments: dict[int, tuple[dict[str, CommentRow], dict[int, str]]] = field(default_factory=dict)
    aliases: set[tuple[int, str]] = field(default_factory=set)  # (page id, URL) known to resolve
    blob_links: dict[str, Any] = field(default_factory=dict)  # digest -> storage.blobs.Link
    absent_blobs: set[str] = field(default_factory=set)  # digests looked up and not stored (yet)
    any_redactions: bool | None = None  # standing redaction rules exist (storage.redaction)
    # site id -> the latest 2xx payload this transaction stored for one of its pages: the
    # sibling a new page's first payload is a delta of (storage.blobs.delta_hints)
    site_payload: dict[int, str] = field(default_factory=dict)
    # ---- rows to write (see the module docstring)
    pending: dict[Any, list[dict[str, Any]]] = field(default_factory=dict)  # model -> rows
    pending_blobs: set[str] = field(default_factory=set)  # digests queued, not yet written
    dirty: dict[int, RevisionRow | CommentRow] = field(default_factory=dict)  # id(row) -> row
    new_rows: set[int] = field(default_factory=set)  # id(row) of rows not inserted yet
    epoch: int = 0  # bumped by every flush: a row queued in an older epoch is in the database
    id_hint: int = 1  # ids to take from a PostgreSQL sequence at a time (about the batch size)
    _ids: dict[str, list[int]] = field(default_factory=dict)  # table -> ids taken, not yet used
    _max_ids: dict[str, int] = field(default_factory=dict)  # SQLite: table -> last id given

    def forget_history(self, page_id: int) -> None:
        """The page's revisions and comments were rebuilt: look them up again."""
        self.current_revision.pop(page_id, None)
        self.revision_hashes.pop(page_id, None)
        self.comments.pop(page_id, None)

    def new_page(self, page_id: int) -> None:
        """A page created by this transaction: no payloads, revisions or comments yet."""
        self.latest_blob[page_id] = None
        self.latest_versioned[page_id] = None
        self.current_revision[page_id] = None
        self.revision_hashes[page_id] = {}
        self.comments[page_id] = ({}, {})

    # ---- ids ------------------------------------------------------------------------------
    def next_id(self, s: Session, model: Any) -> int:
        """A fresh primary key for a row of `model`, before the row is written."""
        table = model.__tablename__
        if s.get_bind().dialect.name == "postgresql":
            ids = self._ids.get(table)
            if not ids:
                self._take_ids(s, model)
                ids = self._ids[table]
            return ids.pop()
        # SQLite: the transaction holds the database's write lock from its first statement
        # (BEGIN IMMEDIATE, storage.db), so nobody else can take the next ids meanwhile.
        if not self._max_ids:  # every table's max(id) in one query, once per transaction
            names = [m.__tablename__ for m in _ID_TABLES]
            row = s.execute(text("SELECT " + ", ".join(
                f"(SELECT coalesce(max(id), 0) FROM {t})" for t in names))).one()
            self._max_ids.update(zip(names, row))
        last = self._max_ids[table] + 1
        self._max_ids[table] = last
        return last

    def _take_ids(self, s: Session, model: Any) -> None:
        """Take ids from the sequences: `id_hint` for this table, and as many for the other
        queued tables that have none left (one round trip; unused ids are only gaps). One
        capture at a time (a crawl): the capture's id comes with its derivation's."""
        want = [m for m in _ID_TABLES if m is model or (not self._ids.get(m.__tablename__) and (
            self.id_hint > 1 or (model is Capture and m is Derivation)))]
        cols = ", ".join(f"nextval(pg_get_serial_sequence('{m.__tablename__}', 'id'))" for m in want)
        rows = s.execute(text(f"SELECT {cols} FROM generate_series(1, :n)"), {"n": max(1, self.id_hint)}).all()
        for k, m in enumerate(want):
            self._ids[m.__tablename__] = sorted((r[k] for r in rows), reverse=True)  # pop() gives the lowest

    # ---- queued rows ------------------------------------------------------------------------
    def add(self, model: Any, row: dict[str, Any]) -> None:
        self.pending.setdefault(model, []).append(row)

    def add_row(self, row: RevisionRow | CommentRow) -> None:
        """A new revision or comment: inserted at the next flush."""
        self.dirty[id(row)] = row
        self.new_rows.add(id(row))

    def touch(self, row: RevisionRow | CommentRow) -> None:
        """A revision or comment changed: written at the next flush."""
        self.dirty[id(row)] = row

    def flush(self, s: Session) -> None:
        """Write every queued row and change (foreign keys satisfied table by table)."""
        if not self.pending and not self.dirty:
            return
        conn = s.connection()
        pages = [o for o in s.dirty if isinstance(o, Page) and o.id is not None]
        if pages:
            conn.execute(_PAGE_UPDATE, [{"_id": p.id, **{c: getattr(p, c) for c in _PAGE_COLUMNS}} for p in pages])
            for p in pages:  # written: the ORM has nothing left to write for these columns
                for c in _PAGE_COLUMNS:
                    set_committed_value(p, c, getattr(p, c))
        s.flush()  # whatever else the ORM holds (nothing, in the unit of work)
        revisions, comments = [], []
        updates: dict[Any, list[dict[str, Any]]] = {Revision: [], Comment: []}
        for key, row in self.dirty.items():
            model = Revision if isinstance(row, RevisionRow) else Comment
            if key in self.new_rows:
                (revisions if model is Revision else comments).append(
                    {c: getattr(row, c) for c in row.INSERT_COLUMNS})
            else:
                d = {c: getattr(row, c) for c in row.UPDATE_COLUMNS}
                d["_id"] = row.id
                updates[model].append(d)
        if revisions:
            self.pending.setdefault(Revision, []).extend(revisions)
        if comments:
            self.pending.setdefault(Comment, []).extend(comments)
        if len(self.pending.get(Blob, ())) > 1:
            self.pending[Blob] = _blobs_in_lock_order(self.pending[Blob])
        for model in _INSERT_ORDER:
            rows = self.pending.get(model)
            if rows:
                stmt = _BLOB_INSERT[conn.dialect.name] if model is Blob else insert(model.__table__)
                conn.execute(stmt, rows)
        for model, rows in updates.items():
            if rows:
                conn.execute(_UPDATES[model], rows)
        self.pending.clear()
        self.pending_blobs.clear()
        self.dirty.clear()
        self.new_rows.clear()
        self.epoch += 1


def _blobs_in_lock_order(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Blob rows in digest order, each after the base it is a delta of when that is queued too
    (the foreign key): level by level, each level sorted. Two transactions storing the same
    payloads (the same page served by two hosts, two workers' batches) then take the digests'
    index locks in one order: inserted in their own orders, they dead-locked."""
    queued = {r["digest"] for r in rows}
    out: list[dict[str, Any]] = []
    placed: set[str] = set()
    left = rows
    while left:
        level = [r for r in left if r["base_digest"] is None or r["base_digest"] not in queued
                 or r["base_digest"] in placed]
        if not level:  # a cycle cannot be stored anyway: keep the given order, the FK says why
            return out + left
        level.sort(key=lambda r: r["digest"])
        out += level
        placed.update(r["digest"] for r in level)
        left = [r for r in left if r["digest"] not in placed]
    return out


def begin(s: Session, *, expected_rows: int = 1) -> StoreCache:
    cache = StoreCache(id_hint=max(1, expected_rows))
    s.info[_KEY] = cache
    return cache


def end(s: Session) -> None:
    s.info.pop(_KEY, None)


def of(s: Session) -> StoreCache | None:
    """The transaction's cache, or None when the caller did not open one (then: query)."""
    return s.info.get(_KEY)


def flush(s: Session) -> None:
    """Write what the transaction's cache holds queued (nothing when it has no cache)."""
    cache = of(s)
    if cache is not None:
        cache.flush(s)


@contextmanager
def scope(s: Session) -> Iterator[StoreCache]:
    """The transaction's cache; or, for a caller that opened none (reparse, an import), one
    for this call only, flushed and closed at its end so nothing outlives the call."""
    cache = of(s)
    if cache is not None:
        yield cache
        return
    cache = begin(s)
    try:
        yield cache
        cache.flush(s)
    finally:
        end(s)
