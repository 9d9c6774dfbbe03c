"""Storage benchmark: pagetrail's delta blob store beside WARC.gz, on the same captures.

    .venv/bin/pip install --target bench/.deps -r bench/requirements.txt   # once: warcio
    .venv/bin/python bench/storage.py [--pages 200] [--rounds 30] [--db URL]

Serves bench/site.py's article site on 127.0.0.1 (widgets rotate on every fetch, a few percent
of the articles are edited per round), crawls it R rounds through pagetrail's real crawler,
parser and archive (pagetrail.pipeline.crawl), and writes every capture the archive stores to
a WARC.gz as well (warcio, gzip per record, a revisit record whenever a payload repeats).
Then it restores random captures (cache cleared before each: a cold, random read) and runs a
full `verify`, and prints one table.

Goal (issue 10): stored bytes <= 4% of the WARC.gz bytes; p99 restore <= 10 ms.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench" / ".deps"))  # warcio: a bench-only dependency

import zstandard  # noqa: E402

try:
    from warcio.statusandheaders import StatusAndHeaders  # noqa: E402
    from warcio.warcwriter import WARCWriter  # noqa: E402
except ImportError:  # pragma: no cover
    sys.exit("warcio is missing: .venv/bin/pip install --target bench/.deps -r bench/requirements.txt")

from bench.site import SiteModel, SiteServer  # noqa: E402
from pagetrail.pipeline import crawl  # noqa: E402
from pagetrail.settings import Settings  # noqa: E402
from parsers.records import ParsedPage  # noqa: E402
from storage import blobs, integrity, queries  # noqa: E402
from storage.archive import Archive  # noqa: E402
from storage.db import open_engine  # noqa: E402
from storage.interface import CaptureIn, StoredCapture  # noqa: E402


class WarcTee:
    """The archive writer the crawler sees: stores each capture in pagetrail and writes the
    very same capture to a WARC.gz, so both sides hold identical captures."""

    def __init__(self, archive: Archive, warc: io.BufferedWriter) -> None:
        self.archive = archive
        self.warc_file = warc
        self.writer = WARCWriter(warc, gzip=True)
        self.seen: dict[str, tuple[str, str]] = {}  # sha256 -> (uri, WARC-Date) of its response
        self.digests: list[str] = []
        self.by_url: dict[str, list[str]] = {}
        self.payload_bytes = 0
        self.zstd_alone = 0  # zstd -3 of each payload alone: the store without deltas
        self.store_seconds = 0.0
        self.round_marks: list[tuple[int, int, int]] = []  # (captures, stored bytes, warc bytes)

    def start_run(self, kind: str, seeds: list[str]) -> int:
        return self.archive.start_run(kind, seeds)

    def finish_run(self, run_id: int, stats: dict[str, int], status: str = "finished") -> None:
        self.archive.finish_run(run_id, stats, status)

    def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
        # Everything else the crawler asks of its store (frontier jobs, leases) is the archive's.
        return getattr(self.archive, name)

    def store_capture(self, capture: CaptureIn, parsed: ParsedPage | None, **kw) -> StoredCapture:  # type: ignore[no-untyped-def]
        t = time.perf_counter()
        result = self.archive.store_capture(capture, parsed, **kw)
        self.store_seconds += time.perf_counter() - t
        if capture.payload is not None and capture.status is not None:
            self._warc(capture)
        return result

    def _warc(self, cap: CaptureIn) -> None:
        payload = cap.payload
        assert payload is not None
        sha = hashlib.sha256(payload).hexdigest()
        self.digests.append(sha)
        self.by_url.setdefault(cap.requested_url, []).append(sha)
        self.payload_bytes += len(payload)
        self.zstd_alone += len(zstandard.ZstdCompressor(level=3).compress(payload))
        uri = cap.final_url or cap.requested_url
        date = cap.fetched_at.strftime("%Y-%m-%dT%H:%M:%SZ")
        http = StatusAndHeaders(
            f"{cap.status} OK", list(cap.headers), protocol=f"HTTP/{cap.http_version or '1.1'}"
        )
        if sha in self.seen:
            ref_uri, ref_date = self.seen[sha]
            rec = self.writer.create_revisit_record(
                uri, digest="sha256:" + sha, refers_to_uri=ref_uri, refers_to_date=ref_date,
                http_headers=http, warc_headers_dict={"WARC-Date": date},
            )
        else:
            self.seen[sha] = (uri, date)
            rec = self.writer.create_warc_record(
                uri, "response", payload=io.BytesIO(payload), http_headers=http,
                warc_headers_dict={"WARC-Date": date},
            )
        self.writer.write_record(rec)


def percentile(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q / 100 * (len(xs) - 1))))]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pages", type=int, default=200, help="articles on the site (200-1200)")
    ap.add_argument("--rounds", type=int, default=30, help="recrawl rounds")
    ap.add_argument("--edit", type=float, default=0.03, help="fraction of articles edited per round")
    ap.add_argument("--db", default=None, help="archive URL (default: a new SQLite file in a temp dir)")
    ap.add_argument("--restores", type=int, default=1000, help="random captures restored")
    ap.add_argument("--concurrency", type=int, default=8)
    args = ap.parse_args(argv)

    tmp = Path(tempfile.mkdtemp(prefix="pagetrail-bench-"))
    db = args.db or f"sqlite:///{tmp / 'archive.db'}"
    warc_path = tmp / "captures.warc.gz"
    model = SiteModel(n_pages=args.pages, edit_fraction=args.edit)
    archive = Archive(open_engine(db))
    print(f"site: {args.pages} articles, {args.rounds} rounds, ~{args.edit:.0%} edited per round; "
          f"archive {db}; WARC {warc_path}", file=sys.stderr)

    started = time.perf_counter()
    with SiteServer(model) as server, open(warc_path, "wb") as warc:
        tee = WarcTee(archive, warc)
        host = f"127.0.0.1:{server.port}"
        settings = Settings(
            db=db, per_host_delay=0.0, per_host=args.concurrency, concurrency=args.concurrency,
            allow_private_addresses=True,
        )
        urls = [server.base + model.url_path(i) for i in range(args.pages)]
        for r in range(args.rounds):
            if r:
                model.advance()
            t = time.perf_counter()
            report = crawl(settings, urls, kind=f"bench:{r + 1}", archive=tee)  # type: ignore[arg-type]
            warc.flush()
            with archive.sessions() as s:
                st = queries.storage_totals(s)
            tee.round_marks.append((st["captures"], st["bytes_stored"], warc.tell()))
            print(f"  round {r + 1}: {report.stats.get('fetched', 0)} fetched in "
                  f"{time.perf_counter() - t:.1f} s, stored {st['bytes_stored']:,} B, "
                  f"WARC.gz {warc.tell():,} B", file=sys.stderr)
    crawl_seconds = time.perf_counter() - started
    warc_bytes = warc_path.stat().st_size

    with archive.sessions() as s:
        st = queries.storage_totals(s)
        # Restore random captures, each from the database alone (cache cleared first).
        rng = random.Random(1)
        picks = [rng.choice(tee.digests) for _ in range(args.restores)]
        times = []
        for d in picks:
            blobs.clear_cache()
            t = time.perf_counter()
            payload = blobs.get_blob(s, d)
            times.append((time.perf_counter() - t) * 1000)
            assert hashlib.sha256(payload).hexdigest() == d
        # A page's whole history read in order (export, reparse): chain links come warm.
        history = []
        for url in rng.sample(sorted(tee.by_url), min(20, len(tee.by_url))):
            blobs.clear_cache()
            t = time.perf_counter()
            for d in tee.by_url[url]:
                blobs.get_blob(s, d)
            history.append((time.perf_counter() - t) * 1000 / len(tee.by_url[url]))
        blobs.clear_cache()
        t = time.perf_counter()
        rep = integrity.verify(s)
        verify_seconds = time.perf_counter() - t
        depth = rep.max_depth_seen

    n = st["captures"]
    first_round = tee.round_marks[0]
    later_caps = n - first_round[0]
    later_stored = st["bytes_stored"] - first_round[1]
    later_warc = warc_bytes - first_round[2]
    rows = [
        ("captures", f"{n:,}", ""),
        ("payload bytes received", f"{st['bytes_received']:,}", f"{st['bytes_received'] / n:,.0f} B/capture"),
        ("WARC.gz (warcio, gzip per record, revisits)", f"{warc_bytes:,}", f"{warc_bytes / n:,.0f} B/capture"),
        ("zstd -3 per payload, no deltas", f"{tee.zstd_alone:,}",
         f"{tee.zstd_alone / n:,.0f} B/capture  ({tee.zstd_alone / warc_bytes:.1%} of WARC.gz)"),
        ("pagetrail blobs (deltas)", f"{st['bytes_stored']:,}",
         f"{st['bytes_stored'] / n:,.0f} B/capture  ({st['bytes_stored'] / warc_bytes:.2%} of WARC.gz)"),
        ("  recrawls only (rounds 2..R)", f"{later_stored:,}",
         f"{later_stored / max(1, later_caps):,.0f} B/capture  ({later_stored / max(1, later_warc):.2%} of WARC.gz)"),
        ("keyframes / blobs", f"{st['keyframes']} / {rep.blobs_total}", f"max chain depth {depth}"),
        ("restore a random capture, cold (ms)", f"median {statistics.median(times):.2f}",
         f"p99 {percentile(times, 99):.2f}  max {max(times):.2f}  (n={len(times)})"),
        ("a page's whole history, in order (ms)", f"{statistics.mean(history):.2f} per capture",
         f"{len(history)} pages, cache cleared before each"),
        ("verify, every blob re-hashed", f"{verify_seconds:.2f} s",
         f"{rep.blobs_checked:,} blobs, {rep.bytes_checked / verify_seconds / 1e6:,.0f} MB/s, "
         f"{'ok' if rep.ok else f'{len(rep.problems)} PROBLEMS'}"),
        ("store_capture (whole unit of work)", f"{tee.store_seconds / n * 1000:.2f} ms/capture",
         f"crawl total {crawl_seconds:.0f} s"),
    ]
    w0 = max(len(r[0]) for r in rows)
    w1 = max(len(r[1]) for r in rows)
    print(f"\npagetrail storage bench — {datetime.now():%Y-%m-%d %H:%M}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}, {archive.engine.dialect.name}, "
          f"{args.pages} pages x {args.rounds} rounds, {args.edit:.0%} edited per round")
    print(f"{'':{w0}}  {'bytes / value':>{w1}}  per capture / detail")
    for a, b, c in rows:
        print(f"{a:{w0}}  {b:>{w1}}  {c}")
    ratio = st["bytes_stored"] / warc_bytes
    p99 = percentile(times, 99)
    print(f"goal: <= 4% of WARC.gz -> {ratio:.2%} {'MET' if ratio <= 0.04 else 'NOT MET'}; "
          f"p99 restore <= 10 ms -> {p99:.2f} ms {'MET' if p99 <= 10 else 'NOT MET'}")
    archive.engine.dispose()
    return 0 if rep.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
