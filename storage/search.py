"""Full-text search across every revision and comment, with the database's own engine.

SQLite: FTS5 (porter stemming, bm25 ranking, snippet()). PostgreSQL: a generated tsvector
column with a GIN index (websearch_to_tsquery, ts_rank, ts_headline). The two engines rank
differently; the set of hits is the same for simple word queries.

A hit's validity window: a revision's [first_seen, valid_to); a comment version's
[first_seen, next version's first_seen or the comment's removal). `from_`/`to` keep hits whose
window overlaps the range.

Ranking is over the newest CANDIDATES documents that match (words and filters), newest by
document id, i.e. the order they were stored; a query with fewer matches is ranked in full.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy.dialects.postgresql  # noqa: F401  registers ts_headline & co. before the statements below use them
from sqlalchemy import Integer, Select, bindparam, column, delete, func, literal_column, or_, select, table, text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from storage.models import Comment, CommentVersion, Page, Revision, SearchDoc, Site, UTCDateTime
from storage.queries import iso
from storage.refs import revision_ref

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
    page_uid: str = ""  # stable across archives (storage.refs)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"url": self.url, "page": self.page, "page_uid": self.page_uid}
        if self.kind == "revision":
            d["revision"] = self.revision
            d["revision_ref"] = revision_ref(self.page_uid, self.revision) if self.revision else None
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


# ---- the statements --------------------------------------------------------------------------
# A search runs in two steps. 1: rank every match and keep the best `limit` (ids and scores
# only, with the filters applied). 2: for those few hits only, their page, revision or comment,
# validity window and highlighted snippet. A snippet means reading and tokenizing the document
# again (FTS5 snippet(), PostgreSQL ts_headline()): made for every match before ranking, they
# were most of a common word's search time. Statements are built once per shape (engine and
# filters) and cached: building them costs more CPU than a rare word's search.
_doc, _page_t, _site_t = SearchDoc.__table__, Page.__table__, Site.__table__
_rev_t, _cv_t, _com_t = Revision.__table__, CommentVersion.__table__, Comment.__table__
_cv_next = _cv_t.alias("cv_next")

# A comment version is valid until the comment's next version, else until its removal.
_NEXT_VERSION = (
    select(func.min(_cv_next.c.first_seen))
    .where(_cv_next.c.comment_id == _cv_t.c.comment_id, _cv_next.c.first_seen > _cv_t.c.first_seen)
    .correlate(_cv_t)
    .scalar_subquery()
)
_VALID_FROM = func.coalesce(_rev_t.c.first_seen, _cv_t.c.first_seen)
_VALID_TO = func.coalesce(_rev_t.c.valid_to, _NEXT_VERSION, _com_t.c.removed_at)


def _with_windows(from_clause: Any) -> Any:
    """The documents joined to what gives their validity window (a revision, or a comment
    version and its comment)."""
    return (
        from_clause.outerjoin(_rev_t, _rev_t.c.id == _doc.c.revision_id)
        .outerjoin(_cv_t, _cv_t.c.id == _doc.c.comment_version_id)
        .outerjoin(_com_t, _com_t.c.id == _cv_t.c.comment_id)
    )


# ---- the candidates ranked ---------------------------------------------------------------------
# Ranking reads every match: FTS5's bm25 decodes each match's positions and reads its length
# (about 1 us a match), PostgreSQL's ts_rank fetches each matching row and its tsvector from the
# heap (several us). A common word matches most documents (at 1M captures, ~500k documents,
# "liver" matches ~400k of them): ranked in full it took 0.3 s (SQLite) to 1 s (PostgreSQL).
# A search therefore ranks the newest CANDIDATES matches that pass its filters, found in
# document id order without ranking (FTS5 walks its doclists backwards and stops; PostgreSQL
# walks the primary key backwards, or for a rarer word takes its matches from the GIN index
# and sorts their ids). Ids grow as documents are stored, so "newest" is storage order. A
# query with at most CANDIDATES matches is ranked in full, exactly as before.
CANDIDATES = 5_000

_fts = table("search_fts", column("rowid", Integer))
_BM25 = func.bm25(literal_column("search_fts"), literal_column("4.0"), literal_column("1.0"))  # title weighs 4


@functools.lru_cache(maxsize=64)
def _rank_statement(dialect: str, where: str, by_site: bool, by_from: bool, by_to: bool) -> Select[Any]:
    """Step 1: (doc id, score) of the best `:limit` of the newest `:candidates` matches of `:q`
    that pass the filters, best first; ties by page, then document (the order hits have always
    had)."""
    if dialect == "sqlite":
        # bm25() is computed in the query that scans search_fts, for the rows that query
        # returns: the newest candidates only, as FTS5 gives rowids in descending order and
        # the LIMIT stops the scan (EXPLAIN QUERY PLAN: no temp B-tree for the inner ORDER BY).
        frm: Any = _fts.join(_doc, _doc.c.id == _fts.c.rowid)
        conds: list[Any] = [text("search_fts MATCH :q")]
        newest, extra = _fts.c.rowid, [_BM25.label("score")]
    else:
        # search_doc.tsv: the generated tsvector column of migration 0002 (not in the model).
        # ts_rank beside the id: on a primary-key walk it runs for the candidates only; when
        # a rarer word's matches come from the GIN index and are sorted by id, the sort
        # carries scores, not tsvectors (stored in the row since 0011: wide)
        frm = _doc
        conds = [text("search_doc.tsv @@ websearch_to_tsquery('english', :q)")]
        tsq = func.websearch_to_tsquery("english", bindparam("q"))
        newest, extra = _doc.c.id, [func.ts_rank(literal_column("search_doc.tsv"), tsq).label("score")]
    if by_from or by_to:
        frm = _with_windows(frm)
    if by_site:
        # --site www.example.com also matches the same host on another port
        frm = frm.join(_page_t, _page_t.c.id == _doc.c.page_id).join(_site_t, _site_t.c.id == _page_t.c.site_id)
        conds.append(or_(_site_t.c.host == bindparam("host"), _site_t.c.host.like(bindparam("host_port"))))
    if where == "body":
        conds.append(_doc.c.kind == "revision")
    elif where == "comments":
        conds.append(_doc.c.kind == "comment")
    if by_to:
        conds.append(_VALID_FROM <= bindparam("to", type_=UTCDateTime()))
    if by_from:
        conds.append(or_(_VALID_TO.is_(None), _VALID_TO > bindparam("from_", type_=UTCDateTime())))
    candidates = (
        select(newest.label("doc_id"), _doc.c.page_id, *extra)
        .select_from(frm)
        .where(*conds)
        .order_by(newest.desc())
        .limit(bindparam("candidates", type_=Integer()))
        .subquery("c")
    )
    score = candidates.c.score
    order = score.asc() if dialect == "sqlite" else score.desc()  # bm25: lower is better
    return (
        select(candidates.c.doc_id, score)
        .order_by(order, candidates.c.page_id, candidates.c.doc_id)
        .limit(bindparam("limit", type_=Integer()))
    )


_SQLITE_BEST = text(
    "SELECT doc_id, score FROM ("
    "SELECT rowid AS doc_id, bm25(search_fts, 4.0, 1.0) AS score FROM search_fts WHERE search_fts MATCH :q "
    "ORDER BY rowid DESC LIMIT :candidates"
    ") ORDER BY score LIMIT :n"
)
_PAGES_OF = select(_doc.c.id, _doc.c.page_id).where(_doc.c.id.in_(bindparam("ids", expanding=True)))
# Matches read beyond the limit, so that a tie at the cut can be settled: bm25 ties are common
# (short comments of the same length that use the word once score alike).
_TIE_MARGIN = 200


def _sqlite_best(conn: Connection, q: str, limit: int) -> list[tuple[int, float]] | None:
    """Step 1 of an unfiltered SQLite search from the full-text index alone: the `limit` best
    of the newest CANDIDATES matches without looking up every candidate's page (a third of a common word's ranking time).
    Ties are ordered by page: when the score at the cut is shared by matches beyond it, the
    pages of those tied matches decide (read for them only). None when the tie runs past the
    matches read (the caller then runs the joined ranking)."""
    if limit <= 0:
        return []
    params = {"q": q, "n": limit + _TIE_MARGIN, "candidates": max(CANDIDATES, limit)}
    rows = [(doc_id, score) for doc_id, score in conn.execute(_SQLITE_BEST, params)]
    if len(rows) <= limit:
        return rows  # every match
    cut = rows[limit - 1][1]
    if len(rows) == limit + _TIE_MARGIN and rows[-1][1] == cut:
        return None
    best = [r for r in rows if r[1] <= cut]  # rows are in score order: the tie at the cut is all here
    if len(best) > limit:
        pages = dict(conn.execute(_PAGES_OF, {"ids": [doc_id for doc_id, score in best if score == cut]}).all())
        tied = sorted((r for r in best if r[1] == cut), key=lambda r: (pages[r[0]], r[0]))
        best = [r for r in best if r[1] < cut] + tied
        del best[limit:]
    return best


# Step 2: what each of the returned documents is, and its validity window.
_DETAILS = (
    select(
        _doc.c.id, _page_t.c.url, _page_t.c.id, _doc.c.kind, _rev_t.c.ordinal, _com_t.c.key,
        _VALID_FROM, _rev_t.c.valid_to, _NEXT_VERSION, _com_t.c.removed_at, _page_t.c.uid,
    )
    .select_from(_with_windows(_doc.join(_page_t, _page_t.c.id == _doc.c.page_id)))
    .where(_doc.c.id.in_(bindparam("ids", expanding=True)))
)
# ... and its snippet, made only for those documents.
_SQLITE_SNIPPETS = text(
    f"SELECT rowid, snippet(search_fts, 1, '{HIGHLIGHT[0]}', '{HIGHLIGHT[1]}', '…', 16) "
    "FROM search_fts WHERE search_fts MATCH :q AND rowid IN :ids"
).bindparams(bindparam("ids", expanding=True))
_PG_SNIPPETS = select(
    _doc.c.id,
    func.ts_headline(
        "english", _doc.c.text, func.websearch_to_tsquery("english", bindparam("q")),
        f"StartSel={HIGHLIGHT[0]}, StopSel={HIGHLIGHT[1]}, MaxWords=30, MinWords=12, MaxFragments=1",
    ),
).where(_doc.c.id.in_(bindparam("ids", expanding=True)))


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
    """The best `limit` hits for `query` among its newest CANDIDATES (or `limit`, if more)
    matches (all of them when fewer match), best first (ties by page, then document), each with a snippet that highlights
    the query's words. `from_`/`to` keep hits whose validity window overlaps the range; the
    filters apply before the candidates are counted."""
    if where not in ("body", "comments", "all"):
        raise BadQuery("--in takes body, comments or all")
    dialect = s.get_bind().dialect.name
    if dialect == "sqlite":
        q = _sqlite_match(query)
    else:
        if not _WORD.search(query):
            raise BadQuery(f"nothing to search for in {query!r}: give at least one word")
        q = query
    # at least as many candidates as hits asked for
    params: dict[str, Any] = {"q": q, "limit": limit, "candidates": max(CANDIDATES, limit)}
    if site:
        params.update(host=site.lower(), host_port=site.lower() + ":%")
    if from_ is not None:
        params["from_"] = from_
    if to is not None:
        params["to"] = to
    conn = s.connection()
    filtered = bool(site) or from_ is not None or to is not None or where != "all"
    ranked = None
    if dialect == "sqlite" and not filtered:
        ranked = _sqlite_best(conn, q, limit)
    if ranked is None:
        stmt = _rank_statement(dialect, where, bool(site), from_ is not None, to is not None)
        ranked = [(doc_id, score) for doc_id, score in conn.execute(stmt, params)]
    if not ranked:
        return []
    ids = [doc_id for doc_id, _ in ranked]
    details = {row[0]: row[1:] for row in conn.execute(_DETAILS, {"ids": ids})}
    if dialect == "sqlite" and not filtered:
        # _sqlite_best ranked by score alone: ties in the order hits have always had
        ranked.sort(key=lambda r: (r[1], details[r[0]][1], r[0]))
    snippets_stmt = _SQLITE_SNIPPETS if dialect == "sqlite" else _PG_SNIPPETS
    snippets = dict(conn.execute(snippets_stmt, {"q": q, "ids": ids}).all())
    hits = []
    for doc_id, score in ranked:
        url, pid, kind, ordinal, ckey, vf, rev_to, nv, removed, uid = details[doc_id]
        end = rev_to if kind == "revision" else (nv or removed)
        hits.append(Hit(url, pid, kind, ordinal, ckey, snippets.get(doc_id) or "", vf, end, float(score or 0), uid))
    return hits
