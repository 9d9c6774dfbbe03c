"""The archive's write side: the unit of work that stores one capture with everything derived.

`Archive.store_capture` takes a capture and its parsed records and, in ONE transaction, stores
the blob, the capture, the derivation, URL aliases, ad observations, the revision bookkeeping
and the comment histories. A crash at any point leaves either all of it or none of it.

Versioning rules (DESIGN.md, Revisions and Comments):
- only complete 2xx captures whose parse was not degraded take part ("versioned");
- a revision is an unbroken run of versioned captures with one content hash; content that
  returns to an earlier state starts a new revision naming the one it equals (`same_as`);
- a 304 extends the current revision; a 404/410 marks the page gone; 5xx and fetch errors
  change nothing;
- a comment is removed only when a versioned capture's thread parsed cleanly and shows the
  range the comment falls in; a changed text is a new version of the same comment.
"""

from __future__ import annotations

import os
import socket
import weakref
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import Engine, delete, func, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from parsers.hashing import HASH_VERSION, content_hash, fold
from parsers.records import ParsedPage, ThreadInfo
from parsers.urls import InvalidURL, host_of, normalize_url
from storage import faults, frontier, redaction, search
from storage.blobs import delta_hints, put_blob
from storage import prefetch, txcache
from storage.refs import page_uid
from storage.sqlutil import insert_for, insert_ignore
from storage.interface import CaptureIn, Discovered, FrontierDone, LeaseLost, Leased, StoredCapture
from storage.models import (
    AdObservation,
    Capture,
    Comment,
    CommentVersion,
    CrawlRun,
    Derivation,
    Page,
    Redaction,
    Revision,
    SearchDoc,
    Site,
    UrlAlias,
)


# PostgreSQL's deadlock_detected and serialization_failure: the transaction was rolled back
# whole, and trying it again is safe.
_RETRYABLE = ("40P01", "40001")
_DEADLOCK_RETRIES = 3


def _short(value: str | None, limit: int = 40) -> str | None:
    """Dates are ISO strings; a parser bug must not make PostgreSQL reject the whole capture."""
    return value[:limit] if value else value


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def is_versioned(capture: CaptureIn | Capture, parsed: ParsedPage | None) -> bool:
    """Does this capture take part in versioning? (DESIGN.md, Revisions)"""
    return (
        parsed is not None
        and not parsed.degraded
        and capture.status is not None
        and 200 <= capture.status < 300
        and not capture.truncated
        and capture.error_kind is None
    )


class Archive:
    """The archive on one database. Thread-safe: each call opens its own session."""

    def __init__(self, engine: Engine, *, lease_seconds: float = frontier.LEASE_SECONDS) -> None:
        self.engine = engine
        self.sessions = sessionmaker(engine, expire_on_commit=False)
        self.lease_seconds = lease_seconds

    # ---- crawl runs -------------------------------------------------------------------
    def start_run(self, kind: str, seeds: list[str]) -> int:
        with self.sessions.begin() as s:
            run = CrawlRun(
                kind=kind,
                seeds=list(seeds),
                started_at=utcnow(),
                status="running",
                stats={},
                owner=f"{socket.gethostname()}:{os.getpid()}",
            )
            s.add(run)
            s.flush()
            return run.id

    def finish_run(self, run_id: int, stats: dict[str, int], status: str = "finished") -> None:
        with self.sessions.begin() as s:
            s.execute(
                update(CrawlRun)
                .where(CrawlRun.id == run_id)
                .values(finished_at=utcnow(), status=status, stats=dict(stats))
            )

    # ---- the unit of work -------------------------------------------------------------
    def store_capture(
        self,
        capture: CaptureIn,
        parsed: ParsedPage | None,
        *,
        done: FrontierDone | None = None,
        discovered: list[Discovered] | None = None,
        job_id: int | None = None,
        max_total: int | None = None,
    ) -> StoredCapture:
        """Store the capture with everything derived from it, advance its frontier entry and
        queue the links it revealed: one transaction, all or nothing. With `done`, only while
        its owner still holds the entry's lease: else LeaseLost, and nothing is stored."""
        extra = {"done": done, "discovered": discovered, "job_id": job_id, "max_total": max_total}
        (result,) = self._store_capture_batch([(capture, parsed, extra)])
        if isinstance(result, LeaseLost):
            raise result  # nothing was stored
        return result

    def store_capture_batch(
        self, items: Sequence[tuple[CaptureIn, ParsedPage | None, dict[str, Any]]]
    ) -> list[StoredCapture | LeaseLost]:
        """`store_capture` for several captures at once, in ONE transaction: each item is
        (capture, parsed, the keyword arguments store_capture takes: done=, discovered=,
        job_id=, max_total=). An item whose lease its owner no longer holds gets LeaseLost
        and stores nothing; every other item is stored, its frontier entry advanced and its
        links queued, all or nothing together. The crawl's writer stores what queued up while
        it was busy this way: the transaction's fixed costs (begin, commit, lookups, one
        INSERT per table) are paid once per batch instead of once per page.

        On PostgreSQL a batch that the server rolls back as a deadlock victim (two workers'
        batches meeting on rows in different orders: a rare interleaving is left after the
        orderings of hold_leases, prefetch.warm and txcache.flush) is stored again: nothing of
        it was written."""
        for attempt in range(1, _DEADLOCK_RETRIES + 1):
            try:
                return self._store_capture_batch(items)
            except DBAPIError as exc:
                if attempt == _DEADLOCK_RETRIES or getattr(exc.orig, "sqlstate", None) not in _RETRYABLE:
                    raise
        raise AssertionError("unreachable")

    def _store_capture_batch(
        self, items: Sequence[tuple[CaptureIn, ParsedPage | None, dict[str, Any]]]
    ) -> list[StoredCapture | LeaseLost]:
        faults.checkpoint("store:begin")
        results: list[StoredCapture | LeaseLost | None] = [None] * len(items)
        with self.sessions.begin() as s:
            dones = [extra.get("done") for _c, _p, extra in items]
            held = frontier.hold_leases(s, [d for d in dones if d is not None])
            keep = []
            for i, done in enumerate(dones):
                if done is not None and done.entry_id not in held:
                    results[i] = LeaseLost(done.entry_id, done.owner)
                else:
                    keep.append(i)
                    if done is not None:  # finished by this capture: a lease stores one capture
                        held.discard(done.entry_id)
            if keep:
                txcache.begin(s, expected_rows=len(keep))
                if len(keep) > 1:  # a few set-wise queries for all the batch's pages
                    prefetch.warm(s, [items[i][0] for i in keep])
                with s.no_autoflush:  # the pages' changes go with the cache's flush
                    for i in keep:
                        results[i] = store_capture_in(s, items[i][0], items[i][1])
                txcache.flush(s)
                for i in keep:
                    capture, stored, extra = items[i][0], results[i], items[i][2]
                    assert isinstance(stored, StoredCapture)
                    if dones[i] is not None:
                        frontier.finish(s, dones[i], capture.fetched_at, stored.outcome)
                    if extra.get("discovered") and extra.get("job_id") is not None:
                        frontier.enqueue(s, extra["job_id"], extra["discovered"], capture.fetched_at,
                                         run_id=capture.crawl_run_id, max_total=extra.get("max_total"))
            faults.checkpoint("store:before_commit")
        faults.checkpoint("store:after_commit")
        assert all(r is not None for r in results)
        return results  # type: ignore[return-value]

    def store_captures(self, items: Iterable[tuple[CaptureIn, ParsedPage | None]]) -> list[StoredCapture]:
        """Store many captures, in the order given, in ONE transaction (all or nothing): the
        same unit of work as `store_capture` for each, with what the transaction learned kept
        between them (pages, their latest payload and revision, comments). For bulk loads
        (imports, benchmarks): a crawl stores each capture as it comes, with its frontier
        update. Feed captures in time order: one arriving before an already stored capture of
        its page replays that page's history (correct, but slow)."""
        items = list(items)
        faults.checkpoint("store:begin")
        with self.sessions.begin() as s:
            txcache.begin(s, expected_rows=len(items))
            prefetch.warm(s, [capture for capture, _ in items])  # a few queries for all the pages
            with s.no_autoflush:  # the pages' changes go with the cache's flush
                results = [store_capture_in(s, capture, parsed) for capture, parsed in items]
            txcache.flush(s)  # the batch's rows: one executemany per table
            faults.checkpoint("store:before_commit")
        faults.checkpoint("store:after_commit")
        return results

    # ---- the durable frontier (storage.frontier, each call its own transaction) ---------
    def ensure_job(self, key: str, config: dict[str, Any]) -> int:
        with self.sessions.begin() as s:
            return frontier.ensure_job(s, key, config, utcnow())

    def enqueue(self, job_id: int, urls: list[Discovered], *, force: bool = False,
                run_id: int | None = None, max_total: int | None = None) -> int:
        with self.sessions.begin() as s:
            return frontier.enqueue(s, job_id, urls, utcnow(), force=force, run_id=run_id, max_total=max_total)

    def lease(self, owner: str, limit: int, *, job_id: int | None = None,
              hosts_held: list[str] | None = None, held_margin: float = 2.0) -> list[Leased]:
        """hosts_held (not None: a worker among several that keeps hosts): skip the URLs of
        hosts someone else holds, i.e. claimed for more than held_margin seconds from now
        (longer than a politeness delay: storage.frontier.lease)."""
        now = utcnow()
        held_after = None if hosts_held is None else now + timedelta(seconds=held_margin)
        with self.sessions.begin() as s:
            return frontier.lease(s, owner, now, limit, job_id=job_id, lease_seconds=self.lease_seconds,
                                  hosts_held=hosts_held, held_after=held_after)

    def give_back(self, owner: str, entry_ids: list[int]) -> int:
        with self.sessions.begin() as s:
            return frontier.give_back(s, owner, entry_ids)

    def unfinished(self, job_id: int, *, due_only: bool = False) -> int:
        with self.sessions() as s:
            return frontier.unfinished(s, job_id, utcnow(), due_only=due_only)

    def job_id(self, key: str) -> int | None:
        from storage.models import CrawlJob

        with self.sessions() as s:
            return s.scalar(select(CrawlJob.id).where(CrawlJob.key == key))

    def release(self, owner: str) -> int:
        with self.sessions.begin() as s:
            return frontier.release(s, owner)

    def claim_host(self, host: str) -> datetime | None:
        """Take the right to start a request to `host` now (None), or learn when to ask again."""
        with self.sessions.begin() as s:
            # held while the request is in flight, no longer than a lease: a worker that dies
            # mid-fetch blocks its host no longer than it blocks its URL
            return frontier.claim_host(s, host, utcnow(), hold=self.lease_seconds)

    def claim_host_held(self, host: str, token: datetime | None = None) -> tuple[datetime | None, datetime | None]:
        """claim_host for a worker that keeps the host between its own requests: (token, None)
        when claimed, else (None, when to ask again). storage.frontier.claim_host_held."""
        with self.sessions.begin() as s:
            return frontier.claim_host_held(s, host, utcnow(), hold=self.lease_seconds, token=token)

    def host_done(self, host: str, delay: float, *, ended_at: datetime | None = None,
                  token: datetime | None = None) -> None:
        """The response ended (at ended_at, default now): the host opens `delay` later. With
        the claim's token, only if the host still holds it."""
        with self.sessions.begin() as s:
            frontier.host_done(s, host, ended_at or utcnow(), delay, token=token)

    def robots_cached(self, host: str) -> tuple[int | None, str | None, datetime] | None:
        with self.sessions() as s:
            return frontier.robots_cached(s, host, utcnow())

    def save_robots(self, host: str, status: int | None, body: str | None, expires_at: datetime,
                    crawl_delay: float | None) -> None:
        with self.sessions.begin() as s:
            frontier.save_robots(s, host, utcnow(), status, body, expires_at, crawl_delay)

    def finish_entry(self, done: FrontierDone) -> bool:
        """Advance a frontier entry that ended without a capture (parked before any request)."""
        with self.sessions.begin() as s:
            return frontier.finish(s, done, utcnow())

    def job_config(self, job_id: int) -> dict[str, Any]:
        from storage.models import CrawlJob

        with self.sessions() as s:
            job = s.get(CrawlJob, job_id)
            return dict(job.config) if job else {}

    # ---- schedules and the scheduler leader (storage.schedules, storage.leader) ----------
    def schedule_configs(self) -> dict[str, tuple[dict[str, Any], bool, datetime | None, datetime]]:
        """name -> (config, paused, last fire time, created_at)."""
        from storage import schedules

        with self.sessions() as s:
            return {r.name: (dict(r.config), r.paused, r.last_fire_at, r.created_at) for r in schedules.all_schedules(s)}

    def fire_schedule(self, name: str, fire_time: datetime, owner: str, seeds: list[Discovered]) -> int | None:
        from storage import schedules

        with self.sessions.begin() as s:
            return schedules.fire(s, name, fire_time, owner, utcnow(), seeds)

    def finish_idle_runs(self) -> list[int]:
        from storage import schedules

        with self.sessions.begin() as s:
            return schedules.finish_idle_runs(s, utcnow())

    def lead(self, role: str, owner: str, ttl: float) -> bool:
        from storage import leader

        with self.sessions.begin() as s:
            return leader.try_acquire(s, role, owner, utcnow(), ttl)

    def resign(self, role: str, owner: str) -> None:
        from storage import leader

        with self.sessions.begin() as s:
            leader.release(s, role, owner)

    def renew(self, owner: str, entry_ids: list[int]) -> None:
        with self.sessions.begin() as s:
            frontier.renew(s, owner, entry_ids, utcnow(), self.lease_seconds)


def _site_for(s: Session, host: str, now: datetime) -> int:
    cache = txcache.of(s)
    if cache is not None and host in cache.sites:
        return cache.sites[host]
    site_id = s.scalar(select(Site.id).where(Site.host == host))
    if site_id is None:
        insert_ignore(s, Site, {"host": host, "created_at": now}, ["host"])
        site_id = s.scalar(select(Site.id).where(Site.host == host))
    assert site_id is not None
    if cache is not None:
        cache.sites[host] = site_id
    return site_id


def page_for_url(s: Session, url: str, now: datetime) -> Page:
    """The page keyed by this (normalized) requested URL, created if new, locked for update."""
    cache = txcache.of(s)
    if cache is not None and url in cache.pages:
        return cache.pages[url]  # locked already: the lock is held until this transaction ends
    page = s.scalar(select(Page).where(Page.url == url).with_for_update())
    created = False
    if page is None:
        site_id = _site_for(s, host_of(url), now)
        created = s.connection().execute(
            insert_for(s, Page).values(url=url, uid=page_uid(url), site_id=site_id, created_at=now)
            .on_conflict_do_nothing(index_elements=["url"])
        ).rowcount == 1
        page = s.scalar(select(Page).where(Page.url == url).with_for_update())
    assert page is not None
    if cache is not None:
        cache.pages[url] = page
        cache.aliases.add((page.id, url))
        if created:  # nothing to look up about a page this transaction just created
            cache.new_page(page.id)
    return page


def _add_alias(s: Session, page_id: int, url: str | None, kind: str, now: datetime) -> None:
    if not url:
        return
    try:
        url = prefetch.normalized_url(url)
    except InvalidURL:
        return
    cache = txcache.of(s)
    if cache is not None and (page_id, url) in cache.aliases:
        return  # the page's own key, or an alias this transaction has seen
    if s.scalar(select(Page.id).where(Page.id == page_id, Page.url == url)) is not None:
        return
    exists = s.scalar(select(UrlAlias.id).where(UrlAlias.url == url, UrlAlias.page_id == page_id))
    if exists is None:
        insert_ignore(
            s,
            UrlAlias,
            {"url": url, "page_id": page_id, "kind": kind, "first_seen": now},
            ["url", "page_id"],
        )
    if cache is not None:
        cache.aliases.add((page_id, url))


def thread_dict(t: ThreadInfo) -> dict[str, Any]:
    return {
        "present": t.present,
        "parsed_cleanly": t.parsed_cleanly,
        "complete": t.complete,
        "first_number": t.first_number,
        "last_number": t.last_number,
    }


def thread_from_dict(d: dict[str, Any] | None) -> ThreadInfo:
    return ThreadInfo(**d) if d else ThreadInfo()


@dataclass(frozen=True)
class CaptureRef:
    """What versioning needs of a capture (an ORM Capture has the same attributes)."""

    id: int
    fetched_at: datetime


@dataclass(frozen=True)
class DerivationRef:
    """What versioning needs of a derivation (an ORM Derivation has the same attributes)."""

    id: int
    content_hash: str | None


# ParsedPage -> (its record dict, its content hash by volatile list): a bulk load (an import,
# the scale bench) hands the same record object for every recapture whose content did not
# change, so its JSON and hash are made once. Keyed by identity, dropped when the record is
# (records are not changed after parsing: redaction makes a new one).
_RECORDS: dict[int, tuple[weakref.ref[ParsedPage], dict[str, Any], dict[tuple[str, ...], str]]] = {}


def _record_parts(parsed: ParsedPage) -> tuple[dict[str, Any], dict[tuple[str, ...], str]]:
    key = id(parsed)
    hit = _RECORDS.get(key)
    if hit is not None and hit[0]() is parsed:
        return hit[1], hit[2]
    record = parsed.to_dict()
    hashes: dict[tuple[str, ...], str] = {}
    _RECORDS[key] = (weakref.ref(parsed, lambda _ref, key=key: _RECORDS.pop(key, None)), record, hashes)
    return record, hashes


def _content_hash(parsed: ParsedPage, hashes: dict[tuple[str, ...], str]) -> str:
    volatile = tuple(parsed.volatile)
    h = hashes.get(volatile)
    if h is None:
        h = hashes[volatile] = content_hash(parsed, parsed.volatile)
    return h


def add_derivation(
    s: Session, cap: Capture | CaptureRef | int, parsed: ParsedPage, versioned: bool, *, new_capture: bool = False
) -> DerivationRef:
    """The capture's newest derivation. new_capture: the capture was stored just now, so it
    has no earlier derivation to mark no longer current."""
    capture_id = cap if isinstance(cap, int) else cap.id
    with txcache.scope(s) as cache:
        if not new_capture:
            cache.flush(s)
            s.execute(update(Derivation).where(Derivation.capture_id == capture_id).values(current=False))
            # the capture's ads are what its current derivation saw: a re-derivation replaces them
            s.execute(delete(AdObservation).where(AdObservation.capture_id == capture_id))
        record, hashes = _record_parts(parsed)
        deriv = DerivationRef(cache.next_id(s, Derivation), _content_hash(parsed, hashes) if versioned else None)
        cache.add(Derivation, {
            "id": deriv.id,
            "capture_id": capture_id,
            "parser_version": parsed.parser_version,
            "profile": parsed.profile,
            "profile_hash": parsed.profile_hash,
            "schema_version": parsed.schema_version,
            "hash_version": HASH_VERSION,
            "content_hash": deriv.content_hash,
            "degraded": parsed.degraded,
            "failed_profile": parsed.failed_profile,
            "versioned": versioned,
            "current": True,
            "thread": thread_dict(parsed.thread),
            "record": record,
            "created_at": utcnow(),
        })
        for ad in parsed.ads:  # nothing reads these rows back in the unit of work
            cache.add(AdObservation, {"capture_id": capture_id, "kind": ad.kind, "slot": ad.slot,
                                      "text": ad.text, "url": ad.url})
    return deriv


def store_capture_in(s: Session, capture: CaptureIn, parsed: ParsedPage | None) -> StoredCapture:
    """The unit of work's body, inside the caller's transaction (rows are written by the
    transaction cache's flush: storage.txcache)."""
    with txcache.scope(s) as cache:
        return _store_capture_in(s, cache, capture, parsed)


def _store_capture_in(
    s: Session, cache: txcache.StoreCache, capture: CaptureIn, parsed: ParsedPage | None
) -> StoredCapture:
    now = capture.fetched_at
    url = prefetch.normalized_url(capture.requested_url)
    page = page_for_url(s, url, now)
    if parsed is not None and _any_redactions(s):  # standing redactions: a recrawl never brings
        cache.flush(s)
        parsed = redaction.apply_rules(s, page.id, parsed)  # a redacted comment back

    digest = None
    if capture.payload is not None:
        # stored relative to the page's previous payload (or, its first, another page's)
        base, sibling = delta_hints(s, page.id, page.site_id)
        digest = put_blob(s, capture.payload, base_digest=base, sibling_digest=sibling)
        if capture.status is not None and 200 <= capture.status < 300:
            cache.site_payload[page.site_id] = digest  # the next new page of the site's sibling
        faults.checkpoint("store:after_blob")

    not_modified = capture.status == 304
    if not_modified:
        # A 304 confirms the bytes of the page's latest stored 2xx capture.
        cache.flush(s)
        digest = s.scalar(
            select(Capture.blob_digest)
            .where(
                Capture.page_id == page.id,
                Capture.blob_digest.is_not(None),
                Capture.status >= 200,
                Capture.status < 300,
            )
            .order_by(Capture.fetched_at.desc(), Capture.id.desc())
            .limit(1)
        )
    if now is None:
        raise ValueError("a capture needs its fetched_at time (UTC)")
    cap = CaptureRef(cache.next_id(s, Capture), now)
    cap_row: dict[str, Any] = {
        "id": cap.id,
        "page_id": page.id,
        "crawl_run_id": capture.crawl_run_id,
        "requested_url": capture.requested_url,
        "final_url": capture.final_url,
        "redirects": [[u, st] for u, st in capture.redirects],
        "fetched_at": now,
        "status": capture.status,
        "headers": [[k, v] for k, v in capture.headers],
        "http_version": capture.http_version,
        "error_kind": capture.error_kind,
        "error_message": capture.error_message,
        "truncated": capture.truncated,
        "not_modified": not_modified,
        "blob_digest": digest,
        "payload_size": len(capture.payload) if capture.payload is not None else None,
        "elapsed_ms": capture.elapsed_ms,
        "outcome": "error",
        "redacted": False,
        "redacted_digest": None,
    }
    cache.add(Capture, cap_row)
    epoch = cache.epoch
    faults.checkpoint("store:after_capture")
    if digest is not None:
        _note_payload(s, page.id, now, cap.id, digest)

    if capture.final_url and capture.redirects:
        _add_alias(s, page.id, capture.final_url, "final", now)

    versioned = is_versioned(capture, parsed)
    result = StoredCapture(capture_id=cap.id, page_id=page.id, outcome="error")
    if parsed is not None:
        deriv = add_derivation(s, cap, parsed, versioned, new_capture=True)
        if parsed.metadata.canonical_url and not parsed.degraded:
            _add_alias(s, page.id, parsed.metadata.canonical_url, "canonical", now)
        faults.checkpoint("store:after_derivation")
        if versioned:
            if _later_versioned(s, page.id, cap.id, now):
                # An older capture arriving late (e.g. a WARC import): replay the history.
                rebuild_page_history(s, page.id)
                cache.flush(s)
                rev = s.scalar(
                    select(Revision.ordinal)
                    .where(Revision.page_id == page.id, Revision.first_seen <= now)
                    .order_by(Revision.ordinal.desc())
                    .limit(1)
                )
                result = StoredCapture(cap.id, page.id, "unchanged", rev)
            else:
                result = advance_history(s, page, cap, deriv, parsed)
        else:
            result.outcome = "not_versioned"
    if not_modified:
        result = _extend_current(s, page, cap)
    elif capture.status in (404, 410):
        if page.gone_at is None:
            page.gone_at = now
        result.outcome = "gone"
    elif capture.status is not None and 200 <= capture.status < 300:
        if parsed is None:  # archived as bytes only (not HTML, or nothing to parse)
            result.outcome = "not_versioned"
        if capture.error_kind is None:
            page.gone_at = None
    if capture.status is not None and capture.error_kind is None:
        page.first_seen = min(page.first_seen, now) if page.first_seen else now
        page.last_seen = max(page.last_seen, now) if page.last_seen else now
    if cache.epoch == epoch:
        cap_row["outcome"] = result.outcome  # still queued
    else:  # written already (a replayed history flushed it)
        s.execute(update(Capture).where(Capture.id == cap.id).values(outcome=result.outcome))
    faults.checkpoint("store:after_versioning")
    return result


def _any_redactions(s: Session) -> bool:
    """Has anything ever been redacted? (asked once per storing transaction: almost never)"""
    cache = txcache.of(s)
    if cache is None:
        return True  # let apply_rules look
    if cache.any_redactions is None:
        cache.any_redactions = s.scalar(select(Redaction.id).limit(1)) is not None
    return cache.any_redactions


def _note_payload(s: Session, page_id: int, at: datetime, capture_id: int, digest: str) -> None:
    """Keep the transaction's idea of the page's latest payload (the next one's delta base)."""
    cache = txcache.of(s)
    if cache is None:
        return
    latest = cache.latest_blob.get(page_id, txcache.UNKNOWN)
    if latest is not txcache.UNKNOWN and (latest is None or (at, capture_id) >= latest[:2]):
        cache.latest_blob[page_id] = (at, capture_id, digest)


def _later_versioned(s: Session, page_id: int, capture_id: int, at: datetime) -> bool:
    """Does the page have a versioned capture after `at` (this one arrived late)?"""
    cache = txcache.of(s)
    if cache is None or page_id not in cache.latest_versioned:
        txcache.flush(s)
        latest = s.scalar(
            select(func.max(Capture.fetched_at))
            .join(Derivation, Derivation.capture_id == Capture.id)
            .where(
                Capture.page_id == page_id,
                Capture.id != capture_id,
                Derivation.current.is_(True),
                Derivation.versioned.is_(True),
            )
        )
    else:
        latest = cache.latest_versioned[page_id]
    if cache is not None:  # this capture is versioned now too
        cache.latest_versioned[page_id] = at if latest is None else max(latest, at)
    return latest is not None and latest > at


def _current_revision(s: Session, cache: txcache.StoreCache, page_id: int) -> txcache.RevisionRow | None:
    """The page's highest-ordinal revision."""
    if page_id in cache.current_revision:
        return cache.current_revision[page_id]
    cache.flush(s)
    row = s.execute(
        select(Revision.__table__).where(Revision.page_id == page_id).order_by(Revision.ordinal.desc()).limit(1)
    ).first()
    cur = txcache.RevisionRow(**row._mapping) if row is not None else None
    cache.current_revision[page_id] = cur
    return cur


def _revision_hashes(s: Session, cache: txcache.StoreCache, page_id: int) -> dict[str, int]:
    """{content hash: highest ordinal with it} of the page's revisions (a revert's same_as)."""
    hashes = cache.revision_hashes.get(page_id)
    if hashes is None:
        cache.flush(s)
        hashes = cache.revision_hashes[page_id] = {
            h: o for h, o in s.execute(
                select(Revision.content_hash, func.max(Revision.ordinal))
                .where(Revision.page_id == page_id)
                .group_by(Revision.content_hash)
            )
        }
    return hashes


def _extend_current(s: Session, page: Page, cap: Capture | CaptureRef) -> StoredCapture:
    with txcache.scope(s) as cache:
        cur = _current_revision(s, cache, page.id)
        if cur is not None and cap.fetched_at >= cur.last_seen:
            cur.last_seen = cap.fetched_at
            cur.last_capture_id = cap.id
            cache.touch(cur)
    return StoredCapture(cap.id, page.id, "not_modified", cur.ordinal if cur else None)


def advance_history(
    s: Session, page: Page, cap: Capture | CaptureRef, deriv: Derivation | DerivationRef, parsed: ParsedPage
) -> StoredCapture:
    """Apply one versioned capture, in time order, to the page's revisions and comments."""
    with txcache.scope(s) as cache:
        return _advance_history(s, cache, page, cap, deriv, parsed)


def _advance_history(
    s: Session, cache: txcache.StoreCache, page: Page, cap: Capture | CaptureRef,
    deriv: Derivation | DerivationRef, parsed: ParsedPage,
) -> StoredCapture:
    if page.profile != parsed.profile:
        page.profile = parsed.profile
    h = deriv.content_hash
    assert h is not None
    at = cap.fetched_at
    cur = _current_revision(s, cache, page.id)
    if cur is not None and cur.content_hash == h:
        cur.last_seen = max(cur.last_seen, at)
        cur.last_capture_id = cap.id
        cache.touch(cur)
        outcome, ordinal = "unchanged", cur.ordinal
    else:
        hashes = _revision_hashes(s, cache, page.id)
        same_as = hashes.get(h)
        ordinal = cur.ordinal + 1 if cur is not None else 1
        if cur is not None:
            cur.valid_to = at
            cache.touch(cur)
        rev = txcache.RevisionRow(
            id=cache.next_id(s, Revision),
            page_id=page.id,
            ordinal=ordinal,
            content_hash=h,
            first_capture_id=cap.id,
            last_capture_id=cap.id,
            derivation_id=deriv.id,
            first_seen=at,
            valid_to=None,
            last_seen=at,
            same_as=same_as,
            title=parsed.metadata.title,
            modified=_short(parsed.metadata.modified),
        )
        cache.add_row(rev)
        cache.current_revision[page.id] = rev
        hashes[h] = ordinal
        # the row storage.search.index_revision writes, queued with the rest
        cache.add(SearchDoc, {"page_id": page.id, "kind": "revision", "revision_id": rev.id,
                              "comment_version_id": None, "title": parsed.metadata.title,
                              "text": parsed.body.text})
        outcome = "new_revision"
    added, removed = _observe_comments(s, cache, page.id, cap, parsed)
    return StoredCapture(cap.id, page.id, outcome, ordinal, added, removed)


def _observe_comments(
    s: Session, cache: txcache.StoreCache, page_id: int, cap: Capture | CaptureRef, parsed: ParsedPage
) -> tuple[int, int]:
    at = cap.fetched_at
    rows, latest_text = _page_comments(s, cache, page_id)
    existing = list(rows.items())  # comments added below are in `seen`, never removed here
    added = removed = 0
    seen: set[str] = set()
    for c in parsed.comments:
        if c.key in seen:
            continue
        seen.add(c.key)
        row = rows.get(c.key)
        if row is None:
            row = txcache.CommentRow(
                id=cache.next_id(s, Comment),
                page_id=page_id,
                key=c.key,
                site_comment_id=c.id,
                number=c.number,
                author=c.author,
                posted=_short(c.posted),
                reply_to=c.reply_to,
                reply_to_key=c.reply_to_key,
                first_seen=at,
                last_seen=at,
                removed_at=None,
            )
            cache.add_row(row)
            rows[c.key] = row
            _add_comment_version(s, cache, page_id, row, c.text, at, cap.id)
            latest_text[row.id] = c.text
            added += 1
            continue
        # shown again: not removed (a moderator may restore a post)
        values = (max(row.last_seen, at), None, c.number if c.number is not None else row.number,
                  c.author or row.author, c.reply_to_key or row.reply_to_key)
        if values != (row.last_seen, row.removed_at, row.number, row.author, row.reply_to_key):
            row.last_seen, row.removed_at, row.number, row.author, row.reply_to_key = values
            cache.touch(row)
        if fold(latest_text.get(row.id)) != fold(c.text):
            _add_comment_version(s, cache, page_id, row, c.text, at, cap.id)
            latest_text[row.id] = c.text
    thread = parsed.thread
    for key, row in existing:
        if key in seen or row.removed_at is not None:
            continue
        if thread.shows(row.number):
            row.removed_at = at
            cache.touch(row)
            removed += 1
    return added, removed


def _page_comments(
    s: Session, cache: txcache.StoreCache, page_id: int
) -> tuple[dict[str, txcache.CommentRow], dict[int, str]]:
    """The page's comments by key and each one's newest text. Within a transaction, the same
    (mutable) dicts every time: the caller keeps them in step."""
    if page_id in cache.comments:
        return cache.comments[page_id]
    cache.flush(s)
    rows = {
        r.key: txcache.CommentRow(**r._mapping)
        for r in s.execute(select(Comment.__table__).where(Comment.page_id == page_id))
    }
    latest_text: dict[int, str] = {}
    if rows:
        for cid, text in s.execute(
            select(CommentVersion.comment_id, CommentVersion.text)
            .join(Comment, Comment.id == CommentVersion.comment_id)
            .where(Comment.page_id == page_id)
            .order_by(CommentVersion.first_seen, CommentVersion.id)
        ):
            latest_text[cid] = text  # the last one wins: the newest version
    cache.comments[page_id] = (rows, latest_text)
    return rows, latest_text


def _add_comment_version(
    s: Session, cache: txcache.StoreCache, page_id: int, comment: txcache.CommentRow, text: str,
    at: datetime, capture_id: int,
) -> None:
    version_id = cache.next_id(s, CommentVersion)
    cache.add(CommentVersion, {"id": version_id, "comment_id": comment.id, "text": text, "first_seen": at,
                               "capture_id": capture_id})
    if text != redaction.REDACTED:  # a redacted comment leaves nothing to find
        # the row storage.search.index_comment_version writes, queued with the rest
        cache.add(SearchDoc, {"page_id": page_id, "kind": "comment", "revision_id": None,
                              "comment_version_id": version_id, "title": comment.author, "text": text})


def rebuild_page_history(s: Session, page_id: int) -> None:
    """Recompute a page's revisions and comments from its current derivations, in time order.

    Used when captures arrive out of order and by `reparse`. Raw captures and derivations are
    untouched; revisions and comment histories are derived data.
    """
    with txcache.scope(s) as cache:
        cache.flush(s)  # the rows below are read back, and those deleted must be written first
        cache.forget_history(page_id)
        search.unindex_page(s, page_id)
        comment_ids = select(Comment.id).where(Comment.page_id == page_id)
        s.execute(delete(CommentVersion).where(CommentVersion.comment_id.in_(comment_ids)))
        s.execute(delete(Comment).where(Comment.page_id == page_id))
        s.execute(delete(Revision).where(Revision.page_id == page_id))
        s.flush()
        page = s.get(Page, page_id)
        assert page is not None
        rows = s.execute(
            select(Capture, Derivation)
            .outerjoin(
                Derivation, (Derivation.capture_id == Capture.id) & Derivation.current.is_(True)
            )
            .where(Capture.page_id == page_id)
            .order_by(Capture.fetched_at, Capture.id)
        ).all()
        page.gone_at = None
        for cap, deriv in rows:
            if cap.not_modified:
                _extend_current(s, page, cap)
                continue
            if cap.status in (404, 410):
                page.gone_at = page.gone_at or cap.fetched_at
                continue
            if deriv is None or not deriv.versioned:
                continue
            page.gone_at = None
            parsed = ParsedPage.from_dict(
                deriv.record,
                thread=thread_from_dict(deriv.thread),
                degraded=deriv.degraded,
                profile_hash=deriv.profile_hash,
            )
            outcome = _advance_history(s, cache, page, cap, deriv, parsed)
            cap.outcome = outcome.outcome


def page_ids_for(s: Session, urls: Iterable[str]) -> list[int]:
    out = []
    for u in urls:
        pid = s.scalar(select(Page.id).where(Page.url == normalize_url(u)))
        if pid is not None:
            out.append(pid)
    return out
