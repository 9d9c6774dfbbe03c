"""WARC out and in, on SQLite and PostgreSQL.

Out: a local site crawled twice (a change between) is exported; warcio's own `check` and
`index` accept the file, the payloads are the bytes the server sent, digests verify, identical
payloads become revisit records and every parse is a metadata record holding ParsedPage JSON.
In: a WARC written by Debian's wget (an independent writer), and warcio-built files with the
quirks of other writers (WARC/1.0 and 1.1, gzip and plain, chunked and gzip-encoded bodies,
revisits, responses without requests, damaged records, old captures out of order).
Round trip: crawl -> export -> import into an empty archive gives the same history.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import os
import shutil
import subprocess
import sys
from dataclasses import replace
from io import BytesIO
from pathlib import Path

import jsonschema
import pytest
from sqlalchemy import select
from warcio.archiveiterator import ArchiveIterator
from warcio.bufferedreaders import ChunkedDataReader
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from pagetrail.demo import NEW_POST, REVISED, DemoSite
from pagetrail.demo_server import SiteServer
from pagetrail.sample_site.content import LIVER, MAGNESIUM
from pagetrail.timeparse import parse_moment
from pagetrail.warcfiles import export_warc
from storage.archive import Archive
from storage.blobs import get_blob
from storage.db import make_engine, open_engine, upgrade
from storage.models import Capture, Page
from tests.httpserver import LocalServer, LocalSite, Reply, gzipped, html
from tests.test_spine import cli, cli_json

WARCIO = str(Path(sys.executable).with_name("warcio"))
SCHEMA = json.loads((Path(__file__).parents[1] / "parsers/schema/parsedpage.schema.json").read_text())


def sha1_b32(data: bytes) -> str:
    return "sha1:" + base64.b32encode(hashlib.sha1(data).digest()).decode()


def read_all(stream) -> bytes:
    out = []
    while chunk := stream.read(65536):
        out.append(chunk)
    return b"".join(out)


def article(title: str, *paragraphs: str, links: str = "") -> bytes:
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (f"<html><head><title>{title}</title></head><body><article><h1>{title}</h1>{body}</article>"
            f"{links}</body></html>").encode()


# ==== export =====================================================================================
def chunked_reply(parts: list[bytes]) -> Reply:
    def write(sock) -> None:
        framed = b"".join(f"{len(p):x}\r\n".encode() + p + b"\r\n" for p in parts) + b"0\r\n\r\n"
        sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n"
                     b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n" + framed)

    return Reply(raw=write)


def test_export_is_a_valid_warc_with_the_bytes_served(db_url, tmp_path, capsys):
    site = LocalSite()
    served: dict[str, list[bytes]] = {}  # path -> payload bytes per crawl, as sent

    def serve(path: str, reply: Reply) -> Reply:
        served.setdefault(path, []).append(reply.body)
        return reply

    state = {"a": "The first version of the article says calcium deposits are harmless."}
    site["/robots.txt"] = Reply(200, b"User-agent: *\nDisallow: /private\n", {"Content-Type": "text/plain"})
    site["/a.htm"] = lambda: serve("/a.htm", Reply(200, article("Article A", state["a"], "A second paragraph.")))
    site["/b.htm"] = lambda: serve("/b.htm", Reply(200, article("Article B", "It never changes at all.")))
    gz_body = gzipped(article("Article Gz", "Served gzip-encoded, archived as sent."))
    site["/gz.htm"] = lambda: serve("/gz.htm", gz_body)
    chunks = [article("Article C", "Served in chunks.")[:40], article("Article C", "Served in chunks.")[40:]]
    site["/chunked.htm"] = chunked_reply(chunks)
    etag_page = Reply(200, article("Article E", "Sent with an ETag, then not modified."),
                      {"Content-Type": "text/html; charset=utf-8", "ETag": '"v1"'})
    site["/etag.htm"] = lambda: serve("/etag.htm", etag_page if "/etag.htm" not in served else
                                      Reply(304, b"", {"ETag": '"v1"'}))
    server = LocalServer(site)
    base = server.base_url
    urls = [base + p for p in ("/a.htm", "/b.htm", "/gz.htm", "/chunked.htm", "/etag.htm", "/private/x")]
    try:
        for _ in range(2):
            code, _, err = cli(capsys, "crawl", *urls, "--db", db_url, "--quiet", "--delay", "0",
                               "--allow-private-addresses")
            assert code == 0, err
            state["a"] = "The second version says they may need monitoring by ultrasound."
    finally:
        server.close()

    out = tmp_path / "archive.warc.gz"
    engine = open_engine(db_url, read_only=True)
    try:
        counts = export_warc(engine, out)
    finally:
        engine.dispose()
    # 12 captures: 5 pages x 2 with a response (one a 304), 2 refused by robots.txt (no response)
    assert counts["captures"] == 12 and counts["errors"] == 2
    assert counts["revisits"] == 4  # b, gz and chunked came back byte-identical; etag was not modified
    assert counts["responses"] == 6 and counts["requests"] == 10

    check = subprocess.run([WARCIO, "check", "-v", str(out)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "digest failed" not in check.stdout
    index = subprocess.run([WARCIO, "index", str(out)], capture_output=True, text=True)
    assert index.returncode == 0, index.stderr
    assert len(index.stdout.splitlines()) == counts["records"]

    pages = ("/a.htm", "/b.htm", "/gz.htm", "/chunked.htm", "/etag.htm", "/private/x")
    history = {p: cli_json(capsys, "history", base + p, "--db", db_url) for p in pages}
    records = []
    with open(out, "rb") as fh:
        for rec in ArchiveIterator(fh, check_digests=True):
            h = rec.rec_headers
            block = read_all(rec.raw_stream)
            assert rec.digest_checker.passed is not False, rec.digest_checker.problems
            records.append((rec.rec_type, h, rec.http_headers, block))
    assert records[0][0] == "warcinfo" and b"pagetrail" in records[0][3]
    by_id = {h.get_header("WARC-Record-ID"): (t, h, http, b) for t, h, http, b in records}

    responses = [(h, http, b) for t, h, http, b in records if t == "response"]
    for h, http, block in responses:
        path = "/" + h.get_header("WARC-Target-URI").split("/", 3)[3]
        assert h.get_header("WARC-Payload-Digest") == sha1_b32(block)
        if path == "/chunked.htm":  # the stored header says chunked: the payload is framed as one chunk
            assert http.get_header("Transfer-Encoding") == "chunked"
            assert read_all(ChunkedDataReader(BytesIO(block))) == b"".join(chunks)
        else:
            assert block in served[path], path
    gz = next((http, b) for h, http, b in responses if h.get_header("WARC-Target-URI").endswith("/gz.htm"))
    assert gz[0].get_header("Content-Encoding") == "gzip" and gz[1] == gz_body.body  # kept encoded
    a_payloads = [b for h, _, b in responses if h.get_header("WARC-Target-URI").endswith("/a.htm")]
    assert a_payloads == served["/a.htm"]  # both versions, in capture order

    revisits = [(h, http) for t, h, http, _ in records if t == "revisit"]
    for h, http in revisits:
        original = by_id[h.get_header("WARC-Refers-To")]
        assert original[0] == "response"
        assert h.get_header("WARC-Refers-To-Target-URI") == original[1].get_header("WARC-Target-URI")
        assert h.get_header("WARC-Refers-To-Date") == original[1].get_header("WARC-Date")
        assert h.get_header("WARC-Payload-Digest") == original[1].get_header("WARC-Payload-Digest")
        if h.get_header("WARC-Target-URI").endswith("/etag.htm"):
            assert http.get_statuscode() == "304"
            assert h.get_header("WARC-Profile").endswith("/revisit/server-not-modified")
        else:
            assert http.get_statuscode() == "200"
            assert h.get_header("WARC-Profile").endswith("/revisit/identical-payload-digest")
    # WARC-Date is the capture time: b's revision spans its response and its revisit
    b_dates = [h.get_header("WARC-Date") for t, h, _, _ in records
               if t in ("response", "revisit") and h.get_header("WARC-Target-URI") == base + "/b.htm"]
    rev_b = history["/b.htm"]["revisions"]
    assert len(rev_b) == 1 and b_dates == [rev_b[0]["first_seen"], rev_b[0]["last_seen"]]
    a_dates = [h.get_header("WARC-Date") for t, h, _, _ in records
               if t == "response" and h.get_header("WARC-Target-URI") == base + "/a.htm"]
    assert a_dates == [r["first_seen"] for r in history["/a.htm"]["revisions"]]

    for t, h, http, _ in records:
        if t == "request":  # synthesized, linked to its response (and back)
            concurrent = by_id[h.get_header("WARC-Concurrent-To")]
            assert concurrent[0] in ("response", "revisit")
            back = [v for k, v in concurrent[1].headers if k == "WARC-Concurrent-To"]
            assert back == [h.get_header("WARC-Record-ID")]
            assert http.protocol == "GET" and h.get_header("Pagetrail-Synthesized")
    metadata = [(h, json.loads(b)) for t, h, _, b in records if t == "metadata"]
    parsed = [(h, m) for h, m in metadata if h.get_header("WARC-Refers-To")]
    assert len(parsed) == 9  # every capture with a parse (a 304 has none)
    for h, m in parsed:
        assert h.get_header("Content-Type") == "application/json"
        jsonschema.validate(m, SCHEMA)
        assert by_id[h.get_header("WARC-Refers-To")][0] in ("response", "revisit")
    titles = {m["metadata"]["title"] for _, m in parsed}
    assert titles == {"Article A", "Article B", "Article Gz", "Article C", "Article E"}
    errors = [m for h, m in metadata if h.get_header("Pagetrail-Record") == "fetch-error"]
    assert [e["error_kind"] for e in errors] == ["robots", "robots"]
    assert errors[0]["requested_url"] == base + "/private/x"

    # and back in: a fresh archive gets the same histories (304s, errors, encodings included)
    copy = f"sqlite:///{tmp_path / 'copy.db'}"
    report = cli_json(capsys, "import-warc", str(out), "--db", copy)
    assert report["captures_imported"] == 12 and report["revisits_resolved"] == 3
    for p in pages:
        again = cli_json(capsys, "history", base + p, "--db", copy)
        assert {**again, "page": None} == {**history[p], "page": None}, p
    assert history["/etag.htm"]["captures"] == 2 and history["/private/x"]["captures"] == 2

    # a redacted payload is not emitted: a metadata record says it is unavailable
    engine = open_engine(db_url)
    with Archive(engine).sessions() as s:
        gz_capture = s.scalar(select(Capture.id).join(Page).where(Page.url == base + "/gz.htm").limit(1))
    engine.dispose()
    code, _, err = cli(capsys, "redact", "--capture", str(gz_capture), "--reason", "test", "--db", db_url)
    assert code == 0, err
    engine = open_engine(db_url, read_only=True)
    try:
        counts = export_warc(engine, tmp_path / "redacted.warc")  # plain, by its name
    finally:
        engine.dispose()
    assert counts["payload_missing"] == 2  # both gz captures had those very bytes
    with open(tmp_path / "redacted.warc", "rb") as fh:
        assert fh.read(8) == b"WARC/1.1"
        fh.seek(0)
        gz_records = [(r.rec_type, r.rec_headers.get_header("Pagetrail-Record"), read_all(r.raw_stream))
                      for r in ArchiveIterator(fh) if (r.rec_headers.get_header("WARC-Target-URI") or "").endswith("/gz.htm")]
    assert [(t, kind) for t, kind, _ in gz_records] == [("metadata", "payload-unavailable")] * 2
    assert all(b"redacted" in body and gz_body.body not in body for _, _, body in gz_records)


# ==== import: an independent writer ================================================================
@pytest.mark.skipif(shutil.which("wget") is None, reason="needs Debian's wget (apt-get install wget)")
def test_import_a_wget_warc(db_url, tmp_path, capsys):
    site = LocalSite()
    site["/"] = html("<html><body><a href='/one.htm'>one</a> <a href='/two.htm'>two</a></body></html>")
    site["/one.htm"] = html(article("Page One", "The first page that wget archived for us.",
                                    links="<a href='/gz.htm'>more</a>").decode())
    site["/two.htm"] = html(article("Page Two", "The second page, linked from the index.").decode())
    site["/gz.htm"] = gzipped(article("Page Gz", "Sent gzip-encoded to wget, which stored it so."))
    server = LocalServer(site)
    try:
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path)}  # no proxy, no wgetrc
        run = subprocess.run(
            ["wget", "--no-config", "--recursive", "--level=2", "--no-verbose", "--tries=1", "--timeout=10",
             "--no-proxy", "-e", "robots=off", f"--directory-prefix={tmp_path / 'mirror'}",
             f"--warc-file={tmp_path / 'site'}", server.base_url + "/"],
            env=env, capture_output=True, text=True, timeout=60)
        assert run.returncode == 0, run.stderr
    finally:
        server.close()
    assert {h.path for h in site.log} >= {"/", "/one.htm", "/two.htm", "/gz.htm"}
    warc = tmp_path / "site.warc.gz"
    dates = {}
    with open(warc, "rb") as fh:
        for rec in ArchiveIterator(fh):
            if rec.rec_type == "response":
                dates[rec.rec_headers.get_header("WARC-Target-URI")] = rec.rec_headers.get_header("WARC-Date")
    assert len(dates) == 4

    report = cli_json(capsys, "import-warc", str(warc), "--db", db_url)
    assert report["captures_imported"] == 4 and report["corrupt_skipped"] == 0
    assert report["requests_matched"] == 4  # wget writes a request before each response
    assert report["record_types"]["resource"] >= 1  # its log and arguments: not captures
    for path, title in (("/one.htm", "Page One"), ("/two.htm", "Page Two"), ("/gz.htm", "Page Gz")):
        h = cli_json(capsys, "history", server.base_url + path, "--db", db_url)
        assert h["captures"] == 1
        [rev] = h["revisions"]
        assert rev["title"] == title
        assert rev["first_seen"] == dates[server.base_url + path]  # the original date, not now
    engine = open_engine(db_url)
    try:
        with Archive(engine).sessions() as s:
            cap = s.scalar(select(Capture).join(Page).where(Page.url == server.base_url + "/gz.htm"))
            assert get_blob(s, cap.blob_digest) == site.routes["/gz.htm"].body  # as the server sent it
    finally:
        engine.dispose()


# ==== import: the quirks of other writers ========================================================
HOST = "http://quirks.example"
V = ["Calcium deposits on the liver are usually harmless and need no treatment at all.",
     "Calcium deposits on the liver may need monitoring by ultrasound for some months.",
     "Calcium deposits on the liver are now thought to need a specialist's opinion."]


class Builder:
    """A WARC file written with warcio, record by record, remembering each record's bytes."""

    def __init__(self, version: str, gz: bool) -> None:
        self.buf = BytesIO()
        self.w = WARCWriter(self.buf, gzip=gz, warc_version=version)
        self.spans: list[tuple[int, int]] = []

    def write(self, rec):  # type: ignore[no-untyped-def]
        start = self.buf.tell()
        self.w.write_record(rec)
        self.spans.append((start, self.buf.tell()))
        return rec

    def response(self, url: str, date: str, body: bytes, headers=(), status="200 OK", payload=None):  # type: ignore[no-untyped-def]
        http = StatusAndHeaders(status, [("Content-Type", "text/html; charset=utf-8"), *headers], protocol="HTTP/1.1")
        raw = payload if payload is not None else body
        return self.write(self.w.create_warc_record(url, "response", payload=BytesIO(raw), length=len(raw),
                                                    http_headers=http, warc_headers_dict={"WARC-Date": date}))

    def request(self, url: str, date: str, concurrent_to: str, method: str = "GET"):  # type: ignore[no-untyped-def]
        http = StatusAndHeaders(f"{method} /{url.split('/', 3)[3]} HTTP/1.1", [("Host", "quirks.example")],
                                is_http_request=True)
        return self.write(self.w.create_warc_record(url, "request", http_headers=http, warc_headers_dict={
            "WARC-Date": date, "WARC-Concurrent-To": concurrent_to}))

    def revisit(self, url: str, date: str, original, refers_to_id: bool = True, headers=()):  # type: ignore[no-untyped-def]
        oh = original.rec_headers
        extra = {"WARC-Date": date}
        if refers_to_id:
            extra["WARC-Refers-To"] = oh.get_header("WARC-Record-ID")
        http = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=utf-8"), *headers],
                                protocol="HTTP/1.1")
        return self.write(self.w.create_revisit_record(
            url, oh.get_header("WARC-Payload-Digest"), oh.get_header("WARC-Target-URI"), oh.get_header("WARC-Date"),
            http_headers=http, warc_headers_dict=extra))

    def save(self, path: Path, damage: int | None = None) -> Path:
        """Write the file; `damage`: the index of a record to cut in half (a truncated record)."""
        data = self.buf.getvalue()
        if damage is not None:
            a, b = self.spans[damage]
            data = data[:a] + data[a:b][: (b - a) // 2] + data[b:]
        path.write_bytes(data)
        return path


def chunk(body: bytes, size: int = 50) -> bytes:
    return b"".join(f"{len(body[i:i + size]):x}\r\n".encode() + body[i:i + size] + b"\r\n"
                    for i in range(0, len(body), size)) + b"0\r\n\r\n"


def test_import_the_quirks_of_other_writers(db_url, tmp_path, capsys):
    liver, sleep = f"{HOST}/liver.htm", f"{HOST}/sleep.htm"
    v = [article("Liver calcification", text, "Written by a staff writer.") for text in V]
    gz2021 = gzip.compress(v[2], mtime=0)

    # File 1: WARC/1.0, gzipped per record, liver's captures written out of order
    one = Builder("1.0", gz=True)
    r2021 = one.response(liver, "2021-07-01T09:00:00Z", v[2], payload=gz2021, headers=[("Content-Encoding", "gzip")])
    one.request(liver, "2021-07-01T09:00:00Z", r2021.rec_headers.get_header("WARC-Record-ID"))
    r2019 = one.response(liver, "2019-03-01T09:00:00Z", v[0], payload=chunk(v[0]),
                         headers=[("Transfer-Encoding", "chunked")])
    one.response(f"{HOST}/damaged.htm", "2019-04-01T09:00:00Z", article("Damaged", "Never imported."))
    one.response(liver, "2020-02-01T09:00:00Z", v[1])  # a response without a request
    s2019 = one.response(sleep, "2019-05-01T09:00:00Z", article("Sleep", "Sleep is good for the liver too."))
    one.revisit(sleep, "2019-06-01T09:00:00Z", s2019, refers_to_id=False)  # resolved by its payload digest
    form = one.response(f"{HOST}/search", "2019-06-02T09:00:00Z", article("Results", "Some results."))
    one.request(f"{HOST}/search", "2019-06-02T09:00:00Z", form.rec_headers.get_header("WARC-Record-ID"), "POST")
    f1 = one.save(tmp_path / "one.warc.gz", damage=3)

    # File 2: WARC/1.1, plain, microsecond dates, a revisit of a record in file 1, a damaged record
    two = Builder("1.1", gz=False)
    two.revisit(liver, "2021-08-01T10:00:00.250000Z", r2021, headers=[("Content-Encoding", "gzip")])
    two.response(f"{HOST}/broken.htm", "2021-08-02T10:00:00Z", article("Broken", "Never imported either."))
    two.response(sleep, "2021-09-01T10:00:00.5Z", article("Sleep", "Sleep well, say the doctors now."))
    f2 = two.save(tmp_path / "two.warc", damage=1)

    report = cli_json(capsys, "import-warc", str(f1), str(f2), "--db", db_url)
    assert report["captures_imported"] == 7
    assert report["corrupt_skipped"] == 2
    assert [(c["file"], c["offset"]) for c in report["corrupt"]] == [
        (str(f1), one.spans[3][0]), (str(f2), two.spans[1][0])]
    assert all(c["reason"] for c in report["corrupt"])
    assert [s["reason"] for s in report["skipped"]] == ["the response to a POST request, not a page fetch"]
    assert report["revisits_resolved"] == 2 and report["duplicates_skipped"] == 0

    h = cli_json(capsys, "history", liver, "--db", db_url)
    assert h["captures"] == 4
    assert [(r["revision"], r["first_seen"], r["last_seen"]) for r in h["revisions"]] == [
        (1, "2019-03-01T09:00:00Z", "2019-03-01T09:00:00Z"),
        (2, "2020-02-01T09:00:00Z", "2020-02-01T09:00:00Z"),
        (3, "2021-07-01T09:00:00Z", "2021-08-01T10:00:00.250000Z"),  # extended by the revisit
    ]
    assert [r["valid_to"] for r in h["revisions"]] == ["2020-02-01T09:00:00Z", "2021-07-01T09:00:00Z", None]
    old = cli_json(capsys, "show", liver, "--at", "2019-12-31", "--db", db_url)
    assert V[0] in old["revision"]["body"]["paragraphs"]
    hs = cli_json(capsys, "history", sleep, "--db", db_url)
    assert hs["captures"] == 3 and [r["last_seen"] for r in hs["revisions"]] == [
        "2019-06-01T09:00:00Z", "2021-09-01T10:00:00.500000Z"]
    for gone in ("/damaged.htm", "/broken.htm", "/search"):
        code, _, err = cli(capsys, "history", HOST + gone, "--db", db_url)
        assert code == 1 and "not in the archive" in err

    # payloads as the server sent them: gzip kept, chunking undone; the revisit has its original's
    engine = open_engine(db_url)
    try:
        with Archive(engine).sessions() as s:
            caps = s.scalars(select(Capture).join(Page).where(Page.url == liver).order_by(Capture.fetched_at)).all()
            assert [get_blob(s, c.blob_digest) for c in caps] == [v[0], v[1], gz2021, gz2021]
            assert ("Content-Encoding", "gzip") in [tuple(x) for x in caps[2].headers]
    finally:
        engine.dispose()

    totals = cli_json(capsys, "status", "--db", db_url)["totals"]
    again = cli_json(capsys, "import-warc", str(f2), str(f1), "--db", db_url)  # idempotent
    assert again["captures_imported"] == 0 and again["duplicates_skipped"] == 7
    assert cli_json(capsys, "status", "--db", db_url)["totals"] == totals


def test_import_refuses_what_is_not_a_warc_and_reads_one_gzip_stream(tmp_path, capsys):
    db = f"sqlite:///{tmp_path / 'a.db'}"
    plain = Builder("1.0", gz=False)
    plain.response(f"{HOST}/one.htm", "2020-01-01T00:00:00Z", article("One", "The first of two pages."))
    plain.response(f"{HOST}/two.htm", "2020-01-02T00:00:00Z", article("Two", "The second of two pages."))
    whole = tmp_path / "whole.warc.gz"  # `gzip whole.warc`: one stream, not a member per record
    whole.write_bytes(gzip.compress(plain.buf.getvalue()))
    report = cli_json(capsys, "import-warc", str(whole), "--db", db)
    assert report["captures_imported"] == 2 and report["corrupt"] == [] and "one stream" in report["notes"][0]

    code, _, err = cli(capsys, "import-warc", str(tmp_path / "missing.warc.gz"), "--db", db)
    assert code == 1 and "no such file" in err
    junk = tmp_path / "notes.txt"
    junk.write_text("these are not the records you are looking for\n" * 20)
    code, out, err = cli(capsys, "import-warc", str(junk), "--db", db)
    assert code == 1 and "nothing could be imported" in err and "corrupt: " in out


# ==== the round trip ==============================================================================
def test_round_trip_crawl_export_import_gives_the_same_history(db_url, tmp_path, capsys, request, monkeypatch):
    # into the other backend: SQLite -> PostgreSQL and PostgreSQL -> SQLite
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
        monkeypatch.setenv("PAGETRAIL_RESOLVE", "www.wisegeek.com=127.0.0.1")
        monkeypatch.setenv("PAGETRAIL_PER_HOST_DELAY", "0")
        liver, mag = site.base + LIVER.path, site.base + MAGNESIUM.path
        refused = site.base + "/password-recovery.htm"  # robots.txt: a capture without a response
        # a comment arrives and one is removed, the thread pages, an edit, then its revert
        for changes in ({}, {"fetch": 1, "added": (NEW_POST,), "removed": frozenset({"post_2409872"})},
                        {"fetch": 2, "edits": {(0, 2): REVISED}, "modified": "2 October 2019"},
                        {"fetch": 3, "edits": {}, "modified": None}):
            site.states[LIVER.slug] = replace(site.states[LIVER.slug], **changes)
            if changes.get("fetch") == 1:
                site.states[MAGNESIUM.slug] = replace(site.states[MAGNESIUM.slug], page_size=5)
            code, _, err = cli(capsys, "crawl", liver, mag, refused, "--db", db_url, "--quiet")
            assert code == 0, err

    out = tmp_path / "trip.warc.gz"
    engine = open_engine(db_url, read_only=True)
    try:
        counts = export_warc(engine, out)
    finally:
        engine.dispose()
    assert counts["captures"] == 12 and counts["errors"] == 4
    engine = open_engine(db_url, read_only=True)
    try:  # the query: a site (any port), a time window with both ends included
        assert export_warc(engine, tmp_path / "other.warc.gz", site="other.example")["captures"] == 0
        assert export_warc(engine, tmp_path / "site.warc.gz", site="www.wisegeek.com")["captures"] == 12
        with open(out, "rb") as fh:
            times = sorted(parse_moment(r.rec_headers.get_header("WARC-Date")) for r in ArchiveIterator(fh)
                           if r.rec_type in ("response", "revisit") or r.rec_headers.get_header("Pagetrail-Record"))
        assert len(times) == 12
        window = export_warc(engine, tmp_path / "window.warc.gz", start=times[3], end=times[8])
        assert window["captures"] == sum(times[3] <= t <= times[8] for t in times) >= 6
    finally:
        engine.dispose()

    report = cli_json(capsys, "import-warc", str(out), "--db", target)
    assert report["captures_imported"] == 12 and report["corrupt_skipped"] == 0 and report["skipped"] == []

    def without_ids(h):  # type: ignore[no-untyped-def]
        return {k: v for k, v in h.items() if k != "page"}

    for url in (liver, mag):
        before = cli_json(capsys, "history", url, "--db", db_url)
        after = cli_json(capsys, "history", url, "--db", target)
        assert without_ids(after) == without_ids(before)
    h = cli_json(capsys, "history", liver, "--db", target)
    assert [r["same_as"] for r in h["revisions"]] == [None, None, 1]  # the revert survived the trip
    assert any(c["removed_at"] for c in h["comments"])
    assert cli_json(capsys, "history", refused, "--db", target)["captures"] == 4
    totals = cli_json(capsys, "status", "--db", db_url)["totals"]
    assert cli_json(capsys, "status", "--db", target)["totals"] == totals
    again = cli_json(capsys, "import-warc", str(out), "--db", target)
    assert again["captures_imported"] == 0 and again["duplicates_skipped"] == 12
    assert cli_json(capsys, "status", "--db", target)["totals"] == totals
