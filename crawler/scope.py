"""Which discovered URLs a crawl follows: scope, allow/deny patterns, depth."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from parsers.urls import InvalidURL, normalize_url

# Public suffixes with a second level that sites register under (enough for same-site checks
# without a suffix list download; extend as needed).
_SECOND_LEVEL = {"co.uk", "org.uk", "ac.uk", "gov.uk", "nhs.uk", "com.au", "net.au", "org.au", "co.nz",
                 "co.jp", "co.in", "com.br", "com.cn", "co.za", "com.mx", "com.tr", "co.kr"}


def registrable(host: str) -> str:
    labels = host.lower().strip(".").split(".")
    if len(labels) >= 3 and ".".join(labels[-2:]) in _SECOND_LEVEL:
        return ".".join(labels[-3:])
    return ".".join(labels[-2:])


def _origin(url: str) -> str:
    p = urlsplit(url)
    return f"{p.scheme}://{p.netloc}"


@dataclass
class Scope:
    kind: str = "same-host"  # same-host | same-site | prefix:URL
    seeds: list[str] = field(default_factory=list)
    allow: list[str] = field(default_factory=list)
    deny: list[str] = field(default_factory=list)
    max_depth: int | None = None

    def __post_init__(self) -> None:
        self._allow = [re.compile(p) for p in self.allow]
        self._deny = [re.compile(p) for p in self.deny]
        self._origins = {_origin(u) for u in self.seeds}
        self._sites = {registrable(urlsplit(u).hostname or "") for u in self.seeds}
        self._prefix = normalize_url(self.kind[len("prefix:"):]) if self.kind.startswith("prefix:") else None
        if self.kind not in ("same-host", "same-site") and self._prefix is None:
            raise ValueError(f"unknown scope {self.kind!r}: use same-host, same-site or prefix:URL")

    def admits(self, url: str, depth: int) -> str | None:
        """The normalized URL when the crawl should follow it at this depth, else None."""
        if self.max_depth is not None and depth > self.max_depth:
            return None
        try:
            url = normalize_url(url)
        except InvalidURL:
            return None
        if self._prefix is not None:
            inside = url.startswith(self._prefix)
        elif self.kind == "same-site":
            inside = registrable(urlsplit(url).hostname or "") in self._sites
        else:
            inside = _origin(url) in self._origins
        if not inside:
            return None
        if self._allow and not any(p.search(url) for p in self._allow):
            return None
        if any(p.search(url) for p in self._deny):
            return None
        return url
