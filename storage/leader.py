"""Leader leases: exactly one holder of a role (the scheduler) at a time, across machines.

The holder renews its lease with heartbeats; a standby takes the role once the lease has
expired. Process death, a lost database connection and a hung process all stop the heartbeat,
so each ends in a takeover within the lease time.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from storage.models import LeaderLease
from storage.sqlutil import insert_ignore


def try_acquire(s: Session, role: str, owner: str, now: datetime, ttl: float) -> bool:
    """Take or renew the role; True when `owner` holds it afterwards."""
    expires = now + timedelta(seconds=ttl)
    insert_ignore(s, LeaderLease, {"role": role, "owner": owner, "expires_at": expires, "acquired_at": now}, ["role"])
    renewed = s.execute(
        update(LeaderLease).where(LeaderLease.role == role, LeaderLease.owner == owner).values(expires_at=expires)
    )
    if renewed.rowcount == 1:
        return True
    # Take over only an expired lease: one conditional UPDATE, so two standbys cannot both win.
    taken = s.execute(
        update(LeaderLease)
        .where(LeaderLease.role == role, LeaderLease.expires_at < now)
        .values(owner=owner, expires_at=expires, acquired_at=now)
    )
    return taken.rowcount == 1


def release(s: Session, role: str, owner: str) -> None:
    s.execute(update(LeaderLease).where(LeaderLease.role == role, LeaderLease.owner == owner)
              .values(expires_at=datetime(2000, 1, 1, tzinfo=timezone.utc)))


def holder(s: Session, role: str) -> LeaderLease | None:
    return s.scalar(select(LeaderLease).where(LeaderLease.role == role))
