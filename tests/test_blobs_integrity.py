"""verify and re-basing on SQLite and PostgreSQL: a corrupted delta and a missing base are
found; removing (redacting) a blob in the middle of a chain re-bases its dependants first,
in one transaction, and every other capture still restores byte-identically."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import pytest
from sqlalchemy import select, text, update

from storage import blobs, integrity
from storage.blobs import BlobCorrupt, get_blob
from storage.models import Blob, Capture
from tests.blobdata import crawl


@pytest.fixture(autouse=True)
def fresh_cache() -> Iterator[None]:
    blobs.clear_cache()
    yield
    blobs.clear_cache()


def store(archive, n_pages: int = 3, rounds: int = 20) -> dict[int, bytes]:  # type: ignore[no-untyped-def]
    sent = {}
    for _, cap in crawl(n_pages=n_pages, rounds=rounds):
        sent[archive.store_capture(cap, None).capture_id] = cap.payload
    blobs.clear_cache()
    return sent


def digest_of(payload: bytes) -> str:
    return hashlib.sha256(payload).hexdigest()


def dependants(s, digest: str) -> list[str]:  # type: ignore[no-untyped-def]
    return list(s.scalars(select(Blob.digest).where(Blob.base_digest == digest)))


def middle_with_dependants(s) -> str:  # type: ignore[no-untyped-def]
    """A delta (not a keyframe) that other deltas are built on, below a chain of its own."""
    rows = s.execute(
        select(Blob.digest).where(Blob.base_digest.is_not(None), Blob.depth >= 2).order_by(Blob.seq, Blob.digest)
    ).scalars().all()
    for d in rows:
        if len(dependants(s, d)) >= 2:
            return d
    raise AssertionError("no blob in the middle of a chain with dependants")


def all_restore(archive, sent: dict[int, bytes], skip: set[int] = frozenset()) -> None:  # type: ignore[assignment]
    blobs.clear_cache()
    with archive.sessions() as s:
        for cap_id, payload in sent.items():
            if cap_id in skip:
                continue
            d = s.scalar(select(Capture.blob_digest).where(Capture.id == cap_id))
            assert get_blob(s, d) == payload


def test_verify_passes_on_a_healthy_archive_and_samples(archive) -> None:
    sent = store(archive)
    with archive.sessions() as s:
        full = integrity.verify(s)
        assert full.ok and full.blobs_checked == full.blobs_total == len(sent)
        assert full.bytes_checked == sum(len(p) for p in sent.values())
        part = integrity.verify(s, sample=10)
        assert part.ok and part.sampled and part.blobs_checked == 10


def test_verify_detects_a_corrupted_delta(archive) -> None:
    sent = store(archive)
    with archive.sessions.begin() as s:
        victim = middle_with_dependants(s)
        below = dependants(s, victim)
        data = bytearray(s.scalar(select(Blob.data).where(Blob.digest == victim)))
        for i in range(len(data) // 2, len(data) // 2 + 4):  # flip bytes in the compressed data
            data[i] ^= 0xFF
        s.execute(update(Blob).where(Blob.digest == victim).values(data=bytes(data)))
    with archive.sessions() as s:
        rep = integrity.verify(s)
        bad = {p.digest for p in rep.problems if p.kind == "corrupt"}
        assert victim in bad and set(below) <= bad
        assert rep.blobs_checked < rep.blobs_total
        with pytest.raises(BlobCorrupt):
            get_blob(s, victim)
        with pytest.raises(BlobCorrupt):  # a delta of it cannot be restored either
            get_blob(s, below[0])
        # The rest of the archive is untouched and says so.
        healthy = [p for p in sent.values() if digest_of(p) not in bad]
        assert healthy and all(get_blob(s, digest_of(p)) == p for p in healthy)
        # A sample through that chain finds it too.
        assert not integrity.verify(s, sample=len(sent)).ok


def test_verify_detects_a_stale_digest_and_bad_bookkeeping(archive) -> None:
    store(archive, n_pages=2, rounds=6)
    with archive.sessions.begin() as s:
        one_delta = s.scalar(select(Blob.digest).where(Blob.base_digest.is_not(None)).limit(1))
        s.execute(update(Blob).where(Blob.digest == one_delta).values(depth=99, is_keyframe=True))
    with archive.sessions() as s:
        kinds = {(p.kind, p.digest) for p in integrity.verify(s).problems}
    assert kinds == {("bookkeeping", one_delta), ("depth_mismatch", one_delta)}  # the chain itself is fine
    with archive.sessions.begin() as s:
        keyframe = s.scalar(select(Blob.digest).where(Blob.base_digest.is_(None)))
        # Re-compressed from other bytes: it decompresses fine, but the sha256 differs.
        s.execute(update(Blob).where(Blob.digest == keyframe).values(
            data=blobs.compress_keyframe(b"<html>something else entirely</html>" * 4)[1], codec="zstd"))
    with archive.sessions() as s:
        rep = integrity.verify(s)
    assert ("corrupt", keyframe) in {(p.kind, p.digest) for p in rep.problems}
    assert rep.blobs_checked == 0  # everything hangs off that keyframe: nothing re-hashed ok


def _delete_without_foreign_keys(archive, digest: str) -> None:  # type: ignore[no-untyped-def]
    """What a partial restore or a buggy tool could leave: the row gone, its deltas kept."""
    engine = archive.engine
    if engine.dialect.name == "sqlite":
        raw = engine.raw_connection()
        try:
            cur = raw.cursor()
            cur.execute("PRAGMA foreign_keys=OFF")
            cur.execute("DELETE FROM blob WHERE digest = ?", (digest,))
            cur.execute("PRAGMA foreign_keys=ON")
            raw.commit()
        finally:
            raw.close()
    else:
        with engine.begin() as c:
            c.execute(text("SET LOCAL session_replication_role = replica"))  # FK triggers off
            c.execute(text("DELETE FROM blob WHERE digest = :d"), {"d": digest})


def test_verify_detects_a_missing_base(archive) -> None:
    store(archive)
    with archive.sessions() as s:
        victim = middle_with_dependants(s)
        below = dependants(s, victim)
        users = list(s.scalars(select(Capture.id).where(Capture.blob_digest == victim)))
    _delete_without_foreign_keys(archive, victim)
    with archive.sessions() as s:
        rep = integrity.verify(s)
        kinds = {(p.kind, p.digest) for p in rep.problems}
        assert all(("missing_base", d) in kinds for d in below)
        assert ("missing_blob", victim) in kinds and {p.capture_id for p in rep.problems} >= set(users)
        assert any(k == "unreachable" for k, _ in kinds)
        with pytest.raises(blobs.BlobMissing):
            get_blob(s, below[0])
        assert not integrity.verify(s, sample=200).ok


def test_redacting_a_capture_in_the_middle_of_a_chain_rebases_its_dependants(archive) -> None:
    sent = store(archive)
    with archive.sessions() as s:
        victim = middle_with_dependants(s)
        below = dependants(s, victim)
        depths_before = {d: n for d, n in s.execute(select(Blob.digest, Blob.depth))}
    redacted = {cid for cid, p in sent.items() if digest_of(p) == victim}
    # The redaction: the captures keep their metadata but no longer name the bytes, and the
    # blob goes, its dependants re-based first — one transaction.
    with archive.sessions.begin() as s:
        with pytest.raises(integrity.BlobInUse):
            integrity.remove_blob(s, victim)
        s.execute(update(Capture).where(Capture.blob_digest == victim).values(blob_digest=None))
        assert integrity.remove_blob(s, victim) == len(below)
    with archive.sessions() as s:
        assert s.get(Blob, victim) is None
        with pytest.raises(blobs.BlobMissing):
            get_blob(s, victim)
        for d in below:  # re-based onto the victim's own base: one delta nearer its keyframe
            assert s.scalar(select(Blob.base_digest).where(Blob.digest == d)) is not None
            assert s.scalar(select(Blob.depth).where(Blob.digest == d)) == depths_before[d] - 1
        rep = integrity.verify(s)
        assert rep.ok, rep.problems
    all_restore(archive, sent, skip=redacted)


def test_removing_the_site_keyframe_promotes_a_dependant(archive) -> None:
    sent = store(archive, n_pages=4, rounds=8)
    with archive.sessions.begin() as s:
        root = s.scalar(select(Blob.digest).where(Blob.base_digest.is_(None)))
        assert len(dependants(s, root)) >= 2
        s.execute(update(Capture).where(Capture.blob_digest == root).values(blob_digest=None))
        integrity.remove_blob(s, root)
    with archive.sessions() as s:
        rep = integrity.verify(s)
        assert rep.ok, rep.problems  # depths below the promoted keyframe were shifted too
        assert rep.keyframes >= 1
    all_restore(archive, sent, skip={c for c, p in sent.items() if digest_of(p) == root})


def test_a_failed_rebase_changes_nothing(archive) -> None:
    sent = store(archive, n_pages=2, rounds=10)
    with archive.sessions() as s:
        victim = middle_with_dependants(s)
        before = {d: (b, n) for d, b, n in s.execute(select(Blob.digest, Blob.base_digest, Blob.depth))}
    with pytest.raises(RuntimeError):
        with archive.sessions.begin() as s:
            s.execute(update(Capture).where(Capture.blob_digest == victim).values(blob_digest=None))
            integrity.remove_blob(s, victim)
            raise RuntimeError("crash before commit")
    with archive.sessions() as s:
        after = {d: (b, n) for d, b, n in s.execute(select(Blob.digest, Blob.base_digest, Blob.depth))}
        assert after == before
    all_restore(archive, sent)


def test_a_damaged_base_does_not_stop_new_captures(archive) -> None:
    sent = store(archive, n_pages=2, rounds=4)
    with archive.sessions.begin() as s:
        root = s.scalar(select(Blob.digest).where(Blob.base_digest.is_(None)))
        s.execute(update(Blob).where(Blob.digest == root).values(data=b"\x28\xb5\x2f\xfd garbage"))
    new = {}
    for _, cap in crawl(n_pages=2, rounds=5):
        if cap.fetched_at.day == 5:  # the 5th round: new payloads whose bases cannot restore
            new[archive.store_capture(cap, None).capture_id] = cap.payload
    blobs.clear_cache()
    with archive.sessions() as s:
        for payload in new.values():
            d = digest_of(payload)
            assert s.scalar(select(Blob.is_keyframe).where(Blob.digest == d)) is True
            assert get_blob(s, d) == payload
        assert not integrity.verify(s).ok
    assert len(sent) == 8
