"""The read side of research: page listings, comment threads over time, and dataset rows.

Everything here is read-only SQL and yields plain dicts; formatting and files are
pagetrail.exporting's job. Dataset rows stream in keyset batches (WHERE id > last ORDER BY id
LIMIT n): memory stays bounded by one batch whatever the archive's size and whichever
database driver runs it, and each batch is a short query (no server-side cursor held open).

Stable ids, so rows of different exports and of different runs join:
- a page is `page_uid` (storage.refs: derived from its key URL, so the same in every archive that
  holds the page, across WARC export and import); `page_id` is this archive's own number;
- a revision is "<page_uid>:<ordinal>" (`revision_ref`);
- a comment is page_uid + comment_key (its text versions numbered 1, 2, ... by `version`);
- a capture is capture_id + payload_sha256 (the content-addressed blob it stored);
- an ad observation is ad_id, within its capture.

COLUMNS is the single source of each dataset's columns: the rows carry exactly these keys in
this order, the writers take their headers and Parquet types from it, and docs/exports.md
shows the same table (a test compares them).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import Session, aliased

from storage.models import (
    AdObservation,
    Capture,
    Comment,
    CommentVersion,
    Derivation,
    Page,
    Revision,
    Site,
)
from storage.queries import iso, resolve_page
from storage.refs import revision_ref
from storage.webqueries import comment_timeline, list_pages

# 2: revision_ref is <page_uid>:<ordinal> (was <page_id>:<ordinal>), page_uid columns added
EXPORT_SCHEMA_VERSION = 2
DEFAULT_BATCH = 500


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # "int" | "str" | "bool" | "time" (UTC) | "list[str]"
    doc: str


def _cols(*specs: tuple[str, str, str]) -> tuple[Column, ...]:
    return tuple(Column(*spec) for spec in specs)


_PAGE = (
    ("page_id", "int", "the page's id in this archive"),
    ("page_uid", "str", "the page's stable id: the same in every archive (derived from its URL)"),
    ("url", "str", "the page's key: its normalized requested URL"),
    ("site", "str", "host[:port] of the page"),
)

COLUMNS: dict[str, tuple[Column, ...]] = {
    "revisions": _cols(
        ("revision_ref", "str", 'stable id "<page_uid>:<ordinal>": the same in every archive'),
        *_PAGE,
        ("ordinal", "int", "the revision's number within its page (1, 2, 3 ...)"),
        ("valid_from", "time", "first capture that showed it; valid from here"),
        ("valid_to", "time", "the next revision's first capture (empty: still current)"),
        ("last_seen", "time", "last capture that showed it (evidence)"),
        ("same_as_ref", "str", "revision_ref of the earlier revision it equals (a revert), else empty"),
        ("content_hash", "str", "hash of the versioned fields (DESIGN.md, Revisions)"),
        ("title", "str", "title"),
        ("authors", "list[str]", "Written By"),
        ("editors", "list[str]", "Edited By"),
        ("reviewers", "list[str]", "Reviewed By"),
        ("published", "str", "publication date as ISO 8601"),
        ("modified", "str", "the page's Last Modified date as ISO 8601"),
        ("language", "str", "language"),
        ("category", "str", "the site's category"),
        ("body_text", "str", "the article body, paragraphs separated by a blank line"),
        ("first_capture_id", "int", "capture that began it"),
        ("last_capture_id", "int", "capture that showed it last"),
        ("parser_version", "str", "parser version that made the record"),
        ("profile", "str", "site profile (extractor) that made the record"),
    ),
    "comments": _cols(
        *_PAGE,
        ("comment_key", "str", "the comment's key within its page (site id, else number, else a hash)"),
        ("version", "int", "this text version's number (1 = as first seen; an edit adds one)"),
        ("comment_id", "str", "the site's own id, e.g. post_2409871, else empty"),
        ("number", "int", "the site's post number, else empty"),
        ("author", "str", "author as shown"),
        ("posted", "str", "posted time, ISO 8601 UTC"),
        ("reply_to", "str", 'the name written after "@", else empty'),
        ("reply_to_key", "str", "comment_key of the comment replied to, when resolved"),
        ("first_seen", "time", "first capture that showed the comment"),
        ("last_seen", "time", "last capture that showed the comment"),
        ("removed_at", "time", "capture that showed it gone (empty: never removed)"),
        ("text", "str", "the text of this version, as shown"),
        ("text_from", "time", "first capture that showed this version"),
        ("text_to", "time", "next version's first capture, else the removal (empty: still shown)"),
        ("capture_id", "int", "capture this version was first seen in"),
        ("parser_version", "str", "parser version that read that capture"),
    ),
    "captures": _cols(
        ("capture_id", "int", "the capture's id"),
        ("payload_sha256", "str", "sha256 of the payload as the server sent it (empty: no payload)"),
        *_PAGE,
        ("redacted", "bool", "the payload was removed by a redaction (redacted_sha256 names it)"),
        ("redacted_sha256", "str", "sha256 of the payload a redaction removed"),
        ("requested_url", "str", "URL requested"),
        ("final_url", "str", "URL after redirects"),
        ("fetched_at", "time", "when it was fetched"),
        ("status", "int", "HTTP status (empty: no response)"),
        ("http_version", "str", "HTTP version"),
        ("error_kind", "str", "error kind from the fixed list, else empty"),
        ("truncated", "bool", "the body was cut at the size limit"),
        ("not_modified", "bool", "a 304 confirming payload_sha256"),
        ("payload_size", "int", "payload bytes as received"),
        ("elapsed_ms", "int", "fetch time in milliseconds"),
        ("outcome", "str", "what the archive did with it (new_revision, unchanged, gone, ...)"),
        ("crawl_run_id", "int", "the crawl run that fetched it"),
        ("versioned", "bool", "took part in versioning"),
        ("content_hash", "str", "content hash of its record (versioned captures)"),
        ("parser_version", "str", "parser version of its current record (empty: not parsed)"),
        ("profile", "str", "site profile of its current record"),
    ),
    "ads": _cols(
        ("ad_id", "int", "the observation's id"),
        ("capture_id", "int", "capture it was seen in"),
        ("payload_sha256", "str", "sha256 of that capture's payload"),
        *_PAGE,
        ("fetched_at", "time", "when that capture was fetched"),
        ("kind", "str", "ad | sponsored | recommendation | widget | newsletter | social"),
        ("slot", "str", "where on the page (the slot's name or id)"),
        ("text", "str", "text shown"),
        ("ad_url", "str", "where it links"),
        ("parser_version", "str", "parser version of the capture's current record"),
    ),
}
WHATS = tuple(COLUMNS)


# ---- pages and comment threads ---------------------------------------------------------------

def _page_authors(s: Session, page_ids: list[int]) -> dict[int, list[list[str]]]:
    """Each page's revisions' authors, oldest revision first."""
    out: dict[int, list[list[str]]] = {pid: [] for pid in page_ids}
    if not page_ids:
        return out
    authors = Derivation.record[("metadata", "authors")]
    for pid, names in s.execute(
        select(Revision.page_id, authors)
        .join(Derivation, Derivation.id == Revision.derivation_id)
        .where(Revision.page_id.in_(page_ids))
        .order_by(Revision.page_id, Revision.ordinal)
    ):
        out[pid].append([str(n) for n in (names or [])])
    return out


def pages(
    s: Session,
    *,
    site: str | None = None,
    changed_since: datetime | None = None,
    author: str | None = None,
    batch_size: int = DEFAULT_BATCH,
) -> Iterator[dict[str, Any]]:
    """Archived pages (by URL; by site, then URL, with `site`): id, site, counts, first/last
    capture, latest title and authors.

    The listing is storage.webqueries.list_pages (the web UI's), so both faces agree on what a
    page's counts and title are. `changed_since` keeps pages with a revision valid from then
    on; `author` keeps pages any of whose revisions names that author (case-insensitive).
    """
    wanted = author.casefold().strip() if author else None
    hosts: list[str | None] = [None]
    if site:  # as in search: --site www.example.com also matches that host on another port
        hosts = list(s.scalars(select(Site.host).where(_site_condition(site)).order_by(Site.host)))
    for host in hosts:
        yield from _pages_of(s, host, changed_since, wanted, batch_size)


def _pages_of(s: Session, host: str | None, changed_since: datetime | None, wanted: str | None,
              batch_size: int) -> Iterator[dict[str, Any]]:
    offset = 0
    while True:
        _total, batch = list_pages(s, site=host, changed_since=changed_since, sort="url",
                                   limit=batch_size, offset=offset)
        if not batch:
            return
        offset += len(batch)
        authors = _page_authors(s, [p["page"] for p in batch])
        for p in batch:
            per_revision = authors[p["page"]]
            if wanted and not any(wanted == n.casefold().strip() for names in per_revision for n in names):
                continue
            yield {
                "url": p["url"],
                "page": p["page"],
                "page_uid": p["page_uid"],
                "site": p["site"],
                "revisions": p["revisions"],
                "captures": p["captures"],
                "comments": p["comments"],
                "first_capture": p["first_seen"],
                "last_capture": p["last_seen"],
                "gone_at": p["gone_at"],
                "title": p["title"],
                "authors": per_revision[-1] if per_revision else [],
            }


def comment_thread(
    s: Session, url: str, *, start: datetime | None = None, end: datetime | None = None
) -> dict[str, Any]:
    """A page's comments as the thread grew and shrank, in the order they appeared.

    Keeps comments whose visibility [first_seen, removed_at) overlaps [start, end]; each with
    its text as shown at `end` (the latest version when no end) and its number of text
    versions by then.
    """
    page = resolve_page(s, url)
    timeline = comment_timeline(s, page.id)

    def t(value: str | None) -> datetime | None:  # the timeline's ISO strings, back to times
        return datetime.fromisoformat(value) if value else None

    out = []
    for c in timeline["comments"]:
        first, removed = t(c["first_seen"]), t(c["removed_at"])
        assert first is not None
        if end is not None and first > end:
            continue
        if start is not None and removed is not None and removed <= start:
            continue
        versions = [v for v in c["versions"] if end is None or t(v["first_seen"]) <= end]  # type: ignore[operator]
        out.append({
            "key": c["key"], "id": c["id"], "number": c["number"], "author": c["author"],
            "posted": c["posted"], "reply_to": c["reply_to"], "reply_to_key": c["reply_to_key"],
            "first_seen": c["first_seen"], "last_seen": c["last_seen"], "removed_at": c["removed_at"],
            "text": versions[-1]["text"] if versions else "", "versions": len(versions),
        })
    return {"url": page.url, "page": page.id, "page_uid": page.uid, "from": iso(start), "to": iso(end),
            "comments": out}


# ---- dataset rows ------------------------------------------------------------------------------

def _site_condition(site: str) -> Any:
    host = site.lower()
    return or_(Site.host == host, Site.host.like(host + ":%"))


def _site_filter(stmt: Select[Any], site: str | None) -> Select[Any]:
    return stmt.where(_site_condition(site)) if site else stmt


def _keyset_batches(s: Session, stmt: Select[Any], key: Any, batch_size: int) -> Iterator[list[Any]]:
    """`stmt`'s rows, a batch per query, ordered by the unique `key` column (selected first)."""
    last = None
    while True:
        q = stmt if last is None else stmt.where(key > last)
        batch = list(s.execute(q.order_by(key).limit(batch_size)).all())
        if not batch:
            return
        yield batch
        last = batch[-1][0]
        if len(batch) < batch_size:
            return


def _keyset(s: Session, stmt: Select[Any], key: Any, batch_size: int) -> Iterator[Any]:
    for batch in _keyset_batches(s, stmt, key, batch_size):
        yield from batch


def _current_derivation():  # type: ignore[no-untyped-def]
    """The capture's newest derivation (outer-joined: failed fetches have none)."""
    return aliased(Derivation, name="cur")


def _is_current_of(cur: Any, capture_id: Any) -> Any:
    return and_(cur.capture_id == capture_id, cur.current.is_(True))


def _revision_rows(s: Session, site: str | None, start: datetime | None, end: datetime | None,
                   batch_size: int) -> Iterator[dict[str, Any]]:
    md = Derivation.record["metadata"]
    body = Derivation.record[("body", "text")].as_string()
    stmt = (
        select(Revision.id, Revision.page_id, Page.uid, Page.url, Site.host, Revision.ordinal, Revision.first_seen,
               Revision.valid_to, Revision.last_seen, Revision.same_as, Revision.content_hash, Revision.title,
               md, Revision.modified, body, Revision.first_capture_id, Revision.last_capture_id,
               Derivation.parser_version, Derivation.profile)
        .join(Page, Page.id == Revision.page_id)
        .join(Site, Site.id == Page.site_id)
        .join(Derivation, Derivation.id == Revision.derivation_id)
    )
    # a revision's validity [valid_from, valid_to) overlaps the window
    if end is not None:
        stmt = stmt.where(Revision.first_seen <= end)
    if start is not None:
        stmt = stmt.where(or_(Revision.valid_to.is_(None), Revision.valid_to > start))
    for (_id, pid, uid, url, host, ordinal, vf, vt, last, same_as, chash, title, meta, modified, text,
         first_cap, last_cap, pv, profile) in _keyset(s, _site_filter(stmt, site), Revision.id, batch_size):
        meta = meta or {}
        yield {
            "revision_ref": revision_ref(uid, ordinal), "page_id": pid, "page_uid": uid, "url": url,
            "site": host, "ordinal": ordinal, "valid_from": vf, "valid_to": vt, "last_seen": last,
            "same_as_ref": revision_ref(uid, same_as) if same_as else None, "content_hash": chash,
            "title": title, "authors": list(meta.get("authors") or []), "editors": list(meta.get("editors") or []),
            "reviewers": list(meta.get("reviewers") or []), "published": meta.get("published"),
            "modified": modified, "language": meta.get("language"), "category": meta.get("category"),
            "body_text": text, "first_capture_id": first_cap, "last_capture_id": last_cap,
            "parser_version": pv, "profile": profile,
        }


def _comment_rows(s: Session, site: str | None, start: datetime | None, end: datetime | None,
                  batch_size: int) -> Iterator[dict[str, Any]]:
    # Keyset batches of comments, then their text versions in one query per batch: a version's
    # number and end (the next version, else the removal) come from its siblings, in order.
    stmt = (
        select(Comment.id, Comment.page_id, Page.uid, Page.url, Site.host, Comment.key, Comment.site_comment_id,
               Comment.number, Comment.author, Comment.posted, Comment.reply_to, Comment.reply_to_key,
               Comment.first_seen, Comment.last_seen, Comment.removed_at)
        .join(Page, Page.id == Comment.page_id)
        .join(Site, Site.id == Page.site_id)
    )
    # a version can overlap the window only if its comment's visibility does
    if end is not None:
        stmt = stmt.where(Comment.first_seen <= end)
    if start is not None:
        stmt = stmt.where(or_(Comment.removed_at.is_(None), Comment.removed_at > start))
    cur = _current_derivation()
    for batch in _keyset_batches(s, _site_filter(stmt, site), Comment.id, batch_size):
        versions: dict[int, list[Any]] = {c[0]: [] for c in batch}
        for v in s.execute(
            select(CommentVersion.comment_id, CommentVersion.text, CommentVersion.first_seen,
                   CommentVersion.capture_id, cur.parser_version)
            .outerjoin(cur, _is_current_of(cur, CommentVersion.capture_id))
            .where(CommentVersion.comment_id.in_(list(versions)))
            .order_by(CommentVersion.comment_id, CommentVersion.first_seen, CommentVersion.id)
        ):
            versions[v[0]].append(v)
        for (cid, pid, uid, url, host, key, site_id, number, author, posted, reply_to, reply_key, first, last,
             removed) in batch:
            vs = versions[cid]
            for n, (_cid, text, text_from, capture_id, pv) in enumerate(vs, start=1):
                text_to = vs[n][2] if n < len(vs) else removed
                # this version's visibility [text_from, text_to) overlaps the window
                if (end is not None and text_from > end) or (
                        start is not None and text_to is not None and text_to <= start):
                    continue
                yield {
                    "page_id": pid, "page_uid": uid, "url": url, "site": host, "comment_key": key, "version": n,
                    "comment_id": site_id, "number": number, "author": author, "posted": posted,
                    "reply_to": reply_to, "reply_to_key": reply_key, "first_seen": first, "last_seen": last,
                    "removed_at": removed, "text": text, "text_from": text_from, "text_to": text_to,
                    "capture_id": capture_id, "parser_version": pv,
                }


def _capture_rows(s: Session, site: str | None, start: datetime | None, end: datetime | None,
                  batch_size: int) -> Iterator[dict[str, Any]]:
    cur = _current_derivation()
    stmt = (
        select(Capture.id, Capture.blob_digest, Capture.page_id, Page.uid, Page.url, Site.host, Capture.redacted,
               Capture.redacted_digest, Capture.requested_url,
               Capture.final_url, Capture.fetched_at, Capture.status, Capture.http_version, Capture.error_kind,
               Capture.truncated, Capture.not_modified, Capture.payload_size, Capture.elapsed_ms,
               Capture.outcome, Capture.crawl_run_id, func.coalesce(cur.versioned, False), cur.content_hash,
               cur.parser_version, cur.profile)
        .join(Page, Page.id == Capture.page_id)
        .join(Site, Site.id == Page.site_id)
        .outerjoin(cur, _is_current_of(cur, Capture.id))
    )
    names = [c.name for c in COLUMNS["captures"]]
    for row in _keyset(s, _site_filter(_time_window(stmt, Capture.fetched_at, start, end), site),
                       Capture.id, batch_size):
        d = dict(zip(names, row))
        for flag in ("redacted", "truncated", "not_modified", "versioned"):
            d[flag] = bool(d[flag])
        yield d


def _ad_rows(s: Session, site: str | None, start: datetime | None, end: datetime | None,
             batch_size: int) -> Iterator[dict[str, Any]]:
    cur = _current_derivation()
    stmt = (
        select(AdObservation.id, AdObservation.capture_id, Capture.blob_digest, Capture.page_id, Page.uid,
               Page.url, Site.host, Capture.fetched_at, AdObservation.kind, AdObservation.slot, AdObservation.text,
               AdObservation.url, cur.parser_version)
        .join(Capture, Capture.id == AdObservation.capture_id)
        .join(Page, Page.id == Capture.page_id)
        .join(Site, Site.id == Page.site_id)
        .outerjoin(cur, _is_current_of(cur, Capture.id))
    )
    names = [c.name for c in COLUMNS["ads"]]
    for row in _keyset(s, _site_filter(_time_window(stmt, Capture.fetched_at, start, end), site),
                       AdObservation.id, batch_size):
        yield dict(zip(names, row))


def _time_window(stmt: Select[Any], col: Any, start: datetime | None, end: datetime | None) -> Select[Any]:
    if start is not None:
        stmt = stmt.where(col >= start)
    if end is not None:
        stmt = stmt.where(col <= end)
    return stmt


def capture_parser_versions(s: Session, *, site: str | None = None, start: datetime | None = None,
                            end: datetime | None = None) -> list[str]:
    """The parser versions of the current records of the captures fetched in [start, end]
    (what a WARC export of those captures carries in its metadata records)."""
    cur = _current_derivation()
    stmt = (
        select(cur.parser_version).distinct()
        .join(Capture, Capture.id == cur.capture_id)
        .join(Page, Page.id == Capture.page_id)
        .join(Site, Site.id == Page.site_id)
        .where(cur.current.is_(True))
    )
    return sorted(s.scalars(_site_filter(_time_window(stmt, Capture.fetched_at, start, end), site)))


_ROWS = {"revisions": _revision_rows, "comments": _comment_rows, "captures": _capture_rows, "ads": _ad_rows}


def export_rows(
    s: Session,
    what: str,
    *,
    site: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    batch_size: int = DEFAULT_BATCH,
) -> Iterator[dict[str, Any]]:
    """The rows of one dataset (`what` in WHATS), lazily, each a dict keyed by COLUMNS[what].

    Revisions and comment versions are kept when their validity overlaps [start, end];
    captures and ads when fetched within it. Times are aware UTC datetimes.
    """
    if what not in _ROWS:
        raise ValueError(f"unknown dataset {what!r}: one of {', '.join(WHATS)}")
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    return _ROWS[what](s, site, start, end, batch_size)


def begin_snapshot(s: Session) -> None:
    """Make the session's reads one consistent snapshot (a crawl may be committing meanwhile).

    PostgreSQL: REPEATABLE READ for the session's transaction (call before its first query).
    SQLite: a read transaction in WAL mode already reads one snapshot from its first read.
    """
    if s.get_bind().dialect.name == "postgresql":
        s.connection(execution_options={"isolation_level": "REPEATABLE READ"})
