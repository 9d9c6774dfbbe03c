"""Schedules and the service against real servers: `schedule run`, and `pagetrail run` killed
with SIGKILL mid-crawl then restarted (nothing lost, nothing stored twice except lost leases),
and a SIGTERM that stops it cleanly."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

from sqlalchemy import create_engine, text

from pagetrail.cli import main
from storage.db import normalize_db_url
from tests.httpserver import LocalServer, LocalSite, Reply, html

PAGES = 30


def make_site() -> LocalSite:
    s = LocalSite()
    s["/robots.txt"] = Reply(200, b"User-agent: *\nAllow: /\n", {"Content-Type": "text/plain"})
    s["/sitemap.xml"] = Reply(200, ("<?xml version='1.0'?><urlset xmlns='http://www.sitemaps.org/schemas/sitemap/0.9'>"
                                    + "".join(f"<url><loc>/p{i}</loc><lastmod>2019-0{1 + i % 9}-01</lastmod></url>"
                                              for i in range(3)) + "</urlset>").encode(),
                              {"Content-Type": "application/xml"})
    links = "".join(f'<a href="/p{i}">p{i}</a>' for i in range(PAGES))
    s["/"] = html(f"<html><head><title>Home</title></head><body><article><p>The home page of a small health "
                  f"site, long enough to count as text, with commas, and more.</p></article>{links}</body></html>")
    for i in range(PAGES):
        s[f"/p{i}"] = html(f"<html><head><title>P{i}</title></head><body><article><p>Article {i} about the liver, "
                           f"long enough to count as a body, with a comma, and more words.</p></article></body></html>",
                           )
        s.routes[f"/p{i}"].delay = 0.05
    return s


def cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert code == 0, err
    return out


def captures_per_url(db_url: str) -> dict[str, int]:
    engine = create_engine(normalize_db_url(db_url))
    with engine.connect() as c:
        rows = c.execute(text("SELECT requested_url, count(*) FROM capture GROUP BY requested_url")).all()
        # one statement, one snapshot: the crawl may be committing while we look
        revs, pages = c.execute(text(
            "SELECT (SELECT count(*) FROM revision), "
            "(SELECT count(*) FROM page WHERE id IN (SELECT page_id FROM capture WHERE status = 200))")).one()
    engine.dispose()
    assert revs == pages  # every archived page has exactly one revision: nothing doubled
    return {u.rsplit("/", 1)[1]: n for u, n in rows}


def test_schedule_run_with_sitemap_and_follow(db_url, capsys, monkeypatch):
    monkeypatch.setenv("PAGETRAIL_ALLOW_PRIVATE_ADDRESSES", "true")
    monkeypatch.setenv("PAGETRAIL_PER_HOST_DELAY", "0")
    site = make_site()
    server = LocalServer(site)
    try:
        base = server.base_url
        site["/sitemap.xml"] = Reply(200, site.routes["/sitemap.xml"].body.replace(b"<loc>/", f"<loc>{base}/".encode()),
                                     {"Content-Type": "application/xml"})
        cli(capsys, "schedule", "add", "smallsite", "--sitemap", base + "/sitemap.xml", "--every", "1d",
            "--max-depth", "1", "--db", db_url)
        out = json.loads(cli(capsys, "schedule", "run", "smallsite", "--json", "--db", db_url))
        fetched = {u["url"].rsplit("/", 1)[1] for u in out["urls"]}
        assert fetched == {"p0", "p1", "p2"}  # the sitemap's pages (they link nowhere)

        # robots.txt's Sitemap: lines are read too, for schedules with seeds
        site["/robots.txt"] = Reply(200, f"User-agent: *\nSitemap: {base}/sitemap.xml\n".encode(),
                                    {"Content-Type": "text/plain"})
        site["/lonely"] = html("<html><body><article><p>A page that links nowhere, long enough to be a body, "
                               "with a comma.</p></article></body></html>")
        cli(capsys, "schedule", "add", "viarobots", "--seeds", base + "/lonely", "--every", "1d",
            "--max-depth", "0", "--db", db_url)
        out = json.loads(cli(capsys, "schedule", "run", "viarobots", "--json", "--db", db_url))
        assert {u["url"].rsplit("/", 1)[1] for u in out["urls"]} == {"lonely", "p0", "p1", "p2"}
        row = json.loads(cli(capsys, "schedule", "list", "--json", "--db", db_url))[0]
        assert row["name"] == "smallsite" and row["last_result"] == "finished"
        assert row["last_stats"]["fetched"] == 3
        assert row["last_run"] is not None and row["next_run"] is not None
    finally:
        server.close()


def _start_run(db_url: str) -> subprocess.Popen:
    env = dict(os.environ, PAGETRAIL_ALLOW_PRIVATE_ADDRESSES="true", PAGETRAIL_LEASE_SECONDS="2",
               PAGETRAIL_PER_HOST_DELAY="0", PAGETRAIL_CONCURRENCY="4")
    return subprocess.Popen([sys.executable, "-m", "pagetrail.cli", "run", "--db", db_url],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _wait_for(pred, timeout: float) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.2)
    return False


def test_kill_9_of_run_mid_crawl_then_restart(db_url, capsys):
    site = make_site()
    server = LocalServer(site)
    try:
        base = server.base_url
        # every 3 s: the service fires it within seconds of starting
        cli(capsys, "schedule", "add", "tiny", "--seeds", base + "/", "--every", "3s", "--max-depth", "1",
            "--db", db_url)
        proc = _start_run(db_url)
        assert _wait_for(lambda: len([h for h in site.log if h.path.startswith("/p")]) >= 8, 60), proc.stdout
        proc.send_signal(signal.SIGKILL)  # mid-crawl
        proc.wait(10)
        fetched_before = len([h for h in site.log if h.path.startswith("/p")])
        assert fetched_before < PAGES

        proc = _start_run(db_url)
        try:
            assert _wait_for(lambda: len({k for k in captures_per_url(db_url) if k.startswith("p")}) == PAGES, 90)
        finally:
            proc.send_signal(signal.SIGTERM)  # a graceful stop
            out, _ = proc.communicate(timeout=60)
        assert proc.returncode == 0 and "stopped cleanly" in out
        per_url = captures_per_url(db_url)
        twice = [u for u, n in per_url.items() if u.startswith("p") and n > 1]
        assert all(n <= 2 for u, n in per_url.items() if u.startswith("p"))
        assert len(twice) <= 4  # only URLs whose leases died with the killed process
        engine = create_engine(normalize_db_url(db_url))
        with engine.connect() as c:
            fires = c.execute(text("SELECT count(*), count(DISTINCT fire_time) FROM schedule_fire")).one()
        engine.dispose()
        assert fires[0] == fires[1] >= 1  # no fire time fired twice
    finally:
        server.close()


def test_two_workers_share_one_hosts_delay_on_postgres(pg_url, capsys):
    """Two worker processes and a scheduler on one PostgreSQL archive: every page stored once,
    and the server's log shows no gap under the per-host delay between any two requests."""
    from storage.db import make_engine, upgrade

    engine = make_engine(pg_url)
    upgrade(engine)
    engine.dispose()
    site = make_site()
    server = LocalServer(site)
    env = dict(os.environ, PAGETRAIL_ALLOW_PRIVATE_ADDRESSES="true", PAGETRAIL_LEASE_SECONDS="5",
               PAGETRAIL_PER_HOST_DELAY="0.2", PAGETRAIL_CONCURRENCY="4")
    procs = []
    try:
        cli(capsys, "schedule", "add", "shared", "--seeds", server.base_url + "/", "--every", "1h",
            "--max-depth", "1", "--db", pg_url)
        for verb in ("worker", "worker"):
            procs.append(subprocess.Popen([sys.executable, "-m", "pagetrail.cli", verb, "--db", pg_url], env=env,
                                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
        fired = subprocess.run([sys.executable, "-m", "pagetrail.cli", "schedule", "run", "shared", "--db", pg_url,
                                "--json"], env=env, capture_output=True, text=True, timeout=120)
        assert fired.returncode == 0, fired.stderr
        assert _wait_for(lambda: len({k for k in captures_per_url(pg_url) if k.startswith("p")}) == PAGES, 90)
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        outputs = [p.communicate(timeout=60)[0] for p in procs]
        server.close()
    assert all(p.returncode == 0 for p in procs), outputs
    per_url = captures_per_url(pg_url)
    assert all(n == 1 for u, n in per_url.items() if u.startswith("p"))  # each page once
    hits = sorted((h for h in site.log if h.path.startswith("/p") or h.path == "/"), key=lambda h: h.start)
    gaps = [b.start - a.end for a, b in zip(hits, hits[1:])]
    assert min(gaps) >= 0.19, sorted(gaps)[:5]
