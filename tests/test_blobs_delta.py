"""The delta blob store on SQLite and PostgreSQL: every capture restores byte-identically and
verified, chains stay within the depth bound, identical payloads are stored once, and recrawls
of pages with rotating widgets cost a small fraction of the payload."""

from __future__ import annotations

import hashlib
import os
import random
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select

from storage import blobs, integrity, queries
from storage.blobs import BlobPolicy, get_blob, put_blob, set_policy
from storage.interface import CaptureIn
from storage.models import Blob, Capture
from tests.blobdata import T0, crawl


@pytest.fixture
def policy() -> Iterator[None]:
    """Each test may set its own layout policy; the default comes back afterwards."""
    old = blobs.POLICY
    blobs.clear_cache()
    yield
    set_policy(old)
    blobs.clear_cache()


def store_all(archive, captures) -> dict[int, bytes]:  # type: ignore[no-untyped-def]
    sent: dict[int, bytes] = {}
    for _, cap in captures:
        res = archive.store_capture(cap, None)
        if cap.payload is not None:
            sent[res.capture_id] = cap.payload
    return sent


def chain_length(s, digest: str) -> int:  # type: ignore[no-untyped-def]
    n = 0
    while True:
        base = s.scalar(select(Blob.base_digest).where(Blob.digest == digest))
        if base is None:
            return n
        digest, n = base, n + 1


def test_round_trip_of_every_capture(archive, policy) -> None:
    caps = list(crawl(n_pages=6, rounds=25))
    # Besides the recrawls: a payload seen before (stored once), a tiny one, a binary one
    # unlike any page, and a 304 that points to the bytes it confirms.
    again = caps[-1][1]
    caps.append((0, CaptureIn(requested_url=again.requested_url, fetched_at=T0 + timedelta(days=90),
                              status=200, payload=again.payload)))
    caps.append((0, CaptureIn(requested_url="http://site.test/tiny", fetched_at=T0, status=200, payload=b"ok")))
    caps.append((0, CaptureIn(requested_url="http://site.test/img.bin", fetched_at=T0, status=200,
                              payload=os.urandom(5000))))
    sent = store_all(archive, caps)
    r304 = archive.store_capture(
        CaptureIn(requested_url=again.requested_url, fetched_at=T0 + timedelta(days=91), status=304), None
    )
    blobs.clear_cache()  # restore from the database, not from what put_blob kept warm
    with archive.sessions() as s:
        for cap_id, payload in sent.items():
            digest = s.scalar(select(Capture.blob_digest).where(Capture.id == cap_id))
            assert digest == hashlib.sha256(payload).hexdigest()
            assert get_blob(s, digest) == payload
        d304 = s.scalar(select(Capture.blob_digest).where(Capture.id == r304.capture_id))
        assert get_blob(s, d304) == again.payload
        st = queries.storage_totals(s)
        assert st["captures"] == len(sent) + 1
        assert st["bytes_received"] == sum(len(p) for p in sent.values())
        rows = s.execute(select(Blob.digest, Blob.is_keyframe, Blob.codec)).all()
        assert len(rows) == len(set(sent.values()))  # identical payloads stored once
        assert st["keyframes"] == sum(1 for r in rows if r.is_keyframe)
        # Recrawls with rotating widgets are stored as small deltas: a few keyframes only
        # (the site's first page, the tiny and the binary payloads), far under the payload.
        assert st["keyframes"] <= 4
        assert st["bytes_stored"] * 15 < st["bytes_received"]
        rep = integrity.verify(s)
        assert rep.ok, rep.problems
        assert rep.blobs_checked == len(rows)


def test_restored_bytes_are_checked_against_the_digest(archive, policy) -> None:
    sent = store_all(archive, crawl(n_pages=2, rounds=6))
    blobs.clear_cache()
    with archive.sessions() as s:
        digest = hashlib.sha256(list(sent.values())[-1]).hexdigest()
        assert get_blob(s, digest) == list(sent.values())[-1]
        with pytest.raises(blobs.BlobMissing):
            get_blob(s, "0" * 64)


@pytest.mark.parametrize("max_depth,interval", [(3, 64), (5, 8), (12, 256)])
def test_chain_depth_stays_within_the_bound(archive, policy, max_depth, interval) -> None:
    set_policy(BlobPolicy(max_depth=max_depth, reroot_interval=interval))
    sent = store_all(archive, crawl(n_pages=3, rounds=70 if max_depth < 12 else 40))
    blobs.clear_cache()
    with archive.sessions() as s:
        depths = {d: n for d, n in s.execute(select(Blob.digest, Blob.depth))}
        for digest, depth in depths.items():
            assert depth == chain_length(s, digest) <= max_depth
        # Bounded by depth, not by frequent keyframes: nearly everything is still a delta.
        n_kf = len(s.execute(select(Blob.digest).where(Blob.is_keyframe.is_(True))).all())
        assert n_kf <= 3, n_kf
        assert max(depths.values()) >= min(max_depth, 4)  # the chains do get deep: the bound bites
        for cap_id, payload in list(sent.items())[::7]:
            assert get_blob(s, hashlib.sha256(payload).hexdigest()) == payload
        assert integrity.verify(s).ok


def test_a_delta_that_does_not_pay_becomes_a_keyframe(archive, policy) -> None:
    rng = random.Random(4)
    url = "http://site.test/noise"
    for k in range(5):
        payload = bytes(rng.randrange(256) for _ in range(4000))
        archive.store_capture(CaptureIn(requested_url=url, fetched_at=T0 + timedelta(hours=k),
                                        status=200, payload=payload), None)
    with archive.sessions() as s:
        rows = s.execute(select(Blob.is_keyframe, Blob.base_digest)).all()
        assert len(rows) == 5 and all(r.is_keyframe and r.base_digest is None for r in rows)


def test_put_blob_without_hints_and_concurrent_duplicates(archive, policy) -> None:
    payload = b"<html>" + b"same " * 400 + b"</html>"
    with archive.sessions.begin() as s:
        d1 = put_blob(s, payload)
    with archive.sessions.begin() as s:
        d2 = put_blob(s, payload, base_digest=d1)  # already stored: nothing new
    assert d1 == d2
    with archive.sessions() as s:
        assert s.scalar(select(Blob.is_keyframe).where(Blob.digest == d1)) is True
        assert get_blob(s, d1) == payload


def test_status_reports_keyframes_and_stored_bytes(archive, policy) -> None:
    store_all(archive, crawl(n_pages=4, rounds=5))
    with archive.sessions() as s:
        st = queries.storage_totals(s)
    assert set(st) == {"captures", "bytes_received", "bytes_stored", "keyframes"}
    assert st["captures"] == 20 and st["keyframes"] == 1
    assert 0 < st["bytes_stored"] < st["bytes_received"] // 10
