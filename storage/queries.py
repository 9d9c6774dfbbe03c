"""The archive's read side: URL resolution, history, the one "as of T" resolver, diffs, totals.

Every face (CLI, HTTP API, Memento) answers through these functions, so they all agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, Select, bindparam, func, or_, select
from sqlalchemy.orm import Session

from parsers.urls import InvalidURL, normalize_url
from storage.models import (
    AdObservation,
    Blob,
    Capture,
    Comment,
    CommentVersion,
    Derivation,
    Page,
    Revision,
    UrlAlias,
)
from storage.refs import RevisionRef, revision_ref


class NotFound(LookupError):
    """Nothing archived answers the question; the message says what to try."""


def iso(dt: datetime | None) -> str | None:
    """UTC with Z, to the second's fraction only when it has one."""
    if dt is None:
        return None
    s = dt.isoformat(timespec="microseconds" if dt.microsecond else "seconds")
    return s.replace("+00:00", "Z")


@dataclass(frozen=True)
class PageRef:
    """What the read path needs of a page: no ORM object is loaded to answer a query."""

    id: int
    url: str
    gone_at: datetime | None
    uid: str  # stable across archives (storage.refs)


# ---- prebuilt statements ---------------------------------------------------------------------
# The read path runs the same few statements for every request. Building a select() costs more
# CPU than running it on an indexed table (as-of was ~2 ms of Python per call, mostly statement
# construction and ORM loading), so each is built once here, on the tables (pure Core: no ORM
# entity loading), with bind parameters, and runs from SQLAlchemy's compiled cache. Every
# statement below is an index lookup; storage/migrations/versions/0009_read_indexes.py says
# which index serves which.
_page, _alias, _rev, _deriv = Page.__table__, UrlAlias.__table__, Revision.__table__, Derivation.__table__
_cap, _com, _cv, _ad = Capture.__table__, Comment.__table__, CommentVersion.__table__, AdObservation.__table__

_PAGE_BY_KEY = select(_page.c.id, _page.c.url, _page.c.gone_at, _page.c.uid).where(_page.c.url == bindparam("key"))
_PAGE_BY_ALIAS = (
    select(_page.c.id, _page.c.url, _page.c.gone_at, _page.c.uid)
    .join(_alias, _alias.c.page_id == _page.c.id)
    .where(_alias.c.url == bindparam("key"))
    .order_by(_alias.c.first_seen.desc())
    .limit(1)
)
# The revision valid at T (the last one whose first capture is at or before T) with its record:
# a backward walk of ix_revision_page_first_seen_ordinal that stops at the first row.
_REVISION_AT = (
    select(_rev.c.ordinal, _rev.c.first_seen, _rev.c.valid_to, _deriv.c.record)
    .join(_deriv, _deriv.c.id == _rev.c.derivation_id)
    .where(_rev.c.page_id == bindparam("page"), _rev.c.first_seen <= bindparam("at"))
    .order_by(_rev.c.first_seen.desc(), _rev.c.ordinal.desc())
    .limit(1)
)
_FIRST_REVISION = select(func.min(_rev.c.first_seen)).where(_rev.c.page_id == bindparam("page"))
# The text a comment showed at T: its last version first seen at or before T.
_TEXT_AT = (
    select(_cv.c.text)
    .where(_cv.c.comment_id == _com.c.id, _cv.c.first_seen <= bindparam("at"))
    .order_by(_cv.c.first_seen.desc(), _cv.c.id.desc())
    .limit(1)
    .correlate(_com)
    .scalar_subquery()
)
_COMMENTS_AT = select(
    _com.c.site_comment_id, _com.c.key, _com.c.number, _com.c.author, _com.c.posted,
    _com.c.reply_to, _com.c.reply_to_key, _com.c.first_seen, _TEXT_AT,
).where(
    _com.c.page_id == bindparam("page"),
    _com.c.first_seen <= bindparam("at"),
    or_(_com.c.removed_at.is_(None), _com.c.removed_at > bindparam("at")),
)


def _latest_parsed(versioned_only: bool) -> Select[Any]:
    """The latest capture at or before T with a current derivation (only a versioned one if
    asked): its id, whether it was versioned, and the comments its record lists (page order)."""
    conds = [_cap.c.page_id == bindparam("page"), _cap.c.fetched_at <= bindparam("at"), _deriv.c.current.is_(True)]
    if versioned_only:
        conds.append(_deriv.c.versioned.is_(True))
    return (
        select(_cap.c.id, _deriv.c.versioned, _deriv.c.record["comments"])
        .join(_deriv, _deriv.c.capture_id == _cap.c.id)
        .where(*conds)
        .order_by(_cap.c.fetched_at.desc(), _cap.c.id.desc())
        .limit(1)
    )


_LATEST_PARSED = _latest_parsed(False)
_LATEST_VERSIONED = _latest_parsed(True)
_ADS_OF = (
    select(_ad.c.kind, _ad.c.slot, _ad.c.text, _ad.c.url)
    .where(_ad.c.capture_id == bindparam("capture"))
    .order_by(_ad.c.id)
)
_CAPTURE_COUNT = select(func.count()).select_from(_cap).where(_cap.c.page_id == bindparam("page"))
_REVISIONS = (
    select(_rev.c.ordinal, _rev.c.first_seen, _rev.c.last_seen, _rev.c.valid_to, _rev.c.content_hash,
           _rev.c.title, _rev.c.modified, _rev.c.same_as)
    .where(_rev.c.page_id == bindparam("page"))
    .order_by(_rev.c.ordinal)
)
_COMMENTS = (
    select(_com.c.site_comment_id, _com.c.key, _com.c.number, _com.c.author, _com.c.first_seen,
           _com.c.last_seen, _com.c.removed_at)
    .where(_com.c.page_id == bindparam("page"))
    .order_by(_com.c.first_seen, _com.c.id)
)


def _key(url: str) -> str:
    try:
        return normalize_url(url)
    except InvalidURL as exc:
        raise NotFound(f"{exc}; give the page's full http(s) URL") from None


def _not_archived(key: str) -> NotFound:
    return NotFound(f"{key} is not in the archive; `pagetrail crawl {key}` archives it")


def resolve_ref(s: Session, url: str) -> PageRef:
    """A URL to its page (id, key URL, gone_at): through page keys first, then aliases (final
    URLs, canonicals), the newest alias winning. The same rule as resolve_page, without
    loading the ORM object."""
    key = _key(url)
    conn = s.connection()
    row = conn.execute(_PAGE_BY_KEY, {"key": key}).first()
    if row is None:
        row = conn.execute(_PAGE_BY_ALIAS, {"key": key}).first()
    if row is None:
        raise _not_archived(key)
    return PageRef(row[0], row[1], row[2], row[3])


def resolve_page(s: Session, url: str) -> Page:
    """A URL to its page: through page keys first, then aliases (final URLs, canonicals)."""
    key = _key(url)
    page = s.scalar(select(Page).where(Page.url == key))
    if page is None:
        page = s.scalar(
            select(Page)
            .join(UrlAlias, UrlAlias.page_id == Page.id)
            .where(UrlAlias.url == key)
            .order_by(UrlAlias.first_seen.desc())
            .limit(1)
        )
    if page is None:
        raise _not_archived(key)
    return page


def _revision_json(r: Revision) -> dict[str, Any]:
    return {
        "revision": r.ordinal,
        "first_seen": iso(r.first_seen),
        "last_seen": iso(r.last_seen),
        "valid_to": iso(r.valid_to),
        "content_hash": r.content_hash,
        "title": r.title,
        "modified": r.modified,
        "same_as": r.same_as,
    }


def history(s: Session, url: str) -> dict[str, Any]:
    page = resolve_ref(s, url)
    conn = s.connection()
    params = {"page": page.id}
    captures = conn.execute(_CAPTURE_COUNT, params).scalar()
    revisions = [
        {
            "revision": ordinal,
            "ref": revision_ref(page.uid, ordinal),
            "first_seen": iso(first),
            "last_seen": iso(last),
            "valid_to": iso(valid_to),
            "content_hash": content_hash,
            "title": title,
            "modified": modified,
            "same_as": same_as,
        }
        for ordinal, first, last, valid_to, content_hash, title, modified, same_as in conn.execute(_REVISIONS, params)
    ]
    comments = [
        {
            "id": site_id,
            "key": key,
            "number": number,
            "author": author,
            "first_seen": iso(first),
            "last_seen": iso(last),
            "removed_at": iso(removed),
        }
        for site_id, key, number, author, first, last, removed in conn.execute(_COMMENTS, params)
    ]
    return {
        "url": page.url,
        "page": page.id,
        "page_uid": page.uid,
        "captures": int(captures or 0),
        "gone_at": iso(page.gone_at),
        "revisions": revisions,
        "comments": comments,
    }


def revision_at(s: Session, page_id: int, at: datetime) -> Revision | None:
    """The revision valid at `at`: the last one whose first capture is at or before it."""
    return s.scalar(
        select(Revision)
        .where(Revision.page_id == page_id, Revision.first_seen <= at)
        .order_by(Revision.first_seen.desc(), Revision.ordinal.desc())
        .limit(1)
    )


def revision_by_ordinal(s: Session, page_id: int, ordinal: int) -> Revision:
    rev = s.scalar(select(Revision).where(Revision.page_id == page_id, Revision.ordinal == ordinal))
    if rev is None:
        n = s.scalar(select(func.max(Revision.ordinal)).where(Revision.page_id == page_id)) or 0
        raise NotFound(f"no revision {ordinal}: this page has revisions 1 to {n}")
    return rev


def _comments_at(
    s: Session, page_id: int, at: datetime, latest: Row[Any] | None | bool = False
) -> list[dict[str, Any]]:
    """Comments visible at `at`, each with its text as shown then, in page order. `latest` is
    the _LATEST_PARSED row when the caller has it already (None: no parsed capture)."""
    conn = s.connection()
    params = {"page": page_id, "at": at}
    rows = conn.execute(_COMMENTS_AT, params).all()
    if not rows:
        return []
    # Page order: as the latest versioned capture at or before `at` listed them; comments it
    # did not show (outside its range) follow, newest number first.
    if latest is False or (latest is not None and not latest[1]):
        latest = conn.execute(_LATEST_VERSIONED, params).first()
    listed = (latest[2] if latest is not None else None) or []
    order = {c["key"]: i for i, c in enumerate(listed)}
    rows.sort(key=lambda c: (order.get(c[1], len(order)), -(c[2] or 0), c[7]))
    return [
        {
            "id": site_id,
            "key": key,
            "number": number,
            "author": author,
            "posted": posted,
            "text": text or "",
            "reply_to": reply_to,
            "reply_to_key": reply_to_key,
        }
        for site_id, key, number, author, posted, reply_to, reply_to_key, _first, text in rows
    ]


def comments_at(s: Session, page_id: int, at: datetime) -> list[dict[str, Any]]:
    """Comments visible at `at`, each with its text as shown then, in page order."""
    return _comments_at(s, page_id, at)


def _ads_of(s: Session, capture_id: int | None) -> list[dict[str, Any]]:
    if capture_id is None:
        return []
    rows = s.connection().execute(_ADS_OF, {"capture": capture_id})
    return [{"kind": kind, "slot": slot, "text": text, "url": url} for kind, slot, text, url in rows]


def ads_at(s: Session, page_id: int, at: datetime) -> list[dict[str, Any]]:
    """Ads of the latest parsed capture at or before `at`."""
    latest = s.connection().execute(_LATEST_PARSED, {"page": page_id, "at": at}).first()
    return _ads_of(s, latest[0] if latest is not None else None)


def revision_record(s: Session, rev: Revision) -> dict[str, Any]:
    record = s.scalar(select(Derivation.record).where(Derivation.id == rev.derivation_id))
    return record or {}


def as_of(s: Session, url: str, at: datetime) -> dict[str, Any]:
    """The one "as of T" resolver: the revision valid at T, comments visible at T, the ads of
    the latest capture at or before T. Before the first capture there is nothing.

    Four or five index lookups: the page, its revision at T with the record, the latest parsed
    capture at or before T (whose ads are shown and whose record orders the comments), its
    ads, the comments visible at T with their text then (when the page has any)."""
    page = resolve_ref(s, url)
    conn = s.connection()
    params = {"page": page.id, "at": at}
    rev = conn.execute(_REVISION_AT, params).first()
    if rev is None:
        first = conn.execute(_FIRST_REVISION, params).scalar()
        hint = f"its first revision is from {iso(first)}" if first else "it has no revision yet"
        raise NotFound(f"nothing archived for {page.url} as of {iso(at)}: {hint}")
    ordinal, valid_from, valid_to, record = rev
    record = record or {}
    latest = conn.execute(_LATEST_PARSED, params).first()
    return {
        "url": page.url,
        "page_uid": page.uid,
        "at": iso(at),
        "revision": {
            "revision": ordinal,
            "ref": revision_ref(page.uid, ordinal),
            "valid_from": iso(valid_from),
            "valid_to": iso(valid_to),
            "metadata": record.get("metadata", {}),
            "body": record.get("body", {}),
        },
        "comments": _comments_at(s, page.id, at, latest),
        "ads": _ads_of(s, latest[0] if latest is not None else None),
        "gone": bool(page.gone_at is not None and page.gone_at <= at),
    }


@dataclass
class DiffSide:
    revision: Revision
    record: dict[str, Any]
    at: datetime  # the moment the comment snapshot is taken
    comments: list[dict[str, Any]]
    ref: str = ""  # the revision's stable ref "<page_uid>:<ordinal>"


def _ordinal_of(s: Session, page: Page, ref: RevisionRef) -> int:
    """The ordinal a stable ref names, after checking it is a ref of this page."""
    if ref.uid != page.uid:
        other = s.scalar(select(Page.url).where(Page.uid == ref.uid))
        whose = f"the page {other}" if other else "no page in this archive"
        raise NotFound(f"revision {ref} belongs to {whose}, not to {page.url}; give a ref of this page "
                       f"({page.uid}:N), an ordinal or a date")
    return ref.ordinal


def diff_sides(
    s: Session, url: str, ref_from: int | RevisionRef | datetime | None,
    ref_to: int | RevisionRef | datetime | None,
) -> tuple[str, DiffSide, DiffSide]:
    """The two sides of a diff: revision ordinals, stable refs of this page or moments; default
    the last two revisions."""
    page = resolve_page(s, url)
    revs = s.scalars(
        select(Revision).where(Revision.page_id == page.id).order_by(Revision.ordinal)
    ).all()
    if not revs:
        raise NotFound(f"{page.url} has no revision yet")

    def side(ref: int | RevisionRef | datetime | None, default: Revision) -> DiffSide:
        if ref is None:
            return DiffSide(default, revision_record(s, default), default.first_seen, [])
        if isinstance(ref, RevisionRef):
            ref = _ordinal_of(s, page, ref)
        if isinstance(ref, int):
            rev = revision_by_ordinal(s, page.id, ref)
            return DiffSide(rev, revision_record(s, rev), rev.first_seen, [])
        rev = revision_at(s, page.id, ref)
        if rev is None:
            raise NotFound(f"nothing archived for {page.url} as of {iso(ref)}")
        return DiffSide(rev, revision_record(s, rev), ref, [])

    a = side(ref_from, revs[-2] if len(revs) > 1 else revs[-1])
    b = side(ref_to, revs[-1])
    a.ref, b.ref = revision_ref(page.uid, a.revision.ordinal), revision_ref(page.uid, b.revision.ordinal)
    a.comments = comments_at(s, page.id, a.at)
    b.comments = comments_at(s, page.id, b.at)
    return page.url, a, b


def totals(s: Session) -> dict[str, int]:
    def count(model: type) -> int:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)

    return {
        "pages": count(Page),
        "captures": count(Capture),
        "revisions": count(Revision),
        "comments": count(Comment),
    }


def storage_totals(s: Session) -> dict[str, int]:
    return {
        "captures": int(s.scalar(select(func.count()).select_from(Capture)) or 0),
        "bytes_received": int(s.scalar(select(func.coalesce(func.sum(Capture.payload_size), 0))) or 0),
        "bytes_stored": int(s.scalar(select(func.coalesce(func.sum(Blob.stored_size), 0))) or 0),
        # Blobs stored whole (the rest are deltas of another blob; see storage.blobs).
        "keyframes": int(s.scalar(select(func.count()).select_from(Blob).where(Blob.is_keyframe.is_(True))) or 0),
    }


def failing_profiles(s: Session) -> list[dict[str, Any]]:
    """Profiles whose required fields stopped matching: per profile, how many captures are
    currently degraded and the first one that failed (fixing the profile and running
    `pagetrail reparse` clears them)."""
    out = []
    names = s.scalars(
        select(Derivation.failed_profile)
        .where(Derivation.current.is_(True), Derivation.failed_profile.is_not(None))
        .distinct()
    ).all()
    for name in sorted(names):
        base = (
            select(Capture.id, Capture.requested_url, Capture.fetched_at)
            .join(Derivation, Derivation.capture_id == Capture.id)
            .where(Derivation.current.is_(True), Derivation.failed_profile == name)
        )
        first = s.execute(base.order_by(Capture.fetched_at, Capture.id).limit(1)).first()
        last = s.execute(base.order_by(Capture.fetched_at.desc(), Capture.id.desc()).limit(1)).first()
        count = s.scalar(select(func.count()).select_from(base.subquery()))
        out.append({
            "profile": name,
            "captures": int(count or 0),
            "first_failed": {"capture": first[0], "url": first[1], "fetched_at": iso(first[2])},
            "last_failed": {"capture": last[0], "url": last[1], "fetched_at": iso(last[2])},
        })
    return out


def operations(s: Session, now: datetime) -> dict[str, Any]:
    """What operators watch: frontier state, per-host state, recent runs and errors."""
    from storage import frontier
    from storage.models import CrawlRun, HostState

    hosts = [
        {"host": h.host, "next_allowed_at": iso(h.next_allowed_at), "backoff_until": iso(h.backoff_until),
         "failures": h.failures, "crawl_delay": h.crawl_delay,
         "robots_status": h.robots_status, "robots_expires_at": iso(h.robots_expires_at)}
        for h in s.scalars(select(HostState).order_by(HostState.host).limit(100))
    ]
    runs = [
        {"run": r.id, "kind": r.kind, "status": r.status, "started_at": iso(r.started_at),
         "finished_at": iso(r.finished_at), "stats": r.stats}
        for r in s.scalars(select(CrawlRun).order_by(CrawlRun.id.desc()).limit(10))
    ]
    errors = [
        {"capture": c.id, "url": c.requested_url, "fetched_at": iso(c.fetched_at), "status": c.status,
         "error_kind": c.error_kind, "error": c.error_message}
        for c in s.scalars(
            select(Capture)
            .where((Capture.error_kind.is_not(None)) | (Capture.status >= 500))
            .order_by(Capture.fetched_at.desc(), Capture.id.desc())
            .limit(10)
        )
    ]
    return {"frontier": frontier.counts(s, now), "hosts": hosts, "runs": runs, "recent_errors": errors}
