"""Storage side of WARC out and in (pagetrail.warcfiles writes and reads the WARC files).

Out: `iter_captures` streams captures in capture-time order with their payloads restored
through storage.blobs (deltas undone, digests checked) and their current derivation's
ParsedPage JSON, in keyset-paginated batches: memory stays constant whatever the archive size,
and no cursor is held open across a long write.

(The session is one snapshot, as for the dataset exports.)

In: `store_new_capture` stores an imported capture through the archive's unit of work unless
the archive already holds the same capture, checked in the same transaction. A capture's
identity is (page, fetched_at, status, payload sha256 — or error kind when there is no
response): two imports of one file, or of two WARC exports of one archive, add nothing, and
no column or migration is needed (the (page_id, fetched_at) index answers the check).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, and_, or_, select
from sqlalchemy.orm import Session, sessionmaker

from parsers.records import ParsedPage
from parsers.urls import normalize_url
from storage.archive import Archive, page_for_url, store_capture_in
from storage.blobs import BlobCorrupt, get_blob, sha256_hex
from storage.exports import _site_condition, begin_snapshot
from storage.interface import CaptureIn, StoredCapture
from storage.models import Blob, Capture, Derivation, Page, Site


@dataclass
class CaptureOut:
    """One stored capture as a WARC writer needs it."""

    id: int
    page_url: str  # the page key (the normalized requested URL)
    requested_url: str
    final_url: str | None
    redirects: list[tuple[str, int]]
    fetched_at: datetime
    status: int | None
    headers: list[tuple[str, str]]
    http_version: str | None
    error_kind: str | None
    error_message: str | None
    truncated: bool
    not_modified: bool
    elapsed_ms: int | None
    blob_digest: str | None  # sha256 hex; for a 304, the blob it confirms
    payload: bytes | None  # the blob's bytes as the server sent them; None if none or unreadable
    payload_problem: str | None  # why a named blob could not be restored (redacted, damaged)
    record: dict[str, Any] | None  # the current derivation's ParsedPage JSON


def iter_captures(
    engine: Engine,
    *,
    site: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    batch: int = 100,
) -> Iterator[CaptureOut]:
    """Captures with start <= fetched_at <= end (each bound optional), oldest first (ties by
    id), payloads restored: one consistent snapshot of the archive (a crawl may be committing
    meanwhile), read in keyset batches with the session cleared after each, so memory stays
    flat. On SQLite pass a read-only engine (storage.db.open_engine(..., read_only=True)) so the
    export never holds the write lock."""
    sessions = sessionmaker(engine)
    last: tuple[datetime, int] | None = None
    with sessions() as s:
        begin_snapshot(s)
        while True:
            stmt = (
                select(Capture, Page.url, Derivation.record)
                .join(Page, Page.id == Capture.page_id)
                .outerjoin(Derivation, (Derivation.capture_id == Capture.id) & Derivation.current.is_(True))
                .order_by(Capture.fetched_at, Capture.id)
                .limit(batch)
            )
            if site:  # a host alone matches it on any port, as in the dataset exports
                stmt = stmt.join(Site, Site.id == Page.site_id).where(_site_condition(site))
            if start is not None:
                stmt = stmt.where(Capture.fetched_at >= start)
            if end is not None:
                stmt = stmt.where(Capture.fetched_at <= end)
            if last is not None:  # keyset pagination: after the last row of the previous batch
                stmt = stmt.where(or_(Capture.fetched_at > last[0],
                                      and_(Capture.fetched_at == last[0], Capture.id > last[1])))
            rows = s.execute(stmt).all()
            if not rows:
                return
            last = (rows[-1][0].fetched_at, rows[-1][0].id)
            batch_out = [_capture_out(s, cap, url, record) for cap, url, record in rows]
            s.expunge_all()  # nothing of this batch stays in the session's identity map
            yield from batch_out
            if len(rows) < batch:
                return


def _capture_out(s: Session, cap: Capture, page_url: str, record: dict[str, Any] | None) -> CaptureOut:
    payload = problem = None
    if cap.redacted:  # `pagetrail redact --raw`: the bytes are gone on purpose
        problem = f"the payload (sha256 {cap.redacted_digest}) was redacted from the archive"
    elif cap.blob_digest is not None:
        try:
            payload = get_blob(s, cap.blob_digest)
        except BlobCorrupt as exc:  # redacted or damaged: the export says so instead of failing
            problem = str(exc)
    return CaptureOut(
        id=cap.id,
        page_url=page_url,
        requested_url=cap.requested_url,
        final_url=cap.final_url,
        redirects=[(u, int(st)) for u, st in cap.redirects or []],
        fetched_at=cap.fetched_at,
        status=cap.status,
        headers=[(k, v) for k, v in cap.headers or []],
        http_version=cap.http_version,
        error_kind=cap.error_kind,
        error_message=cap.error_message,
        truncated=bool(cap.truncated),
        not_modified=bool(cap.not_modified),
        elapsed_ms=cap.elapsed_ms,
        blob_digest=cap.blob_digest,
        payload=payload,
        payload_problem=problem,
        record=record,
    )


# ---- import --------------------------------------------------------------------------------
def _same_capture(s: Session, page_id: int, capture: CaptureIn) -> bool:
    stmt = select(Capture.id).where(
        Capture.page_id == page_id,
        Capture.fetched_at == capture.fetched_at,
        Capture.status.is_not_distinct_from(capture.status),
    )
    if capture.status is None:  # no response: the error is what was captured
        stmt = stmt.where(Capture.error_kind.is_not_distinct_from(capture.error_kind))
    elif capture.status != 304:  # a 304's blob is the one it confirms, not its own bytes
        digest = sha256_hex(capture.payload) if capture.payload is not None else None
        stmt = stmt.where(Capture.blob_digest.is_not_distinct_from(digest))
    return s.scalar(stmt.limit(1)) is not None


def capture_known(archive: Archive, capture: CaptureIn) -> bool:
    """Does the archive hold this capture already? (a cheap look before parsing)"""
    with archive.sessions() as s:
        page_id = s.scalar(select(Page.id).where(Page.url == normalize_url(capture.requested_url)))
        return page_id is not None and _same_capture(s, page_id, capture)


def store_new_capture(archive: Archive, capture: CaptureIn, parsed: ParsedPage | None) -> StoredCapture | None:
    """Store an imported capture with everything derived from it (one transaction, as
    Archive.store_capture does), or return None when the archive holds it already. The page
    row is locked before the check, so two concurrent imports of one file store it once."""
    with archive.sessions.begin() as s:
        page = page_for_url(s, normalize_url(capture.requested_url), capture.fetched_at)
        if _same_capture(s, page.id, capture):
            return None
        return store_capture_in(s, capture, parsed)


def stored_payload(archive: Archive, digest: str) -> bytes | None:
    """A payload by its sha256 hex digest, if the archive holds it (a revisit record whose
    original is not in the files being imported may name a payload archived earlier)."""
    with archive.sessions() as s:
        if s.scalar(select(Blob.digest).where(Blob.digest == digest)) is None:
            return None
        try:
            return get_blob(s, digest)
        except BlobCorrupt:
            return None
