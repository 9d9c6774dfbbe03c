"""An archive of the sample site's two articles over several rounds, stored through the unit
of work from the site's own markup (no network): real parsed comments, real delta chains.
Shared by the archive-care tests (verify, redact)."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import parsers
from pagetrail.demo import NEW_POST, DemoSite
from pagetrail.sample_site.content import LIVER, MAGNESIUM
from storage.archive import Archive
from storage.interface import CaptureIn

HOST = "www.wisegeek.com"
BASE = f"http://{HOST}"
LIVER_URL = BASE + LIVER.path
MAGNESIUM_URL = BASE + MAGNESIUM.path
T0 = datetime(2019, 3, 1, tzinfo=timezone.utc)
HEADERS = [("content-type", "text/html; charset=utf-8")]


def store_page(archive: Archive, url: str, body: bytes, at: datetime) -> int:
    parsed = parsers.parse(body, url, headers=dict(HEADERS), fetched_at=at)
    cap = CaptureIn(requested_url=url, final_url=url, fetched_at=at, status=200, headers=HEADERS, payload=body)
    return archive.store_capture(cap, parsed).capture_id


def fill(archive: Archive, rounds: int = 5) -> dict[int, tuple[str, bytes]]:
    """Both articles once a day; widgets rotate every round, from round 2 the liver article
    shows a new post (post_2409874 by ocelot60). Returns capture id -> (url, payload)."""
    site = DemoSite()
    site.base = BASE
    sent = {}
    for r in range(1, rounds + 1):
        for i, article in enumerate((LIVER, MAGNESIUM)):
            added = (NEW_POST,) if article is LIVER and r >= 2 else ()
            site.states[article.slug] = replace(site.states[article.slug], fetch=r, added=added)
            body = site(article.path).body
            url = BASE + article.path
            sent[store_page(archive, url, body, T0 + timedelta(days=r, minutes=i))] = (url, body)
    return sent


def digest_of(payload: bytes) -> str:
    return hashlib.sha256(payload).hexdigest()
