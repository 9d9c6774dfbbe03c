"""Payloads like an article page's successive captures: shared chrome and body, a widget
that differs on every fetch, and an occasional edit. Deterministic per seed."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

from storage.interface import CaptureIn

T0 = datetime(2021, 3, 1, 8, 0, tzinfo=timezone.utc)
_WORDS = [f"w{n:x}" for n in range(3000)]


def words(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(_WORDS) for _ in range(n))


class PageModel:
    def __init__(self, seed: int, site_chrome: str) -> None:
        self.rng = random.Random(seed)
        self.chrome = site_chrome
        self.paragraphs = [words(self.rng, 120) for _ in range(8)]

    def capture(self, edit_rate: float = 0.1) -> bytes:
        if self.rng.random() < edit_rate:
            self.paragraphs[self.rng.randrange(8)] = words(self.rng, 120)
        widget = words(self.rng, 25)  # rotates on every fetch
        body = "".join(f"<p>{p}</p>\n" for p in self.paragraphs)
        return (
            f"<html><head><style>{self.chrome}</style></head><body>{body}"
            f"<div class=widget>{widget} id={self.rng.randrange(10**12)}</div></body></html>"
        ).encode()


def site_chrome(seed: int = 1) -> str:
    return words(random.Random(seed), 1500)


def crawl(n_pages: int, rounds: int, seed: int = 0, host: str = "site.test") -> Iterator[tuple[int, CaptureIn]]:
    """(page index, capture) in crawl order: every page once per round."""
    chrome = site_chrome(seed)
    pages = [PageModel(seed * 1000 + i, chrome) for i in range(n_pages)]
    for r in range(rounds):
        for i, p in enumerate(pages):
            yield i, CaptureIn(
                requested_url=f"http://{host}/article-{i}.htm",
                fetched_at=T0 + timedelta(days=r, seconds=i),
                final_url=f"http://{host}/article-{i}.htm",
                status=200,
                payload=p.capture(),
            )
