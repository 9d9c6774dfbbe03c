"""Research verbs on SQLite and PostgreSQL: `pages`, `comments` and `export`.

The archive is built the way users build it: `pagetrail crawl` against the sample site served
on 127.0.0.1 (under its real names, via `resolve`) for four rounds while it changes — a reader
posts a comment, a moderator removes one, an editor revises the liver article. A second host
serves one article so --site has something to leave out.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
import sys
import tracemalloc
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import event

from pagetrail.demo import NEW_POST, DemoSite
from pagetrail.demo_server import SiteServer
from pagetrail.sample_site.content import DDT, LIVER, MAGNESIUM
from parsers.records import Ad, Body, Metadata, ParsedPage
from storage.exports import COLUMNS, export_rows
from storage.refs import page_uid
from storage.interface import CaptureIn

OTHER = "health.example.org"


def now() -> str:
    return datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")


from tests.test_spine import cli, cli_json  # noqa: E402  (the spine's CLI helpers)


@dataclass
class Built:
    db: str
    liver: str
    mag: str
    ddt: str  # on the other host
    host: str  # www.wisegeek.com:PORT
    before: list[str]  # before[i]: a moment just before round i+1's crawl
    after: list[str]  # after[i]: just after round i+1's crawl


@pytest.fixture
def built(db_url, capsys, monkeypatch) -> Built:
    site = DemoSite()
    with SiteServer(site, 0) as server:
        site.base = f"http://www.wisegeek.com:{server.port}"
        monkeypatch.setenv("PAGETRAIL_RESOLVE", f"www.wisegeek.com=127.0.0.1,{OTHER}=127.0.0.1")
        monkeypatch.setenv("PAGETRAIL_PER_HOST_DELAY", "0")
        b = Built(db_url, site.base + LIVER.path, site.base + MAGNESIUM.path,
                  f"http://{OTHER}:{server.port}{DDT.path}", f"www.wisegeek.com:{server.port}", [], [])
        for round_no in (1, 2, 3, 4):  # see DemoSite.advance: comment added, one removed, a revision
            site.advance(round_no)
            b.before.append(now())
            code, _, err = cli(capsys, "crawl", b.liver, b.mag, b.ddt, "--db", db_url, "--quiet")
            assert code == 0, err
            b.after.append(now())
    return b


# ---- pages and comments --------------------------------------------------------------------------

def test_pages_and_comments(built, capsys):
    check_pages(built, capsys)
    check_comments(built, capsys)


def check_pages(built: Built, capsys) -> None:
    db = built.db
    rows = cli_json(capsys, "pages", "--db", db)
    by_url = {r["url"]: r for r in rows}
    assert set(by_url) == {built.liver, built.mag, built.ddt}
    liver = by_url[built.liver]
    assert set(liver) >= {"url", "page", "page_uid", "site", "revisions", "first_capture", "last_capture", "title",
                          "authors"}
    assert liver["page_uid"] == page_uid(built.liver)
    assert liver["site"] == built.host and by_url[built.ddt]["site"].startswith(OTHER + ":")
    assert liver["revisions"] == 2 and by_url[built.mag]["revisions"] == 1
    assert liver["title"] == LIVER.title and liver["authors"] == [LIVER.author]
    assert built.before[0] <= liver["first_capture"] < built.after[0] <= built.before[3] <= liver["last_capture"]

    assert {r["url"] for r in cli_json(capsys, "pages", "--site", "www.wisegeek.com", "--db", db)} == {
        built.liver, built.mag}  # the host on any port
    assert {r["url"] for r in cli_json(capsys, "pages", "--site", OTHER, "--db", db)} == {built.ddt}
    # only the liver article changed in round 4
    assert [r["url"] for r in cli_json(capsys, "pages", "--changed-since", built.before[3], "--db", db)] == [
        built.liver]
    assert len(cli_json(capsys, "pages", "--changed-since", "2000-01-01", "--db", db)) == 3
    assert [r["url"] for r in cli_json(capsys, "pages", "--author", LIVER.author.upper(), "--db", db)] == [
        built.liver]
    assert cli_json(capsys, "pages", "--author", "Nobody Atall", "--db", db) == []

    code, out, _ = cli(capsys, "pages", "--site", "www.wisegeek.com", "--db", db)
    assert code == 0 and LIVER.title in out and LIVER.author in out and "first_capture" in out
    code, _, err = cli(capsys, "pages", "--changed-since", "last tuesday", "--db", db)
    assert code == 1 and "YYYY-MM-DD" in err


def check_comments(built: Built, capsys) -> None:
    db, liver = built.db, built.liver
    thread = cli_json(capsys, "comments", liver, "--db", db)
    by_key = {c["key"]: c for c in thread}
    assert set(by_key) == {"post_2409871", "post_2409872", "post_2409873", NEW_POST.id}
    assert set(thread[0]) >= {"key", "id", "number", "author", "posted", "first_seen", "last_seen", "removed_at",
                              "text", "versions"}
    assert [c["key"] for c in thread][-1] == NEW_POST.id  # in the order the thread grew
    new = by_key[NEW_POST.id]
    assert (new["number"], new["author"], new["versions"]) == (4, "ocelot60", 1)
    assert new["text"].startswith("@fify-- My doctor told me") and built.before[1] <= new["first_seen"]
    removed = by_key["post_2409872"]
    assert built.before[2] <= removed["removed_at"] < built.after[2]  # the moderator's round
    assert all(by_key[k]["removed_at"] is None for k in ("post_2409871", "post_2409873", NEW_POST.id))

    # the window: after round 1 only the first three existed
    early = cli_json(capsys, "comments", liver, "--to", built.after[0], "--db", db)
    assert sorted(c["number"] for c in early) == [1, 2, 3]
    # from round 3 on, the removed comment no longer shows
    late = cli_json(capsys, "comments", liver, "--from", built.after[2], "--db", db)
    assert sorted(c["number"] for c in late) == [1, 3, 4]
    # a window spanning the removal keeps it
    assert len(cli_json(capsys, "comments", liver, "--from", built.after[0], "--to", built.after[1], "--db", db)) == 4
    assert cli_json(capsys, "comments", liver, "--to", "2001-01-01", "--db", db) == []

    code, out, _ = cli(capsys, "comments", liver, "--db", db)
    assert code == 0 and "removed_at" in out and "ocelot60" in out and "serenity36" in out
    code, _, err = cli(capsys, "comments", built.liver + "?nope=1", "--db", db)
    assert code == 1 and "not in the archive" in err
    code, _, err = cli(capsys, "comments", liver, "--from", "2020-01-02", "--to", "2020-01-01", "--db", db)
    assert code == 1 and "swap" in err


def test_read_only_verbs_refuse_a_missing_database(tmp_path, capsys):
    missing = f"sqlite:///{tmp_path / 'nothing.db'}"
    for argv in (["pages"], ["comments", "http://www.wisegeek.com/x.htm"],
                 ["export", "--format", "jsonl", "--what", "revisions", "-o", str(tmp_path / "r.jsonl")]):
        code, _, err = cli(capsys, *argv, "--db", missing)
        assert code == 1 and "no archive at" in err, argv
    assert not (tmp_path / "nothing.db").exists() and not (tmp_path / "r.jsonl").exists()


# ---- exports -------------------------------------------------------------------------------------

def read_back(path: Path, fmt: str) -> list[dict]:
    """Rows as each format's own reader gives them (CSV: strings; empty cell = None)."""
    if fmt == "jsonl":
        return [json.loads(line) for line in path.read_text("utf-8").splitlines()]
    if fmt == "csv":
        with open(path, newline="", encoding="utf-8") as f:
            return [{k: (v if v != "" else None) for k, v in r.items()} for r in csv.DictReader(f)]
    import pyarrow.parquet as pq

    return pq.read_table(path).to_pylist()


def export(capsys, db, tmp_path, fmt, what, *extra) -> tuple[list[dict], dict, Path]:
    out = tmp_path / f"{what}-{len(list(tmp_path.iterdir()))}.{fmt}"
    printed = cli_json(capsys, "export", "--format", fmt, "--what", what, "-o", str(out), "--db", db, *extra)
    manifest = json.loads(Path(str(out) + ".manifest.json").read_text("utf-8"))
    assert printed["sha256"] == manifest["sha256"]
    # the manifest checks the file
    data = out.read_bytes()
    assert manifest["sha256"] == hashlib.sha256(data).hexdigest() and manifest["bytes"] == len(data)
    rows = read_back(out, fmt)
    assert manifest["rows"] == {what: len(rows)}
    assert [c["name"] for c in manifest["schema"]["columns"]] == [c.name for c in COLUMNS[what]]
    assert manifest["format"] == fmt and manifest["what"] == what
    assert set(manifest) >= {"query", "exported_at", "pagetrail_version", "parser_versions", "redactions"}
    assert manifest["redactions"] == []
    assert manifest["parser_versions"] == sorted({r["parser_version"] for r in rows if r.get("parser_version")})
    if rows:
        assert list(rows[0]) == [c.name for c in COLUMNS[what]]
    return rows, manifest, out


def test_exports_read_back(built, capsys, tmp_path):
    for fmt in ("jsonl", "csv", "parquet"):
        check_export(built, capsys, tmp_path / fmt, fmt)
    check_warc_export(built, capsys, tmp_path)


def check_warc_export(built: Built, capsys, tmp_path: Path) -> None:
    from warcio.archiveiterator import ArchiveIterator

    out = tmp_path / "other.warc.gz"
    # --what is ignored for WARC; --site and the window pick the captures
    manifest = cli_json(capsys, "export", "--format", "warc", "--what", "ads", "--site", OTHER,
                        "--from", built.before[1], "-o", str(out), "--db", built.db)
    assert manifest["format"] == "warc" and manifest["what"] is None and manifest["query"]["what"] is None
    assert manifest["sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()
    assert manifest["rows"]["captures"] == 3 and manifest["parser_versions"]
    with open(out, "rb") as f:
        targets = [r.rec_headers.get_header("WARC-Target-URI") for r in ArchiveIterator(f)
                   if r.rec_type in ("response", "revisit")]
    assert targets == [built.ddt] * 3


def check_export(built: Built, capsys, tmp_path: Path, fmt: str) -> None:
    tmp_path.mkdir()
    db = built.db
    revs, manifest, _ = export(capsys, db, tmp_path, fmt, "revisions")
    assert manifest["query"]["what"] == "revisions" and manifest["parser_versions"]
    by_ref = {r["revision_ref"]: r for r in revs}
    liver_page = next(r["page_id"] for r in revs if r["url"] == built.liver)
    liver_uid = next(r["page_uid"] for r in revs if r["url"] == built.liver)
    assert sorted(by_ref) == sorted([f"{liver_uid}:1", f"{liver_uid}:2"] + [
        f"{r['page_uid']}:1" for r in revs if r["url"] != built.liver])
    assert len(revs) == 4
    r1, r2 = by_ref[f"{liver_uid}:1"], by_ref[f"{liver_uid}:2"]
    assert int(r1["ordinal"]) == 1 and r1["valid_to"] == r2["valid_from"] and r2["valid_to"] is None
    assert "monitoring with ultrasound" in r2["body_text"] and "monitoring with ultrasound" not in r1["body_text"]
    assert (r1["modified"], r2["modified"]) == ("2019-06-14", "2019-10-02")
    authors = r1["authors"] if fmt != "csv" else json.loads(r1["authors"])
    assert authors == [LIVER.author]

    comments, _, _ = export(capsys, db, tmp_path, fmt, "comments", "--site", "www.wisegeek.com")
    assert {r["url"] for r in comments} == {built.liver, built.mag}
    liver_comments = {r["comment_key"]: r for r in comments if r["url"] == built.liver}
    assert set(liver_comments) == {"post_2409871", "post_2409872", "post_2409873", NEW_POST.id}
    gone = liver_comments["post_2409872"]
    assert gone["removed_at"] is not None and gone["text_to"] == gone["removed_at"]
    assert str(gone["version"]) == "1" and str(gone["page_id"]) == str(liver_page)
    assert gone["page_uid"] == liver_uid

    caps, _, _ = export(capsys, db, tmp_path, fmt, "captures")
    assert len(caps) == 12 and len({r["capture_id"] for r in caps}) == 12
    assert all(re.fullmatch(r"[0-9a-f]{64}", r["payload_sha256"]) for r in caps)
    assert {str(r["status"]) for r in caps} == {"200"}
    # --from/--to: round 2's captures only
    window = ("--from", built.before[1], "--to", built.after[1])
    caps2, m2, _ = export(capsys, db, tmp_path, fmt, "captures", *window)
    assert len(caps2) == 3 and {r["url"] for r in caps2} == {built.liver, built.mag, built.ddt}
    assert m2["query"]["from"] == built.before[1] and m2["query"]["to"] == built.after[1]
    # revisions valid at some point after round 4: the new liver revision and the others' only one
    later, _, _ = export(capsys, db, tmp_path, fmt, "revisions", "--from", built.after[3])
    assert sorted(r["revision_ref"] for r in later) == sorted(set(by_ref) - {f"{liver_uid}:1"})
    # comment texts visible before round 2: the three original liver posts (and the others' threads)
    first, _, _ = export(capsys, db, tmp_path, fmt, "comments", "--to", built.after[0], "--site", built.host)
    assert {r["comment_key"] for r in first if r["url"] == built.liver} == {
        "post_2409871", "post_2409872", "post_2409873"}

    ads, _, _ = export(capsys, db, tmp_path, fmt, "ads", "--site", OTHER)
    assert ads and {r["url"] for r in ads} == {built.ddt}
    assert {str(r["capture_id"]) for r in ads} <= {str(r["capture_id"]) for r in caps}

    if fmt == "parquet":  # real types, not strings
        import pyarrow.parquet as pq

        schema = pq.read_schema(_only(tmp_path, "revisions", "parquet"))
        assert str(schema.field("valid_from").type) == "timestamp[us, tz=UTC]"
        assert str(schema.field("authors").type) == "list<element: string>"
        assert isinstance(r1["valid_from"], datetime) and isinstance(r1["ordinal"], int)


def _only(tmp_path: Path, what: str, fmt: str) -> Path:
    return sorted(tmp_path.glob(f"{what}-*.{fmt}"))[0]


def test_export_errors(db_url, capsys, tmp_path, monkeypatch):
    out = tmp_path / "r.parquet"
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # as if the extra were not installed
    code, _, err = cli(capsys, "export", "--format", "parquet", "--what", "revisions", "-o", str(out), "--db", db_url)
    assert code == 1 and "pip install 'pagetrail[parquet]'" in err and not out.exists()
    code, _, err = cli(capsys, "export", "--format", "csv", "-o", str(tmp_path / "x.csv"), "--db", db_url)
    assert code == 1 and "--what" in err
    code, _, err = cli(capsys, "export", "--format", "csv", "--what", "ads", "-o", str(tmp_path / "no" / "x.csv"),
                       "--db", db_url)
    assert code == 1 and "does not exist" in err
    # an empty archive exports an empty dataset with its header
    code, _, err = cli(capsys, "export", "--format", "csv", "--what", "ads", "-o", str(tmp_path / "a.csv"),
                       "--db", db_url)
    assert code == 0, err
    assert (tmp_path / "a.csv").read_text().splitlines() == [",".join(c.name for c in COLUMNS["ads"])]


# ---- constant memory -----------------------------------------------------------------------------

def test_export_streams_in_batches(archive, tmp_path):
    """5,000 ad rows with a batch size of 50: rows come out as the batches are read, and the
    export's memory peak stays far below the size of the data."""
    t0 = datetime(2019, 3, 1, tzinfo=timezone.utc)
    blurb = "Sponsored: a remarkably long advertising text about supplements and liver tonics. " * 6
    for i in range(10):
        url = f"http://www.wisegeek.com/page-{i}.htm"
        page = ParsedPage(url=url, profile="generic", parser_version="t", metadata=Metadata(title=f"Page {i}"),
                          body=Body(text="Body text.", paragraphs=["Body text."]),
                          ads=[Ad(kind="ad", slot=f"slot-{i}-{n}", text=f"{n} {blurb}") for n in range(500)])
        archive.store_capture(CaptureIn(requested_url=url, fetched_at=t0 + timedelta(hours=i), status=200,
                                        payload=f"<html>{i}</html>".encode()), page)

    selects: list[str] = []

    @event.listens_for(archive.engine, "before_cursor_execute")
    def count(conn, cursor, statement, params, context, executemany):  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith("SELECT") and "ad_observation" in statement:
            selects.append(statement)

    with archive.sessions() as s:
        rows = export_rows(s, "ads", batch_size=50)
        assert selects == []  # nothing read until asked
        first = next(rows)
        assert first["slot"] == "slot-0-0" and len(selects) == 1 and "LIMIT" in selects[0].upper()
        rest = sum(1 for _ in rows)
    # one query per batch of 50, and one more that finds the last full batch was the end
    assert 1 + rest == 5_000 and len(selects) == 5_000 // 50 + 1

    from pagetrail.exporting import export as write_export

    out = tmp_path / "ads.jsonl"
    write_export(archive, "jsonl", "ads", out, batch_size=50, end=t0)  # warm up: imports, caches
    tracemalloc.start()
    try:
        manifest = write_export(archive, "jsonl", "ads", out, batch_size=50)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    size = out.stat().st_size
    # every row held at once would take more than the file's size
    assert manifest["rows"] == {"ads": 5_000} and size > 3_000_000
    assert peak < size / 4, (peak, size)
