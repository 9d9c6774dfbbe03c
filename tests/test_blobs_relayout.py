"""Migrating an archive to the delta layout, on SQLite and PostgreSQL: migration 0005 keeps
old blobs readable as keyframes of layout 0; `python -m storage.relayout` re-encodes them in
batches, survives a SIGKILL between or inside batches, resumes, and is idempotent."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import func, select, text, update

from storage import blobs, integrity, queries
from storage.blobs import BlobPolicy, get_blob, set_policy
from storage.db import _alembic_config, make_engine, upgrade
from storage.models import Blob, Capture
from storage.relayout import pending, relayout
from tests.blobdata import crawl

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def old_archive(archive):  # type: ignore[no-untyped-def]
    """An archive as migration 0005 leaves one written before deltas: every blob a keyframe
    of layout 0. (Stored with deltas off, then marked as the migration marks old rows.)"""
    old = blobs.POLICY
    set_policy(BlobPolicy(max_depth=0))
    sent = {}
    for _, cap in crawl(n_pages=7, rounds=6):
        sent[archive.store_capture(cap, None).capture_id] = cap.payload
    set_policy(old)
    with archive.sessions.begin() as s:
        s.execute(update(Blob).values(layout=0))
    blobs.clear_cache()
    yield archive, sent
    blobs.clear_cache()


def all_restore(archive, sent: dict[int, bytes]) -> None:  # type: ignore[no-untyped-def]
    blobs.clear_cache()
    with archive.sessions() as s:
        for cap_id, payload in sent.items():
            d = s.scalar(select(Capture.blob_digest).where(Capture.id == cap_id))
            assert d == hashlib.sha256(payload).hexdigest()
            assert get_blob(s, d) == payload


def run_relayout_process(db_url: str, kill_at: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PAGETRAIL_KILL_AT=kill_at, PYTHONPATH=str(ROOT))
    return subprocess.run(
        [sys.executable, "-m", "storage.relayout", "--db", db_url, "--batch", "2"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )


def stored(archive) -> int:  # type: ignore[no-untyped-def]
    with archive.sessions() as s:
        return queries.storage_totals(s)["bytes_stored"]


def test_relayout_killed_between_batches_resumes(old_archive, db_url) -> None:
    archive, sent = old_archive
    with archive.sessions() as s:
        before, todo = stored(archive), pending(s)
    assert todo == len(sent)
    proc = run_relayout_process(db_url, "relayout:after_batch:2")
    assert proc.returncode == -9, proc.stderr  # SIGKILLed after its 2nd batch had committed
    with archive.sessions() as s:
        left = pending(s)
        assert 0 < left < todo  # two batches (4 pages x 6 captures) done, the rest not
        assert todo - left == 4 * 6
        assert integrity.verify(s).ok  # a half-migrated archive is a valid archive
    all_restore(archive, sent)

    rep = relayout(archive.engine, batch_pages=2)  # resume
    assert rep.remaining == 0 and rep.pages == 3
    with archive.sessions() as s:
        assert pending(s) == 0
        v = integrity.verify(s)
        assert v.ok, v.problems
        assert v.keyframes == 1  # one for the whole site: its pages share the chrome
    assert stored(archive) * 5 < before  # 6 captures a page: the first of each costs most
    all_restore(archive, sent)

    again = relayout(archive.engine, batch_pages=2)  # idempotent: nothing left to do
    assert again.batches == 0 and again.reencoded == 0


def test_relayout_killed_inside_a_batch_changes_nothing_of_it(old_archive, db_url) -> None:
    archive, sent = old_archive
    with archive.sessions() as s:
        rows_before = {d: (c, n) for d, c, n in s.execute(select(Blob.digest, Blob.codec, Blob.stored_size))}
    proc = run_relayout_process(db_url, "relayout:before_commit:1")
    assert proc.returncode == -9, proc.stderr
    with archive.sessions() as s:
        assert pending(s) == len(sent)
        assert {d: (c, n) for d, c, n in s.execute(select(Blob.digest, Blob.codec, Blob.stored_size))} == rows_before
    assert relayout(archive.engine).remaining == 0
    all_restore(archive, sent)


def test_relayout_interrupted_by_an_exception_resumes(old_archive) -> None:
    archive, sent = old_archive

    def boom(rep) -> None:  # type: ignore[no-untyped-def]
        if rep.batches == 1:
            raise KeyboardInterrupt  # an operator's Ctrl-C between batches

    with pytest.raises(KeyboardInterrupt):
        relayout(archive.engine, batch_pages=3, on_batch=boom)
    with archive.sessions() as s:
        assert pending(s) == len(sent) - 3 * 6
    rep = relayout(archive.engine, batch_pages=3)
    assert rep.remaining == 0 and rep.pages == 4
    all_restore(archive, sent)


def test_old_blobs_new_captures_lean_on_stay_keyframes(old_archive) -> None:
    archive, sent = old_archive
    # A crawl after the upgrade, before the relayout: new deltas of old layout-0 blobs.
    for _, cap in crawl(n_pages=7, rounds=8):
        if cap.fetched_at.day >= 7:  # rounds 7 and 8 only: new payloads
            sent[archive.store_capture(cap, None).capture_id] = cap.payload
    with archive.sessions() as s:
        leaned_on = set(s.scalars(
            select(Blob.base_digest).where(Blob.base_digest.is_not(None), Blob.layout == 1)
        ))
        assert leaned_on and all(
            s.scalar(select(Blob.layout).where(Blob.digest == d)) == 0 for d in leaned_on
        )
    rep = relayout(archive.engine)
    assert rep.remaining == 0
    with archive.sessions() as s:
        for d in leaned_on:
            assert s.scalar(select(Blob.is_keyframe).where(Blob.digest == d)) is True
        v = integrity.verify(s)
        assert v.ok, v.problems
    all_restore(archive, sent)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_migration_0005_keeps_old_blobs_as_layout_0_keyframes(request, backend) -> None:
    url = request.getfixturevalue("sqlite_url" if backend == "sqlite" else "pg_url")
    engine = make_engine(url)
    with engine.begin() as conn:
        command.upgrade(_alembic_config(conn), "0004_schedules")
    payload = b"<html>" + b"an old capture " * 50 + b"</html>"
    digest = hashlib.sha256(payload).hexdigest()
    codec, data = blobs.compress_keyframe(payload)
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO blob (digest, size, stored_size, codec, data, created_at) "
                 "VALUES (:d, :n, :m, :c, :data, :t)"),
            {"d": digest, "n": len(payload), "m": len(data), "c": codec, "data": data,
             "t": datetime(2020, 1, 1)},
        )
    upgrade(engine)
    with engine.connect() as conn:
        row = conn.execute(
            text("SELECT base_digest, depth, seq, is_keyframe, layout FROM blob WHERE digest = :d"),
            {"d": digest},
        ).one()
    assert (row[0], row[1], row[2], bool(row[3]), row[4]) == (None, 0, 0, True, 0)
    from sqlalchemy.orm import Session

    blobs.clear_cache()
    with Session(engine) as s:
        assert get_blob(s, digest) == payload
        assert s.scalar(select(func.count()).select_from(Blob).where(Blob.layout == 0)) == 1
    assert relayout(engine).remaining == 0  # no capture names it: it stays a keyframe, layout 1
    engine.dispose()
