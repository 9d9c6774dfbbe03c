"""SQLAlchemy 2 models: the archive's tables. Changing them needs an Alembic migration.

Raw captures are the truth; everything else (derivations, revisions, comments, ads) is derived
from them and can be rebuilt by `reparse`.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Stores naive UTC (portable across SQLite and PostgreSQL), returns aware UTC."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the archive; use UTC-aware datetimes")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc)


# BIGINT on PostgreSQL, INTEGER (the rowid alias) on SQLite.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON, list[Any]: JSON}


class Site(Base):
    __tablename__ = "site"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    host: Mapped[str] = mapped_column(String(255), unique=True)  # host[:port]
    created_at: Mapped[datetime]


class Page(Base):
    __tablename__ = "page"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    url: Mapped[str] = mapped_column(Text, unique=True)  # the normalized requested URL: the key
    # Stable across archives: storage.refs.page_uid(url), set when the page is created. Revision
    # refs "<uid>:<ordinal>" cite it. NOT NULL on SQLite is kept by triggers (migration 0010).
    uid: Mapped[str] = mapped_column(String(20), unique=True, index=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id"), index=True)
    # The page's usual extractor: the profile of its first versioned parse. Only captures
    # parsed by it take part in versioning.
    profile: Mapped[str | None] = mapped_column(String(100))
    first_seen: Mapped[datetime | None]
    last_seen: Mapped[datetime | None]
    gone_at: Mapped[datetime | None]  # set by a 404/410, cleared by the next 2xx
    created_at: Mapped[datetime]


class UrlAlias(Base):
    """Final URLs after redirects and canonical links that resolve to a page."""

    __tablename__ = "url_alias"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    url: Mapped[str] = mapped_column(Text, index=True)
    page_id: Mapped[int] = mapped_column(ForeignKey("page.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # "final" | "canonical"
    first_seen: Mapped[datetime]
    __table_args__ = (UniqueConstraint("url", "page_id", name="uq_alias_url_page"),)


class Blob(Base):
    """A payload stored once per sha256: a keyframe (compressed alone) or a delta of another
    blob (its base), so a page's recaptures cost only what changed. See storage.blobs."""

    __tablename__ = "blob"
    digest: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 hex of the payload
    size: Mapped[int] = mapped_column(BigInteger)  # payload bytes
    stored_size: Mapped[int] = mapped_column(BigInteger)  # bytes in `data`
    codec: Mapped[str] = mapped_column(String(20))  # "identity" | "zstd" | "zstd-delta"
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime]
    # The blob whose payload is this delta's dictionary; null for a keyframe. A foreign key,
    # so a base cannot be deleted while deltas need it (storage.integrity re-bases them first).
    base_digest: Mapped[str | None] = mapped_column(ForeignKey("blob.digest"), index=True)
    depth: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # deltas to a keyframe
    seq: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # place in its page's chain
    is_keyframe: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))
    # 0: written before deltas (storage.relayout re-encodes it), 1: the delta layout.
    layout: Mapped[int] = mapped_column(SmallInteger, default=1, server_default="0")


class CrawlRun(Base):
    __tablename__ = "crawl_run"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))  # "crawl" | "demo" | "schedule:NAME" ...
    seeds: Mapped[list[Any]]
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(20))  # "running" | "finished" | "failed"
    stats: Mapped[dict[str, Any]]
    owner: Mapped[str | None] = mapped_column(String(200))  # host:pid


class Capture(Base):
    """One fetch as it happened, failed ones too."""

    __tablename__ = "capture"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    page_id: Mapped[int] = mapped_column(ForeignKey("page.id"))
    crawl_run_id: Mapped[int | None] = mapped_column(ForeignKey("crawl_run.id"))
    requested_url: Mapped[str] = mapped_column(Text)
    final_url: Mapped[str | None] = mapped_column(Text)
    redirects: Mapped[list[Any]]
    fetched_at: Mapped[datetime]
    status: Mapped[int | None]
    headers: Mapped[list[Any]]
    http_version: Mapped[str | None] = mapped_column(String(20))
    error_kind: Mapped[str | None] = mapped_column(String(40))
    error_message: Mapped[str | None] = mapped_column(Text)
    truncated: Mapped[bool] = mapped_column(Boolean, default=False)
    not_modified: Mapped[bool] = mapped_column(Boolean, default=False)  # a 304
    blob_digest: Mapped[str | None] = mapped_column(ForeignKey("blob.digest"))
    payload_size: Mapped[int | None] = mapped_column(BigInteger)
    elapsed_ms: Mapped[int | None]
    outcome: Mapped[str] = mapped_column(String(20))  # see storage.interface.StoredCapture
    # Raw-redacted (storage.redaction): the payload blob is gone, blob_digest is null and the
    # digest it had is kept here; reparse and raw exports skip such captures.
    redacted: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    redacted_digest: Mapped[str | None] = mapped_column(String(64))
    __table_args__ = (Index("ix_capture_page_time", "page_id", "fetched_at"),)


class Derivation(Base):
    """The records one parser version (and profile) made of one capture."""

    __tablename__ = "derivation"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    capture_id: Mapped[int] = mapped_column(ForeignKey("capture.id"), index=True)
    parser_version: Mapped[str] = mapped_column(String(40))
    profile: Mapped[str] = mapped_column(String(100))
    profile_hash: Mapped[str | None] = mapped_column(String(64))
    schema_version: Mapped[int]
    hash_version: Mapped[int]
    content_hash: Mapped[str | None] = mapped_column(String(80))
    degraded: Mapped[bool] = mapped_column(Boolean, default=False)
    failed_profile: Mapped[str | None] = mapped_column(String(100), index=True)  # when degraded: whose fields failed
    versioned: Mapped[bool] = mapped_column(Boolean, default=False)  # took part in versioning
    current: Mapped[bool] = mapped_column(Boolean, default=True)  # the capture's newest derivation
    thread: Mapped[dict[str, Any]]
    record: Mapped[dict[str, Any]]  # the ParsedPage JSON
    created_at: Mapped[datetime]


class Revision(Base):
    """One unbroken run of versioned captures with the same content hash."""

    __tablename__ = "revision"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    page_id: Mapped[int] = mapped_column(ForeignKey("page.id"))
    ordinal: Mapped[int]
    content_hash: Mapped[str] = mapped_column(String(80))
    first_capture_id: Mapped[int] = mapped_column(ForeignKey("capture.id"))
    last_capture_id: Mapped[int] = mapped_column(ForeignKey("capture.id"))
    derivation_id: Mapped[int] = mapped_column(ForeignKey("derivation.id"))
    first_seen: Mapped[datetime]  # valid from here ...
    valid_to: Mapped[datetime | None]  # ... until the next revision's first capture
    last_seen: Mapped[datetime]  # evidence: the last capture that showed it
    same_as: Mapped[int | None]  # ordinal of the earlier revision it equals (a revert)
    title: Mapped[str | None] = mapped_column(Text)
    modified: Mapped[str | None] = mapped_column(String(40))
    __table_args__ = (
        UniqueConstraint("page_id", "ordinal", name="uq_revision_page_ordinal"),
        # The revision valid at T: a backward walk that stops at its first entry (migration 0009).
        Index("ix_revision_page_first_seen_ordinal", "page_id", "first_seen", "ordinal"),
    )


class Comment(Base):
    __tablename__ = "comment"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    page_id: Mapped[int] = mapped_column(ForeignKey("page.id"))
    key: Mapped[str] = mapped_column(String(200))
    site_comment_id: Mapped[str | None] = mapped_column(String(200))  # the site's own id
    number: Mapped[int | None]
    author: Mapped[str | None] = mapped_column(Text)
    posted: Mapped[str | None] = mapped_column(String(40))
    reply_to: Mapped[str | None] = mapped_column(Text)
    reply_to_key: Mapped[str | None] = mapped_column(String(200))
    first_seen: Mapped[datetime]
    last_seen: Mapped[datetime]
    removed_at: Mapped[datetime | None]
    __table_args__ = (UniqueConstraint("page_id", "key", name="uq_comment_page_key"),)


class CommentVersion(Base):
    """A comment's text as shown from `first_seen`; an edit is a new version, not a removal."""

    __tablename__ = "comment_version"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    comment_id: Mapped[int] = mapped_column(ForeignKey("comment.id"))
    text: Mapped[str] = mapped_column(Text)
    first_seen: Mapped[datetime]
    capture_id: Mapped[int] = mapped_column(ForeignKey("capture.id"))
    # A comment's text at T and a version's end are one seek each (migration 0009).
    __table_args__ = (Index("ix_comment_version_comment_first_seen", "comment_id", "first_seen"),)


class AdObservation(Base):
    __tablename__ = "ad_observation"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    capture_id: Mapped[int] = mapped_column(ForeignKey("capture.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    slot: Mapped[str | None] = mapped_column(Text)
    text: Mapped[str | None] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(Text)


class SearchDoc(Base):
    """One searchable text: a revision (title + body) or a comment version.

    The full-text index over it is the database's own: SQLite FTS5 (the external-content
    table `search_fts`, kept in step by triggers) or a PostgreSQL tsvector column with a GIN
    index. Rows are written in the same transaction as the records they index.
    """

    __tablename__ = "search_doc"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    page_id: Mapped[int] = mapped_column(ForeignKey("page.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))  # "revision" | "comment"
    revision_id: Mapped[int | None] = mapped_column(ForeignKey("revision.id"), index=True)
    comment_version_id: Mapped[int | None] = mapped_column(ForeignKey("comment_version.id"), index=True)
    title: Mapped[str | None] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)


class CrawlJob(Base):
    """What a frontier belongs to: a one-shot crawl (keyed by its seeds and scope) or a schedule."""

    __tablename__ = "crawl_job"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)  # "crawl:<sha>" | "schedule:<name>"
    config: Mapped[dict[str, Any]]  # seeds, scope, allow, deny, max_depth, max_pages
    created_at: Mapped[datetime]


class FrontierEntry(Base):
    """A URL a job will fetch: when, how urgently, and who holds it now."""

    __tablename__ = "frontier"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("crawl_job.id"))
    url: Mapped[str] = mapped_column(Text)  # normalized
    host: Mapped[str] = mapped_column(String(255))
    depth: Mapped[int] = mapped_column(Integer, default=0)
    priority: Mapped[float] = mapped_column(default=0.0)  # higher first
    state: Mapped[str] = mapped_column(String(10))  # "queued" | "leased" | "done" | "parked"
    next_fetch_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(Integer, default=0)  # consecutive failures
    last_outcome: Mapped[str | None] = mapped_column(String(40))
    last_fetched_at: Mapped[datetime | None]
    lease_owner: Mapped[str | None] = mapped_column(String(200))
    lease_expires_at: Mapped[datetime | None]
    etag: Mapped[str | None] = mapped_column(Text)
    last_modified: Mapped[str | None] = mapped_column(Text)
    recrawl_seconds: Mapped[float | None]  # adapted to the page's observed change rate
    run_id: Mapped[int | None] = mapped_column(ForeignKey("crawl_run.id"))  # the run that queued it last
    __table_args__ = (
        UniqueConstraint("job_id", "url", name="uq_frontier_job_url"),
        Index("ix_frontier_due", "state", "next_fetch_at"),
    )


class HostState(Base):
    """Per-host politeness shared by every worker: the next allowed fetch time is claimed
    atomically, so the delay holds across machines."""

    __tablename__ = "host_state"
    host: Mapped[str] = mapped_column(String(255), primary_key=True)
    next_allowed_at: Mapped[datetime]
    crawl_delay: Mapped[float | None]  # from robots.txt
    backoff_until: Mapped[datetime | None]
    failures: Mapped[int] = mapped_column(Integer, default=0)
    robots_status: Mapped[int | None]
    robots_body: Mapped[str | None] = mapped_column(Text)
    robots_expires_at: Mapped[datetime | None]


class Schedule(Base):
    """A crawl that runs by itself: the database is the source of truth for schedules."""

    __tablename__ = "schedule"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    config: Mapped[dict[str, Any]]  # seeds, sitemap, seed_file, cron | every, jitter, scope, ...
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]
    last_fire_at: Mapped[datetime | None]
    last_run_id: Mapped[int | None] = mapped_column(ForeignKey("crawl_run.id"))


class ScheduleFire(Base):
    """One firing of a schedule. Unique per (schedule, fire time): a run fires at most once
    across all machines, whichever scheduler got there first."""

    __tablename__ = "schedule_fire"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    schedule_id: Mapped[int] = mapped_column(ForeignKey("schedule.id"))
    fire_time: Mapped[datetime]
    fired_at: Mapped[datetime]
    fired_by: Mapped[str] = mapped_column(String(200))
    run_id: Mapped[int | None] = mapped_column(ForeignKey("crawl_run.id"))
    __table_args__ = (UniqueConstraint("schedule_id", "fire_time", name="uq_fire_schedule_time"),)


class LeaderLease(Base):
    """Who leads a role (the scheduler): held while heartbeats renew it, taken over once it
    expires. One mechanism on SQLite and PostgreSQL; covers process death, a lost connection
    and a hung process alike (all stop the heartbeat)."""

    __tablename__ = "leader_lease"
    role: Mapped[str] = mapped_column(String(40), primary_key=True)
    owner: Mapped[str] = mapped_column(String(200))
    expires_at: Mapped[datetime]
    acquired_at: Mapped[datetime]


class Redaction(Base):
    """The audit trail of `pagetrail redact`: who removed which personal data, when and why.
    Rows are only ever added (a redaction cannot be undone; its record must outlive it)."""

    __tablename__ = "redaction"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    who: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text)
    target_kind: Mapped[str] = mapped_column(String(20))  # "comment" | "author" | "capture"
    target_value: Mapped[str] = mapped_column(Text)
    scope_url: Mapped[str | None] = mapped_column(Text)  # --url given with --comment
    raw_redacted: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    removed: Mapped[dict[str, Any]]  # counts and the ids of what was removed
