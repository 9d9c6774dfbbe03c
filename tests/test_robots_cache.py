"""robots.txt answers are kept in the archive with their expiry: a second crawl (a restart, or
another worker) reuses a fresh answer and asks again only once it has expired; a failing
robots.txt is remembered for the shorter retry time, as RFC 9309's "disallowed for now"."""

from __future__ import annotations

import json

from sqlalchemy import create_engine, text

from pagetrail.cli import main
from tests.httpserver import LocalServer, LocalSite, Reply, html

ARTICLE = "<html><body><article><p>An article long enough to be a body, with a comma, and more.</p></article></body></html>"


def crawl(capsys, db: str, *argv: str) -> dict:
    code = main(["crawl", *argv, "--db", db, "--delay", "0", "--allow-private-addresses", "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    return json.loads(out)


def test_a_fresh_answer_is_reused_across_crawls_and_asked_again_when_expired(db_url, capsys, monkeypatch):
    site = LocalSite()
    site["/robots.txt"] = Reply(200, b"User-agent: *\nDisallow: /private\nCrawl-delay: 0\n", {"Content-Type": "text/plain"})
    site["/a"] = html(ARTICLE)
    site["/private/x"] = html(ARTICLE)
    server = LocalServer(site)
    try:
        base = server.base_url
        crawl(capsys, db_url, base + "/a")
        report = crawl(capsys, db_url, base + "/private/x")  # a second process's view: the saved answer
        assert report["urls"][0]["error_kind"] == "robots"
        assert len(site.hits("/robots.txt")) == 1
        assert site.hits("/private/x") == []
        assert main(["status", "--db", db_url, "--json"]) == 0
        (host,) = json.loads(capsys.readouterr()[0])["hosts"]
        assert host["robots_status"] == 200 and host["robots_expires_at"].endswith("Z")

        engine = create_engine(db_url)
        with engine.begin() as c:
            row = c.execute(text("SELECT robots_status, robots_body FROM host_state")).one()
            assert row[0] == 200 and "Disallow: /private" in row[1]
            c.execute(text("UPDATE host_state SET robots_expires_at = :t"), {"t": "2000-01-01 00:00:00"})
        engine.dispose()
        crawl(capsys, db_url, base + "/a")
        assert len(site.hits("/robots.txt")) == 2  # expired: asked again
    finally:
        server.close()


def test_a_failing_robots_txt_disallows_for_the_retry_time_only(db_url, capsys, monkeypatch):
    site = LocalSite()
    site["/robots.txt"] = Reply(503, b"busy", {"Content-Type": "text/plain"})
    site["/a"] = html(ARTICLE)
    server = LocalServer(site)
    try:
        base = server.base_url
        monkeypatch.setenv("PAGETRAIL_ROBOTS_RETRY_AFTER_ERROR", "3600")
        report = crawl(capsys, db_url, base + "/a")
        assert report["urls"][0]["error_kind"] == "robots" and site.hits("/a") == []
        site["/robots.txt"] = Reply(404, b"", {})
        crawl(capsys, db_url, base + "/a")  # still within the retry time: not asked again
        assert len(site.hits("/robots.txt")) == 1 and site.hits("/a") == []

        monkeypatch.setenv("PAGETRAIL_ROBOTS_RETRY_AFTER_ERROR", "0")
        engine = create_engine(db_url)
        with engine.begin() as c:
            c.execute(text("UPDATE host_state SET robots_expires_at = :t"), {"t": "2000-01-01 00:00:00"})
        engine.dispose()
        crawl(capsys, db_url, base + "/a")  # asked again: 404 means no restrictions
        assert len(site.hits("/robots.txt")) == 2 and len(site.hits("/a")) == 1
    finally:
        server.close()
