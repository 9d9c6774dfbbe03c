"""`pagetrail verify` and `pagetrail relayout`, on SQLite and PostgreSQL: a clean archive
verifies (exit 0); a keyframe or a delta whose bytes were damaged behind the archive's back,
and a capture whose blob is gone, are reported with their digests and the captures that
need them (exit 3); --site checks one site only. relayout killed mid-way by SIGKILL resumes
from the CLI and every payload restores byte-identically."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select, text

from pagetrail.cli import main
from storage.models import Blob, Capture
from tests.sample_archive import HOST, T0, fill, store_page
from tests.test_blobs_integrity import _delete_without_foreign_keys
from tests.test_blobs_integrity import fresh_cache  # noqa: F401 - autouse: no payload served from memory
from tests.test_blobs_relayout import all_restore, old_archive  # noqa: F401 - a fixture

ROOT = Path(__file__).resolve().parent.parent
OTHER = "http://other.example.org/malaria.htm"


def verify(capsys, db_url: str, *extra: str) -> tuple[int, dict]:  # type: ignore[no-untyped-def]
    code = main(["verify", "--db", db_url, "--json", *extra])
    out, err = capsys.readouterr()
    assert code in (0, 3), err
    return code, json.loads(out)


def corrupt(archive, digest: str) -> None:  # type: ignore[no-untyped-def]
    """Flip bytes of a stored blob with plain SQL, as a disk or a careless tool would."""
    with archive.engine.begin() as c:
        data = bytearray(c.execute(text("SELECT data FROM blob WHERE digest = :d"), {"d": digest}).scalar())
        for i in range(len(data) // 2, len(data) // 2 + 8):
            data[i] ^= 0xFF
        c.execute(text("UPDATE blob SET data = :b WHERE digest = :d"), {"b": bytes(data), "d": digest})


def needing(archive, digest: str) -> set[int]:  # type: ignore[no-untyped-def]
    """Captures whose blob is `digest` or a delta below it (computed here, by walking rows)."""
    with archive.sessions() as s:
        base_of = dict(s.execute(select(Blob.digest, Blob.base_digest)).all())
        out = set()
        for cap_id, d in s.execute(select(Capture.id, Capture.blob_digest).where(Capture.blob_digest.is_not(None))):
            while d is not None:
                if d == digest:
                    out.add(cap_id)
                    break
                d = base_of.get(d)
        return out


def test_verify_clean_then_a_damaged_keyframe_and_site_filter(archive, db_url, capsys) -> None:
    sent = fill(archive, rounds=4)
    other = store_page(archive, OTHER, b"<html><body>" + b"<p>DDT and malaria</p>" * 40 + b"</body></html>",
                       T0 + timedelta(days=30))
    code, rep = verify(capsys, db_url)
    assert code == 0 and rep["ok"] and rep["problems"] == []
    assert rep["blobs_checked"] == rep["blobs_total"] == len(sent) + 1
    assert main(["verify", "--db", db_url]) == 0
    assert "ok: every payload" in capsys.readouterr().out

    with archive.sessions() as s:  # the sample site's keyframe: every one of its chains ends there
        keyframe = s.scalar(
            select(Blob.digest).join(Capture, Capture.blob_digest == Blob.digest)
            .where(Blob.base_digest.is_(None), Capture.id != other)
        )
    corrupt(archive, keyframe)
    code, rep = verify(capsys, db_url)
    assert code == 3 and not rep["ok"]
    kf = [p for p in rep["problems"] if p["digest"] == keyframe]
    assert [p["kind"] for p in kf] == ["corrupt"]
    assert set(kf[0]["captures"]) == needing(archive, keyframe) == set(sent)  # the whole site hangs on it
    assert kf[0]["captures_affected"] == len(sent)
    assert other not in {c for p in rep["problems"] for c in p["captures"]}
    assert main(["verify", "--db", db_url]) == 3
    out = capsys.readouterr().out
    assert f"corrupt: {keyframe}" in out and f"captures needing it ({len(sent)})" in out

    # --site: the other site's captures do not need the damaged keyframe; the sample site's do.
    code, rep = verify(capsys, db_url, "--site", "other.example.org")
    assert code == 0 and rep["site"] == "other.example.org" and rep["blobs_total"] == 1
    assert rep["captures_checked"] == 1
    code, rep = verify(capsys, db_url, "--site", HOST, "--sample", "3")
    assert code == 3 and rep["sampled"] and rep["captures_checked"] == len(sent)
    assert main(["verify", "--db", db_url, "--site", "nowhere.example"]) == 1
    assert "no pages of site" in capsys.readouterr().err


def test_verify_reports_a_damaged_delta_and_a_missing_blob(archive, db_url, capsys) -> None:
    sent = fill(archive, rounds=5)
    with archive.sessions() as s:
        # A delta in the middle of a chain: it has a base, and deltas of its own.
        middle = next(
            d for d in s.scalars(select(Blob.digest).where(Blob.base_digest.is_not(None)).order_by(Blob.digest))
            if s.scalar(select(Blob.digest).where(Blob.base_digest == d).limit(1))
        )
        below = set(s.scalars(select(Blob.digest).where(Blob.base_digest == middle)))
        leaf, leaf_caps = next(
            (d, set(s.scalars(select(Capture.id).where(Capture.blob_digest == d))))
            for d in s.scalars(select(Blob.digest).order_by(Blob.digest))
            if d != middle and d not in below and not s.scalar(select(Blob.digest).where(Blob.base_digest == d).limit(1))
        )
    corrupt(archive, middle)
    code, rep = verify(capsys, db_url)
    assert code == 3
    bad = {p["digest"]: p for p in rep["problems"] if p["kind"] == "corrupt"}
    assert middle in bad and below <= set(bad)  # what sits on it cannot be restored either
    assert set(bad[middle]["captures"]) == needing(archive, middle)
    assert len(needing(archive, middle)) > len(below)
    assert rep["blobs_checked"] < rep["blobs_total"] == len(sent)

    _delete_without_foreign_keys(archive, leaf)  # a reference broken behind the archive's back
    code, rep = verify(capsys, db_url)
    assert code == 3
    missing = [p for p in rep["problems"] if p["kind"] == "missing_blob"]
    assert {p["digest"] for p in missing} == {leaf}
    assert {p["capture"] for p in missing} == leaf_caps and set(missing[0]["captures"]) == leaf_caps


def run_cli(db_url: str, *argv: str, kill_at: str | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("PAGETRAIL_KILL_AT", None)
    if kill_at:
        env["PAGETRAIL_KILL_AT"] = kill_at
    return subprocess.run([sys.executable, "-m", "pagetrail.cli", *argv, "--db", db_url],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def test_relayout_verb_killed_then_resumed(old_archive, db_url, capsys) -> None:  # noqa: F811
    archive, sent = old_archive
    proc = run_cli(db_url, "relayout", "--batch", "2", kill_at="relayout:after_batch:2")
    assert proc.returncode == -9, proc.stderr  # SIGKILLed after its 2nd batch had committed
    progress = [line for line in proc.stderr.splitlines() if line.startswith("relayout: batch")]
    assert len(progress) == 1 and progress[0].startswith("relayout: batch 1: 2 pages, 12/42 blobs")
    all_restore(archive, sent)  # a half-migrated archive restores everything

    assert main(["relayout", "--db", db_url, "--batch", "2", "--json"]) == 0
    out, err = capsys.readouterr()
    rep = json.loads(out)
    assert rep["remaining"] == 0 and rep["pages"] == 3 and rep["pending_before"] == 42 - 24
    assert rep["reencoded"] + rep["kept"] == 18 and rep["bytes_saved"] > 0
    assert "relayout: batch 2: 3 pages, 18/18 blobs" in err
    all_restore(archive, sent)
    assert main(["verify", "--db", db_url]) == 0
    capsys.readouterr()
    assert main(["relayout", "--db", db_url]) == 0  # nothing left: does nothing, says so
    assert "nothing to do" in capsys.readouterr().out
