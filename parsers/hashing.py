"""The content hash that decides revisions (DESIGN.md, Revisions).

HASH_FIELDS is the documented, versioned list of what the hash covers. Changing it means a new
HASH_VERSION (stored with every derivation) and a `pagetrail reparse` to recompute history.
Ads, widgets, related links, comments, copyright year ranges and anything a profile marks
volatile stay outside the hash.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Iterable

from parsers.records import ParsedPage

HASH_VERSION = 1
HASH_FIELDS = (
    "title",
    "authors",
    "editors",
    "reviewers",
    "published",
    "modified",
    "paragraphs",
)

_SPACE = re.compile(r"\s+")


def fold(text: str | None) -> str:
    """Unicode NFC and whitespace folding: the normal form every hashed string goes through."""
    if text is None:
        return ""
    return _SPACE.sub(" ", unicodedata.normalize("NFC", text)).strip()


def hashed_fields(page: ParsedPage, volatile: Iterable[str] = ()) -> dict[str, object]:
    """The values the hash covers, folded; fields named in `volatile` are left out."""
    skip = set(volatile)
    md = page.metadata
    values: dict[str, object] = {
        "title": fold(md.title),
        "authors": [fold(a) for a in md.authors],
        "editors": [fold(e) for e in md.editors],
        "reviewers": [fold(r) for r in md.reviewers],
        "published": fold(md.published),
        "modified": fold(md.modified),
        "paragraphs": [p for p in (fold(p) for p in page.body.paragraphs) if p],
    }
    return {k: v for k, v in values.items() if k in HASH_FIELDS and k not in skip}


def content_hash(page: ParsedPage, volatile: Iterable[str] = ()) -> str:
    """sha256 over the canonical JSON of `hashed_fields`, prefixed with the hash version."""
    canonical = json.dumps(hashed_fields(page, volatile), ensure_ascii=False, sort_keys=True)
    return f"v{HASH_VERSION}:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()
