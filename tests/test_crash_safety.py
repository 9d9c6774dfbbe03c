"""SIGKILL while storing: nothing half-stored is visible, and the next run continues.

`pagetrail crawl` runs in a subprocess with PAGETRAIL_KILL_AT naming a checkpoint inside the
unit of work (storage/faults.py); the process kills itself there with SIGKILL on the 3rd
capture. The archive is then checked for consistency, and a second run completes the crawl.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest
from sqlalchemy import create_engine, text

from storage.db import normalize_db_url
from tests.httpserver import LocalServer, LocalSite, Reply, html

PAGES = 6
POINTS = ["store:after_blob", "store:after_capture", "store:after_derivation",
          "store:after_versioning", "store:before_commit", "store:after_commit"]


@pytest.fixture
def site():
    s = LocalSite()
    s["/robots.txt"] = Reply(200, b"User-agent: *\nAllow: /\n", {"Content-Type": "text/plain"})
    for i in range(PAGES):
        s[f"/a{i}"] = html(
            f"<html><head><title>Article {i}</title></head><body><article><h1>Article {i}</h1>"
            f"<p>Paragraph one of article {i}, long enough to be the body, with a comma, and more.</p>"
            f"<p>Paragraph two of article {i}, also long enough to count as text, truly.</p>"
            "</article></body></html>"
        )
    server = LocalServer(s)
    s.base = server.base_url  # type: ignore[attr-defined]
    yield s
    server.close()


def crawl(db_url: str, urls: list[str], kill_at: str | None = None) -> subprocess.CompletedProcess:
    # a killed crawler's leases come back after lease_seconds: short here, so the rerun waits little
    # one capture per transaction (the writer batches captures that queue up behind a store):
    # the checkpoints' counts are then the captures'
    env = dict(os.environ, PAGETRAIL_ALLOW_PRIVATE_ADDRESSES="true", PAGETRAIL_LEASE_SECONDS="2",
               PAGETRAIL_STORE_BATCH="1")
    env.pop("PAGETRAIL_KILL_AT", None)
    if kill_at:
        env["PAGETRAIL_KILL_AT"] = kill_at
    return subprocess.run(
        [sys.executable, "-m", "pagetrail.cli", "crawl", *urls, "--db", db_url, "--delay", "0",
         "--concurrency", "1", "--quiet"],
        env=env, capture_output=True, text=True, timeout=120,
    )


def consistency(db_url: str) -> dict[str, int]:
    """Counts, after asserting that nothing half-stored is visible."""
    engine = create_engine(normalize_db_url(db_url))
    with engine.connect() as c:
        q = lambda sql: c.execute(text(sql)).scalar()  # noqa: E731
        # every blob is some capture's payload; every capture's blob exists
        assert q("SELECT count(*) FROM blob b WHERE NOT EXISTS (SELECT 1 FROM capture c WHERE c.blob_digest = b.digest)") == 0
        assert q("SELECT count(*) FROM capture c WHERE c.blob_digest IS NOT NULL AND NOT EXISTS "
                 "(SELECT 1 FROM blob b WHERE b.digest = c.blob_digest)") == 0
        # every parsed 200 capture has its derivation, and every page with one has a revision
        assert q("SELECT count(*) FROM capture c WHERE c.status = 200 AND NOT EXISTS "
                 "(SELECT 1 FROM derivation d WHERE d.capture_id = c.id)") == 0
        assert q("SELECT count(*) FROM page p WHERE EXISTS (SELECT 1 FROM capture c WHERE c.page_id = p.id "
                 "AND c.status = 200) AND NOT EXISTS (SELECT 1 FROM revision r WHERE r.page_id = p.id)") == 0
        # revisions point at captures that exist; search rows at revisions that exist
        assert q("SELECT count(*) FROM revision r WHERE NOT EXISTS (SELECT 1 FROM capture c WHERE c.id = r.last_capture_id)") == 0
        assert q("SELECT count(*) FROM search_doc s WHERE s.revision_id IS NOT NULL AND NOT EXISTS "
                 "(SELECT 1 FROM revision r WHERE r.id = s.revision_id)") == 0
        counts = {t: q(f"SELECT count(*) FROM {t}") for t in ("page", "capture", "revision", "derivation", "blob")}
    engine.dispose()
    return counts


@pytest.mark.parametrize("point", POINTS)
def test_kill_inside_the_unit_of_work(point, site, db_url):
    urls = [site.base + f"/a{i}" for i in range(PAGES)]
    killed = crawl(db_url, urls, kill_at=f"{point}:3")
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    after_kill = consistency(db_url)
    # the 3rd capture is all there (killed after its commit) or not there at all
    expected = 3 if point == "store:after_commit" else 2
    assert after_kill["capture"] == expected and after_kill["derivation"] == expected
    assert after_kill["revision"] == expected

    again = crawl(db_url, urls)
    assert again.returncode == 0, again.stderr
    final = consistency(db_url)
    assert final["page"] == PAGES and final["revision"] == PAGES  # recaptures changed nothing
    assert final["capture"] == expected + PAGES
    assert final["blob"] == PAGES  # identical payloads stored once
