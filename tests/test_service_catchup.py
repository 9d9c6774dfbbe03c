"""After downtime the service runs a schedule's missed fires once (coalesced), not once per
missed fire time, and a restart does not repeat it: `pagetrail run` processes on a real archive."""

from __future__ import annotations

import signal
import time
from datetime import datetime, timedelta, timezone

from sqlalchemy import create_engine, text

from storage.db import normalize_db_url
from tests.httpserver import LocalServer
from tests.test_many_workers import next_fire_in
from tests.test_service import _start_run, _wait_for, cli, make_site


def _fires(db_url: str) -> list[datetime]:
    engine = create_engine(normalize_db_url(db_url))
    with engine.connect() as c:
        rows = c.execute(text("SELECT fire_time FROM schedule_fire ORDER BY fire_time")).scalars().all()
    engine.dispose()
    out = []
    for t in rows:
        t = datetime.fromisoformat(t) if isinstance(t, str) else t
        out.append(t if t.tzinfo else t.replace(tzinfo=timezone.utc))
    return out


def _leads(db_url: str, pid: int) -> bool:
    """The process holds the scheduler's leader lease: it is up, past its catch-up."""
    engine = create_engine(normalize_db_url(db_url))
    with engine.connect() as c:
        owners = c.execute(text("SELECT owner FROM leader_lease")).scalars().all()
    engine.dispose()
    return any(f":{pid}:" in o for o in owners)


def _stop(proc) -> str:  # type: ignore[no-untyped-def]
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, out
    return out


def test_missed_fires_after_downtime_run_once_and_not_again_after_restart(db_url, capsys):
    site = make_site()
    server = LocalServer(site)
    try:
        base = server.base_url
        # An interval (>= 10 minutes) whose next fire is 5+ minutes away: no fire falls due while
        # the test runs (a "10m" schedule fired again when the test crossed a 10-minute mark).
        every, _next = next_fire_in(300, 1e9, at_least=600)
        period = timedelta(seconds=int(every[:-1]))
        cli(capsys, "schedule", "add", "tenminutes", "--seeds", base + "/", "--every", every, "--max-depth", "0",
            "--db", db_url)
        # The schedule was made 3.5 periods ago and nothing ran since: three fires were missed
        # while no service was up.
        created = datetime.now(timezone.utc).replace(microsecond=0) - 3.5 * period
        engine = create_engine(normalize_db_url(db_url))
        with engine.begin() as c:
            c.execute(text("UPDATE schedule SET created_at = :t, last_fire_at = NULL"), {"t": created})
        engine.dispose()

        started = datetime.now(timezone.utc)
        proc = _start_run(db_url)
        try:
            assert _wait_for(lambda: len(_fires(db_url)) >= 1, 60)
            assert _wait_for(lambda: len(site.hits("/")) >= 1, 60)
            time.sleep(3)  # room for a (wrong) second catch-up fire
        finally:
            _stop(proc)
        fires = _fires(db_url)
        assert len(fires) == 1, fires  # coalesced: one run for the three missed fire times
        # the latest missed fire time (interval fires fall on multiples of the period)
        assert started - period < fires[0] <= started and fires[0] > created
        assert len(site.hits("/")) == 1

        proc = _start_run(db_url)  # a restart soon after: nothing is missed, nothing repeats
        try:
            assert _wait_for(lambda: _leads(db_url, proc.pid), 60)
            time.sleep(3)
        finally:
            _stop(proc)
        assert _fires(db_url) == fires and len(site.hits("/")) == 1
    finally:
        server.close()
