"""`pagetrail reparse`: re-derive records from stored raw captures with the current parsers.

No network. Each capture is re-parsed from its stored bytes (decoded as the fetcher would);
captures whose current derivation already came from this parser version and profile are
skipped: the same parser and profile giving the same records stores nothing, so running it
twice changes nothing. Pages whose records changed get their
revisions and comment histories rebuilt, each page in its own transaction.
"""

from __future__ import annotations

import sys
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from parsers.content_encoding import DecodingError, decode_payload
from parsers.records import ParsedPage
from storage import redaction, rederive
from storage.archive import Archive


@dataclass
class ReparseReport:
    considered: int = 0
    rederived: int = 0
    skipped: int = 0
    failed: list[tuple[int, str]] = field(default_factory=list)
    pages_rebuilt: int = 0

    def to_dict(self) -> dict[str, object]:
        return {
            "considered": self.considered,
            "rederived": self.rederived,
            "skipped": self.skipped,
            "failed": [{"capture": c, "error": e} for c, e in self.failed],
            "pages_rebuilt": self.pages_rebuilt,
        }


ParseFn = Callable[[bytes, str, list[tuple[str, str]], datetime], ParsedPage]


def reparse(
    archive: Archive,
    parse: ParseFn,
    *,
    urls: list[str] | None = None,
    site: str | None = None,
    since: datetime | None = None,
    force: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> ReparseReport:
    report = ReparseReport()
    with archive.sessions() as s:
        targets = rederive.parseable_captures(s, urls=urls, site=site, since=since)
    by_page: dict[int, list[int]] = defaultdict(list)
    for cid, pid in targets:
        by_page[pid].append(cid)
    done = 0
    for page_id, capture_ids in by_page.items():
        changed = False
        with archive.sessions.begin() as s:
            for cid in capture_ids:
                report.considered += 1
                stored = rederive.load_payload(s, cid)
                done += 1
                try:
                    content, _cut = decode_payload(stored.payload, stored.headers)
                except DecodingError as exc:
                    report.failed.append((cid, str(exc)))
                    continue
                # Standing redactions first: the raw bytes may still hold a redacted comment.
                parsed = redaction.apply_rules(s, stored.page_id, parse(content, stored.url, stored.headers,
                                                                        stored.fetched_at))
                if not force and rederive.same_as_current(stored.current, parsed):
                    report.skipped += 1
                else:
                    rederive.store_rederivation(s, cid, parsed)
                    report.rederived += 1
                    changed = True
                if progress:
                    progress(done, len(targets))
            if changed:
                rederive.rebuild_pages(s, [page_id])
                report.pages_rebuilt += 1
    return report


def print_progress(done: int, total: int) -> None:
    if sys.stderr.isatty():
        sys.stderr.write(f"\rreparse: {done}/{total} captures")
        if done == total:
            sys.stderr.write("\n")
        sys.stderr.flush()
