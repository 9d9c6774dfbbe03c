"""One-shot crawls on the durable frontier: discovery within scope, never twice, conditional
requests, back-off and parking, and a second run that continues where the first stopped."""

from __future__ import annotations

import json

from pagetrail.cli import main
from tests.httpserver import LocalServer, LocalSite, Reply, html


def page(title: str, links: list[str]) -> Reply:
    anchors = "".join(f'<li><a href="{h}">{h}</a></li>' for h in links)
    return html(f"<html><head><title>{title}</title></head><body><article><h1>{title}</h1>"
                f"<p>{title} is an article long enough to count as a body, with a comma, and more.</p>"
                f"</article><ul>{anchors}</ul></body></html>", ETag=f'"{title}"')


def crawl(capsys, db, *argv) -> dict:
    code = main(["crawl", *argv, "--db", db, "--delay", "0", "--allow-private-addresses", "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    return json.loads(out)


def make_site():
    s = LocalSite()
    s["/robots.txt"] = Reply(200, b"User-agent: *\nDisallow: /admin\n", {"Content-Type": "text/plain"})
    s["/"] = page("Home", ["/a", "/b?utm_source=x", "/b", "/admin/x", "http://elsewhere.invalid/", "#top",
                           "mailto:x@y.z"])
    s["/a"] = page("A", ["/c", "/"])
    s["/b"] = page("B", ["/c", "/d/deep"])
    s["/c"] = page("C", ["/a"])
    s["/d/deep"] = page("Deep", [])
    return s


def test_follow_within_scope_each_url_once(db_url, capsys):
    site = make_site()
    server = LocalServer(site)
    try:
        base = server.base_url
        report = crawl(capsys, db_url, base + "/", "--follow")
        fetched = sorted(u["url"] for u in report["urls"])
        assert fetched == sorted(base + p for p in ("/", "/a", "/b", "/c", "/d/deep", "/admin/x"))
        robots = next(u for u in report["urls"] if u["url"].endswith("/admin/x"))
        assert robots["error_kind"] == "robots" and site.hits("/admin/x") == []
        for path in ("/", "/a", "/b", "/c"):
            assert len(site.hits(path)) == 1, path  # never fetched twice
        assert site.hits("/b?utm_source=x") == []  # normalized before queueing

        # depth and pattern limits
        report = crawl(capsys, db_url, base + "/a", "--follow", "--max-depth", "1", "--deny", "/$")
        assert sorted(u["url"] for u in report["urls"]) == [base + "/a", base + "/c"]

        # the same crawl again: seeds fetched again (conditionally: 304), discoveries not again
        before = {p: len(site.hits(p)) for p in ("/", "/a", "/b", "/c")}
        site["/"] = lambda: Reply(304, b"", {}) if True else None
        report = crawl(capsys, db_url, base + "/", "--follow")
        assert [u["url"] for u in report["urls"]] == [base + "/"]
        assert report["urls"][0]["outcome"] == "not_modified"
        assert {p: len(site.hits(p)) for p in ("/a", "/b", "/c")} == {p: before[p] for p in ("/a", "/b", "/c")}
    finally:
        server.close()


def test_failures_back_off_then_park(db_url, capsys, monkeypatch):
    site = make_site()
    calls = {"n": 0}

    def flaky():
        calls["n"] += 1
        return html("busy", 503) if calls["n"] <= 2 else page("Flaky", [])

    site["/flaky"] = flaky
    site["/dead"] = html("down", 500)
    other = make_site()  # a second host that asks us to go away for an hour
    other["/slow-down"] = Reply(429, b"", {"Retry-After": "3600", "Content-Type": "text/plain"})
    other["/next"] = page("Next", [])
    server, server2 = LocalServer(site), LocalServer(other)
    try:
        base, base2 = server.base_url, server2.base_url
        report = crawl(capsys, db_url, base + "/flaky", base + "/dead", base2 + "/slow-down", base2 + "/next",
                       "--concurrency", "1")
        by = {}
        for u in report["urls"]:
            by.setdefault(u["url"].rsplit("/", 1)[1], []).append(u)
        assert [u["status"] for u in by["flaky"]] == [503, 503, 200]  # retried with back-off
        assert len(by["dead"]) == 4 and by["dead"][-1]["parked"]  # parked after 4 failures
        assert len(by["slow-down"]) == 1 and by["slow-down"][0]["parked"]  # a long Retry-After is not waited out
        # the host's Retry-After holds for its other URLs too: parked without a request, and said so
        assert by["next"][0]["parked"] and by["next"][0]["error_kind"] == "host_backoff"
        assert other.hits("/next") == []
        gaps = [b.start - a.end for a, b in zip(site.hits("/flaky"), site.hits("/flaky")[1:])]
        assert all(g >= 0.4 for g in gaps)  # back-off, not a tight loop
        assert report["stats"]["parked"] == 3
    finally:
        server.close()
        server2.close()
