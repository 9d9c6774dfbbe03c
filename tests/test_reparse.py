"""Broken-profile detection and reparse, on SQLite and PostgreSQL.

A site's profile breaks (its body selector stops matching): captures are still archived with
generic records and a warning, history is not polluted, `status` names the failing profile
and its first failed capture. Fix the profile, `reparse`: history corrected, raw bytes
untouched, earlier derivations kept; a second reparse changes nothing.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import func, select

import parsers
from pagetrail.cli import main
from pagetrail.demo import REVISED, DemoSite
from pagetrail.demo_server import SiteServer
from pagetrail.sample_site.content import LIVER
from storage.archive import Archive
from storage.blobs import get_blob
from storage.db import open_engine
from storage.models import AdObservation, Capture, Derivation

WISEGEEK = (Path(parsers.__file__).parent.parent / "config" / "sites" / "wisegeek.toml").read_text()


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert code == 0, err
    return out


def test_broken_profile_then_fixed_and_reparsed(db_url, tmp_path, capsys, monkeypatch):
    mine = tmp_path / "profiles"
    mine.mkdir()
    (mine / "wisegeek.toml").write_text(WISEGEEK.replace('select = "div.suggestEdit > p', 'select = "div.articleBody > p'))
    monkeypatch.setenv("PAGETRAIL_PROFILES_DIR", str(mine))
    monkeypatch.setenv("PAGETRAIL_RESOLVE", "www.wisegeek.com=127.0.0.1")
    monkeypatch.setenv("PAGETRAIL_PER_HOST_DELAY", "0")
    site = DemoSite()
    with SiteServer(site, 0) as server:
        site.base = f"http://www.wisegeek.com:{server.port}"
        url = site.base + LIVER.path
        for fetch in range(3):
            state = site.states[LIVER.slug]
            site.states[LIVER.slug] = replace(state, fetch=fetch, edits={(0, 2): REVISED} if fetch == 2 else {})
            run(capsys, "crawl", url, "--db", db_url, "--quiet")

    hist = json.loads(run(capsys, "history", url, "--db", db_url, "--json"))
    assert hist["captures"] == 3 and hist["revisions"] == [] and hist["comments"] == []  # not polluted
    status = json.loads(run(capsys, "status", "--db", db_url, "--json"))
    (failing,) = status["failing_profiles"]
    assert failing["profile"] == "wisegeek" and failing["captures"] == 3
    assert failing["first_failed"]["url"] == url
    assert "FAILING PROFILES" in run(capsys, "status", "--db", db_url)

    engine = open_engine(db_url)
    with Archive(engine).sessions() as s:
        before = {c.id: (c.blob_digest, get_blob(s, c.blob_digest)) for c in s.scalars(select(Capture))}
        degraded = s.scalars(select(Derivation)).all()
        assert all(d.degraded and d.record["body"]["paragraphs"] for d in degraded)  # never a silent empty body
        assert all("required field(s) body found nothing" in d.record["warnings"][0] for d in degraded)

    # the operator repairs the profile, checks it, and re-derives
    (mine / "wisegeek.toml").write_text(WISEGEEK)
    report = json.loads(run(capsys, "reparse", "--db", db_url, "--json"))
    assert (report["considered"], report["rederived"], report["pages_rebuilt"]) == (3, 3, 1)

    hist = json.loads(run(capsys, "history", url, "--db", db_url, "--json"))
    assert [r["revision"] for r in hist["revisions"]] == [1, 2]
    assert [r["modified"] for r in hist["revisions"]] == ["2019-06-14", "2019-06-14"]
    assert len(hist["comments"]) == 3
    assert json.loads(run(capsys, "status", "--db", db_url, "--json"))["failing_profiles"] == []

    with Archive(engine).sessions() as s:
        after = {c.id: (c.blob_digest, get_blob(s, c.blob_digest)) for c in s.scalars(select(Capture))}
        assert after == before  # raw captures untouched
        derivs = s.scalars(select(Derivation).order_by(Derivation.id)).all()
        assert len(derivs) == 6 and sum(d.current for d in derivs) == 3  # earlier derivations kept
        assert {d.profile_hash for d in derivs if d.current} != {d.profile_hash for d in derivs if not d.current}
        # a capture's ad observations are those of its current derivation, not one set per derivation
        for d in derivs:
            if d.current:
                n = s.scalar(select(func.count()).select_from(AdObservation).where(AdObservation.capture_id == d.capture_id))
                assert n == len(d.record["ads"]) > 0

    again = json.loads(run(capsys, "reparse", "--db", db_url, "--json"))
    assert (again["rederived"], again["skipped"], again["pages_rebuilt"]) == (0, 3, 0)
    assert json.loads(run(capsys, "history", url, "--db", db_url, "--json")) == hist
    engine.dispose()


def test_profiles_check_and_list(capsys, tmp_path):
    fixture = Path(__file__).parent / "fixtures" / "sample" / "liver-reference.html"
    out = json.loads(run(capsys, "profiles", "check", "wisegeek", str(fixture), "--url",
                         "http://www.wisegeek.com/x.htm", "--json"))
    page = out["pages"][0]
    parts = {r["part"]: r for r in page["selectors"]}
    assert parts["fields.title"]["count"] == 1
    assert parts["fields.title"]["excerpt"] == "What Is the Treatment for Liver Calcification?"
    assert parts["comments.item"]["count"] == 3 and parts["body.select"]["count"] == 7
    assert page["fields"]["title"]["status"] == "ok" and page["fields"]["published"]["status"] == "empty"
    assert page["required_missing"] == [] and page["records"]["profile"] == "wisegeek"

    broken = tmp_path / "wisegeek.toml"
    broken.write_text(WISEGEEK.replace('select = "div.suggestEdit > p', 'select = "div.gone > p'))
    code = main(["profiles", "check", "wisegeek", str(fixture), "--profiles", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 1 and "FAILED: required field(s) body found nothing" in out

    rows = json.loads(run(capsys, "profiles", "list", "--json"))
    wisegeek = next(r for r in rows if r["name"] == "wisegeek")
    assert wisegeek["file"].endswith("wisegeek.toml") and "www.wisegeek.com" in wisegeek["hosts"]
    assert all(set(r) == {"name", "file", "hosts"} for r in rows)
    assert {r["name"] for r in rows} >= {"wisegeek", "wordpress"}
    assert main(["profiles", "check", "nosuch", str(fixture)]) == 1
    assert "unknown profile 'nosuch'" in capsys.readouterr().err
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "x.toml").write_text("[site]\nhosts = 3\n")
    assert main(["profiles", "list", "--profiles", str(bad)]) == 1
    assert "site.hosts" in capsys.readouterr().err
