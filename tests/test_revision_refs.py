"""Revision refs "<page_uid>:<ordinal>" are stable and citable, on SQLite and PostgreSQL.

A page's uid comes from its key (the normalized URL), not from the archive that holds it: a
revisions export, a WARC export imported into an empty archive and exported again cite the
same revisions by the same refs. Migration 0010 gives pages created before it their uid.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from pagetrail.demo import NEW_POST, REVISED, DemoSite
from pagetrail.demo_server import SiteServer
from pagetrail.sample_site.content import DDT, LIVER, MAGNESIUM
from pagetrail.timeparse import parse_revision_ref
from storage.db import _alembic_config, make_engine, upgrade
from storage.refs import UID_HEX_DIGITS, RevisionRef, page_uid
from tests.test_spine import cli, cli_json

OTHER = "health.example.org"


def _export_revisions(capsys, db: str, out: Path) -> list[dict]:
    cli_json(capsys, "export", "--format", "jsonl", "--what", "revisions", "--site", "www.wisegeek.com",
             "-o", str(out), "--db", db)
    return [json.loads(line) for line in out.read_text("utf-8").splitlines()]


def test_revision_refs_survive_warc_export_and_import(db_url, tmp_path, capsys, request, monkeypatch):
    # import into the other backend: SQLite -> PostgreSQL and PostgreSQL -> SQLite
    if db_url.startswith("sqlite"):
        target = request.getfixturevalue("pg_url")
        engine = make_engine(target)
        upgrade(engine)
        engine.dispose()
    else:
        target = f"sqlite:///{tmp_path / 'imported.db'}"
    site = DemoSite()
    with SiteServer(site, 0) as server:
        site.base = f"http://www.wisegeek.com:{server.port}"
        monkeypatch.setenv("PAGETRAIL_RESOLVE", f"www.wisegeek.com=127.0.0.1,{OTHER}=127.0.0.1")
        monkeypatch.setenv("PAGETRAIL_PER_HOST_DELAY", "0")
        liver, mag = site.base + LIVER.path, site.base + MAGNESIUM.path
        # A page of another host archived first and left out of the exports: in the source
        # archive the wisegeek pages' numeric ids start after it, in the imported one at 1.
        code, _, err = cli(capsys, "crawl", f"http://{OTHER}:{server.port}{DDT.path}", "--db", db_url, "--quiet")
        assert code == 0, err
        # a comment arrives and one is removed, an edit, then its revert (a same_as ref)
        for changes in ({}, {"fetch": 1, "added": (NEW_POST,), "removed": frozenset({"post_2409872"})},
                        {"fetch": 2, "edits": {(0, 2): REVISED}, "modified": "2 October 2019"},
                        {"fetch": 3, "edits": {}, "modified": None}):
            site.states[LIVER.slug] = replace(site.states[LIVER.slug], **changes)
            code, _, err = cli(capsys, "crawl", liver, mag, "--db", db_url, "--quiet")
            assert code == 0, err

    before = _export_revisions(capsys, db_url, tmp_path / "before.jsonl")
    # a reader of older exports, whose refs used the numeric page id, can tell this one apart
    manifest = json.loads((tmp_path / "before.jsonl.manifest.json").read_text())
    assert manifest["schema"]["export_schema_version"] == 2
    warc = tmp_path / "wisegeek.warc.gz"
    cli_json(capsys, "export", "--format", "warc", "--site", "www.wisegeek.com", "-o", str(warc), "--db", db_url)
    report = cli_json(capsys, "import-warc", str(warc), "--db", target)
    assert report["captures_imported"] == 8 and report["skipped"] == []
    after = _export_revisions(capsys, target, tmp_path / "after.jsonl")

    def cited(rows: list[dict]) -> set[tuple]:
        return {(r["revision_ref"], r["page_uid"], r["url"], r["content_hash"], r["same_as_ref"]) for r in rows}

    assert len(before) == 4 and cited(after) == cited(before)  # liver: 3 revisions (one a revert), mag: 1
    # the numeric ids did differ: the refs do not depend on them
    assert {r["page_id"] for r in before} != {r["page_id"] for r in after}
    by_url = {r["url"]: r["page_uid"] for r in before}
    assert by_url == {liver: page_uid(liver), mag: page_uid(mag)}
    liver_refs = sorted((r for r in before if r["url"] == liver), key=lambda r: r["ordinal"])
    assert [r["revision_ref"] for r in liver_refs] == [f"{page_uid(liver)}:{n}" for n in (1, 2, 3)]
    assert liver_refs[2]["same_as_ref"] == f"{page_uid(liver)}:1"  # the revert names the one it equals

    # history and show print the same refs in both archives; diff takes them
    for db in (db_url, target):
        h = cli_json(capsys, "history", liver, "--db", db)
        assert h["page_uid"] == page_uid(liver)
        assert [r["ref"] for r in h["revisions"]] == [r["revision_ref"] for r in liver_refs]
        shown = cli_json(capsys, "show", liver, "--db", db)
        assert shown["page_uid"] == page_uid(liver) and shown["revision"]["ref"] == liver_refs[2]["revision_ref"]
        d = cli_json(capsys, "diff", liver, "--from", liver_refs[0]["revision_ref"],
                     "--to", liver_refs[1]["revision_ref"].upper(), "--db", db)
        assert (d["from"]["ref"], d["to"]["ref"]) == (liver_refs[0]["revision_ref"], liver_refs[1]["revision_ref"])
        assert (d["from"]["revision"], d["to"]["revision"]) == (1, 2) and d["unified_diff"]
        # a ref of another page is refused, saying whose it is
        code, _, err = cli(capsys, "diff", liver, "--from", f"{page_uid(mag)}:1", "--db", db)
        assert code == 1 and mag in err
        code, out, _ = cli(capsys, "history", liver, "--db", db)
        assert code == 0 and f"cite revision N as {page_uid(liver)}:N" in out
        hits = cli_json(capsys, "search", "ultrasound", "--in", "body", "--db", db)["hits"]
        assert [h["revision_ref"] for h in hits] == [liver_refs[1]["revision_ref"]]


def test_parse_revision_ref_takes_ordinals_refs_and_moments():
    uid = "0123456789abcdef0123"
    assert len(uid) == UID_HEX_DIGITS
    assert parse_revision_ref("2") == 2
    assert parse_revision_ref(f"{uid}:12") == RevisionRef(uid, 12)
    assert parse_revision_ref(f" {uid.upper()}:1 ") == RevisionRef(uid, 1)
    assert isinstance(parse_revision_ref("2019-03-03T10:00"), datetime)
    assert isinstance(parse_revision_ref("2019-03-03"), datetime)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_migration_0010_gives_existing_pages_their_uid(request, backend):
    url = request.getfixturevalue("sqlite_url" if backend == "sqlite" else "pg_url")
    engine = make_engine(url)
    with engine.begin() as conn:
        command.upgrade(_alembic_config(conn), "0009_read_indexes")
    n = 12_001  # more than two of the migration's batches (5,000 pages each)
    t = datetime(2020, 1, 1)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO site (id, host, created_at) VALUES (1, 'www.wisegeek.com', :t)"), {"t": t})
        conn.execute(text(
            "WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < :n) "
            "INSERT INTO page (url, site_id, created_at) "
            "SELECT 'http://www.wisegeek.com/article-' || i || '.htm', 1, :t FROM seq"), {"n": n, "t": t})
    upgrade(engine)
    with engine.connect() as conn:
        got = dict(conn.execute(text("SELECT url, uid FROM page")).all())
    assert len(got) == n and all(uid == page_uid(key) for key, uid in got.items())
    first = "http://www.wisegeek.com/article-1.htm"
    # unique and NOT NULL from now on
    for uid in (None, page_uid(first)):
        with pytest.raises(IntegrityError), engine.begin() as conn:
            conn.execute(text("INSERT INTO page (url, uid, site_id, created_at) VALUES ('http://x.org/', :uid, 1, :t)"),
                         {"uid": uid, "t": t})
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(text("UPDATE page SET uid = NULL WHERE url = :u"), {"u": first})
    engine.dispose()
