"""The scheduler: APScheduler fires the runs, its jobs built from the archive's schedules table.

Only the leader schedules. Every instance heartbeats a leader lease (storage.leader); the one
holding it runs an APScheduler BackgroundScheduler, the others wait and take over within
`lease_ttl` seconds of the leader's death, a lost connection or a hang.

Choices (see crawler/schedules.py): jobs use coalesce=True and max_instances=1 (a backlog of
missed fires runs once), misfire_grace_time from the schedule (default 1 h). On becoming
leader, the latest fire time missed since the schedule last fired runs once if it is within
the grace, so a restart neither repeats runs nor loses the last one. A fire is recorded under
a unique (schedule, fire time): even two leaders by accident could not fire a run twice.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta, timezone
from typing import Any, Protocol

from apscheduler.schedulers.background import BackgroundScheduler

from crawler.asyncrun import run_async
from crawler.fetcher import Fetcher
from crawler.robots import Robots
from crawler.schedules import ScheduleError, ScheduleSpec, parse_duration
from crawler.settings import FetchSettings
from crawler.sitemaps import priority, read_sitemaps
from storage.interface import Discovered

log = logging.getLogger("pagetrail.scheduler")


class ScheduleStore(Protocol):
    def schedule_configs(self) -> dict[str, tuple[dict[str, Any], bool, datetime | None, datetime]]: ...

    def fire_schedule(self, name: str, fire_time: datetime, owner: str, seeds: list[Discovered]) -> int | None: ...

    def finish_idle_runs(self) -> list[int]: ...

    def lead(self, role: str, owner: str, ttl: float) -> bool: ...

    def resign(self, role: str, owner: str) -> None: ...


def seeds_of(spec: ScheduleSpec, fetch: FetchSettings) -> list[Discovered]:
    """The URLs a run starts from: seeds, a seed file, the given sitemap's pages and those of the
    sitemaps the seeds' robots.txt lists (newest lastmod first)."""
    out: list[Discovered] = [(u, 0, 1.0) for u in spec.seeds]
    if spec.seed_file:
        from parsers.urls import InvalidURL, normalize_url

        try:
            lines = open(spec.seed_file, encoding="utf-8").read().splitlines()
        except OSError as exc:
            log.error("schedule %s: cannot read seed file %s: %s", spec.name, spec.seed_file, exc)
            lines = []
        for line in lines:
            line = line.strip()
            if line and not line.startswith("#"):
                try:
                    out.append((normalize_url(line), 0, 1.0))
                except InvalidURL:
                    log.warning("schedule %s: skipped %r in %s", spec.name, line, spec.seed_file)
    async def read() -> list[Discovered]:
        async with Fetcher(fetch) as f:
            maps = [spec.sitemap] if spec.sitemap else []
            robots = Robots(f)
            for origin in dict.fromkeys(Robots.origin(u) for u, _, _ in out):
                maps.extend(await robots.sitemaps(origin + "/"))  # Sitemap: lines of robots.txt
            entries = await read_sitemaps(f, maps) if maps else []
        newest = entries[0].lastmod if entries else None
        return [(e.url, 0, priority(e, newest)) for e in entries]

    if spec.sitemap or out:
        out.extend(run_async(read()))
    return out


class Scheduler:
    ROLE = "scheduler"

    def __init__(self, store: ScheduleStore, owner: str, fetch: FetchSettings, *,
                 lease_ttl: float = 10.0, heartbeat: float = 2.0, sync_every: float = 5.0) -> None:
        self.store = store
        self.owner = owner
        self.fetch = fetch
        self.lease_ttl = lease_ttl
        self.heartbeat = heartbeat
        self.sync_every = sync_every
        self.aps = BackgroundScheduler(timezone=timezone.utc)
        self.is_leader = False
        self._configs: dict[str, dict[str, Any]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="scheduler", daemon=True)

    # -- lifecycle
    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)
        if self.aps.running:
            self.aps.shutdown(wait=True)
        if self.is_leader:
            self.store.resign(self.ROLE, self.owner)

    def _loop(self) -> None:
        last_sync = 0.0
        import time

        while not self._stop.is_set():
            try:
                leader = self.store.lead(self.ROLE, self.owner, self.lease_ttl)
            except Exception as exc:  # a lost connection: we are not the leader any more
                log.warning("scheduler: cannot reach the archive (%s); standing by", exc)
                leader = False
            try:
                if leader and not self.is_leader:
                    # synced before taking the role here: a sync that fails is tried again at
                    # the next heartbeat (fires are unique per fire time, so a retry is harmless)
                    self._sync(catch_up=True)
                    log.info("scheduler: %s is the leader", self.owner)
                    self.is_leader = True
                    if not self.aps.running:
                        self.aps.start()
                    else:
                        self.aps.resume()
                    last_sync = time.monotonic()
                elif not leader and self.is_leader:
                    log.warning("scheduler: %s lost the leader lease; standing by", self.owner)
                    self.is_leader = False
                    self.aps.pause()
                if self.is_leader and time.monotonic() - last_sync >= self.sync_every:
                    self._sync(catch_up=False)
                    self.store.finish_idle_runs()
                    last_sync = time.monotonic()
            except Exception as exc:  # noqa: BLE001 - a lost connection must not end the heartbeat thread
                log.warning("scheduler: the archive failed (%s); trying again at the next heartbeat", exc)
            self._stop.wait(self.heartbeat)

    # -- jobs from the table
    def _sync(self, *, catch_up: bool) -> None:
        now = datetime.now(timezone.utc)
        configs = self.store.schedule_configs()
        for name in list(self._configs):
            if name not in configs or configs[name][1]:
                if self.aps.get_job(name):
                    self.aps.remove_job(name)
                self._configs.pop(name)
        for name, (config, paused, last_fire, created) in configs.items():
            if paused:
                continue
            try:
                spec = ScheduleSpec.from_config(name, config).validate()
            except ScheduleError as exc:
                log.error("scheduler: %s", exc)
                continue
            if self._configs.get(name) != config or not self.aps.get_job(name):
                self.aps.add_job(self._fire_from_aps, trigger=spec.trigger(), id=name, name=name,
                                 args=[name], replace_existing=True, coalesce=True, max_instances=1,
                                 misfire_grace_time=int(parse_duration(spec.misfire_grace)))
                self._configs[name] = config
            if catch_up:
                missed = spec.latest_fire(last_fire or created, now)
                if missed is not None and (now - missed).total_seconds() <= parse_duration(spec.misfire_grace):
                    self.fire(name, missed)

    def _fire_from_aps(self, name: str) -> None:
        # APScheduler 3 passes no fire time; the scheduled one is the trigger's latest <= now
        # (it fires within the misfire grace of it).
        spec = ScheduleSpec.from_config(name, self._configs[name])
        now = datetime.now(timezone.utc)
        since = now - timedelta(seconds=parse_duration(spec.misfire_grace) + 60)
        fire_time = spec.latest_fire(since, now)
        if fire_time is not None:
            self.fire(name, fire_time)

    def fire(self, name: str, fire_time: datetime) -> int | None:
        """Fire a run for this fire time unless someone did; returns the run id if we did."""
        config = self.store.schedule_configs().get(name)
        if config is None:
            return None
        spec = ScheduleSpec.from_config(name, config[0])
        delay = spec.jitter_delay(fire_time)
        if delay > 0 and self._stop.wait(delay):
            return None
        run_id = self.store.fire_schedule(name, fire_time, self.owner, seeds_of(spec, self.fetch))
        if run_id is not None:
            log.info("scheduler: fired %s for %s (run %s)", name, fire_time.isoformat(), run_id)
        return run_id

