"""Read-side queries the HTTP faces need beyond storage.queries: listings, TimeMaps, timelines.

storage.queries stays the one "as of T" resolver; this module only lists what exists (sites,
pages, captures, mementos, comment events, runs) so the web layer holds no SQL. Everything
here is read-only.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import exists, func, or_, select
from sqlalchemy.orm import Session

from storage.models import (
    Capture,
    Comment,
    CommentVersion,
    CrawlRun,
    Derivation,
    Page,
    Revision,
    Schedule,
    Site,
)
from storage.queries import iso

PAGE_SORTS = ("url", "last_seen", "revisions", "comments")


# ---- sites and pages ------------------------------------------------------------------------

def list_sites(s: Session) -> list[dict[str, Any]]:
    """Every site with its page and capture counts and when it was last fetched."""
    pages = (
        select(Page.site_id, func.count(Page.id).label("n"), func.max(Page.last_seen).label("last"))
        .group_by(Page.site_id)
        .subquery()
    )
    caps = (
        select(Page.site_id, func.count(Capture.id).label("n"))
        .join(Capture, Capture.page_id == Page.id)
        .group_by(Page.site_id)
        .subquery()
    )
    rows = s.execute(
        select(Site.host, pages.c.n, caps.c.n, pages.c.last)
        .outerjoin(pages, pages.c.site_id == Site.id)
        .outerjoin(caps, caps.c.site_id == Site.id)
        .order_by(Site.host)
    ).all()
    return [
        {"host": host, "pages": int(np or 0), "captures": int(nc or 0), "last_seen": iso(last)}
        for host, np, nc, last in rows
    ]


def list_pages(
    s: Session,
    *,
    site: str | None = None,
    q: str | None = None,
    has_comments: bool | None = None,
    changed_since: datetime | None = None,
    gone: bool | None = None,
    sort: str = "url",
    limit: int = 50,
    offset: int = 0,
) -> tuple[int, list[dict[str, Any]]]:
    """(total matching, one page of rows). `q` matches the URL or any revision title."""
    if sort not in PAGE_SORTS:
        raise ValueError(f"sort must be one of {', '.join(PAGE_SORTS)}")
    n_caps = (
        select(func.count(Capture.id)).where(Capture.page_id == Page.id).correlate(Page).scalar_subquery()
    )
    n_revs = (
        select(func.count(Revision.id)).where(Revision.page_id == Page.id).correlate(Page).scalar_subquery()
    )
    n_comments = (
        select(func.count(Comment.id)).where(Comment.page_id == Page.id).correlate(Page).scalar_subquery()
    )
    title = (
        select(Revision.title)
        .where(Revision.page_id == Page.id)
        .order_by(Revision.ordinal.desc())
        .limit(1)
        .correlate(Page)
        .scalar_subquery()
    )
    conds = []
    if site:
        conds.append(Site.host == site.lower())
    if q:
        # The user's own % and _ are literal characters, not wildcards.
        escaped = q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        pattern = f"%{escaped}%"
        conds.append(
            or_(
                func.lower(Page.url).like(pattern, escape="\\"),
                exists().where(Revision.page_id == Page.id, func.lower(Revision.title).like(pattern, escape="\\")),
            )
        )
    if has_comments is not None:
        has = exists().where(Comment.page_id == Page.id)
        conds.append(has if has_comments else ~has)
    if changed_since is not None:
        conds.append(exists().where(Revision.page_id == Page.id, Revision.first_seen >= changed_since))
    if gone is not None:
        conds.append(Page.gone_at.is_not(None) if gone else Page.gone_at.is_(None))
    base = select(Page.id).join(Site, Site.id == Page.site_id).where(*conds)
    total = int(s.scalar(select(func.count()).select_from(base.subquery())) or 0)
    order = {
        "url": [Page.url],
        "last_seen": [Page.last_seen.desc(), Page.url],
        "revisions": [n_revs.desc(), Page.url],
        "comments": [n_comments.desc(), Page.url],
    }[sort]
    rows = s.execute(
        select(
            Page.id, Page.url, Site.host, Page.first_seen, Page.last_seen, Page.gone_at,
            n_caps, n_revs, n_comments, title, Page.uid,
        )
        .join(Site, Site.id == Page.site_id)
        .where(*conds)
        .order_by(*order)
        .limit(limit)
        .offset(offset)
    ).all()
    return total, [
        {
            "page": pid,
            "page_uid": uid,
            "url": url,
            "site": host,
            "title": t,
            "first_seen": iso(first),
            "last_seen": iso(last),
            "gone_at": iso(gone_at),
            "captures": int(nc or 0),
            "revisions": int(nr or 0),
            "comments": int(ncm or 0),
        }
        for pid, url, host, first, last, gone_at, nc, nr, ncm, t, uid in rows
    ]


# ---- captures and mementos ------------------------------------------------------------------

@dataclass(frozen=True)
class MementoRow:
    """One archived state of a URL that a Memento face can serve."""

    capture_id: int
    at: datetime
    status: int | None


def raw_mementos(s: Session, page_id: int) -> list[MementoRow]:
    """Captures whose bytes are stored (a 304 points at the blob it confirms), oldest first."""
    rows = s.execute(
        select(Capture.id, Capture.fetched_at, Capture.status)
        .where(Capture.page_id == page_id, Capture.blob_digest.is_not(None))
        .order_by(Capture.fetched_at, Capture.id)
    ).all()
    return [MementoRow(cid, at, st) for cid, at, st in rows]


def record_mementos(s: Session, page_id: int) -> list[MementoRow]:
    """Captures whose parse took part in versioning: the moments the as-of record can change."""
    rows = s.execute(
        select(Capture.id, Capture.fetched_at, Capture.status)
        .join(Derivation, Derivation.capture_id == Capture.id)
        .where(
            Capture.page_id == page_id,
            Derivation.current.is_(True),
            Derivation.versioned.is_(True),
        )
        .order_by(Capture.fetched_at, Capture.id)
    ).all()
    return [MementoRow(cid, at, st) for cid, at, st in rows]


def capture_row(s: Session, capture_id: int) -> Capture | None:
    return s.get(Capture, capture_id)


def payload_headers(s: Session, cap: Capture) -> list[list[str]]:
    """The response headers that describe a capture's stored bytes. A 304's own headers often
    lack Content-Type/Encoding, so it borrows those of the latest earlier 2xx with the same blob."""
    if not cap.not_modified:
        return list(cap.headers or [])
    source = s.scalar(
        select(Capture.headers)
        .where(
            Capture.page_id == cap.page_id,
            Capture.blob_digest == cap.blob_digest,
            Capture.not_modified.is_(False),
            Capture.fetched_at <= cap.fetched_at,
        )
        .order_by(Capture.fetched_at.desc(), Capture.id.desc())
        .limit(1)
    )
    return list(source or cap.headers or [])


def captures(s: Session, page_id: int, *, limit: int = 1000) -> list[dict[str, Any]]:
    """Every fetch of a page (failed ones too), oldest first, with the revision it belongs to."""
    revs = s.execute(
        select(Revision.ordinal, Revision.first_seen)
        .where(Revision.page_id == page_id)
        .order_by(Revision.first_seen, Revision.ordinal)
    ).all()
    rows = s.execute(
        select(
            Capture.id, Capture.fetched_at, Capture.status, Capture.outcome, Capture.error_kind,
            Capture.not_modified, Capture.truncated, Capture.blob_digest, Capture.payload_size,
        )
        .where(Capture.page_id == page_id)
        .order_by(Capture.fetched_at, Capture.id)
        .limit(limit)
    ).all()
    firsts = [first for _o, first in revs]
    out = []
    for cid, at, status, outcome, err, nm, trunc, digest, size in rows:
        # The revision valid at this capture's time: the same rule as queries.revision_at (the
        # last one, in (first_seen, ordinal) order, first seen at or before it), by bisection:
        # a page with years of daily captures has thousands of captures and revisions.
        k = bisect.bisect_right(firsts, at)
        ordinal = revs[k - 1][0] if k else None
        out.append(
            {
                "capture": cid,
                "fetched_at": iso(at),
                "status": status,
                "outcome": outcome,
                "error_kind": err,
                "not_modified": bool(nm),
                "truncated": bool(trunc),
                "has_payload": digest is not None,
                "payload_size": size,
                "revision": ordinal,
            }
        )
    return out


# ---- comments -------------------------------------------------------------------------------

def comment_timeline(s: Session, page_id: int) -> dict[str, Any]:
    """Each comment with its text versions, and the events (added, edited, removed) in time order.

    `counts` is the number of comments visible right after each event time, for plotting.
    """
    comments = s.scalars(
        select(Comment).where(Comment.page_id == page_id).order_by(Comment.first_seen, Comment.id)
    ).all()
    versions: dict[int, list[dict[str, Any]]] = {c.id: [] for c in comments}
    if comments:
        for cid, text, first in s.execute(
            select(CommentVersion.comment_id, CommentVersion.text, CommentVersion.first_seen)
            .where(CommentVersion.comment_id.in_(list(versions)))
            .order_by(CommentVersion.first_seen, CommentVersion.id)
        ):
            versions[cid].append({"text": text, "first_seen": first})
    items: list[dict[str, Any]] = []
    events: list[tuple[datetime, int, dict[str, Any]]] = []
    for c in comments:
        vs = versions[c.id]
        items.append(
            {
                "id": c.site_comment_id,
                "key": c.key,
                "number": c.number,
                "author": c.author,
                "posted": c.posted,
                "reply_to": c.reply_to,
                "reply_to_key": c.reply_to_key,
                "first_seen": iso(c.first_seen),
                "last_seen": iso(c.last_seen),
                "removed_at": iso(c.removed_at),
                "text": vs[-1]["text"] if vs else "",
                "versions": [{"text": v["text"], "first_seen": iso(v["first_seen"])} for v in vs],
            }
        )
        who = {"key": c.key, "number": c.number, "author": c.author}
        events.append((c.first_seen, 0, {"kind": "added", **who}))
        for v in vs[1:]:
            events.append((v["first_seen"], 1, {"kind": "edited", **who}))
        if c.removed_at is not None:
            events.append((c.removed_at, 2, {"kind": "removed", **who}))
    events.sort(key=lambda e: (e[0], e[1], e[2]["key"]))
    visible = 0
    counts: list[dict[str, Any]] = []
    for at, _order, ev in events:
        visible += {"added": 1, "removed": -1}.get(ev["kind"], 0)
        if counts and counts[-1]["at"] == iso(at):
            counts[-1]["visible"] = visible
        else:
            counts.append({"at": iso(at), "visible": visible})
    return {
        "comments": items,
        "events": [{"at": iso(at), **ev} for at, _o, ev in events],
        "counts": counts,
    }


# ---- runs and schedules ---------------------------------------------------------------------

def _run_json(r: CrawlRun) -> dict[str, Any]:
    return {
        "run": r.id,
        "kind": r.kind,
        "status": r.status,
        "started_at": iso(r.started_at),
        "finished_at": iso(r.finished_at),
        "seeds": len(r.seeds or []),
        "stats": r.stats or {},
        "owner": r.owner,
    }


def recent_runs(s: Session, limit: int = 20) -> list[dict[str, Any]]:
    rows = s.scalars(select(CrawlRun).order_by(CrawlRun.started_at.desc(), CrawlRun.id.desc()).limit(limit))
    return [_run_json(r) for r in rows]


def last_run(s: Session) -> dict[str, Any] | None:
    runs = recent_runs(s, 1)
    return runs[0] if runs else None


def schedules_overview(s: Session) -> list[dict[str, Any]]:
    out = []
    for sch in s.scalars(select(Schedule).order_by(Schedule.name)):
        run = s.get(CrawlRun, sch.last_run_id) if sch.last_run_id else None
        cfg = sch.config or {}
        out.append(
            {
                "name": sch.name,
                "paused": bool(sch.paused),
                "every": cfg.get("every"),
                "cron": cfg.get("cron"),
                "seeds": len(cfg.get("seeds") or []),
                "last_fire_at": iso(sch.last_fire_at),
                "last_run": _run_json(run) if run else None,
            }
        )
    return out


def latest_capture_time(s: Session) -> datetime | None:
    return s.scalar(select(func.max(Capture.fetched_at)))
