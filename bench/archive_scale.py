"""Scale benchmark: a synthetic archive of 1,000,000 captures of 100,000 pages, then the queries
a researcher runs against it, on SQLite and on PostgreSQL.

    .venv/bin/python bench/archive_scale.py [--captures 1000000] [--pages 100000] [--samples 1000]
                                            [--db URL | --dbs sqlite,postgres] [--procs N]

Every capture goes through the real storage code (storage.archive.Archive.store_captures: the
very unit of work `store_capture` runs, many captures per transaction), so blobs (deltas),
derivations, revisions, comment histories, ads and search rows are all written as a crawl writes
them. The pages are article pages in the wiseGEEK markup the bundled profile reads
(pagetrail.sample_site.markup): title, byline, dates, several paragraphs of varied vocabulary
(a few hundred real words, Zipf-weighted, and a long tail of rare made-up ones), a few comments.
Widgets rotate on every fetch, so no two payloads are equal; about --change of the recaptures
edit the article (a new revision) and about --comment of them add a comment. Captures are fed in
time order over ~3 years. Each distinct content is parsed once with parsers.parse and the record
reused for its recaptures: parsing is not what is measured here.

On PostgreSQL `--procs N` generates with N processes at once, each its own pages (disjoint, as
crawl workers on several machines write one archive) with its own random stream: the same kind
of archive, not the very same captures as with one process. SQLite has one writer: one process.

Then it measures, with `--samples` random picks each:
- as of: storage.queries.as_of of a random page at a random time since its first capture
  (goal p99 < 5 ms);
- history: storage.queries.history of a random page (goal p99 < 20 ms);
- search: storage.search.search (what `pagetrail search` runs) for realistic words, common and
  rare (goal p95 < 100 ms);
- the database size (the SQLite file, or pg_total_relation_size of every table).

Each query is timed on the wall clock and split with Linux's schedstat: the CPU of this
process and of the PostgreSQL backend that served it, and the time either was runnable but
waiting for a core. On a shared machine the wall p99 is mostly that waiting; the table also
gives wall minus waiting (what the query takes with a core free: CPU on both sides, plus
I/O) and checks the goals on both. On PostgreSQL the archive's tables are ANALYZEd first, as
autovacuum would (the test server runs with autovacuum off).
"""

from __future__ import annotations

import argparse
import bisect
import hashlib
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import parsers  # noqa: E402
from bench.site import _vocabulary  # noqa: E402
from pagetrail.sample_site import content as sample  # noqa: E402
from pagetrail.sample_site.markup import PageState, render_article  # noqa: E402
from parsers.records import ParsedPage  # noqa: E402
from storage.interface import CaptureIn  # noqa: E402

T0 = datetime(2017, 1, 1, tzinfo=timezone.utc)
SPAN = timedelta(days=3 * 365)
HOSTS = ("www.wisegeek.com", "www.wisegeekhealth.com", "www.wisegeek.org", "www.wisegeekedu.com")
HEADERS = [("Content-Type", "text/html; charset=utf-8"), ("Server", "Apache")]


# ---- the synthetic site -----------------------------------------------------------------------
def _real_words() -> list[str]:
    """The sample site's articles' words, most frequent first: the common, real vocabulary."""
    import re

    counts: dict[str, int] = {}
    for art in sample.ARTICLES:
        texts = [t for block in art.blocks for t in block]
        texts += [t for p in art.posts for t in (*p.paragraphs, *p.hidden)]
        for t in texts:
            for w in re.findall(r"[a-z]{3,}", t.lower()):
                counts[w] = counts.get(w, 0) + 1
    return sorted(counts, key=lambda w: (-counts[w], w))


class Vocabulary:
    """Real words first (common), then made-up ones (the rare tail), with Zipf-like weights."""

    def __init__(self, seed: int = 11, tail: int = 30000) -> None:
        real = _real_words()
        made_up = [w for w in _vocabulary(random.Random(seed), tail) if w not in set(real)]
        self.words = real + made_up
        self.n_real = len(real)
        total, self.cum = 0.0, []
        for i in range(len(self.words)):
            total += 1.0 / (i + 1) ** 1.05
            self.cum.append(total)

    def word(self, rng: random.Random) -> str:
        return self.words[bisect.bisect(self.cum, rng.random() * self.cum[-1])]

    def sentence(self, rng: random.Random, lo: int = 8, hi: int = 24) -> str:
        return " ".join(self.word(rng) for _ in range(rng.randint(lo, hi))).capitalize() + "."

    def paragraph(self, rng: random.Random) -> str:
        return " ".join(self.sentence(rng) for _ in range(rng.randint(2, 5)))

    def name(self, rng: random.Random) -> str:
        return f"{self.word(rng).title()} {self.word(rng).title()}"


MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
          "October", "November", "December")


def _site_date(at: datetime) -> str:
    return f"{at.day} {MONTHS[at.month - 1]} {at.year}"


@dataclass
class PageModel:
    url: str
    article: sample.Article
    version: int = 0  # bumps on every change (edit or comment): the parse cache key
    fetches: int = 0
    next_post: int = 1


class SyntheticSite:
    """Pages and their evolving content; `captures()` yields them in time order."""

    def __init__(self, pages: int, captures: int, *, change: float, comment: float, seed: int = 5,
                 part: int = 0, parts: int = 1) -> None:
        # part k of `parts` (--procs): the pages k, k+parts, ... and their share of the
        # captures, spread over the same years, with its own random stream (the same kind
        # of archive, written by several processes as several crawl workers write one)
        self.own = list(range(part, pages, parts))
        self.n_pages = pages
        self.n_captures = captures if parts == 1 else captures * len(self.own) // pages
        self.change, self.comment = change, comment
        self.rng = random.Random(seed if parts == 1 else seed * 7919 + part)
        self.vocab = Vocabulary(seed)
        self.pages: list[PageModel] = []

    def _new_page(self, i: int, at: datetime) -> PageModel:
        rng, v = self.rng, self.vocab
        title = " ".join(v.word(rng) for _ in range(rng.randint(3, 7))).title()
        slug = f"what-is-{i}-" + "-".join(title.lower().split()[:3])
        blocks = tuple(tuple(v.paragraph(rng) for _ in range(rng.randint(1, 3))) for _ in range(rng.randint(2, 3)))
        page = PageModel(f"https://{HOSTS[i % len(HOSTS)]}/{slug}.htm", sample.Article(
            slug=slug, title=f"What Is {title}?", author=v.name(rng), editor=v.name(rng),
            modified=_site_date(at - timedelta(days=rng.randint(1, 400))), category="Health",
            blocks=blocks, posts=(), related=(),
        ))
        for _ in range(rng.choice((0, 1, 2, 3, 5))):
            self._add_post(i, page)
        return page

    def _add_post(self, i: int, page: PageModel) -> None:
        rng, v = self.rng, self.vocab
        n = page.next_post
        page.next_post += 1
        text = v.paragraph(rng)
        if rng.random() < 0.2 and page.article.posts:
            text = f"@{page.article.posts[0].author}-- {text}"
        post = sample.Post(id=f"post_{i * 1000 + n}", number=n, author=v.word(rng).title(), paragraphs=(text,))
        page.article = replace(page.article, posts=(post, *page.article.posts))

    def _edit(self, page: PageModel, at: datetime) -> None:
        rng, art = self.rng, page.article
        b = rng.randrange(len(art.blocks))
        block = list(art.blocks[b])
        block[rng.randrange(len(block))] = self.vocab.paragraph(rng)
        blocks = art.blocks[:b] + (tuple(block),) + art.blocks[b + 1:]
        page.article = replace(art, blocks=blocks, modified=_site_date(at))

    def captures(self) -> Iterator[tuple[int, datetime, bytes, PageModel]]:
        """(page index, fetched_at, payload, page) in time order: the pages are fetched in
        rounds, each round in its own shuffled order, the captures evenly spread over SPAN."""
        step = SPAN / max(1, self.n_captures)
        order = list(self.own)
        k = 0
        while k < self.n_captures:
            self.rng.shuffle(order)
            for i in order:
                if k >= self.n_captures:
                    break
                at = T0 + step * k
                k += 1
                if i >= len(self.pages):  # the first round creates the pages
                    self.pages.extend([None] * (i + 1 - len(self.pages)))  # type: ignore[list-item]
                page = self.pages[i]
                if page is None:
                    page = self.pages[i] = self._new_page(i, at)
                else:
                    if self.rng.random() < self.change:
                        self._edit(page, at)
                        page.version += 1
                    if self.rng.random() < self.comment:
                        self._add_post(i, page)
                        page.version += 1
                page.fetches += 1
                body = render_article(page.article, PageState(fetch=page.fetches)).encode()
                yield i, at, body, page


# ---- parsing (once per distinct content, in worker processes) --------------------------------
def _parse_one(job: tuple[bytes, str, datetime]) -> ParsedPage:
    body, url, at = job
    return parsers.parse(body, url, headers=HEADERS, fetched_at=at)


def _parse_many(jobs: list[tuple[bytes, str, datetime]]) -> list[ParsedPage]:
    return [_parse_one(j) for j in jobs]


@dataclass
class Item:
    page: int
    capture: CaptureIn
    key: tuple[int, int]  # (page, content version): the parse cache key


class Feed:
    """Batches of (CaptureIn, ParsedPage) in time order. Parsing of the next batch runs in
    worker processes while the caller stores this one."""

    def __init__(self, site: SyntheticSite, batch: int, workers: int) -> None:
        from concurrent.futures import ProcessPoolExecutor

        self.site, self.batch = site, batch
        self.pool = ProcessPoolExecutor(workers) if workers > 0 else None
        self.workers = max(1, workers)
        self.parsed: dict[int, tuple[int, ParsedPage]] = {}  # page -> (version, its record)
        self.parses = 0
        self.bytes = 0

    def _batches(self) -> Iterator[tuple[list[Item], dict[tuple[int, int], tuple[bytes, str, datetime]]]]:
        items: list[Item] = []
        jobs: dict[tuple[int, int], tuple[bytes, str, datetime]] = {}
        for i, at, body, page in self.site.captures():
            self.bytes += len(body)
            key = (i, page.version)
            known = self.parsed.get(i)
            if (known is None or known[0] != page.version) and key not in jobs:
                jobs[key] = (body, page.url, at)
            items.append(Item(i, CaptureIn(
                requested_url=page.url, fetched_at=at, final_url=page.url, status=200, headers=HEADERS,
                http_version="1.1", payload=body, elapsed_ms=40,
            ), key))
            if len(items) >= self.batch:
                yield items, jobs
                items, jobs = [], {}
        if items:
            yield items, jobs

    def _submit(self, jobs: dict[tuple[int, int], tuple[bytes, str, datetime]]):  # type: ignore[no-untyped-def]
        keys = list(jobs)
        if self.pool is None:
            return keys, [_parse_many([jobs[k] for k in keys])]
        n = max(1, -(-len(keys) // self.workers))
        return keys, [self.pool.submit(_parse_many, [jobs[k] for k in keys[j:j + n]]) for j in range(0, len(keys), n)]

    def _resolve(self, items: list[Item], submitted) -> list[tuple[CaptureIn, ParsedPage]]:  # type: ignore[no-untyped-def]
        keys, parts = submitted
        records = [r for part in parts for r in (part if isinstance(part, list) else part.result())]
        self.parses += len(records)
        fresh = dict(zip(keys, records))
        out = []
        for it in items:
            if it.key in fresh:
                self.parsed[it.page] = (it.key[1], fresh[it.key])
            out.append((it.capture, self.parsed[it.page][1]))
        return out

    def __iter__(self) -> Iterator[list[tuple[CaptureIn, ParsedPage]]]:
        pending = None
        for items, jobs in self._batches():
            submitted = self._submit(jobs)
            if pending is not None:
                yield self._resolve(*pending)  # stored while this batch is parsed
            pending = (items, submitted)
        if pending is not None:
            yield self._resolve(*pending)
        if self.pool is not None:
            self.pool.shutdown()


# ---- the databases -------------------------------------------------------------------------------
@dataclass
class Target:
    label: str
    url: str
    archive: "Archive"
    cleanup: object = None  # a callable dropping what the bench created
    store_seconds: float = 0.0
    store_cpu: float = 0.0  # the storing thread's CPU (PostgreSQL's own work is not in it)
    stored: int = 0
    outcomes: dict[str, int] | None = None


def _pg_schema_url(base: str) -> tuple[str, object]:
    """A fresh schema in the PostgreSQL database `base` (dropped afterwards)."""
    import uuid
    from urllib.parse import quote

    from sqlalchemy import create_engine, text

    from storage.db import normalize_db_url

    schema = "bench_" + uuid.uuid4().hex[:10]
    admin = create_engine(normalize_db_url(base), isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE SCHEMA "{schema}"'))

    def drop() -> None:
        with admin.connect() as c:
            c.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()

    sep = "&" if "?" in base else "?"
    return normalize_db_url(base) + f"{sep}options=" + quote(f"-csearch_path={schema}"), drop


def open_target(spec: str, tmp: Path, keep: bool) -> Target:
    from storage.archive import Archive
    from storage.db import make_engine, open_engine, upgrade

    cleanup = None
    if spec == "sqlite":
        url = f"sqlite:///{tmp / 'archive.db'}"
    elif spec in ("postgres", "postgresql"):
        url, cleanup = _pg_schema_url(os.environ.get("PAGETRAIL_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test"))
        if keep:
            print(f"keeping the PostgreSQL archive: {url}", file=sys.stderr)
            cleanup = None
    else:
        url = spec
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    archive = Archive(open_engine(url))
    label = archive.engine.dialect.name
    return Target(label, url, archive, cleanup)


def database_bytes(t: Target) -> int:
    from sqlalchemy import text

    from storage.db import sqlite_path

    path = sqlite_path(t.url)
    if path is not None:
        return sum(p.stat().st_size for p in (path, Path(f"{path}-wal")) if p.exists())
    with t.archive.engine.connect() as c:
        return int(c.execute(text(
            "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'm')"
        )).scalar())


# ---- the measurements ----------------------------------------------------------------------------
def percentile(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q / 100 * (len(xs) - 1))))]


def _schedstat(pid: int | None = None) -> tuple[float, float] | None:
    """(ms on a core, ms runnable but waiting for one) of this thread, or of process `pid`
    (a PostgreSQL backend), from Linux's schedstat; None where it cannot be read."""
    path = "/proc/thread-self/schedstat" if pid is None else f"/proc/{pid}/schedstat"
    try:
        with open(path) as f:
            run, wait = f.read().split()[:2]
        return int(run) / 1e6, int(wait) / 1e6
    except (OSError, ValueError):
        return None


@dataclass
class Timings:
    """Per call, in ms: wall; CPU of this process; CPU of the PostgreSQL backend that served
    it (SQLite: 0); time this thread and that backend were runnable but waiting for a core.
    On a shared machine a wall-clock p99 is mostly that waiting: wall minus it is what the
    query takes with a core free (its CPU on both sides, plus any I/O)."""

    wall: list[float]
    cpu: list[float]
    backend_cpu: list[float]
    core_wait: list[float]

    def busy(self) -> list[float]:
        return [w - q for w, q in zip(self.wall, self.core_wait)]


def timed(fn, n: int, backend_pid=lambda: None) -> tuple[Timings, int]:  # type: ignore[no-untyped-def]
    """Each of n calls of fn(k) timed (see Timings), and how many found nothing (NotFound).
    `backend_pid()` names the PostgreSQL backend the calls use (the pool hands the same
    connection back in this single-threaded loop; a call that changed it counts no backend
    time)."""
    from storage.queries import NotFound

    out, missing = Timings([], [], [], []), 0
    for k in range(n):
        pid = backend_pid()
        b0, s0 = (_schedstat(pid) if pid else None), _schedstat()
        t, c = time.perf_counter(), time.process_time()
        try:
            fn(k)
        except NotFound:
            missing += 1
        out.wall.append((time.perf_counter() - t) * 1000)
        out.cpu.append((time.process_time() - c) * 1000)
        s1 = _schedstat()
        b1 = _schedstat(pid) if pid and backend_pid() == pid else None
        backend = (b1[0] - b0[0], b1[1] - b0[1]) if b0 and b1 else (0.0, 0.0)
        out.backend_cpu.append(backend[0])
        out.core_wait.append((s1[1] - s0[1] if s0 and s1 else 0.0) + backend[1])
    return out, missing


def search_words(vocab: Vocabulary, rng: random.Random, n: int) -> list[str]:
    """Queries as people type them: a common word, a rarer real one, a rare one, two words."""
    real, tail = vocab.words[:vocab.n_real], vocab.words[vocab.n_real:]
    kinds = [
        lambda: rng.choice(real[:40]),  # common ("liver", "calcification")
        lambda: rng.choice(real[40:]),  # real, less common
        lambda: rng.choice(tail[:2000]),  # made-up, mid frequency
        lambda: rng.choice(tail[2000:]),  # rare: a handful of documents, or none
        lambda: f"{rng.choice(real[:200])} {rng.choice(real[:200])}",  # two words, both must match
    ]
    return [kinds[k % len(kinds)]() for k in range(n)]


def archived_pages(t: Target) -> tuple[list[tuple[str, datetime]], datetime]:
    """(URL, first capture) of every page in the archive, and its last capture time."""
    from sqlalchemy import func, select

    from storage.models import Capture, Page

    with t.archive.sessions() as s:
        pages = [(u, f) for u, f in s.execute(select(Page.url, Page.first_seen).order_by(Page.id)) if f]
        end = s.scalar(select(func.max(Capture.fetched_at)))
    return pages, end


def measure(t: Target, vocab: Vocabulary, samples: int) -> dict[str, object]:
    from storage import queries, search

    rng = random.Random(42)
    pages, end = archived_pages(t)
    picks = [rng.choice(pages) for _ in range(samples)]
    moments = [first + (end - first) * rng.random() for _, first in picks]
    sessions = t.archive.sessions

    def as_of(k: int) -> None:
        with sessions() as s:
            queries.as_of(s, picks[k][0], moments[k])

    def history(k: int) -> None:
        with sessions() as s:
            queries.history(s, picks[k][0])

    words = search_words(vocab, rng, samples)
    hits: list[int] = []

    def find(k: int) -> None:
        with sessions() as s:
            hits.append(len(search.search(s, words[k], limit=50)))

    backend = _backend_pid_tracker(t)
    if t.label == "postgresql":
        with t.archive.engine.begin() as c:
            # what autovacuum does on a production server within a minute of a bulk load
            # (the test server runs with autovacuum off): without statistics the planner
            # guesses every word rare. This archive's tables only.
            for (name,) in c.exec_driver_sql("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"):
                c.exec_driver_sql(f'ANALYZE "{name}"')
    timed(as_of, min(50, samples))  # warm the caches a server would have warm
    a, a_missing = timed(as_of, samples, backend)
    h, _ = timed(history, samples, backend)
    f, _ = timed(find, samples, backend)
    with sessions() as s:
        tot = queries.totals(s)
        st = queries.storage_totals(s)
    return {"as_of": a, "as_of_missing": a_missing, "history": h, "search": f, "hits": hits,
            "totals": tot, "storage": st, "bytes": database_bytes(t)}


def _backend_pid_tracker(t: Target):  # type: ignore[no-untyped-def]
    """A callable returning the PostgreSQL backend pid of the connection last checked out of
    the archive's pool (None on SQLite, or before the first checkout)."""
    from sqlalchemy import event

    last: list[int | None] = [None]
    if t.label == "postgresql":
        @event.listens_for(t.archive.engine, "checkout")
        def _checkout(dbapi_conn, _rec, _proxy):  # type: ignore[no-untyped-def]
            last[0] = dbapi_conn.info.backend_pid
    return lambda: last[0]


# ---- generation in several processes (PostgreSQL) -------------------------------------------------
def generate_part(url: str, opts: dict, part: int, parts: int) -> dict:
    """One generating process: its own pages (disjoint from the others'), parsed inline,
    stored through the real storage code into the shared archive."""
    from storage.archive import Archive
    from storage.db import open_engine

    archive = Archive(open_engine(url))
    site = SyntheticSite(opts["pages"], opts["captures"], change=opts["change"], comment=opts["comment"],
                         part=part, parts=parts)
    feed = Feed(site, opts["batch"], 0)
    out = {"stored": 0, "seconds": 0.0, "cpu": 0.0, "outcomes": {}, "parses": 0, "bytes": 0}
    started = time.perf_counter()
    for batch in feed:
        t0, c0 = time.perf_counter(), time.thread_time()
        results = archive.store_captures(batch)
        out["seconds"] += time.perf_counter() - t0
        out["cpu"] += time.thread_time() - c0
        out["stored"] += len(results)
        for r in results:
            out["outcomes"][r.outcome] = out["outcomes"].get(r.outcome, 0) + 1
        if part == 0 and out["stored"] % opts["progress"] < len(batch):
            print(f"  part 0 of {parts}: {out['stored']:,} captures, {time.perf_counter() - started:,.0f} s; "
                  f"store ms/capture {out['seconds'] / out['stored'] * 1000:.2f} "
                  f"(CPU {out['cpu'] / out['stored'] * 1000:.2f})", file=sys.stderr, flush=True)
    out["parses"], out["bytes"] = feed.parses, feed.bytes
    archive.engine.dispose()
    return out


def generate_in_parts(t: Target, args: argparse.Namespace, feed: "Feed") -> None:
    from concurrent.futures import ProcessPoolExecutor
    import multiprocessing

    t.archive.engine.dispose()  # no connection crosses into the children
    opts = {k: getattr(args, k) for k in ("pages", "captures", "change", "comment", "batch", "progress")}
    with ProcessPoolExecutor(args.procs, mp_context=multiprocessing.get_context("spawn")) as pool:
        parts = list(pool.map(generate_part, [t.url] * args.procs, [opts] * args.procs, range(args.procs),
                              [args.procs] * args.procs))
    t.outcomes = {}
    for r in parts:
        t.stored += r["stored"]
        t.store_seconds += r["seconds"]
        t.store_cpu += r["cpu"]
        feed.parses += r["parses"]
        feed.bytes += r["bytes"]
        for k, v in r["outcomes"].items():
            t.outcomes[k] = t.outcomes.get(k, 0) + v


# ---- the command ---------------------------------------------------------------------------------
def _row(label: str, cells: list[str]) -> tuple[str, list[str]]:
    return label, cells


def render_table(targets: list[Target], results: list[dict], feed: Feed, args: argparse.Namespace,
                 wall: float) -> str:
    def ms(xs: list[float], q: float) -> str:
        return f"{percentile(xs, q):.2f}"

    rows = [
        _row("captures stored", [f"{t.stored:,}" for t in targets]),
        _row("pages / revisions / comments", [
            f"{r['totals']['pages']:,} / {r['totals']['revisions']:,} / {r['totals']['comments']:,}" for r in results]),
    ]
    if not args.existing:
        rows += [
            _row("generation wall time", [f"{wall:,.0f} s" + (f" ({args.procs} processes)" if args.procs > 1 else "")
                                          for t in targets]),
            _row("store time (summed over processes)" if args.procs > 1 else "store time",
                 [f"{t.store_seconds:,.0f} s" for t in targets]),
            _row("  per capture", [f"{t.store_seconds / max(1, t.stored) * 1000:.2f} ms" for t in targets]),
            _row("  per capture, Python CPU", [f"{t.store_cpu / max(1, t.stored) * 1000:.2f} ms" for t in targets]),
        ]
    rows += [
        _row("database size", [f"{r['bytes'] / 1e6:,.0f} MB" for r in results]),
        _row("  blobs (payload bytes stored)", [
            f"{r['storage']['bytes_stored'] / 1e6:,.0f} MB of {r['storage']['bytes_received'] / 1e6:,.0f} MB"
            for r in results]),
        _row("as of, random page+time: p50 / p99", [f"{ms(r['as_of'].wall, 50)} / {ms(r['as_of'].wall, 99)} ms" for r in results]),
        _row("history of a page: p50 / p99", [f"{ms(r['history'].wall, 50)} / {ms(r['history'].wall, 99)} ms" for r in results]),
        _row("search: p50 / p95", [f"{ms(r['search'].wall, 50)} / {ms(r['search'].wall, 95)} ms" for r in results]),
        _row("  hits per query: median / max", [
            f"{statistics.median(r['hits']):.0f} / {max(r['hits'])}" for r in results]),
    ]
    for label, key, q in (("as of", "as_of", 99), ("history", "history", 99), ("search", "search", 95)):
        rows += [
            _row(f"{label}: wall minus waiting for a core p50 / p{q}", [
                f"{ms(r[key].busy(), 50)} / {ms(r[key].busy(), q)} ms" for r in results]),
            _row(f"  CPU, this process p50 / p{q}", [
                f"{ms(r[key].cpu, 50)} / {ms(r[key].cpu, q)} ms" for r in results]),
            _row(f"  CPU, PostgreSQL backend p50 / p{q}", [
                f"{ms(r[key].backend_cpu, 50)} / {ms(r[key].backend_cpu, q)} ms" if t.label == "postgresql" else "-"
                for t, r in zip(targets, results)]),
            _row(f"  waiting for a core p50 / p{q}", [
                f"{ms(r[key].core_wait, 50)} / {ms(r[key].core_wait, q)} ms" for r in results]),
        ]
    w0 = max(len(a) for a, _ in rows)
    ws = [max(len(t.label), *(len(c[k]) for _, c in rows)) for k, t in enumerate(targets)]
    lines = [
        f"pagetrail archive scale bench — {datetime.now():%Y-%m-%d %H:%M}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}; "
        + ("archives built earlier (--existing)" if args.existing else
           f"{args.captures:,} captures of {args.pages:,} pages over 3 years, {args.change:.0%} of recaptures "
           f"edited, {args.comment:.0%} add a comment; batches of {args.batch}"
           f"{' (one transaction per capture)' if args.single else ''}")
        + f"; {args.samples:,} samples per query",
        f"{'':{w0}}  " + "  ".join(f"{t.label:>{w}}" for t, w in zip(targets, ws)),
    ]
    lines += [f"{a:{w0}}  " + "  ".join(f"{c:>{w}}" for c, w in zip(cells, ws)) for a, cells in rows]
    if not args.existing:
        lines.append(f"distinct contents parsed once each: {feed.parses:,}; payload bytes generated "
                     f"{feed.bytes / 1e6:,.0f} MB; wall time {wall:,.0f} s")
    for t, r in zip(targets, results):
        for what, get in (("wall", lambda x: x.wall), ("wall minus waiting for a core", lambda x: x.busy())):
            a99, h99 = percentile(get(r["as_of"]), 99), percentile(get(r["history"]), 99)
            s95 = percentile(get(r["search"]), 95)
            lines.append(
                f"goals ({t.label}, {what}): as-of p99 < 5 ms -> {'MET' if a99 < 5 else 'NOT MET'}; history p99 < 20 ms -> "
                f"{'MET' if h99 < 20 else 'NOT MET'}; search p95 < 100 ms -> {'MET' if s95 < 100 else 'NOT MET'}"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--captures", type=int, default=1_000_000, help="captures stored (default 1,000,000)")
    ap.add_argument("--pages", type=int, default=100_000, help="distinct pages (default 100,000)")
    ap.add_argument("--samples", type=int, default=1000, help="random queries of each kind (default 1000)")
    ap.add_argument("--db", help="archive URL (default: a new SQLite file in a temp folder); must be empty")
    ap.add_argument("--dbs", help="comma-separated: sqlite, postgres (a fresh schema in $PAGETRAIL_TEST_PG, "
                    "default postgresql://postgres@127.0.0.1:5432/test) or URLs; the same captures go to each")
    ap.add_argument("--change", type=float, default=0.10, help="fraction of recaptures that edit the article")
    ap.add_argument("--comment", type=float, default=0.05, help="fraction of recaptures that add a comment")
    ap.add_argument("--batch", type=int, default=500, help="captures per transaction (Archive.store_captures)")
    ap.add_argument("--single", action="store_true",
                    help="store each capture in its own transaction (Archive.store_capture), for comparison")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                    help="processes parsing distinct contents ahead of the store (0: parse inline)")
    ap.add_argument("--procs", type=int, default=1,
                    help="PostgreSQL: generate with N processes in parallel, each its own pages (parsed inline)")
    ap.add_argument("--keep", action="store_true", help="keep the archives (SQLite folder, PostgreSQL schema)")
    ap.add_argument("--progress", type=int, default=50_000, help="report every N captures on stderr")
    ap.add_argument("--existing", action="store_true",
                    help="build nothing: measure the archives --db/--dbs name as they are (e.g. kept with --keep, "
                    "or left by an interrupted run)")
    args = ap.parse_args(argv)
    if args.pages < 1 or args.captures < args.pages:
        ap.error("--captures must be at least --pages (every page is captured at least once)")
    if args.procs > 1 and (args.single or len((args.dbs or args.db or "sqlite").split(",")) != 1
                           or "postg" not in (args.dbs or args.db or "")):
        ap.error("--procs: one PostgreSQL archive (--db postgresql://... or --dbs postgres); SQLite has one writer")

    tmp = Path(tempfile.mkdtemp(prefix="pagetrail-scale-"))
    specs = [x.strip() for x in args.dbs.split(",")] if args.dbs else [args.db or "sqlite"]
    targets = [open_target(spec, tmp, args.keep) for spec in specs]
    site = SyntheticSite(args.pages, args.captures, change=args.change, comment=args.comment)
    feed = Feed(site, args.batch, 0 if args.existing or args.procs > 1 else args.workers)
    if args.existing:
        results = []
        for t in targets:
            with t.archive.sessions() as s:
                from storage.queries import totals

                t.stored = totals(s)["captures"]
            print(f"measuring {t.label} ({t.stored:,} captures) ...", file=sys.stderr, flush=True)
            results.append(measure(t, site.vocab, args.samples))
        print(render_table(targets, results, feed, args, 0.0))
        return 0
    for t in targets:
        with t.archive.sessions() as s:
            from storage.queries import totals

            if totals(s)["captures"]:
                sys.exit(f"{t.url} already holds captures: give an empty archive")
    print(f"building {args.captures:,} captures of {args.pages:,} pages into "
          f"{', '.join(t.url for t in targets)}", file=sys.stderr)

    started = time.perf_counter()
    done = 0
    last_report = 0

    def store(t: Target, batch: list[tuple[CaptureIn, ParsedPage]]) -> None:
        t0, c0 = time.perf_counter(), time.thread_time()
        if args.single:
            results = [t.archive.store_capture(c, p) for c, p in batch]
        else:
            results = t.archive.store_captures(batch)
        t.store_seconds += time.perf_counter() - t0
        t.store_cpu += time.thread_time() - c0  # this thread's CPU: the store's Python side
        t.stored += len(results)
        t.outcomes = t.outcomes or {}
        for r in results:
            t.outcomes[r.outcome] = t.outcomes.get(r.outcome, 0) + 1

    # Several archives: each stores the batch in its own thread, so one database's own work
    # (PostgreSQL's server process, SQLite's writes) overlaps the other's Python.
    from concurrent.futures import ThreadPoolExecutor

    stores = ThreadPoolExecutor(len(targets)) if len(targets) > 1 else None
    if args.procs > 1:
        generate_in_parts(targets[0], args, feed)
    for batch in (feed if args.procs == 1 else ()):
        if stores is None:
            store(targets[0], batch)
        else:
            for f in [stores.submit(store, t, batch) for t in targets]:
                f.result()
        done += len(batch)
        if done - last_report >= args.progress:
            last_report = done
            print(f"  {done:,} captures, {time.perf_counter() - started:,.0f} s; store ms/capture: "
                  + ", ".join(f"{t.label} {t.store_seconds / t.stored * 1000:.2f} (CPU {t.store_cpu / t.stored * 1000:.2f})"
                              for t in targets),
                  file=sys.stderr, flush=True)
    if stores is not None:
        stores.shutdown()
    wall = time.perf_counter() - started
    for t in targets:
        print(f"  {t.label}: outcomes {t.outcomes}", file=sys.stderr)

    results = []
    for t in targets:
        print(f"measuring {t.label} ...", file=sys.stderr, flush=True)
        results.append(measure(t, site.vocab, args.samples))
    print(render_table(targets, results, feed, args, wall))
    for t in targets:
        t.archive.engine.dispose()
        if t.cleanup is not None and not args.keep:
            t.cleanup()  # type: ignore[operator]
    if not args.keep:
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)
    else:
        print(f"kept {tmp}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
