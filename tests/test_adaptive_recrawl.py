"""Recrawl intervals follow each page's change rate within the schedule's bounds: a page that
changes on every visit is fetched again sooner, a stable one later, neither beyond the bounds."""

from __future__ import annotations

import json
import time
from datetime import datetime, timezone

from sqlalchemy import create_engine, text

from pagetrail.cli import main
from storage.db import normalize_db_url
from tests.httpserver import LocalServer, LocalSite, html

HOUR, DAY = 3600.0, 86400.0


def cli(capsys, *argv: str) -> str:
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert code == 0, err
    return out


def article(words: str) -> str:
    return (f"<html><head><title>{words}</title></head><body><article><p>{words}: an article long enough to "
            f"count as a body, with a comma, and more words.</p></article></body></html>")


def test_changing_page_comes_back_sooner_than_a_stable_one_within_bounds(db_url, capsys, monkeypatch):
    monkeypatch.setenv("PAGETRAIL_ALLOW_PRIVATE_ADDRESSES", "true")
    monkeypatch.setenv("PAGETRAIL_PER_HOST_DELAY", "0")
    site = LocalSite()
    visits = {"n": 0}

    def changing():  # new text on every fetch
        visits["n"] += 1
        return html(article(f"Edition {visits['n']}"))

    site["/news"] = changing
    site["/stable"] = html(article("Always the same"))
    server = LocalServer(site)
    engine = create_engine(normalize_db_url(db_url))
    try:
        base = server.base_url
        cli(capsys, "schedule", "add", "health", "--seeds", base + "/news", base + "/stable", "--every", "1h",
            "--max-depth", "0", "--min-recrawl", "2h", "--max-recrawl", "2d", "--db", db_url)
        intervals: dict[str, list[float]] = {"news": [], "stable": []}
        for _ in range(5):
            time.sleep(1.05)  # a schedule fires at most once a second
            report = json.loads(cli(capsys, "schedule", "run", "health", "--json", "--db", db_url))
            assert sorted(u["url"].rsplit("/", 1)[1] for u in report["urls"]) == ["news", "stable"]
            with engine.begin() as c:
                rows = c.execute(text("SELECT url, recrawl_seconds, next_fetch_at FROM frontier")).all()
                now = datetime.now(timezone.utc)
                for url, seconds, next_at in rows:
                    intervals[url.rsplit("/", 1)[1]].append(seconds)
                    if isinstance(next_at, str):
                        next_at = datetime.fromisoformat(next_at)
                    if next_at.tzinfo is None:
                        next_at = next_at.replace(tzinfo=timezone.utc)
                    # the next visit is scheduled one interval ahead
                    assert abs((next_at - now).total_seconds() - seconds) < 120
                # make every known page due again for the next run (as if the interval had passed)
                c.execute(text("UPDATE frontier SET next_fetch_at = :t"), {"t": datetime(2000, 1, 1)})
        news, stable = intervals["news"], intervals["stable"]
        assert news == sorted(news, reverse=True) and news[-1] == 2 * HOUR  # shrinks to the lower bound
        assert stable[1:] == sorted(stable[1:]) and stable[-1] == 2 * DAY  # grows to the upper bound
        assert all(2 * HOUR <= x <= 2 * DAY for x in news + stable)
        assert news[-1] < stable[-1]
    finally:
        engine.dispose()
        server.close()
