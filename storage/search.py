"""Full-text search across every revision and comment, with the database's own engine.

SQLite: FTS5 (porter stemming, bm25 ranking, snippet()). PostgreSQL: a generated tsvector
column with a GIN index (websearch_to_tsquery, ts_rank, ts_headline). The two engines rank
differently; the set of hits is the same for simple word queries.

A hit's validity window: a revision's [first_seen, valid_to); a comment version's
[first_seen, next version's first_seen or the comment's removal). `from_`/`to` keep hits whose
window overlaps the range.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Float, Integer, String, column, delete, func, select, text
from sqlalchemy.orm import Session, aliased

from storage.models import Comment, CommentVersion, Page, Revision, SearchDoc, Site
from storage.queries import iso

HIGHLIGHT = ("**", "**")  # readable in a terminal and in JSON; the web UI maps it to <mark>
_WORD = re.compile(r"\w+", re.UNICODE)


class BadQuery(ValueError):
    pass


# ---- writing (inside the unit of work) ---------------------------------------------------

def index_revision(s: Session, page_id: int, revision_id: int, title: str | None, body: str) -> None:
    s.add(SearchDoc(page_id=page_id, kind="revision", revision_id=revision_id, title=title, text=body))


def index_comment_version(s: Session, page_id: int, version_id: int, author: str | None, body: str) -> None:
    s.add(SearchDoc(page_id=page_id, kind="comment", comment_version_id=version_id, title=author, text=body))


def unindex_page(s: Session, page_id: int) -> None:
    s.execute(delete(SearchDoc).where(SearchDoc.page_id == page_id))


# ---- reading ------------------------------------------------------------------------------

@dataclass
class Hit:
    url: str
    page: int
    kind: str
    revision: int | None
    comment_key: str | None
    snippet: str
    valid_from: datetime
    valid_to: datetime | None
    rank: float

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"url": self.url, "page": self.page}
        if self.kind == "revision":
            d["revision"] = self.revision
        else:
            d["comment_key"] = self.comment_key
        d.update(snippet=self.snippet, valid_from=iso(self.valid_from), valid_to=iso(self.valid_to))
        return d


def _sqlite_match(query: str) -> str:
    """User words -> an FTS5 query of quoted terms (AND), so punctuation is never syntax."""
    words = _WORD.findall(query)
    if not words:
        raise BadQuery(f"nothing to search for in {query!r}: give at least one word")
    return " ".join('"' + w.replace('"', '""') + '"' for w in words)


def search(
    s: Session,
    query: str,
    *,
    site: str | None = None,
    from_: datetime | None = None,
    to: datetime | None = None,
    where: str = "all",  # "body" | "comments" | "all"
    limit: int = 50,
) -> list[Hit]:
    if where not in ("body", "comments", "all"):
        raise BadQuery("--in takes body, comments or all")
    dialect = s.get_bind().dialect.name
    if dialect == "sqlite":
        match = _sqlite_match(query)
        a, b = HIGHLIGHT
        fts = text(
            "SELECT rowid AS doc_id, "
            f"snippet(search_fts, 1, '{a}', '{b}', '…', 16) AS snip, "
            "bm25(search_fts, 4.0, 1.0) AS score "
            "FROM search_fts WHERE search_fts MATCH :q"
        ).bindparams(q=match).columns(
            column("doc_id", Integer), column("snip", String), column("score", Float)
        )
        sub = fts.subquery("f")
        doc_id, snip, score = sub.c.doc_id, sub.c.snip, sub.c.score
        order = score.asc()  # bm25: lower is better
    else:
        if not _WORD.search(query):
            raise BadQuery(f"nothing to search for in {query!r}: give at least one word")
        tsq = func.websearch_to_tsquery("english", query)
        tsv = text("search_doc.tsv")
        a, b = HIGHLIGHT
        sub = (
            select(
                SearchDoc.id.label("doc_id"),
                func.ts_headline(
                    "english", SearchDoc.text, tsq,
                    f"StartSel={a}, StopSel={b}, MaxWords=30, MinWords=12, MaxFragments=1",
                ).label("snip"),
                func.ts_rank(tsv, tsq).label("score"),
            )
            .where(text("search_doc.tsv @@ websearch_to_tsquery('english', :q)").bindparams(q=query))
            .subquery("f")
        )
        doc_id, snip, score = sub.c.doc_id, sub.c.snip, sub.c.score
        order = score.desc()

    cv2 = aliased(CommentVersion)
    next_version = (
        select(func.min(cv2.first_seen))
        .where(cv2.comment_id == CommentVersion.comment_id, cv2.first_seen > CommentVersion.first_seen)
        .correlate(CommentVersion)
        .scalar_subquery()
    )
    valid_from = func.coalesce(Revision.first_seen, CommentVersion.first_seen)
    valid_to = func.coalesce(Revision.valid_to, next_version, Comment.removed_at)
    stmt = (
        select(
            Page.url, Page.id, SearchDoc.kind, Revision.ordinal, Comment.key, snip,
            valid_from.label("vf"), Revision.valid_to, next_version.label("nv"), Comment.removed_at, score,
        )
        .select_from(sub)
        .join(SearchDoc, SearchDoc.id == doc_id)
        .join(Page, Page.id == SearchDoc.page_id)
        .outerjoin(Revision, Revision.id == SearchDoc.revision_id)
        .outerjoin(CommentVersion, CommentVersion.id == SearchDoc.comment_version_id)
        .outerjoin(Comment, Comment.id == CommentVersion.comment_id)
    )
    if where == "body":
        stmt = stmt.where(SearchDoc.kind == "revision")
    elif where == "comments":
        stmt = stmt.where(SearchDoc.kind == "comment")
    if site:
        host = site.lower()
        # --site www.example.com also matches the same host on another port
        stmt = stmt.join(Site, Site.id == Page.site_id).where(
            (Site.host == host) | Site.host.like(host + ":%")
        )
    if to is not None:
        stmt = stmt.where(valid_from <= to)
    if from_ is not None:
        stmt = stmt.where((valid_to.is_(None)) | (valid_to > from_))
    stmt = stmt.order_by(order, Page.id, SearchDoc.id).limit(limit)
    hits = []
    for url, pid, kind, ordinal, ckey, snippet, vf, rev_to, nv, removed, sc in s.execute(stmt):
        end = rev_to if kind == "revision" else (nv or removed)
        hits.append(Hit(url, pid, kind, ordinal, ckey, snippet or "", vf, end, float(sc or 0)))
    return hits
