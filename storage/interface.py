"""What the crawler hands to the archive: plain records, no SQL.

The crawler builds a `CaptureIn` for every fetch (failed ones too) and gives it, with the
parsed records if any, to an `ArchiveWriter`. The writer stores the capture, its blob, its
derivation, the versioning bookkeeping and the comment and ad observations in ONE transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from parsers.records import ParsedPage

# The fixed list of fetch error kinds (DESIGN.md, Captures). A capture has at most one.
ERROR_KINDS = (
    "dns",  # the host name did not resolve
    "connect",  # connection refused or reset before a response
    "timeout",  # connect, read or total time limit
    "tls",
    "private_address",  # refused: loopback/private/link-local without permission
    "robots",  # disallowed by robots.txt (nothing was requested)
    "too_many_redirects",
    "redirect_loop",
    "protocol",  # malformed HTTP: bad chunking, bad headers
    "read",  # the connection broke while reading the body
    "decompression",  # a body that does not decode or exceeds the decompression limit
    "invalid_url",
    "other",
)


@dataclass
class CaptureIn:
    """One fetch, as it happened."""

    requested_url: str  # normalized: the page key
    fetched_at: datetime  # UTC, aware
    final_url: str | None = None
    redirects: list[tuple[str, int]] = field(default_factory=list)  # (url, status) per hop
    status: int | None = None
    headers: list[tuple[str, str]] = field(default_factory=list)  # final response's headers
    http_version: str | None = None
    error_kind: str | None = None  # one of ERROR_KINDS
    error_message: str | None = None
    truncated: bool = False
    payload: bytes | None = None  # as the server sent it, content-encoding kept
    elapsed_ms: int | None = None
    crawl_run_id: int | None = None

    def header(self, name: str) -> str | None:
        name = name.lower()
        for k, v in self.headers:
            if k.lower() == name:
                return v
        return None


@dataclass
class StoredCapture:
    """What the archive did with a capture."""

    capture_id: int
    page_id: int
    outcome: str  # "new_revision" | "unchanged" | "not_modified" | "gone" | "error" | "not_versioned"
    revision: int | None = None  # the page's revision ordinal the capture belongs to
    comments_added: int = 0
    comments_removed: int = 0


@dataclass
class Leased:
    """A frontier entry a worker holds (DESIGN.md: leases expire, then are taken again)."""

    id: int
    job_id: int
    url: str
    host: str
    depth: int
    attempts: int
    etag: str | None = None
    last_modified: str | None = None
    recrawl_seconds: float | None = None
    run_id: int | None = None


@dataclass
class FrontierDone:
    """How the fetch of a leased entry ended; applied in the capture's transaction."""

    entry_id: int
    owner: str
    outcome: str  # the capture's outcome or error kind
    next_fetch_at: datetime | None  # None: done for this job (one-shot crawls)
    failed: bool = False
    park: bool = False  # too many failures, or a long back-off: stop trying, report it
    etag: str | None = None
    last_modified: str | None = None
    recrawl_seconds: float | None = None
    # Whether the page changed is known only when the capture is stored (same content hash or
    # not): the interval to use instead when it turns out unchanged, applied in that transaction.
    unchanged_recrawl_seconds: float | None = None


class LeaseLost(Exception):
    """A capture was handed in for a frontier entry its worker no longer holds (the lease ran
    out and another worker, or another pass, took the URL; or it was given back). Nothing was
    stored: whoever holds the entry now stores it, so each lease stores at most one capture."""

    def __init__(self, entry_id: int, owner: str) -> None:
        super().__init__(f"frontier entry {entry_id} is no longer leased by {owner}; its capture was not stored")
        self.entry_id, self.owner = entry_id, owner


# (normalized URL, depth, priority) of a discovered link
Discovered = tuple[str, int, float]


class ArchiveWriter(Protocol):
    def store_capture(
        self,
        capture: CaptureIn,
        parsed: ParsedPage | None,
        *,
        done: FrontierDone | None = None,
        discovered: list[Discovered] | None = None,
        job_id: int | None = None,
    ) -> StoredCapture: ...

    def start_run(self, kind: str, seeds: list[str]) -> int: ...

    def finish_run(self, run_id: int, stats: dict[str, int], status: str = "finished") -> None: ...


class FrontierStore(ArchiveWriter, Protocol):
    """The durable frontier as the crawler sees it (storage.archive.Archive implements it)."""

    def ensure_job(self, key: str, config: dict[str, Any]) -> int: ...

    def enqueue(self, job_id: int, urls: list[Discovered], *, force: bool = False,
                run_id: int | None = None, max_total: int | None = None) -> int: ...

    def lease(self, owner: str, limit: int, *, job_id: int | None = None,
              hosts_held: list[str] | None = None, held_margin: float = 2.0) -> list[Leased]: ...

    def give_back(self, owner: str, entry_ids: list[int]) -> int: ...

    def unfinished(self, job_id: int, *, due_only: bool = False) -> int: ...

    def release(self, owner: str) -> int: ...

    def finish_entry(self, done: FrontierDone) -> bool: ...

    def claim_host(self, host: str) -> datetime | None: ...

    def claim_host_held(self, host: str, token: datetime | None = None) -> tuple[datetime | None, datetime | None]: ...

    def host_done(self, host: str, delay: float, *, ended_at: datetime | None = None,
                  token: datetime | None = None) -> None: ...

    def robots_cached(self, host: str) -> tuple[int | None, str | None, datetime] | None: ...

    def save_robots(self, host: str, status: int | None, body: str | None, expires_at: datetime,
                    crawl_delay: float | None) -> None: ...

    def renew(self, owner: str, entry_ids: list[int]) -> None: ...
