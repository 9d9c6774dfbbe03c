"""The spine end to end, on SQLite and PostgreSQL: a real HTTP server on 127.0.0.1 serves the
sample site in the reference markup under its real name (via `resolve`), `pagetrail crawl`
archives it round after round as it changes, and history / show / diff answer.
"""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from pagetrail.cli import main
from pagetrail.demo import NEW_POST, REVISED, DemoSite
from pagetrail.demo_server import Response, SiteServer
from pagetrail.sample_site.content import LIVER, MAGNESIUM


@pytest.fixture
def sample(monkeypatch):
    site = DemoSite()
    with SiteServer(site, 0) as server:
        site.base = f"http://www.wisegeek.com:{server.port}"
        monkeypatch.setenv("PAGETRAIL_RESOLVE", "www.wisegeek.com=127.0.0.1")
        monkeypatch.setenv("PAGETRAIL_PER_HOST_DELAY", "0")
        yield site, server


def cli(capsys, *argv) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def cli_json(capsys, *argv):
    code, out, err = cli(capsys, *argv, "--json")
    assert code == 0, err
    return json.loads(out)


def test_history_as_of_and_diff_through_changes(sample, db_url, capsys):
    site, _server = sample
    liver, mag = site.base + LIVER.path, site.base + MAGNESIUM.path
    moments = []

    def crawl_round():
        code, _, err = cli(capsys, "crawl", liver, mag, "--db", db_url, "--quiet")
        assert code == 0, err
        moments.append(cli_json(capsys, "history", liver, "--db", db_url)["revisions"][-1]["last_seen"])

    crawl_round()  # 1: as it is
    site.states[LIVER.slug] = replace(site.states[LIVER.slug], fetch=1)  # widgets rotate
    crawl_round()  # 2
    site.states[LIVER.slug] = replace(site.states[LIVER.slug], fetch=2, added=(NEW_POST,))  # a comment
    crawl_round()  # 3
    site.states[LIVER.slug] = replace(site.states[LIVER.slug], fetch=3, removed=frozenset({"post_2409872"}))
    site.states[MAGNESIUM.slug] = replace(site.states[MAGNESIUM.slug], page_size=5)  # posts 1-3 out of view
    crawl_round()  # 4
    site.states[LIVER.slug] = replace(site.states[LIVER.slug], fetch=4, edits={(0, 2): REVISED},
                                      modified="2 October 2019")
    crawl_round()  # 5: an editor's revision
    site.states[LIVER.slug] = replace(site.states[LIVER.slug], fetch=5, edits={}, modified=None)
    crawl_round()  # 6: reverted

    h = cli_json(capsys, "history", liver, "--db", db_url)
    assert h["url"] == liver and h["captures"] == 6
    assert [r["revision"] for r in h["revisions"]] == [1, 2, 3]
    assert [r["same_as"] for r in h["revisions"]] == [None, None, 1]
    assert [r["modified"] for r in h["revisions"]] == ["2019-06-14", "2019-10-02", "2019-06-14"]
    assert h["revisions"][0]["valid_to"] == h["revisions"][1]["first_seen"]
    assert set(h["revisions"][0]) == {"revision", "ref", "first_seen", "last_seen", "valid_to", "content_hash",
                                      "title", "modified", "same_as"}
    assert [r["ref"] for r in h["revisions"]] == [f"{h['page_uid']}:{n}" for n in (1, 2, 3)]
    comments = {c["key"]: c for c in h["comments"]}
    assert set(comments) == {"post_2409871", "post_2409872", "post_2409873", "post_2409874"}
    assert set(h["comments"][0]) == {"id", "key", "number", "author", "first_seen", "last_seen", "removed_at"}
    assert comments["post_2409874"]["first_seen"] > comments["post_2409873"]["first_seen"]
    assert comments["post_2409872"]["removed_at"] is not None
    assert all(comments[k]["removed_at"] is None for k in ("post_2409871", "post_2409873", "post_2409874"))

    # posts that went out of view on a paged thread are not removed
    hm = cli_json(capsys, "history", mag, "--db", db_url)
    assert len(hm["revisions"]) == 1 and all(c["removed_at"] is None for c in hm["comments"])

    # as of a moment between captures: round 2's state (no new comment yet, revision 1)
    view = cli_json(capsys, "show", liver, "--at", moments[1], "--db", db_url)
    assert set(view) >= {"url", "at", "revision", "comments", "ads"}
    assert view["revision"]["revision"] == 1
    assert set(view["revision"]) >= {"revision", "metadata", "body"}
    assert view["revision"]["metadata"]["modified"] == "2019-06-14"
    assert [c["number"] for c in view["comments"]] == [3, 2, 1]
    assert any("Butterflies" in (a["text"] or "") or "youngest" in (a["text"] or "") for a in view["ads"])
    later = cli_json(capsys, "show", liver, "--at", moments[3], "--db", db_url)
    assert [c["number"] for c in later["comments"]] == [4, 3, 1]  # post 2 removed by then

    # the diff of the last two revisions: the revert
    d = cli_json(capsys, "diff", liver, "--from", "1", "--to", "2", "--db", db_url)
    assert d["metadata"]["modified"] == {"from": "2019-06-14", "to": "2019-10-02"}
    assert [c["key"] for c in d["comments_added"]] == ["post_2409874"]
    assert [c["key"] for c in d["comments_removed"]] == ["post_2409872"]
    code, text, _ = cli(capsys, "diff", liver, "--from", "1", "--to", "2", "--db", db_url)
    assert code == 0
    assert "-modified: 2019-06-14" in text and "+modified: 2019-10-02" in text
    assert "+When the offending disease or condition is no longer present" in text
    assert "monitoring with ultrasound" in text
    assert "comments added (1):" in text and "comments removed (1):" in text
    code, text, _ = cli(capsys, "diff", liver, "--db", db_url)  # default: the last two revisions
    assert "revision 2" in text and "revision 3" in text

    status = cli_json(capsys, "status", "--db", db_url)
    assert status["totals"] == {"pages": 2, "captures": 12, "revisions": 4, "comments": 12}
    assert set(status["storage"]) == {"captures", "bytes_received", "bytes_stored", "keyframes"}


def test_gone_redirect_alias_and_errors(db_url, capsys, monkeypatch):
    pages = {
        "/robots.txt": Response(200, b"User-agent: *\nDisallow: /private\n", "text/plain"),
        "/old": Response(301, b"", headers={"Location": "/new"}),
        "/new": Response(200, b"<html><head><title>New</title><link rel=canonical href='/canonical'></head>"
                              b"<body><article><p>The article moved here, and it is long enough to count.</p>"
                              b"</article></body></html>"),
        "/gone": Response(410, b"gone"),
        "/missing": Response(404, b"not here"),
        "/boom": Response(500, b"oops"),
        "/private/x": Response(200, b"secret"),
    }
    with SiteServer(lambda path: pages.get(path), 0) as server:
        base = f"http://127.0.0.1:{server.port}"
        urls = [base + p for p in ("/old", "/gone", "/missing", "/boom", "/private/x")]
        code, out, err = cli(capsys, "crawl", *urls, "--db", db_url, "--delay", "0")
        assert code == 0 and "private_address" in out and "allow_private_addresses" in out
        # by default loopback is refused, and every fetch is still a capture
        st = cli_json(capsys, "status", "--db", db_url)
        assert st["totals"]["captures"] == 5 and st["totals"]["revisions"] == 0
        assert server.requests == []
        code, out, err = cli(capsys, "crawl", *urls, "--db", db_url, "--delay", "0",
                             "--allow-private-addresses", "--json")
        assert code == 0, err
        report = json.loads(out)
        outcome = {u["url"]: (u["outcome"], u["status"], u["error_kind"]) for u in report["urls"]}
        assert outcome[base + "/gone"] == ("gone", 410, None)
        assert outcome[base + "/missing"] == ("gone", 404, None)
        assert outcome[base + "/boom"] == ("error", 500, None)
        assert outcome[base + "/private/x"][2] == "robots"
        assert "/private/x" not in server.requests
        # the redirect's final URL and the canonical link resolve to the page that was asked for
        for alias in ("/new", "/canonical", "/old"):
            h = cli_json(capsys, "history", base + alias, "--db", db_url)
            assert h["url"] == base + "/old" and len(h["revisions"]) == 1
        h = cli_json(capsys, "history", base + "/gone", "--db", db_url)
        assert h["gone_at"] is not None and h["revisions"] == []


def test_crawl_refuses_bad_urls_clearly(db_url, capsys):
    code, _, err = cli(capsys, "crawl", "not-a-url", "--db", db_url)
    assert code == 1 and "http(s)" in err
