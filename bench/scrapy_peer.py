"""The peer pipeline of bench/crawl.py: a Scrapy spider that fetches a list of URLs, extracts each
page with trafilatura (metadata, body and comments) and writes JSON lines.

Run by bench/crawl.py as a subprocess with PYTHONPATH=bench/.deps (Scrapy and trafilatura are
the benchmark's dependencies, not pagetrail's):

    PYTHONPATH=bench/.deps .venv/bin/python bench/scrapy_peer.py URLS.txt OUT.jsonl \
        [--delay 0] [--concurrency 16] [--per-host 1]

Settings mirror pagetrail's: robots.txt obeyed, the same total and per-host connection limits,
the per-host delay without randomization, no retries of failures, no cookies, no cache.
"""

from __future__ import annotations

import argparse
import json

import scrapy
import trafilatura
from scrapy.crawler import CrawlerProcess


class ListSpider(scrapy.Spider):
    name = "pagetrail_peer"

    def __init__(self, urls: list[str], **kw: object) -> None:
        super().__init__(**kw)
        self.urls = urls

    async def start(self):  # type: ignore[no-untyped-def]  # Scrapy >= 2.13
        for u in self.urls:
            yield scrapy.Request(u, callback=self.parse, dont_filter=True)

    def parse(self, response):  # type: ignore[no-untyped-def,override]
        extracted = trafilatura.extract(response.text, url=response.url, include_comments=True,
                                        with_metadata=True, output_format="json")
        yield {"url": response.url, "status": response.status, "record": json.loads(extracted) if extracted else None}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("urls")
    ap.add_argument("out")
    ap.add_argument("--delay", type=float, default=0.0)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--per-host", type=int, default=1)
    args = ap.parse_args()
    urls = [u.strip() for u in open(args.urls, encoding="utf-8") if u.strip()]
    process = CrawlerProcess(settings={
        "FEEDS": {args.out: {"format": "jsonlines", "encoding": "utf-8", "overwrite": True}},
        "CONCURRENT_REQUESTS": args.concurrency,
        "CONCURRENT_REQUESTS_PER_DOMAIN": args.per_host,
        "DOWNLOAD_DELAY": args.delay,
        "RANDOMIZE_DOWNLOAD_DELAY": False,
        "ROBOTSTXT_OBEY": True,
        "RETRY_ENABLED": False,
        "COOKIES_ENABLED": False,
        "TELNETCONSOLE_ENABLED": False,
        "LOG_LEVEL": "WARNING",
        "USER_AGENT": "pagetrail-bench-scrapy/1.0",
    })
    process.crawl(ListSpider, urls=urls)
    process.start()


if __name__ == "__main__":
    main()
