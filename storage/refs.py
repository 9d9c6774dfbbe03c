"""Stable, citable ids: a page's uid and a revision's ref "<page_uid>:<ordinal>".

A page's numeric id is an accident of the archive it lives in: import the same captures into
another archive (`pagetrail import-warc`) and the page gets another id. Its uid is derived
from its key alone (the normalized requested URL, DESIGN.md "Pages and URLs"), so every archive
that holds the page gives it the same uid, and a revision's ref (uid + per-page ordinal)
survives export and import.

Migration 0010_page_uid fills the uid of pages created before it with a copy of `page_uid`
(migrations never import this code); tests check the two agree.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

# 20 hex digits = 80 bits of sha256. Two pages' uids collide with probability about
# n^2 / 2^81: at 10^8 pages that is ~4e-9 (80 bits), where 64 bits (16 hex) would give ~3e-4 and
# 48 bits (12 hex) a near-certain collision (~18 expected pairs). A collision is not silent (the
# column is unique: the second page could not be stored), so it has to be out of reach; 20 hex
# digits keep a ref short enough to quote in a paper ("9c1f0e2d4b6a8c0e1f2a:3").
UID_HEX_DIGITS = 20

_REF = re.compile(rf"^([0-9a-f]{{{UID_HEX_DIGITS}}}):([1-9][0-9]*)$")


def page_uid(key_url: str) -> str:
    """The uid of the page keyed by `key_url` (already normalized: the page's `url` column)."""
    return hashlib.sha256(key_url.encode("utf-8")).hexdigest()[:UID_HEX_DIGITS]


def revision_ref(uid: str, ordinal: int) -> str:
    return f"{uid}:{ordinal}"


@dataclass(frozen=True)
class RevisionRef:
    """A revision named by its stable ref: its page's uid and its ordinal within the page."""

    uid: str
    ordinal: int

    def __str__(self) -> str:
        return revision_ref(self.uid, self.ordinal)


def parse_ref(text: str) -> RevisionRef | None:
    """'<page_uid>:<ordinal>' (case-insensitive hex) as a RevisionRef, else None."""
    m = _REF.match(text.strip().lower())
    return RevisionRef(m.group(1), int(m.group(2))) if m else None
