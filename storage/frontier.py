"""The durable frontier: URLs to fetch per job, leases, and per-host politeness state.

Workers take work by lease (PostgreSQL: SELECT ... FOR UPDATE SKIP LOCKED, so workers on many
machines never take the same URL; SQLite: one writer at a time does the same). A lease that
expires (its worker died) is taken again. Finishing an entry happens inside the capture's unit
of work, so storing a capture and advancing its frontier entry are one transaction.

Per-host politeness across workers: `claim_host` atomically moves a host's next allowed time
forward only if it has passed, so at most one worker starts a request to a host at a time,
and `host_done` sets the next allowed time from the END of the response. A worker keeps the
hosts it fetches (`claim_host_held`: the claim's hold is its token, extended while it has URLs
of the host) and leases skip the URLs of hosts held elsewhere, so each host is fetched by one
worker at a time with no archive round trip between its requests.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from parsers.urls import host_of
from storage.interface import FrontierDone, Leased
from storage.models import CrawlJob, FrontierEntry, HostState
from storage.sqlutil import insert_ignore

__all__ = ["FrontierDone", "Leased"]

LEASE_SECONDS = 60  # a dead worker's URLs come back within this
# How long a claimed host stays closed while its request is in flight (a worker that dies
# mid-fetch blocks its host no longer than this).
IN_FLIGHT_SECONDS = 120


def job_key(kind: str, config: dict[str, Any]) -> str:
    digest = hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()[:24]
    return f"{kind}:{digest}"


def ensure_job(s: Session, key: str, config: dict[str, Any], now: datetime) -> int:
    job_id = s.scalar(select(CrawlJob.id).where(CrawlJob.key == key))
    if job_id is None:
        insert_ignore(s, CrawlJob, [{"key": key, "config": config, "created_at": now}], ["key"])
        job_id = s.scalar(select(CrawlJob.id).where(CrawlJob.key == key))
    assert job_id is not None
    return job_id


def enqueue(
    s: Session,
    job_id: int,
    urls: list[tuple[str, int, float]],  # (normalized url, depth, priority)
    now: datetime,
    *,
    force: bool = False,
    run_id: int | None = None,
    max_total: int | None = None,
) -> int:
    """Queue URLs never queued for this job; returns how many were new. With force (seeds),
    URLs already known are made due now again unless a live lease holds them. max_total caps
    the job's entries (a crawl's --max-pages)."""
    if not urls:
        return 0
    known = set(
        s.scalars(
            select(FrontierEntry.url).where(
                FrontierEntry.job_id == job_id, FrontierEntry.url.in_([u for u, _, _ in urls])
            )
        )
    )
    first: dict[str, tuple[int, float]] = {}
    for u, d, p in urls:  # one row per URL even when the batch repeats one
        first.setdefault(u, (d, p))
    fresh = [
        {
            "job_id": job_id, "url": u, "host": host_of(u), "depth": d, "priority": p,
            "state": "queued", "next_fetch_at": now, "attempts": 0, "run_id": run_id,
        }
        for u, (d, p) in first.items()
        if u not in known
    ]
    if max_total is not None:
        have = int(s.scalar(select(func.count()).select_from(FrontierEntry).where(FrontierEntry.job_id == job_id)) or 0)
        fresh = fresh[: max(0, max_total - have)]
    insert_ignore(s, FrontierEntry, fresh, ["job_id", "url"])
    if force and known:
        s.execute(
            update(FrontierEntry)
            .where(
                FrontierEntry.job_id == job_id,
                FrontierEntry.url.in_(known),
                (FrontierEntry.state != "leased") | (FrontierEntry.lease_expires_at < now),
            )
            .values(state="queued", next_fetch_at=now, attempts=0, run_id=run_id)
        )
    return len(fresh)


def lease(
    s: Session,
    owner: str,
    now: datetime,
    limit: int,
    *,
    job_id: int | None = None,
    lease_seconds: float = LEASE_SECONDS,
    hosts_held: Collection[str] | None = None,
    held_after: datetime | None = None,
) -> list[Leased]:
    """Take up to `limit` due entries (or expired leases), highest priority first.

    With `held_after` (several workers, each keeping the hosts it fetches: claim_host_held),
    skip the URLs of hosts held by someone else: a host whose claim holds it past `held_after`
    and is not among `hosts_held` (the caller's own). The holder takes them; another worker
    would only wait for the host. A host in its politeness delay is not held: anyone may take
    its URLs."""
    due = (
        (FrontierEntry.state == "queued") & (FrontierEntry.next_fetch_at <= now)
    ) | ((FrontierEntry.state == "leased") & (FrontierEntry.lease_expires_at < now))
    stmt = select(FrontierEntry).where(due)
    if job_id is not None:
        stmt = stmt.where(FrontierEntry.job_id == job_id)
    if held_after is not None:
        elsewhere = select(HostState.host).where(HostState.next_allowed_at > held_after)
        if hosts_held:
            elsewhere = elsewhere.where(HostState.host.not_in(list(hosts_held)))
        stmt = stmt.where(FrontierEntry.host.not_in(elsewhere))
    stmt = stmt.order_by(
        FrontierEntry.priority.desc(), FrontierEntry.next_fetch_at, FrontierEntry.id
    ).limit(limit)
    if s.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True, of=FrontierEntry)
    rows = s.scalars(stmt).all()
    expires = now + timedelta(seconds=lease_seconds)
    out = []
    for r in rows:
        r.state, r.lease_owner, r.lease_expires_at = "leased", owner, expires
        out.append(
            Leased(r.id, r.job_id, r.url, r.host, r.depth, r.attempts, r.etag, r.last_modified,
                   r.recrawl_seconds, r.run_id)
        )
    return out


def _unlocked(s: Session, where: Any) -> Any:
    """The WHERE clause of an UPDATE of several entries, narrowed (PostgreSQL) to the rows no
    other transaction holds, locked here in id order."""
    if s.get_bind().dialect.name != "postgresql":
        return where  # SQLite: one writer at a time, no row locks
    stmt = select(FrontierEntry.id).where(where).order_by(FrontierEntry.id)
    ids = list(s.scalars(stmt.with_for_update(skip_locked=True)))
    return FrontierEntry.id.in_(ids) & where


def renew(s: Session, owner: str, entry_ids: list[int], now: datetime, lease_seconds: float = LEASE_SECONDS) -> None:
    if entry_ids:
        s.execute(
            update(FrontierEntry)
            # A locked entry is being stored by the owner's writer (a batch of captures holds
            # its entries until it commits: nobody can take them meanwhile) or taken by another
            # worker's lease (it expired): either way not one to wait for. An UPDATE waited
            # behind the batch store (and, locking rows in scan order, dead-locked with it),
            # and the leases of the captures queued after that batch ran out.
            .where(_unlocked(s, FrontierEntry.id.in_(entry_ids) & (FrontierEntry.lease_owner == owner)))
            .values(lease_expires_at=now + timedelta(seconds=lease_seconds))
        )


def hold_leases(s: Session, dones: list[FrontierDone]) -> set[int]:
    """Lock the entries for this transaction and say which ones their `owner` still holds
    (an expired lease nobody took since is still held): the ids. A capture's unit of work
    asks this first and stores nothing for the others, so storing is exactly-once per lease
    whatever happened meanwhile (a lease that ran out while the capture waited behind a lost
    connection and was taken by another worker or pass, a pass that gave its leases back).
    Rows are locked on PostgreSQL, in id order. The entries are loaded whole, so
    `finish` in the same transaction finds them without another query."""
    if not dones:
        return set()
    ids = sorted({d.entry_id for d in dones})
    stmt = select(FrontierEntry).where(FrontierEntry.id.in_(ids)).order_by(FrontierEntry.id)
    if s.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()  # a concurrent lease() skips the rows until we end
    rows = {e.id: (e.state, e.lease_owner) for e in s.scalars(stmt)}
    return {d.entry_id for d in dones if rows.get(d.entry_id) == ("leased", d.owner)}


def finish(s: Session, done: FrontierDone, now: datetime, stored_outcome: str | None = None) -> bool:
    """Apply a fetch's end to its entry; False when the lease was lost to another worker
    (a capture's unit of work asks hold_leases first and stores nothing then). `stored_outcome`
    (the capture's versioning outcome) picks the recrawl interval for an unchanged page."""
    if (done.unchanged_recrawl_seconds is not None and done.recrawl_seconds is not None
            and done.next_fetch_at is not None and stored_outcome in ("unchanged", "not_modified")):
        base = done.next_fetch_at - timedelta(seconds=done.recrawl_seconds)
        done = replace(done, recrawl_seconds=done.unchanged_recrawl_seconds,
                       next_fetch_at=base + timedelta(seconds=done.unchanged_recrawl_seconds))
    entry = s.get(FrontierEntry, done.entry_id)
    if entry is None or (entry.lease_owner != done.owner and entry.state == "leased"):
        return False
    entry.last_outcome = done.outcome
    entry.last_fetched_at = now
    entry.lease_owner = None
    entry.lease_expires_at = None
    entry.attempts = entry.attempts + 1 if done.failed else 0
    entry.etag = done.etag or entry.etag
    entry.last_modified = done.last_modified or entry.last_modified
    if done.recrawl_seconds is not None:
        entry.recrawl_seconds = done.recrawl_seconds
    if done.park:
        entry.state = "parked"
    elif done.next_fetch_at is None:
        entry.state = "done"
    else:
        entry.state = "queued"
        entry.next_fetch_at = done.next_fetch_at
    return True


def give_back(s: Session, owner: str, entry_ids: list[int]) -> int:
    """Give back some of `owner`'s leases untouched (due again at once; no attempt counted):
    URLs it will not fetch after all (their host is another worker's)."""
    if not entry_ids:
        return 0
    result = s.execute(
        update(FrontierEntry)
        .where(FrontierEntry.id.in_(entry_ids), FrontierEntry.lease_owner == owner,
               FrontierEntry.state == "leased")
        .values(state="queued", lease_owner=None, lease_expires_at=None)
    )
    return result.rowcount or 0


def release(s: Session, owner: str) -> int:
    """Give back every lease of `owner` (a graceful stop): due again at once."""
    result = s.execute(
        update(FrontierEntry)
        .where(FrontierEntry.lease_owner == owner, FrontierEntry.state == "leased")
        .values(state="queued", lease_owner=None, lease_expires_at=None)
    )
    return result.rowcount or 0


def counts(s: Session, now: datetime, job_id: int | None = None) -> dict[str, int]:
    cond = [] if job_id is None else [FrontierEntry.job_id == job_id]

    def n(*where: Any) -> int:
        return int(s.scalar(select(func.count()).select_from(FrontierEntry).where(*cond, *where)) or 0)

    return {
        "due": n(FrontierEntry.state == "queued", FrontierEntry.next_fetch_at <= now),
        "scheduled": n(FrontierEntry.state == "queued", FrontierEntry.next_fetch_at > now),
        "leased": n(FrontierEntry.state == "leased"),
        "done": n(FrontierEntry.state == "done"),
        "parked": n(FrontierEntry.state == "parked"),
    }


def unfinished(s: Session, job_id: int, now: datetime, *, due_only: bool = False) -> int:
    """Entries of a job still to fetch: queued or leased (live or expired). One-shot crawls
    park what they would wait long for, so this drains; a scheduled run (due_only) is done when
    nothing is due now, whatever is queued for later recrawls."""
    queued = FrontierEntry.state == "queued"
    if due_only:
        queued = queued & (FrontierEntry.next_fetch_at <= now)
    return int(
        s.scalar(
            select(func.count())
            .select_from(FrontierEntry)
            .where(FrontierEntry.job_id == job_id, queued | (FrontierEntry.state == "leased"))
        )
        or 0
    )


# ---- per-host politeness -------------------------------------------------------------------

def claim_host(s: Session, host: str, now: datetime, hold: float = IN_FLIGHT_SECONDS) -> datetime | None:
    """Try to take the right to start a request to `host` now. Returns None when claimed,
    else the time the host is next allowed (someone else is fetching, or the delay runs)."""
    insert_ignore(s, HostState, [{"host": host, "next_allowed_at": now, "failures": 0}], ["host"])
    result = s.execute(
        update(HostState)
        .where(HostState.host == host, HostState.next_allowed_at <= now)
        .where((HostState.backoff_until.is_(None)) | (HostState.backoff_until <= now))
        .values(next_allowed_at=now + timedelta(seconds=hold))
    )
    if result.rowcount == 1:
        return None
    state = s.get(HostState, host)
    assert state is not None
    return max(state.next_allowed_at, state.backoff_until or state.next_allowed_at)


def claim_host_held(s: Session, host: str, now: datetime, hold: float = IN_FLIGHT_SECONDS,
                    token: datetime | None = None) -> tuple[datetime | None, datetime | None]:
    """Like claim_host, for a worker that keeps a host between its own requests: (token, None)
    when claimed, else (None, the time the host is next allowed).

    The token is the hold time this claim wrote (microseconds, so no other claim writes the
    same). A worker with more URLs of the host lined up need not open the host in between:
    its next claim passes its token and succeeds while the host still holds that value, i.e.
    nobody claimed it since (others cannot while the hold runs; if it ran out and another
    worker claimed the host, the value changed and the token no longer opens it). The delay
    between the worker's own requests is kept by the worker (crawler.politeness.HostSlots).
    One UPDATE per request in the common case (claim_host's insert, update and read: three)."""
    until = now + timedelta(seconds=hold)
    open_now = (HostState.backoff_until.is_(None)) | (HostState.backoff_until <= now)
    free = HostState.next_allowed_at <= now
    if token is not None:
        free = free | (HostState.next_allowed_at == token)
    stmt = update(HostState).where(HostState.host == host, free, open_now).values(next_allowed_at=until)
    if s.execute(stmt).rowcount == 1:
        return until, None
    row = s.execute(select(HostState.next_allowed_at, HostState.backoff_until).where(HostState.host == host)).first()
    if row is None:  # a host never seen: make its row, then claim it as anyone would
        insert_ignore(s, HostState, [{"host": host, "next_allowed_at": now, "failures": 0}], ["host"])
        if s.execute(stmt).rowcount == 1:
            return until, None
        row = s.execute(select(HostState.next_allowed_at, HostState.backoff_until)
                        .where(HostState.host == host)).one()
    next_allowed, backoff = row
    return None, max(next_allowed, backoff or next_allowed)


def host_done(s: Session, host: str, ended_at: datetime, delay: float, *, backoff_until: datetime | None = None,
              failed: bool = False, token: datetime | None = None) -> None:
    """The response ended: the host opens again `delay` seconds from now (or after a back-off).
    With the token of the claim (claim_host_held), only if the host still holds it: a worker
    whose hold ran out (it hung) must not reopen a host another worker has claimed since."""
    if token is not None:
        s.execute(update(HostState).where(HostState.host == host, HostState.next_allowed_at == token)
                  .values(next_allowed_at=ended_at + timedelta(seconds=delay), backoff_until=backoff_until,
                          failures=HostState.failures + 1 if failed else 0))
        return
    state = s.get(HostState, host)
    if state is None:
        return
    state.next_allowed_at = ended_at + timedelta(seconds=delay)
    state.backoff_until = backoff_until
    state.failures = state.failures + 1 if failed else 0


def robots_cached(s: Session, host: str, now: datetime) -> tuple[int | None, str | None, datetime] | None:
    """The host's robots.txt answer saved by any worker, while it is still fresh:
    (status or None when unreachable, body, expires_at)."""
    state = s.get(HostState, host)
    if state is None or state.robots_expires_at is None or state.robots_expires_at <= now:
        return None
    return state.robots_status, state.robots_body, state.robots_expires_at


def save_robots(s: Session, host: str, now: datetime, status: int | None, body: str | None,
                expires_at: datetime, crawl_delay: float | None) -> None:
    insert_ignore(s, HostState, [{"host": host, "next_allowed_at": now, "failures": 0}], ["host"])
    s.execute(update(HostState).where(HostState.host == host).values(
        robots_status=status, robots_body=body, robots_expires_at=expires_at, crawl_delay=crawl_delay))


def host_states(s: Session) -> list[HostState]:
    return list(s.scalars(select(HostState).order_by(HostState.host)))
