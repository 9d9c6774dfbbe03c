"""Schedules: validation, fire times across a DST change, coalesced catch-up, fire-once."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from crawler.schedules import ScheduleError, ScheduleSpec
from storage import schedules

UTC = timezone.utc


def spec(**kw):
    base = dict(name="health", seeds=["https://www.wisegeek.com/"])
    base.update(kw)
    return ScheduleSpec(**base).validate()


def test_cron_across_dst_in_local_time():
    # 03:00 every day in Berlin: 02:00 UTC before the end of DST (27 Oct 2024), 03:00 UTC after.
    s = spec(cron="0 3 * * *", timezone="Europe/Berlin")
    first = s.next_fire(datetime(2024, 10, 26, 12, tzinfo=UTC))
    second = s.next_fire(first)
    assert first == datetime(2024, 10, 27, 2, tzinfo=UTC)
    assert second == datetime(2024, 10, 28, 2, tzinfo=UTC)
    # the spring-forward day: 02:30 local does not exist on 31 March 2024
    s2 = spec(cron="30 2 * * *", timezone="Europe/Berlin")
    fired = s2.next_fire(datetime(2024, 3, 30, 12, tzinfo=UTC))
    assert fired.date().isoformat() in ("2024-03-31", "2024-04-01")
    assert s2.next_fire(fired) > fired


def test_interval_is_exact_elapsed_time_across_dst():
    # Berlin leaves summer time at 01:00 UTC on 27 Oct 2024, between these fires.
    s = spec(every="6h", timezone="Europe/Berlin")
    t1 = s.next_fire(datetime(2024, 10, 26, 23, 30, tzinfo=UTC))
    t2 = s.next_fire(t1)
    t3 = s.next_fire(t2)
    assert t1 == datetime(2024, 10, 27, 0, 0, tzinfo=UTC)
    assert t2 - t1 == t3 - t2 == timedelta(hours=6)


def test_coalesced_catch_up_is_the_latest_missed_fire_only():
    s = spec(every="1h")
    since = datetime(2026, 1, 1, 0, 0, tzinfo=UTC)
    now = datetime(2026, 1, 1, 5, 30, tzinfo=UTC)
    assert s.latest_fire(since, now) == datetime(2026, 1, 1, 5, 0, tzinfo=UTC)
    assert s.latest_fire(now, now) is None


def test_jitter_is_deterministic_and_bounded():
    s = spec(every="1h", jitter="10m")
    t = datetime(2026, 1, 1, 5, tzinfo=UTC)
    assert s.jitter_delay(t) == s.jitter_delay(t)
    assert 0 <= s.jitter_delay(t) < 600


@pytest.mark.parametrize(
    "kw,msg",
    [
        (dict(cron="61 * * * *"), "bad cron"),
        (dict(every="soon"), "bad interval"),
        (dict(cron="0 3 * * *", every="1h"), "exactly one"),
        (dict(every="1h", scope="everywhere"), "scope"),
        (dict(every="1h", allow=["("]), "bad regex"),
        (dict(every="1h", timezone="Mars/Olympus"), "time zone"),
        (dict(every="1h", seeds=["ftp://x"]), "http"),
    ],
)
def test_bad_specs_say_what_is_wrong(kw, msg):
    with pytest.raises(ScheduleError, match=msg):
        spec(**kw)


def test_a_fire_time_is_claimed_once(archive):
    now = datetime(2026, 1, 1, tzinfo=UTC)
    with archive.sessions.begin() as s:
        schedules.put(s, "health", spec(every="1h").to_config(), now, replace=False)
    with archive.sessions.begin() as s:
        sid = schedules.get(s, "health").id
        assert schedules.record_fire(s, sid, now, "machine-a", now) is True
    with archive.sessions.begin() as s:
        assert schedules.record_fire(s, sid, now, "machine-b", now) is False
        assert [f.fired_by for f in schedules.fires(s, sid)] == ["machine-a"]
        with pytest.raises(schedules.ScheduleNotFound, match="health"):
            schedules.get(s, "nope")
