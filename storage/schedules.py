"""Schedules and their firings in the archive: the source of truth for every scheduler."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from storage.models import CrawlRun, Schedule, ScheduleFire
from storage.sqlutil import insert_for


class ScheduleNotFound(LookupError):
    pass


def get(s: Session, name: str) -> Schedule:
    row = s.scalar(select(Schedule).where(Schedule.name == name))
    if row is None:
        names = ", ".join(s.scalars(select(Schedule.name).order_by(Schedule.name))) or "none yet"
        raise ScheduleNotFound(f"no schedule named {name!r} (schedules: {names}); `pagetrail schedule add` makes one")
    return row


def put(s: Session, name: str, config: dict[str, Any], now: datetime, *, replace: bool) -> bool:
    """Create, or replace the config of, a schedule. Returns True when it is new."""
    row = s.scalar(select(Schedule).where(Schedule.name == name))
    if row is None:
        s.add(Schedule(name=name, config=config, paused=False, created_at=now))
        return True
    if not replace:
        raise ValueError(f"a schedule named {name!r} exists; remove it first or use `schedule apply`")
    row.config = config
    return False


def all_schedules(s: Session) -> list[Schedule]:
    return list(s.scalars(select(Schedule).order_by(Schedule.name)))


def set_paused(s: Session, name: str, paused: bool) -> None:
    get(s, name).paused = paused


def remove(s: Session, name: str) -> None:
    row = get(s, name)
    s.execute(delete(ScheduleFire).where(ScheduleFire.schedule_id == row.id))
    s.delete(row)


def record_fire(s: Session, schedule_id: int, fire_time: datetime, owner: str, now: datetime) -> bool:
    """Claim this fire time. True for exactly one caller across all machines."""
    inserted = s.scalar(
        insert_for(s, ScheduleFire)
        .values(schedule_id=schedule_id, fire_time=fire_time, fired_at=now, fired_by=owner)
        .on_conflict_do_nothing(index_elements=["schedule_id", "fire_time"])
        .returning(ScheduleFire.id)
    )
    if inserted is None:
        return False
    row = s.get(Schedule, schedule_id)
    assert row is not None
    row.last_fire_at = max(row.last_fire_at, fire_time) if row.last_fire_at else fire_time
    return True


def attach_run(s: Session, schedule_id: int, fire_time: datetime, run_id: int) -> None:
    fire = s.scalar(
        select(ScheduleFire).where(ScheduleFire.schedule_id == schedule_id, ScheduleFire.fire_time == fire_time)
    )
    if fire is not None:
        fire.run_id = run_id
    row = s.get(Schedule, schedule_id)
    if row is not None:
        row.last_run_id = run_id


def last_run(s: Session, schedule: Schedule) -> CrawlRun | None:
    return s.get(CrawlRun, schedule.last_run_id) if schedule.last_run_id else None


def fires(s: Session, schedule_id: int) -> list[ScheduleFire]:
    return list(
        s.scalars(select(ScheduleFire).where(ScheduleFire.schedule_id == schedule_id).order_by(ScheduleFire.fire_time))
    )


def fire(s: Session, name: str, fire_time: datetime, owner: str, now: datetime,
         seeds: list[tuple[str, int, float]]) -> int | None:
    """Claim a fire time and start its run in one transaction: the fire record, the run record
    and the seeds queued (due now) in the schedule's frontier job. None when another machine
    fired it already (or the schedule is gone or paused)."""
    from storage import frontier
    from storage.models import CrawlRun

    row = s.scalar(select(Schedule).where(Schedule.name == name))
    if row is None or row.paused:
        return None
    if not record_fire(s, row.id, fire_time, owner, now):
        return None
    run = CrawlRun(kind=f"schedule:{name}", seeds=[u for u, _, _ in seeds], started_at=now,
                   status="running", stats={"fire_time": fire_time.isoformat()}, owner=owner)
    s.add(run)
    s.flush()
    job_id = frontier.ensure_job(s, f"schedule:{name}", dict(row.config), now)
    frontier.enqueue(s, job_id, seeds, now, force=True, run_id=run.id,
                     max_total=row.config.get("max_pages"))
    attach_run(s, row.id, fire_time, run.id)
    return run.id


def finish_idle_runs(s: Session, now: datetime) -> list[int]:
    """Scheduled runs whose URLs are all fetched (none queued due, none leased) are finished,
    with their figures counted from their captures."""
    from sqlalchemy import func

    from storage.models import Capture, CrawlRun, FrontierEntry

    finished = []
    for run in s.scalars(select(CrawlRun).where(CrawlRun.status == "running", CrawlRun.kind.like("schedule:%"))):
        busy = s.scalar(select(func.count()).select_from(FrontierEntry).where(
            FrontierEntry.run_id == run.id,
            ((FrontierEntry.state == "queued") & (FrontierEntry.next_fetch_at <= now)) | (FrontierEntry.state == "leased")))
        if busy:
            continue
        counts = dict(s.execute(select(Capture.outcome, func.count()).where(Capture.crawl_run_id == run.id)
                                .group_by(Capture.outcome)).all())
        parked = s.scalar(select(func.count()).select_from(FrontierEntry).where(
            FrontierEntry.run_id == run.id, FrontierEntry.state == "parked")) or 0
        run.stats = {**(run.stats or {}), "fetched": sum(counts.values()),
                     "new_revisions": counts.get("new_revision", 0), "unchanged": counts.get("unchanged", 0),
                     "not_modified": counts.get("not_modified", 0), "errors": counts.get("error", 0),
                     "parked": int(parked)}
        run.status, run.finished_at = "finished", now
        finished.append(run.id)
    return finished
