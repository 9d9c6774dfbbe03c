"""Schedule specifications and their fire times (APScheduler triggers), with no storage.

Deliberate choices, documented in docs/schedules.md:
- A fire time is the trigger's exact time (cron or interval), computed in the schedule's time
  zone (default UTC), so every machine computes the same fire times and the archive's unique
  (schedule, fire time) lets exactly one of them fire it.
- Jitter never moves the recorded fire time: the run waits a deterministic delay derived from
  (name, fire time), so all machines agree on it too.
- Missed runs are coalesced: after downtime only the latest missed fire time runs, once, and
  only within the misfire grace (default 1 hour); older ones are skipped and reported.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from parsers.urls import InvalidURL, normalize_url

SCOPES = ("same-host", "same-site")  # or "prefix:URL"
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d|w)?\s*$", re.I)
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
EPOCH = datetime(2000, 1, 1, tzinfo=timezone.utc)  # interval schedules count from here


class ScheduleError(ValueError):
    """A schedule that cannot work; the message names the field and what is expected."""


def parse_duration(text: str | int | float, what: str = "duration") -> float:
    if isinstance(text, (int, float)):
        return float(text)
    m = _DURATION.match(str(text))
    if not m:
        raise ScheduleError(f"bad {what} {text!r}: use a number with s, m, h, d or w (e.g. 6h, 10m)")
    return float(m.group(1)) * _UNITS[(m.group(2) or "s").lower()]


@dataclass
class ScheduleSpec:
    name: str
    seeds: list[str] = field(default_factory=list)
    sitemap: str | None = None
    seed_file: str | None = None
    cron: str | None = None
    every: str | None = None
    jitter: str | None = None
    timezone: str = "UTC"
    scope: str = "same-host"
    allow: list[str] = field(default_factory=list)
    deny: list[str] = field(default_factory=list)
    max_depth: int | None = None
    max_pages: int | None = None
    misfire_grace: str = "1h"
    min_recrawl: str = "1h"  # adaptive recrawl bounds for known pages
    max_recrawl: str = "30d"

    def validate(self) -> "ScheduleSpec":
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}", self.name or ""):
            raise ScheduleError(f"bad schedule name {self.name!r}: letters, digits, '_', '.', '-'")
        if not (self.seeds or self.sitemap or self.seed_file):
            raise ScheduleError(f"schedule {self.name}: give --seeds, --sitemap or --seed-file")
        if bool(self.cron) == bool(self.every):
            raise ScheduleError(f"schedule {self.name}: give exactly one of --cron or --every")
        for u in self.seeds + ([self.sitemap] if self.sitemap else []):
            try:
                normalize_url(u)
            except InvalidURL as exc:
                raise ScheduleError(f"schedule {self.name}: {exc}") from None
        if not (self.scope in SCOPES or self.scope.startswith("prefix:")):
            raise ScheduleError(f"schedule {self.name}: scope must be same-host, same-site or prefix:URL")
        for pattern in self.allow + self.deny:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ScheduleError(f"schedule {self.name}: bad regex {pattern!r}: {exc}") from None
        for name in ("jitter", "misfire_grace", "min_recrawl", "max_recrawl"):
            value = getattr(self, name)
            if value is not None:
                parse_duration(value, name.replace("_", "-"))
        self.trigger()  # raises for a bad cron, interval or time zone
        return self

    def tz(self) -> ZoneInfo:
        try:
            return ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ScheduleError(f"schedule {self.name}: unknown time zone {self.timezone!r}") from None

    def trigger(self) -> CronTrigger | IntervalTrigger:
        tz = self.tz()
        if self.cron:
            try:
                return CronTrigger.from_crontab(self.cron, timezone=tz)
            except ValueError as exc:
                raise ScheduleError(f"schedule {self.name}: bad cron {self.cron!r}: {exc}") from None
        seconds = parse_duration(self.every or "", "interval")
        if seconds <= 0:
            raise ScheduleError(f"schedule {self.name}: the interval must be positive")
        return IntervalTrigger(seconds=seconds, start_date=EPOCH, timezone=tz)

    def next_fire(self, after: datetime) -> datetime:
        """The first fire time strictly after `after` (UTC)."""
        trig = self.trigger()
        probe = after + timedelta(microseconds=1)
        nxt = trig.get_next_fire_time(None, probe)
        assert nxt is not None
        return nxt.astimezone(timezone.utc)

    def latest_fire(self, since: datetime, now: datetime) -> datetime | None:
        """The latest fire time in (since, now], or None: what a coalesced catch-up runs."""
        latest = None
        t = self.next_fire(since)
        # Walk forward; bounded because fire times are at least a second apart.
        for _ in range(100_000):
            if t > now:
                break
            latest = t
            t = self.next_fire(t)
        return latest

    def jitter_delay(self, fire_time: datetime) -> float:
        """A delay in [0, jitter) every machine derives the same way."""
        if not self.jitter:
            return 0.0
        span = parse_duration(self.jitter, "jitter")
        h = hashlib.sha256(f"{self.name}|{fire_time.isoformat()}".encode()).digest()
        return span * int.from_bytes(h[:8], "big") / 2**64

    def to_config(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("name")
        return {k: v for k, v in d.items() if v not in (None, [], "")}

    @classmethod
    def from_config(cls, name: str, config: dict[str, Any]) -> "ScheduleSpec":
        known = set(cls.__dataclass_fields__) - {"name"}
        unknown = set(config) - known
        if unknown:
            raise ScheduleError(
                f"schedule {name}: unknown key(s) {', '.join(sorted(unknown))}; known: {', '.join(sorted(known))}"
            )
        try:
            return cls(name=name, **config)
        except TypeError as exc:
            raise ScheduleError(f"schedule {name}: {exc}") from None
