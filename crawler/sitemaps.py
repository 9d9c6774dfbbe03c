"""Sitemaps (and sitemap indexes, gzipped or not): URLs with their lastmod, for seeding."""

from __future__ import annotations

from dataclasses import dataclass

import lxml.etree

from crawler.fetcher import Fetcher
from parsers.textutil import to_iso_date
from parsers.urls import InvalidURL, normalize_url

MAX_SITEMAPS = 50  # an index pointing at more is cut here (and a loop cannot run forever)


@dataclass
class SitemapEntry:
    url: str
    lastmod: str | None  # ISO 8601


def _parse(content: bytes) -> tuple[list[SitemapEntry], list[str]]:
    """(page entries, child sitemap URLs) from one sitemap document; never raises."""
    parser = lxml.etree.XMLParser(recover=True, resolve_entities=False, no_network=True, huge_tree=False)
    try:
        root = lxml.etree.fromstring(content.strip() or b"<x/>", parser)
    except lxml.etree.XMLSyntaxError:
        return [], []
    if root is None:
        return [], []
    entries, children = [], []
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        tag = el.tag.rsplit("}", 1)[-1]
        if tag not in ("url", "sitemap"):
            continue
        loc = next((c.text for c in el if isinstance(c.tag, str) and c.tag.endswith("loc")), None)
        lastmod = next((c.text for c in el if isinstance(c.tag, str) and c.tag.endswith("lastmod")), None)
        if not loc:
            continue
        try:
            url = normalize_url(loc.strip())
        except InvalidURL:
            continue
        if tag == "sitemap":
            children.append(url)
        else:
            entries.append(SitemapEntry(url, to_iso_date(lastmod) if lastmod else None))
    return entries, children


async def read_sitemaps(fetcher: Fetcher, urls: list[str]) -> list[SitemapEntry]:
    """Every page URL in these sitemaps, following sitemap indexes; newest lastmod first."""
    seen: set[str] = set()
    queue = list(urls)
    out: dict[str, SitemapEntry] = {}
    while queue and len(seen) < MAX_SITEMAPS:
        url = queue.pop(0)
        if url in seen:
            continue
        seen.add(url)
        result = await fetcher.fetch(url)
        if result.content is None or not (result.capture.status and 200 <= result.capture.status < 300):
            continue
        content = result.content
        if content[:2] == b"\x1f\x8b":  # a .xml.gz served without Content-Encoding
            import gzip

            try:
                content = gzip.decompress(content)
            except OSError:
                continue
        entries, children = _parse(content)
        for e in entries:
            out.setdefault(e.url, e)
        queue.extend(children)
    return sorted(out.values(), key=lambda e: e.lastmod or "", reverse=True)


def priority(entry: SitemapEntry, newest: str | None) -> float:
    """Recently modified pages first: 1.0 for the newest lastmod, less for older, 0.1 unknown."""
    if not entry.lastmod or not newest:
        return 0.1
    return 1.0 if entry.lastmod >= newest else 0.5
