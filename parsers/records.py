"""The records a parser produces: the ParsedPage contract of DESIGN.md as dataclasses.

`ParsedPage.to_dict()` is the ParsedPage JSON (validated by `parsers/schema/parsedpage.schema.json`);
`ParsedPage.from_dict()` reads it back. Fields outside the JSON contract (`thread`) are carried
as attributes and stored by the archive beside the JSON.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

SCHEMA_VERSION = 1

AD_KINDS = ("ad", "sponsored", "recommendation", "widget", "newsletter", "social")


@dataclass
class Metadata:
    title: str | None = None
    authors: list[str] = field(default_factory=list)
    editors: list[str] = field(default_factory=list)
    reviewers: list[str] = field(default_factory=list)
    published: str | None = None  # ISO 8601 date or UTC datetime with Z
    modified: str | None = None
    last_reviewed: str | None = None
    publisher: str | None = None
    copyright: str | None = None
    canonical_url: str | None = None
    language: str | None = None
    description: str | None = None
    category: str | None = None
    # field name -> where its value came from, e.g. "profile:css", "json-ld", "og", "meta", "byline"
    sources: dict[str, str] = field(default_factory=dict)


@dataclass
class Body:
    text: str = ""
    paragraphs: list[str] = field(default_factory=list)
    html: str = ""  # sanitized: no scripts, styles or event attributes


@dataclass
class Ad:
    kind: str  # one of AD_KINDS
    slot: str | None = None
    text: str | None = None
    url: str | None = None


@dataclass
class Related:
    title: str
    url: str | None = None


@dataclass
class Comment:
    id: str | None  # the site's own id, e.g. "post_2409871"
    key: str  # id, else number, else a hash of author + text
    number: int | None = None
    author: str | None = None
    posted: str | None = None  # ISO 8601 UTC with Z
    text: str = ""
    reply_to: str | None = None  # the name written after "@"
    reply_to_key: str | None = None


@dataclass
class ThreadInfo:
    """What part of the comment thread this capture shows (not in the JSON contract).

    The archive marks a stored comment removed only when `parsed_cleanly` is true and the
    comment falls inside what this capture shows: the whole thread when `complete`, else the
    post numbers from `first_number` to `last_number` (inclusive, in either order).
    """

    present: bool = False  # the page has a comment section at all
    parsed_cleanly: bool = False
    complete: bool = False
    first_number: int | None = None
    last_number: int | None = None

    def shows(self, number: int | None) -> bool:
        if not self.parsed_cleanly:
            return False
        if self.complete:
            return True
        if number is None or self.first_number is None or self.last_number is None:
            return False
        lo, hi = sorted((self.first_number, self.last_number))
        return lo <= number <= hi


@dataclass
class ParsedPage:
    url: str
    profile: str  # profile name, or "generic"
    parser_version: str
    metadata: Metadata = field(default_factory=Metadata)
    body: Body = field(default_factory=Body)
    ads: list[Ad] = field(default_factory=list)
    related: list[Related] = field(default_factory=list)
    comments: list[Comment] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    schema_version: int = SCHEMA_VERSION
    thread: ThreadInfo = field(default_factory=ThreadInfo)
    # True when a site profile was chosen but its required fields failed and generic
    # extraction filled in: such a parse does not take part in versioning.
    degraded: bool = False
    profile_hash: str | None = None
    # Hashed fields the profile marks volatile: left out of the content hash.
    volatile: list[str] = field(default_factory=list)
    # The profile whose required fields failed, when `degraded`.
    failed_profile: str | None = None
    # Absolute http(s) links on the page, in document order (for discovery; not stored).
    links: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The ParsedPage JSON of DESIGN.md (exactly its keys, in its order)."""
        return {
            "schema_version": self.schema_version,
            "url": self.url,
            "profile": self.profile,
            "parser_version": self.parser_version,
            "warnings": list(self.warnings),
            "metadata": asdict(self.metadata),
            "body": asdict(self.body),
            "ads": [asdict(a) for a in self.ads],
            "related": [asdict(r) for r in self.related],
            "comments": [asdict(c) for c in self.comments],
        }

    @classmethod
    def from_dict(
        cls,
        data: dict[str, Any],
        *,
        thread: ThreadInfo | None = None,
        degraded: bool = False,
        profile_hash: str | None = None,
        volatile: list[str] | None = None,
        failed_profile: str | None = None,
    ) -> "ParsedPage":
        return cls(
            url=data["url"],
            profile=data["profile"],
            parser_version=data["parser_version"],
            metadata=Metadata(**data.get("metadata", {})),
            body=Body(**data.get("body", {})),
            ads=[Ad(**a) for a in data.get("ads", [])],
            related=[Related(**r) for r in data.get("related", [])],
            comments=[Comment(**c) for c in data.get("comments", [])],
            warnings=list(data.get("warnings", [])),
            schema_version=data.get("schema_version", SCHEMA_VERSION),
            thread=thread or ThreadInfo(),
            degraded=degraded,
            profile_hash=profile_hash,
            volatile=list(volatile or []),
            failed_profile=failed_profile,
        )
