"""The archive's read side: URL resolution, history, the one "as of T" resolver, diffs, totals.

Every face (CLI, HTTP API, Memento) answers through these functions, so they all agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
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


class NotFound(LookupError):
    """Nothing archived answers the question; the message says what to try."""


def iso(dt: datetime | None) -> str | None:
    """UTC with Z, to the second's fraction only when it has one."""
    if dt is None:
        return None
    s = dt.isoformat(timespec="microseconds" if dt.microsecond else "seconds")
    return s.replace("+00:00", "Z")


def resolve_page(s: Session, url: str) -> Page:
    """A URL to its page: through page keys first, then aliases (final URLs, canonicals)."""
    try:
        key = normalize_url(url)
    except InvalidURL as exc:
        raise NotFound(f"{exc}; give the page's full http(s) URL") from None
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
        raise NotFound(
            f"{key} is not in the archive; `pagetrail crawl {key}` archives it"
        )
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
    page = resolve_page(s, url)
    captures = s.scalar(select(func.count()).select_from(Capture).where(Capture.page_id == page.id))
    revisions = s.scalars(
        select(Revision).where(Revision.page_id == page.id).order_by(Revision.ordinal)
    ).all()
    comments = s.scalars(
        select(Comment).where(Comment.page_id == page.id).order_by(Comment.first_seen, Comment.id)
    ).all()
    return {
        "url": page.url,
        "page": page.id,
        "captures": int(captures or 0),
        "gone_at": iso(page.gone_at),
        "revisions": [_revision_json(r) for r in revisions],
        "comments": [
            {
                "id": c.site_comment_id,
                "key": c.key,
                "number": c.number,
                "author": c.author,
                "first_seen": iso(c.first_seen),
                "last_seen": iso(c.last_seen),
                "removed_at": iso(c.removed_at),
            }
            for c in comments
        ],
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


def comments_at(s: Session, page_id: int, at: datetime) -> list[dict[str, Any]]:
    """Comments visible at `at`, each with its text as shown then, in page order."""
    rows = s.scalars(
        select(Comment).where(
            Comment.page_id == page_id,
            Comment.first_seen <= at,
            (Comment.removed_at.is_(None)) | (Comment.removed_at > at),
        )
    ).all()
    if not rows:
        return []
    texts: dict[int, str] = {}
    for cid, text in s.execute(
        select(CommentVersion.comment_id, CommentVersion.text)
        .where(
            CommentVersion.comment_id.in_([c.id for c in rows]),
            CommentVersion.first_seen <= at,
        )
        .order_by(CommentVersion.first_seen, CommentVersion.id)
    ):
        texts[cid] = text
    # Page order: as the latest versioned capture at or before `at` listed them; comments it
    # did not show (outside its range) follow, newest number first.
    record = s.scalar(
        select(Derivation.record)
        .join(Capture, Capture.id == Derivation.capture_id)
        .where(
            Capture.page_id == page_id,
            Capture.fetched_at <= at,
            Derivation.current.is_(True),
            Derivation.versioned.is_(True),
        )
        .order_by(Capture.fetched_at.desc(), Capture.id.desc())
        .limit(1)
    )
    order = {c["key"]: i for i, c in enumerate((record or {}).get("comments", []))}
    rows = sorted(
        rows,
        key=lambda c: (order.get(c.key, len(order)), -(c.number or 0), c.first_seen),
    )
    return [
        {
            "id": c.site_comment_id,
            "key": c.key,
            "number": c.number,
            "author": c.author,
            "posted": c.posted,
            "text": texts.get(c.id, ""),
            "reply_to": c.reply_to,
            "reply_to_key": c.reply_to_key,
        }
        for c in rows
    ]


def ads_at(s: Session, page_id: int, at: datetime) -> list[dict[str, Any]]:
    """Ads of the latest parsed capture at or before `at`."""
    cap_id = s.scalar(
        select(Capture.id)
        .join(Derivation, Derivation.capture_id == Capture.id)
        .where(Capture.page_id == page_id, Capture.fetched_at <= at, Derivation.current.is_(True))
        .order_by(Capture.fetched_at.desc(), Capture.id.desc())
        .limit(1)
    )
    if cap_id is None:
        return []
    ads = s.scalars(
        select(AdObservation).where(AdObservation.capture_id == cap_id).order_by(AdObservation.id)
    )
    return [{"kind": a.kind, "slot": a.slot, "text": a.text, "url": a.url} for a in ads]


def revision_record(s: Session, rev: Revision) -> dict[str, Any]:
    record = s.scalar(select(Derivation.record).where(Derivation.id == rev.derivation_id))
    return record or {}


def as_of(s: Session, url: str, at: datetime) -> dict[str, Any]:
    """The one "as of T" resolver: the revision valid at T, comments visible at T, the ads of
    the latest capture at or before T. Before the first capture there is nothing."""
    page = resolve_page(s, url)
    rev = revision_at(s, page.id, at)
    if rev is None:
        first = s.scalar(select(func.min(Revision.first_seen)).where(Revision.page_id == page.id))
        hint = f"its first revision is from {iso(first)}" if first else "it has no revision yet"
        raise NotFound(f"nothing archived for {page.url} as of {iso(at)}: {hint}")
    record = revision_record(s, rev)
    return {
        "url": page.url,
        "at": iso(at),
        "revision": {
            "revision": rev.ordinal,
            "valid_from": iso(rev.first_seen),
            "valid_to": iso(rev.valid_to),
            "metadata": record.get("metadata", {}),
            "body": record.get("body", {}),
        },
        "comments": comments_at(s, page.id, at),
        "ads": ads_at(s, page.id, at),
        "gone": bool(page.gone_at is not None and page.gone_at <= at),
    }


@dataclass
class DiffSide:
    revision: Revision
    record: dict[str, Any]
    at: datetime  # the moment the comment snapshot is taken
    comments: list[dict[str, Any]]


def diff_sides(
    s: Session, url: str, ref_from: int | datetime | None, ref_to: int | datetime | None
) -> tuple[str, DiffSide, DiffSide]:
    """The two sides of a diff: revision ordinals or moments; default the last two revisions."""
    page = resolve_page(s, url)
    revs = s.scalars(
        select(Revision).where(Revision.page_id == page.id).order_by(Revision.ordinal)
    ).all()
    if not revs:
        raise NotFound(f"{page.url} has no revision yet")

    def side(ref: int | datetime | None, default: Revision) -> DiffSide:
        if ref is None:
            return DiffSide(default, revision_record(s, default), default.first_seen, [])
        if isinstance(ref, int):
            rev = revision_by_ordinal(s, page.id, ref)
            return DiffSide(rev, revision_record(s, rev), rev.first_seen, [])
        rev = revision_at(s, page.id, ref)
        if rev is None:
            raise NotFound(f"nothing archived for {page.url} as of {iso(ref)}")
        return DiffSide(rev, revision_record(s, rev), ref, [])

    a = side(ref_from, revs[-2] if len(revs) > 1 else revs[-1])
    b = side(ref_to, revs[-1])
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
