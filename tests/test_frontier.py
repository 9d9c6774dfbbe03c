"""The durable frontier on SQLite and PostgreSQL: queue once, lease, expire, finish, politeness claims."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from storage import frontier
from storage.frontier import FrontierDone

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
A = "http://a.test/"
URLS = [(f"http://a.test/{i}", 1, 0.0) for i in range(5)] + [("http://b.test/x", 0, 5.0)]


@pytest.fixture
def job(archive):
    with archive.sessions.begin() as s:
        jid = frontier.ensure_job(s, "crawl:test", {"seeds": [A]}, T0)
        assert frontier.enqueue(s, jid, URLS, T0) == 6
        assert frontier.enqueue(s, jid, URLS + URLS, T0) == 0  # never queued twice
    return jid


def test_lease_priority_and_exclusivity(archive, job):
    with archive.sessions.begin() as s:
        first = frontier.lease(s, "w1", T0, 2, job_id=job)
    assert first[0].url == "http://b.test/x"  # highest priority first
    with archive.sessions.begin() as s:
        rest = frontier.lease(s, "w2", T0, 10, job_id=job)
    assert len(rest) == 4 and not {r.id for r in rest} & {f.id for f in first}
    with archive.sessions.begin() as s:
        assert frontier.lease(s, "w3", T0 + timedelta(seconds=30), 10, job_id=job) == []
        # w1 died: its leases expire and are taken again
        again = frontier.lease(s, "w3", T0 + timedelta(seconds=61), 10, job_id=job)
    assert {r.id for r in again} == {r.id for r in first} | {r.id for r in rest}


def test_finish_and_lost_lease(archive, job):
    with archive.sessions.begin() as s:
        (item,) = frontier.lease(s, "w1", T0, 1, job_id=job)
    later = T0 + timedelta(seconds=120)
    with archive.sessions.begin() as s:
        (stolen,) = [r for r in frontier.lease(s, "w2", later, 10, job_id=job) if r.id == item.id]
        # w1 comes back late: its finish does not undo w2's lease
        assert not frontier.finish(s, FrontierDone(item.id, "w1", "unchanged", None), later)
        assert frontier.finish(s, FrontierDone(item.id, "w2", "new_revision", None), later)
        c = frontier.counts(s, later, job)
    assert c["done"] == 1 and c["leased"] == 5


def test_a_capture_is_stored_only_while_its_lease_is_held(archive, job):
    """Storing is exactly-once per lease: a capture handed in after the lease ran out and was
    taken by another worker stores nothing (LeaseLost), and the one who holds it stores it. A
    lease that ran out with nobody taking it is still its owner's."""
    from sqlalchemy import func, select

    from storage.interface import CaptureIn, LeaseLost
    from storage.models import Capture

    def capture_of(item) -> CaptureIn:
        return CaptureIn(requested_url=item.url, fetched_at=T0, status=200, payload=b"<p>x</p>",
                         headers=[("Content-Type", "text/html")])

    with archive.sessions.begin() as s:
        first, second = frontier.lease(s, "w1", T0, 2, job_id=job)
    with archive.sessions.begin() as s:  # w1's leases run out; w2 takes the first one
        taken = frontier.lease(s, "w2", T0 + timedelta(seconds=61), 1, job_id=job)
    assert [t.id for t in taken] == [first.id]
    with pytest.raises(LeaseLost):
        archive.store_capture(capture_of(first), None, done=FrontierDone(first.id, "w1", "http:200", None))
    archive.store_capture(capture_of(first), None, done=FrontierDone(first.id, "w2", "http:200", None))
    # expired, but nobody took it: still w1's
    archive.store_capture(capture_of(second), None, done=FrontierDone(second.id, "w1", "http:200", None))
    with pytest.raises(LeaseLost):  # finished: a second capture for the same lease is refused
        archive.store_capture(capture_of(second), None, done=FrontierDone(second.id, "w1", "http:200", None))
    with archive.sessions.begin() as s:
        n = {u: c for u, c in s.execute(select(Capture.requested_url, func.count())
                                        .group_by(Capture.requested_url))}
        c = frontier.counts(s, T0, job)
    assert n == {first.url: 1, second.url: 1} and c["done"] == 2


def test_a_lease_skips_the_hosts_another_worker_holds(archive, job):
    """Several workers keep the hosts they fetch (claim_host_held): a worker's lease leaves the
    URLs of a host someone else holds to the holder, takes those of hosts it holds itself, and
    of hosts merely in their politeness delay."""
    t = lambda sec: T0 + timedelta(seconds=sec)  # noqa: E731
    with archive.sessions.begin() as s:
        token, _ = frontier.claim_host_held(s, "a.test", t(0), hold=60)  # w1 holds a.test
        assert token is not None
        frontier.claim_host_held(s, "b.test", t(0), hold=60)
        frontier.host_done(s, "b.test", t(1), 0.5)  # b.test: released, in its delay until t(1.5)
    with archive.sessions.begin() as s:
        w2 = frontier.lease(s, "w2", t(1.2), 10, job_id=job, hosts_held=[], held_after=t(31.2))
    assert [i.host for i in w2] == ["b.test"]  # a.test's five URLs are w1's to fetch
    with archive.sessions.begin() as s:
        w1 = frontier.lease(s, "w1", t(1.2), 10, job_id=job, hosts_held=["a.test"], held_after=t(31.2))
    assert sorted(i.host for i in w1) == ["a.test"] * 5
    with archive.sessions.begin() as s:  # w1 gives two back: due again, no attempt counted
        assert frontier.give_back(s, "w2", [w1[0].id, w1[1].id]) == 0  # not w2's to give
        assert frontier.give_back(s, "w1", [w1[0].id, w1[1].id]) == 2
        again = frontier.lease(s, "w1", t(1.3), 10, job_id=job, hosts_held=["a.test"], held_after=t(31.3))
    assert {i.id for i in again} == {w1[0].id, w1[1].id} and {i.attempts for i in again} == {0}


def test_failures_park_and_reschedule(archive, job):
    with archive.sessions.begin() as s:
        items = frontier.lease(s, "w", T0, 2, job_id=job)
        frontier.finish(s, FrontierDone(items[0].id, "w", "timeout", T0 + timedelta(minutes=5), failed=True), T0)
        frontier.finish(s, FrontierDone(items[1].id, "w", "timeout", None, failed=True, park=True), T0)
        c = frontier.counts(s, T0, job)
    assert (c["scheduled"], c["parked"], c["due"]) == (1, 1, 4)


def test_seeds_forced_again_but_done_discoveries_stay_done(archive, job):
    with archive.sessions.begin() as s:
        items = frontier.lease(s, "w", T0, 10, job_id=job)
        for it in items:
            frontier.finish(s, FrontierDone(it.id, "w", "new_revision", None), T0)
        frontier.enqueue(s, job, [("http://a.test/0", 0, 0.0)], T0, force=True)
        c = frontier.counts(s, T0, job)
    assert c["due"] == 1 and c["done"] == 5


def test_release_gives_leases_back(archive, job):
    with archive.sessions.begin() as s:
        frontier.lease(s, "w", T0, 3, job_id=job)
        assert frontier.release(s, "w") == 3
        assert frontier.counts(s, T0, job)["due"] == 6


def test_host_claims(archive):
    with archive.sessions.begin() as s:
        assert frontier.claim_host(s, "a.test", T0) is None
    with archive.sessions.begin() as s:
        assert frontier.claim_host(s, "a.test", T0 + timedelta(seconds=1)) is not None  # in flight
        frontier.host_done(s, "a.test", T0 + timedelta(seconds=2), delay=0.5)
    with archive.sessions.begin() as s:
        assert frontier.claim_host(s, "a.test", T0 + timedelta(seconds=2.4)) == T0 + timedelta(seconds=2.5)
        assert frontier.claim_host(s, "a.test", T0 + timedelta(seconds=2.5)) is None


def test_held_host_claims_with_a_token(archive):
    """A worker keeps a host between its own requests with the token of its claim; nobody
    else gets it meanwhile; a hold that ran out and was claimed by another voids the token."""
    t = lambda sec: T0 + timedelta(seconds=sec)  # noqa: E731
    with archive.sessions.begin() as s:
        token, again = frontier.claim_host_held(s, "a.test", t(0), hold=60)  # a host never seen
        assert (token, again) == (t(60), None)
    with archive.sessions.begin() as s:
        assert frontier.claim_host_held(s, "a.test", t(1), hold=60) == (None, t(60))  # w2, no token
        token2, _ = frontier.claim_host_held(s, "a.test", t(1.5), hold=60, token=token)  # w1 again
        assert token2 == t(61.5)
        assert frontier.claim_host_held(s, "a.test", t(2), hold=60, token=token) == (None, t(61.5))  # used up
    with archive.sessions.begin() as s:  # w1 hangs: its hold runs out, w2 claims the host
        token3, _ = frontier.claim_host_held(s, "a.test", t(62), hold=60)
        assert token3 == t(122)
        frontier.host_done(s, "a.test", t(63), 0.5, token=token2)  # w1's late end: no effect
        assert frontier.claim_host_held(s, "a.test", t(64), hold=60) == (None, t(122))
        frontier.host_done(s, "a.test", t(65), 0.5, token=token3)  # w2's end opens it 0.5 s later
        assert frontier.claim_host_held(s, "a.test", t(65.2), hold=60) == (None, t(65.5))
        assert frontier.claim_host_held(s, "a.test", t(65.5), hold=60)[0] == t(125.5)
    with archive.sessions.begin() as s:  # a back-off closes the host even to its token holder
        frontier.host_done(s, "a.test", t(66), 0.5, backoff_until=t(90), token=t(125.5))
        assert frontier.claim_host_held(s, "a.test", t(70), hold=60, token=t(66.5)) == (None, t(90))


def test_skip_locked_on_postgres(pg_url):
    """Two workers leasing at the same moment get disjoint work (FOR UPDATE SKIP LOCKED)."""
    from storage.archive import Archive
    from storage.db import make_engine, upgrade

    engine = make_engine(pg_url)
    upgrade(engine)
    archive = Archive(engine)
    with archive.sessions.begin() as s:
        jid = frontier.ensure_job(s, "crawl:pg", {}, T0)
        frontier.enqueue(s, jid, [(f"http://h{i}.test/", 0, 0.0) for i in range(10)], T0)
    s1 = archive.sessions()
    s1.begin()
    got1 = frontier.lease(s1, "w1", T0, 4, job_id=jid)  # holds its row locks, uncommitted
    with archive.sessions.begin() as s2:
        got2 = frontier.lease(s2, "w2", T0, 10, job_id=jid)
    s1.commit()
    s1.close()
    assert len(got1) == 4 and len(got2) == 6
    assert not {g.id for g in got1} & {g.id for g in got2}
    engine.dispose()


def test_leader_lease_one_holder_and_takeover(archive):
    from storage import leader

    with archive.sessions.begin() as s:
        assert leader.try_acquire(s, "scheduler", "a", T0, ttl=10)
    with archive.sessions.begin() as s:
        assert not leader.try_acquire(s, "scheduler", "b", T0 + timedelta(seconds=5), ttl=10)
        assert leader.try_acquire(s, "scheduler", "a", T0 + timedelta(seconds=6), ttl=10)  # heartbeat
    with archive.sessions.begin() as s:
        assert not leader.try_acquire(s, "scheduler", "b", T0 + timedelta(seconds=15), ttl=10)
        assert leader.try_acquire(s, "scheduler", "b", T0 + timedelta(seconds=17), ttl=10)  # a stopped beating
        assert leader.holder(s, "scheduler").owner == "b"
        leader.release(s, "scheduler", "b")
        assert leader.try_acquire(s, "scheduler", "c", T0 + timedelta(seconds=18), ttl=10)
