"""Removing personal data from the archive, with an audit trail.

What a redaction does, in ONE transaction (the caller's):
- A comment (by key on one page, or every comment by an author name) keeps its row, key, site
  id, number, dates and reply links, so threads stay intact and counts do not change; its
  author and every version of its text become REDACTED. For an author, replies addressed to
  that name get their `reply_to` and their "@NAME" mention replaced too.
- Its search-index rows are deleted (FTS5 / tsvector follow the rows); replies' rows are
  rewritten without the name.
- Every parsed record (derivation) of the affected pages that shows it is rewritten in
  redacted form, so /records/ mementos and exports of records do not show it either.
- With raw redaction, the captures whose bytes hold it lose their payload: each blob is removed
  after its delta dependants are re-based (storage.integrity), and every capture that named it
  keeps its row with `redacted` set, `blob_digest` null and the digest in `redacted_digest`.
  `reparse`, Memento raw views and raw exports then have no bytes to serve.
- One `redaction` row records who, when, why, the target and what was removed.

A comment or author redaction is also a standing rule: later captures and `reparse` store the
comment already redacted (`apply_rules`, called by the unit of work and by reparse), so a
recrawl of a page that still shows it cannot bring the text back. Their raw bytes do hold it;
run the redaction again with --raw to remove those too.
"""

from __future__ import annotations

import getpass
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from parsers.records import Comment as ParsedComment
from parsers.records import ParsedPage
from storage import integrity
from storage.models import Capture, Comment, CommentVersion, Derivation, Page, Redaction, SearchDoc
from storage.queries import iso, resolve_page

# What replaces a redacted author or text: fixed, so a reader sees something was removed.
REDACTED = "[redacted]"
TARGET_KINDS = ("comment", "author", "capture")


class RedactionError(Exception):
    """The target cannot be redacted as given; the message says what to do."""


def default_who() -> str:
    """The OS user running the command (the audit's default `who`)."""
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no login name (a container without passwd entry)
        return "unknown"


# ---- the rules: which comments are redacted --------------------------------------------------

@dataclass
class Rules:
    keys: set[str] = field(default_factory=set)  # comment keys on the page at hand
    authors: set[str] = field(default_factory=set)

    def __bool__(self) -> bool:
        return bool(self.keys or self.authors)

    def shows(self, c: dict[str, Any]) -> bool:
        """Does this comment carry a target (redacted already or not)?"""
        return (c.get("key") in self.keys or (c.get("author") or "").strip() in self.authors
                or c.get("reply_to") in self.authors)

    def scrub(self, c: dict[str, Any]) -> str | None:
        """Redact one comment (a ParsedPage JSON comment) in place: "comment" when it is one
        of the targets, "reply" when only its mention of a redacted author was removed."""
        if c.get("key") in self.keys or (c.get("author") or "").strip() in self.authors:
            if c.get("author") == REDACTED and c.get("text") == REDACTED:
                return None
            c["author"], c["text"] = REDACTED, REDACTED
            return "comment"
        name = c.get("reply_to")
        if name in self.authors:
            c["reply_to"] = REDACTED
            c["text"] = _unmention(c.get("text") or "", name)
            return "reply"
        return None


def _unmention(text: str, name: str) -> str:
    return text.replace("@" + name, "@" + REDACTED)


def rules_for(s: Session, page_id: int) -> Rules:
    """The standing rules that apply to a page: its redacted comment keys, every redacted author."""
    page_url = select(Page.url).where(Page.id == page_id).scalar_subquery()
    rules = Rules()
    for kind, value in s.execute(
        select(Redaction.target_kind, Redaction.target_value).where(
            (Redaction.target_kind == "author")
            | ((Redaction.target_kind == "comment") & (Redaction.scope_url == page_url))
        )
    ):
        (rules.keys if kind == "comment" else rules.authors).add(value)
    return rules


def apply_rules(s: Session, page_id: int, parsed: ParsedPage) -> ParsedPage:
    """`parsed` with the page's redacted comments redacted: what the unit of work and reparse
    store, so neither a recrawl nor a re-derivation brings a redacted comment back."""
    if not parsed.comments:
        return parsed
    rules = rules_for(s, page_id)
    if not rules:
        return parsed
    comments = []
    for c in parsed.comments:
        d = asdict(c)
        comments.append(ParsedComment(**d) if rules.scrub(d) else c)
    return replace(parsed, comments=comments)


# ---- the report --------------------------------------------------------------------------------

@dataclass
class RedactionReport:
    target_kind: str
    target_value: str
    url: str | None = None  # the page, for a comment
    who: str = ""
    reason: str = ""
    at: datetime | None = None
    id: int | None = None  # the audit entry
    raw_requested: bool = False
    pages: list[str] = field(default_factory=list)
    comments: int = 0  # comments whose author and text this run replaced
    comments_matched: int = 0  # comments the target names (already redacted ones included)
    versions: int = 0  # comment text versions replaced
    replies: int = 0  # replies whose mention of a redacted author was removed
    search_rows: int = 0  # search-index rows deleted or rewritten
    derivations: int = 0  # parsed records rewritten
    captures_redacted: list[int] = field(default_factory=list)  # raw payloads removed by this run
    blobs_removed: list[str] = field(default_factory=list)
    rebased: int = 0  # delta blobs re-encoded so the removed ones were not needed
    raw_kept: list[int] = field(default_factory=list)  # captures whose bytes still hold it (no --raw)

    @property
    def raw_redacted(self) -> bool:
        """Raw captures were redacted: requested, and every capture holding the data now is."""
        return self.raw_requested

    @property
    def already(self) -> bool:
        """Nothing was left to remove: the same redaction had been done before."""
        return not (self.comments or self.versions or self.replies or self.search_rows
                    or self.derivations or self.captures_redacted)

    def removed(self) -> dict[str, Any]:
        """What the audit entry records as removed (counts and targets; never the data)."""
        return {
            "pages": self.pages,
            "comments": self.comments,
            "comments_matched": self.comments_matched,
            "comment_versions": self.versions,
            "replies": self.replies,
            "search_rows": self.search_rows,
            "derivations": self.derivations,
            "captures": self.captures_redacted,
            "blobs": self.blobs_removed,
            "rebased": self.rebased,
            "raw_kept": self.raw_kept,
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "at": iso(self.at),
            "who": self.who,
            "reason": self.reason,
            "target": {"kind": self.target_kind, "value": self.target_value, "url": self.url},
            "raw_redacted": self.raw_redacted,
            "already_redacted": self.already,
            "removed": self.removed(),
        }


# ---- redacting ---------------------------------------------------------------------------------

def redact(
    s: Session,
    *,
    comment_key: str | None = None,
    url: str | None = None,
    author: str | None = None,
    capture_id: int | None = None,
    reason: str,
    who: str | None = None,
    raw: bool = False,
    now: datetime | None = None,
) -> RedactionReport:
    """Redact one target (exactly one of comment_key, author, capture_id) in the caller's
    transaction and record it. capture_id always removes raw bytes (it is the raw capture)."""
    if sum(x is not None for x in (comment_key, author, capture_id)) != 1:
        raise RedactionError("give exactly one target: --comment KEY, --author NAME or --capture ID")
    if not reason.strip():
        raise RedactionError("give a --reason: the audit trail records why data was removed")
    if url is not None and comment_key is None:
        raise RedactionError("--url narrows --comment KEY to one page; it does not go with --author or --capture")
    if comment_key is not None:
        rep = RedactionReport("comment", comment_key, raw_requested=raw)
        _redact_comments(s, rep, *_comments_by_key(s, rep, comment_key, url), raw)
    elif author is not None:
        name = author.strip()
        if not name or name == REDACTED:
            raise RedactionError(f"not an author name: {author!r}")
        rep = RedactionReport("author", name, raw_requested=raw)
        _redact_comments(s, rep, *_comments_by_author(s, name), raw)
    else:
        assert capture_id is not None
        rep = RedactionReport("capture", str(capture_id), raw_requested=True)
        _redact_capture(s, rep, capture_id)
    rep.who = (who or default_who()).strip() or default_who()
    rep.reason = reason.strip()
    rep.at = now or datetime.now(timezone.utc)
    row = Redaction(
        at=rep.at, who=rep.who, reason=rep.reason, target_kind=rep.target_kind,
        target_value=rep.target_value, scope_url=rep.url, raw_redacted=rep.raw_redacted,
        removed=rep.removed(),
    )
    s.add(row)
    s.flush()
    rep.id = row.id
    return rep


def _comments_by_key(s: Session, rep: RedactionReport, key: str, url: str | None) -> tuple[list[Comment], Rules]:
    stmt = select(Comment).where(Comment.key == key)
    if url is not None:
        stmt = stmt.where(Comment.page_id == resolve_page(s, url).id)
    rows = list(s.scalars(stmt.order_by(Comment.page_id, Comment.id)))
    if not rows:
        where = f" on {url}" if url else ""
        raise RedactionError(
            f"no comment with key {key!r}{where}; `pagetrail history URL --json` lists a page's comment keys"
        )
    pages = sorted({r.page_id for r in rows})
    if len(pages) > 1:
        urls = s.scalars(select(Page.url).where(Page.id.in_(pages)).order_by(Page.url)).all()
        raise RedactionError(
            f"{len(pages)} pages have a comment with key {key!r}; add --url with one of: " + ", ".join(urls)
        )
    # The rule is kept per page (by its key URL), so later captures of that page stay redacted.
    rep.url = s.scalar(select(Page.url).where(Page.id == pages[0]))
    return rows, Rules(keys={key})


def _comments_by_author(s: Session, name: str) -> tuple[list[Comment], Rules]:
    rows = list(s.scalars(select(Comment).where(Comment.author == name).order_by(Comment.page_id, Comment.id)))
    before = s.scalar(
        select(Redaction.id).where(Redaction.target_kind == "author", Redaction.target_value == name).limit(1)
    )
    if not rows and before is None:
        raise RedactionError(
            f"no comment by {name!r} in the archive; names match exactly as `pagetrail history URL` shows them"
        )
    return rows, Rules(authors={name})


def _redact_comments(s: Session, rep: RedactionReport, rows: list[Comment], rules: Rules, raw: bool) -> None:
    rep.comments_matched = len(rows)
    ids = [c.id for c in rows]
    versions = s.execute(select(CommentVersion.id, CommentVersion.text).where(CommentVersion.comment_id.in_(ids))).all()
    stale = [vid for vid, text in versions if text != REDACTED]
    if stale:
        s.execute(update(CommentVersion).where(CommentVersion.id.in_(stale)).values(text=REDACTED)
                  .execution_options(synchronize_session=False))
    rep.versions = len(stale)
    if versions:
        gone = s.execute(delete(SearchDoc).where(SearchDoc.comment_version_id.in_([v for v, _ in versions]))
                         .execution_options(synchronize_session=False))
        rep.search_rows += gone.rowcount or 0
    stale_ids = set(s.scalars(select(CommentVersion.comment_id).where(CommentVersion.id.in_(stale)))) if stale else set()
    for c in rows:
        if c.author != REDACTED or c.id in stale_ids:
            rep.comments += 1
        c.author = REDACTED
    page_ids = {c.page_id for c in rows}
    for name in rules.authors:
        page_ids |= _unmention_replies(s, rep, name)
    s.flush()
    holding = _rewrite_records(s, rep, sorted(page_ids), rules) | _kept_before(s, rep)
    rep.pages = list(s.scalars(select(Page.url).where(Page.id.in_(page_ids)).order_by(Page.url))) if page_ids else []
    digests = set(s.scalars(select(Capture.blob_digest).where(Capture.id.in_(holding), Capture.blob_digest.is_not(None))))
    if raw:
        _remove_payloads(s, rep, digests)
    elif digests:
        rep.raw_kept = list(s.scalars(select(Capture.id).where(Capture.blob_digest.in_(digests)).order_by(Capture.id)))


def _unmention_replies(s: Session, rep: RedactionReport, name: str) -> set[int]:
    """Replies addressed to `name`: reply_to and the "@name" in their texts and search rows."""
    replies = list(s.scalars(select(Comment).where(Comment.reply_to == name)))
    for c in replies:
        c.reply_to = REDACTED
    rep.replies += len(replies)
    if replies:
        for vid, text in s.execute(
            select(CommentVersion.id, CommentVersion.text).where(
                CommentVersion.comment_id.in_([c.id for c in replies])
            )
        ).all():
            if "@" + name in text:
                s.execute(update(CommentVersion).where(CommentVersion.id == vid).values(text=_unmention(text, name)))
        for doc_id, text in s.execute(
            select(SearchDoc.id, SearchDoc.text).join(CommentVersion, CommentVersion.id == SearchDoc.comment_version_id)
            .where(CommentVersion.comment_id.in_([c.id for c in replies]))
        ).all():
            if "@" + name in text:
                s.execute(update(SearchDoc).where(SearchDoc.id == doc_id).values(text=_unmention(text, name)))
                rep.search_rows += 1
    return {c.page_id for c in replies}


def _rewrite_records(s: Session, rep: RedactionReport, page_ids: list[int], rules: Rules) -> set[int]:
    """Rewrite every parsed record of these pages that shows the targets; returns the ids of
    the captures those records came from (their raw bytes hold the data)."""
    holding: set[int] = set()
    if not page_ids:
        return holding
    for deriv_id, capture_id, record in s.execute(
        select(Derivation.id, Derivation.capture_id, Derivation.record)
        .join(Capture, Capture.id == Derivation.capture_id)
        .where(Capture.page_id.in_(page_ids))
        .order_by(Derivation.id)
    ).all():
        comments = [dict(c) for c in (record or {}).get("comments") or []]
        if not any(rules.shows(c) for c in comments):
            continue
        holding.add(capture_id)  # shown, redacted before or not: its bytes hold it
        changed = [rules.scrub(c) for c in comments]
        if any(changed):
            s.execute(update(Derivation).where(Derivation.id == deriv_id).values(record={**record, "comments": comments})
                      .execution_options(synchronize_session=False))
            rep.derivations += 1
    return holding


def _kept_before(s: Session, rep: RedactionReport) -> set[int]:
    """Captures earlier redactions of this target left holding it in their bytes (run without
    --raw): once a comment's author is redacted, only the audit trail still knows them."""
    out: set[int] = set()
    for removed in s.scalars(
        select(Redaction.removed).where(
            Redaction.target_kind == rep.target_kind, Redaction.target_value == rep.target_value,
            Redaction.scope_url.is_(None) if rep.url is None else Redaction.scope_url == rep.url,
        )
    ):
        out.update((removed or {}).get("raw_kept") or [])
    return out


def _remove_payloads(s: Session, rep: RedactionReport, digests: set[str]) -> None:
    """Detach every capture naming these blobs (marked redacted, digest kept as evidence) and
    remove the blobs, their delta dependants re-based first so every other payload restores."""
    for digest in sorted(digests):
        caps = list(s.scalars(select(Capture.id).where(Capture.blob_digest == digest).order_by(Capture.id)))
        s.execute(
            update(Capture).where(Capture.blob_digest == digest)
            .values(blob_digest=None, redacted=True, redacted_digest=digest)
            .execution_options(synchronize_session=False)
        )
        rep.rebased += integrity.remove_blob(s, digest)
        rep.captures_redacted.extend(caps)
        rep.blobs_removed.append(digest)
    rep.captures_redacted.sort()


def _redact_capture(s: Session, rep: RedactionReport, capture_id: int) -> None:
    cap = s.get(Capture, capture_id)
    if cap is None:
        raise RedactionError(f"no capture {capture_id} in the archive; `pagetrail verify` and the API name capture ids")
    rep.url = s.scalar(select(Page.url).where(Page.id == cap.page_id))
    rep.pages = [rep.url] if rep.url else []
    if cap.redacted:
        return  # done before: its payload is already gone
    if cap.blob_digest is None:
        raise RedactionError(f"capture {capture_id} stored no payload (a failed fetch): there is nothing to redact")
    _remove_payloads(s, rep, {cap.blob_digest})


# ---- the audit trail ---------------------------------------------------------------------------

def _entry(r: Redaction) -> dict[str, Any]:
    return {
        "id": r.id,
        "at": iso(r.at),
        "who": r.who,
        "reason": r.reason,
        "target": {"kind": r.target_kind, "value": r.target_value, "url": r.scope_url},
        "removed": r.removed,
        "raw_redacted": bool(r.raw_redacted),
    }


def list_redactions(session: Session) -> list[dict[str, Any]]:
    """Every recorded redaction, oldest first: id, at (ISO 8601 UTC), who, reason,
    target {kind, value, url}, removed (counts and ids), raw_redacted."""
    rows = session.scalars(select(Redaction).order_by(Redaction.at, Redaction.id)).all()
    return [_entry(r) for r in rows]
