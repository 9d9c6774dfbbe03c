"""Storage side of `reparse`: which captures to re-derive, their bytes, and the new records.

Raw captures are never touched. A new derivation supersedes the capture's current one (the
earlier ones stay, with their parser version and profile hash), then the affected pages'
revisions and comment histories are rebuilt from the current derivations.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from parsers.records import ParsedPage
from parsers.urls import normalize_url
from storage.archive import add_derivation, is_versioned, rebuild_page_history, thread_dict
from storage.blobs import get_blob
from storage.models import Capture, Derivation, Page, Site


@dataclass
class StoredPayload:
    capture_id: int
    page_id: int
    url: str  # the URL the bytes came from (final URL after redirects)
    headers: list[tuple[str, str]]
    fetched_at: datetime
    payload: bytes
    current: Derivation | None  # the capture's current derivation


def parseable_captures(
    s: Session, *, urls: list[str] | None = None, site: str | None = None, since: datetime | None = None
) -> list[tuple[int, int]]:
    """(capture id, page id) of captures with a stored 2xx payload, oldest first. Raw-redacted
    captures have none (storage.redaction): their redacted records stay as they are."""
    stmt = (
        select(Capture.id, Capture.page_id)
        .where(Capture.blob_digest.is_not(None), Capture.redacted.is_(False), Capture.status >= 200,
               Capture.status < 300, Capture.not_modified.is_(False))
        .order_by(Capture.fetched_at, Capture.id)
    )
    if urls or site:
        stmt = stmt.join(Page, Page.id == Capture.page_id)
    if urls:
        stmt = stmt.where(Page.url.in_([normalize_url(u) for u in urls]))
    if site:
        host = site.lower()
        stmt = stmt.join(Site, Site.id == Page.site_id).where(
            (Site.host == host) | Site.host.like(host + ":%")
        )
    if since is not None:
        stmt = stmt.where(Capture.fetched_at >= since)
    return [(cid, pid) for cid, pid in s.execute(stmt)]


def load_payload(s: Session, capture_id: int) -> StoredPayload:
    cap = s.get(Capture, capture_id)
    assert cap is not None and cap.blob_digest is not None
    current = s.scalar(
        select(Derivation).where(Derivation.capture_id == capture_id, Derivation.current.is_(True))
    )
    return StoredPayload(
        capture_id=cap.id,
        page_id=cap.page_id,
        url=cap.final_url or cap.requested_url,
        headers=[(k, v) for k, v in cap.headers],
        fetched_at=cap.fetched_at,
        payload=get_blob(s, cap.blob_digest),
        current=current,
    )


def same_as_current(current: Derivation | None, parsed: ParsedPage) -> bool:
    """Would storing `parsed` change nothing? (parser, profile, records and thread all equal)"""
    return (
        current is not None
        and current.parser_version == parsed.parser_version
        and current.profile_hash == parsed.profile_hash
        and current.degraded == parsed.degraded
        and current.failed_profile == parsed.failed_profile
        and current.record == parsed.to_dict()
        and current.thread == thread_dict(parsed.thread)
    )


def store_rederivation(s: Session, capture_id: int, parsed: ParsedPage) -> None:
    cap = s.get(Capture, capture_id)
    assert cap is not None
    add_derivation(s, cap, parsed, is_versioned(cap, parsed))


def rebuild_pages(s: Session, page_ids: Iterator[int] | list[int]) -> None:
    for pid in page_ids:
        rebuild_page_history(s, pid)
