"""What one write transaction of the unit of work has learned, so it is not asked again.

`Archive.store_capture` and `Archive.store_captures` open one of these per transaction (in
`Session.info`); the unit of work's helpers read through it and keep it in step with what they
write. Everything here is either a row this transaction holds locked (the page, and so its
captures, revisions and comments: DESIGN.md, one writer per page at a time) or immutable (blob
chain links), so within the transaction an entry can only go stale through this transaction's
own writes, which update it. It is dropped with the session: nothing survives a commit.

Code that writes without it (reparse, imports, integrity) simply queries, as before.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

if TYPE_CHECKING:
    from storage.models import Comment, Page, Revision

_KEY = "pagetrail.store_cache"
UNKNOWN: Any = object()  # "not looked up yet", as opposed to a looked-up None


@dataclass
class StoreCache:
    pages: dict[str, "Page"] = field(default_factory=dict)  # normalized URL -> its locked page
    sites: dict[str, int] = field(default_factory=dict)  # host -> site id
    # page id -> (fetched_at, capture id, digest) of its latest capture with a payload, or None
    latest_blob: dict[int, tuple[datetime, int, str] | None] = field(default_factory=dict)
    # page id -> fetched_at of its latest capture with a current versioned derivation, or None
    latest_versioned: dict[int, datetime | None] = field(default_factory=dict)
    current_revision: dict[int, "Revision | None"] = field(default_factory=dict)  # highest ordinal
    # page id -> ({comment key: row}, {comment id: its newest text})
    comments: dict[int, tuple[dict[str, "Comment"], dict[int, str]]] = field(default_factory=dict)
    aliases: set[tuple[int, str]] = field(default_factory=set)  # (page id, URL) known to resolve
    blob_links: dict[str, Any] = field(default_factory=dict)  # digest -> storage.blobs.Link
    absent_blobs: set[str] = field(default_factory=set)  # digests looked up and not stored (yet)
    any_redactions: bool | None = None  # standing redaction rules exist (storage.redaction)

    def forget_history(self, page_id: int) -> None:
        """The page's revisions and comments were rebuilt: look them up again."""
        self.current_revision.pop(page_id, None)
        self.comments.pop(page_id, None)


def begin(s: Session) -> StoreCache:
    cache = StoreCache()
    s.info[_KEY] = cache
    return cache


def end(s: Session) -> None:
    s.info.pop(_KEY, None)


def of(s: Session) -> StoreCache | None:
    """The transaction's cache, or None when the caller did not open one (then: query)."""
    return s.info.get(_KEY)
