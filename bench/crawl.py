"""Crawl benchmark: pagetrail's whole pipeline (fetch + parse + archive) beside a Scrapy spider
that fetches the same pages, extracts them with trafilatura and writes JSON lines.

    .venv/bin/pip install --target bench/.deps -r bench/requirements-crawl.txt   # once
    .venv/bin/python bench/crawl.py [--pages 1200] [--hosts 20] [--polite-pages 500]

Serves bench/site.py's article pages (~80 KB of HTML each, with comments and rotating widgets)
from --hosts loopback addresses (127.0.0.2, 127.0.0.3, ...; one server each, article i on host
i mod hosts) and crawls the same URL list with each configuration, one after the other:

- pagetrail on SQLite: `pagetrail crawl URL...` (list mode), one process;
- pagetrail on PostgreSQL with 1, 2 and 4 `pagetrail worker` processes serving one queued job
  (a fresh schema each; the job is queued before the workers start);
- Scrapy + trafilatura -> JSON lines (bench/scrapy_peer.py), one process.

Everything runs with the same limits: robots.txt obeyed, 16 requests in flight per process,
1 per host (across all workers: the archive's host claims), and the per-host delay of the table.

Table 1 (per-host delay 0) measures throughput: pages/s from launch until the last page is
stored (process start-up included), CPU seconds of the crawler's processes (os.wait4 per
process: the same figure as RUSAGE_CHILDREN, split per process) and, on PostgreSQL, of the
server backends that served them (/proc, sampled), and peak memory (max RSS of the largest
process, and the sum over processes). Table 2 (per-host delay 0.5 s over --hosts hosts: a
ceiling of hosts / 0.5 = 40 pages/s) measures politeness: pages/s over the servers' own log
(first request to last response), and the smallest gap between one response's end and the next
request's start to any host, also from the servers' log.

The machine may be shared: the load average before each run is printed beside it.
Goals (issue 7): pagetrail on SQLite >= 1x Scrapy's pages/s (team target 4x); more workers
never slower than one; in table 2 every configuration >= 90% of the ceiling with no gap < 0.5 s.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, text  # noqa: E402

from bench.site import SiteModel  # noqa: E402
from storage.db import make_engine, normalize_db_url, upgrade  # noqa: E402
from tests.httpserver import LocalSite, Reply  # noqa: E402
from tests.multihost import Hosts, host_gaps, serve_hosts  # noqa: E402

PYTHON = sys.executable
DEPS = ROOT / "bench" / ".deps"
CONCURRENCY, PER_HOST = 16, 1
CLK_TCK = os.sysconf("SC_CLK_TCK")


@dataclass
class Result:
    name: str
    pages: int = 0  # pages stored (pagetrail) or written with a record (Scrapy)
    wall: float = 0.0  # launch -> last page stored
    window: float = 0.0  # servers' log: first article request start -> last article response end
    cpu: float = 0.0  # user + sys of the crawler's processes
    db_cpu: float | None = None  # user + sys of the PostgreSQL backends serving them
    rss_max_mb: float = 0.0
    rss_sum_mb: float = 0.0
    min_gap: float | None = None
    requests: int = 0
    load: float = 0.0  # 1-minute load average just before the run
    notes: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.pages / self.wall if self.wall else 0.0

    @property
    def window_rate(self) -> float:
        return self.pages / self.window if self.window else 0.0


def make_site(model: SiteModel) -> LocalSite:
    site = LocalSite()
    site["/robots.txt"] = Reply(200, b"User-agent: *\nAllow: /\n", {"Content-Type": "text/plain"})
    headers = {"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-cache"}
    for i in range(model.n_pages):
        # widgets rotate on every fetch, as on the real site
        site[model.url_path(i)] = lambda i=i: Reply(200, model.render(i, random.Random()), headers)
    return site


def wait_children(procs: list[subprocess.Popen]) -> tuple[float, float, float]:
    """Reap the processes: (CPU seconds summed, largest max RSS MB, sum of max RSS MB)."""
    cpu, rss = 0.0, []
    for p in procs:
        _, status, usage = os.wait4(p.pid, 0)
        p.returncode = os.waitstatus_to_exitcode(status)
        cpu += usage.ru_utime + usage.ru_stime
        rss.append(usage.ru_maxrss / 1024)  # KiB on Linux
    return cpu, max(rss), sum(rss)


class BackendCpu:
    """CPU of the PostgreSQL backends with our application_name, sampled from /proc (a backend
    exits with its connection, so the last sample before that is what it used)."""

    def __init__(self, admin, app: str) -> None:  # type: ignore[no-untyped-def]
        self.admin, self.app, self.seen = admin, app, {}

    def sample(self) -> None:
        with self.admin.connect() as c:
            pids = [r[0] for r in c.execute(text("SELECT pid FROM pg_stat_activity WHERE application_name = :a"),
                                            {"a": self.app})]
        for pid in pids:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            self.seen[pid] = (int(fields[11]) + int(fields[12])) / CLK_TCK

    @property
    def seconds(self) -> float:
        return sum(self.seen.values())


def article_hits(hosts: Hosts, since: int) -> list:
    with hosts.site.lock:
        return [h for h in hosts.site.log[since:] if h.path.startswith("/articles/")]


def finish(result: Result, hosts: Hosts, since: int) -> Result:
    hits = article_hits(hosts, since)
    result.requests = len(hits)
    if hits:
        result.window = max(h.end for h in hits) - min(h.start for h in hits)
        gaps = host_gaps(hits)
        result.min_gap = min(gaps.values()) if gaps else None
    return result


def run_sqlite(name: str, urls: list[str], delay: float, tmp: Path, hosts: Hosts) -> Result:
    r = Result(name, load=os.getloadavg()[0])
    db = tmp / f"{uuid.uuid4().hex[:8]}.db"
    since = len(hosts.site.log)
    cmd = [PYTHON, "-m", "pagetrail.cli", "crawl", *urls, "--db", f"sqlite:///{db}", "--delay", str(delay),
           "--concurrency", str(CONCURRENCY), "--per-host", str(PER_HOST), "--allow-private-addresses", "--quiet"]
    t0 = time.perf_counter()
    with open(tmp / "sqlite.log", "ab") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=log, cwd=ROOT)
        r.cpu, r.rss_max_mb, r.rss_sum_mb = wait_children([proc])
    r.wall = time.perf_counter() - t0
    if proc.returncode != 0:
        r.notes.append(f"exit {proc.returncode} (see {tmp / 'sqlite.log'})")
    engine = create_engine(f"sqlite:///{db}")
    with engine.connect() as c:
        r.pages = c.execute(text("SELECT count(DISTINCT requested_url) FROM capture WHERE status = 200")).scalar() or 0
    engine.dispose()
    db.unlink(missing_ok=True)
    return finish(r, hosts, since)


def run_workers(name: str, n: int, urls: list[str], delay: float, pg: str, tmp: Path, hosts: Hosts) -> Result:
    from storage.archive import Archive
    from storage.frontier import job_key

    r = Result(name)
    schema = "bench_" + uuid.uuid4().hex[:10]
    app = schema  # the workers' application_name: how their backends are found
    admin = create_engine(normalize_db_url(pg), isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in pg else "?"
    url = normalize_db_url(pg) + f"{sep}options=" + quote(f"-csearch_path={schema}")
    try:
        engine = make_engine(url)
        upgrade(engine)
        archive = Archive(engine)
        config = {"seeds": sorted(urls), "follow": False, "bench": schema}
        job = archive.ensure_job(job_key("crawl", config), config)
        archive.enqueue(job, [(u, 0, 1.0) for u in urls])  # queued before the clock starts
        env = dict(os.environ, PAGETRAIL_DB=url + f"&application_name={app}", PAGETRAIL_PER_HOST_DELAY=str(delay),
                   PAGETRAIL_CONCURRENCY=str(CONCURRENCY), PAGETRAIL_PER_HOST=str(PER_HOST),
                   PAGETRAIL_ALLOW_PRIVATE_ADDRESSES="true")
        backends = BackendCpu(admin, app)
        since = len(hosts.site.log)
        r.load = os.getloadavg()[0]
        t0 = time.perf_counter()
        with open(tmp / "workers.log", "ab") as log:
            procs = [subprocess.Popen([PYTHON, "-m", "pagetrail.cli", "worker"], env=env, stdout=log, stderr=log,
                                      cwd=ROOT) for _ in range(n)]
            stored = 0
            while stored < len(urls):
                time.sleep(0.2)
                backends.sample()
                with engine.connect() as c:
                    stored = c.execute(text("SELECT count(*) FROM capture WHERE status = 200")).scalar() or 0
                if any(p.poll() is not None for p in procs):
                    r.notes.append("a worker exited early (see workers.log)")
                    break
            r.wall = time.perf_counter() - t0
            backends.sample()
            for p in procs:
                if p.poll() is None:
                    p.send_signal(signal.SIGTERM)
            r.cpu, r.rss_max_mb, r.rss_sum_mb = wait_children(procs)
        time.sleep(0.3)
        r.db_cpu = backends.seconds
        with engine.connect() as c:
            r.pages = c.execute(text("SELECT count(DISTINCT requested_url) FROM capture WHERE status = 200")).scalar() or 0
        engine.dispose()
    finally:
        with admin.connect() as c:
            c.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
    return finish(r, hosts, since)


def run_scrapy(name: str, urls: list[str], delay: float, tmp: Path, hosts: Hosts) -> Result:
    r = Result(name, load=os.getloadavg()[0])
    listing, out = tmp / "urls.txt", tmp / "scrapy.jsonl"
    listing.write_text("\n".join(urls) + "\n")
    since = len(hosts.site.log)
    env = dict(os.environ, PYTHONPATH=str(DEPS))
    cmd = [PYTHON, str(ROOT / "bench" / "scrapy_peer.py"), str(listing), str(out), "--delay", str(delay),
           "--concurrency", str(CONCURRENCY), "--per-host", str(PER_HOST)]
    t0 = time.perf_counter()
    with open(tmp / "scrapy.log", "ab") as log:
        proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=log)
        r.cpu, r.rss_max_mb, r.rss_sum_mb = wait_children([proc])
    r.wall = time.perf_counter() - t0
    if proc.returncode != 0:
        r.notes.append(f"exit {proc.returncode} (see {tmp / 'scrapy.log'})")
    if out.exists():
        with open(out, encoding="utf-8") as f:
            r.pages = sum(1 for line in f if json.loads(line).get("record"))
    out.unlink(missing_ok=True)
    return finish(r, hosts, since)


def run_all(args: argparse.Namespace, urls: list[str], delay: float, tmp: Path, hosts: Hosts) -> list[Result]:
    results = []
    plan: list[tuple[str, object]] = []
    if "sqlite" in args.only:
        plan.append(("pagetrail, SQLite, crawl (1 process)", lambda: run_sqlite(
            "pagetrail, SQLite, crawl (1 process)", urls, delay, tmp, hosts)))
    if "pg" in args.only:
        for n in args.workers:
            label = f"pagetrail, PostgreSQL, {n} worker{'s' if n > 1 else ''}"
            plan.append((label, lambda n=n, label=label: run_workers(label, n, urls, delay, args.pg, tmp, hosts)))
    if "scrapy" in args.only:
        plan.append(("Scrapy + trafilatura -> JSONL", lambda: run_scrapy(
            "Scrapy + trafilatura -> JSONL", urls, delay, tmp, hosts)))
    for label, run in plan:
        print(f"  {label} ...", file=sys.stderr, flush=True)
        res = run()  # type: ignore[operator]
        print(f"    {res.pages} pages in {res.wall:.1f} s", file=sys.stderr, flush=True)
        results.append(res)
    return results


def fmt(v: float | None, spec: str) -> str:
    return "-" if v is None else format(v, spec)


def print_throughput(results: list[Result], n: int) -> None:
    scrapy = next((r for r in results if r.name.startswith("Scrapy")), None)
    head = ["configuration", "pages", "wall s", "pages/s", "x Scrapy", "CPU s", "+PG CPU s", "CPU ms/page",
            "RSS MB max", "RSS MB sum", "load"]
    rows = []
    for r in results:
        cpu_all = r.cpu + (r.db_cpu or 0.0)
        rows.append([r.name, f"{r.pages}/{n}", f"{r.wall:.1f}", f"{r.rate:.1f}",
                     f"{r.rate / scrapy.rate:.2f}" if scrapy and scrapy.rate else "-", f"{r.cpu:.1f}",
                     fmt(r.db_cpu, ".1f"), f"{cpu_all / max(1, r.pages) * 1000:.0f}", f"{r.rss_max_mb:.0f}",
                     f"{r.rss_sum_mb:.0f}", f"{r.load:.1f}"])
    _print_table(head, rows)
    _notes(results)


def print_politeness(results: list[Result], n: int, ceiling: float, delay: float) -> None:
    head = ["configuration", "pages", "window s", "pages/s", "% of ceiling", "wall pages/s", "min gap s", "ok"]
    rows = []
    for r in results:
        share = r.window_rate / ceiling
        ok = share >= 0.9 and r.min_gap is not None and r.min_gap >= delay and r.pages == n
        rows.append([r.name, f"{r.pages}/{n}", f"{r.window:.1f}", f"{r.window_rate:.1f}", f"{share:.0%}",
                     f"{r.rate:.1f}", fmt(r.min_gap, ".3f"), "yes" if ok else "NO"])
    _print_table(head, rows)
    _notes(results)


def _print_table(head: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(head)]
    line = lambda cells: "  ".join(c.ljust(w) if i == 0 else c.rjust(w)  # noqa: E731
                                   for i, (c, w) in enumerate(zip(cells, widths)))
    print(line(head))
    print(line(["-" * w for w in widths]))
    for row in rows:
        print(line(row))


def _notes(results: list[Result]) -> None:
    for r in results:
        for note in r.notes:
            print(f"  note: {r.name}: {note}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pages", type=int, default=1200, help="article pages in table 1 (default 1200)")
    ap.add_argument("--hosts", type=int, default=20, help="loopback hosts (default 20)")
    ap.add_argument("--polite-pages", type=int, default=500, help="pages in table 2 (default 500)")
    ap.add_argument("--polite-delay", type=float, default=0.5, help="per-host delay of table 2 (default 0.5)")
    ap.add_argument("--workers", type=lambda s: [int(x) for x in s.split(",")], default=[1, 2, 4],
                    help="PostgreSQL worker counts (default 1,2,4)")
    ap.add_argument("--pg", default=os.environ.get("PAGETRAIL_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test"),
                    help="a PostgreSQL database to make throw-away schemas in")
    ap.add_argument("--only", default="sqlite,pg,scrapy", type=lambda s: s.split(","),
                    help="configurations to run: sqlite, pg, scrapy (default all)")
    ap.add_argument("--tables", default="1,2", help="which tables: 1 (throughput), 2 (politeness)")
    args = ap.parse_args(argv)
    if "scrapy" in args.only:
        try:
            subprocess.run([PYTHON, "-c", "import scrapy, trafilatura"], env=dict(os.environ, PYTHONPATH=str(DEPS)),
                           check=True, capture_output=True)
        except subprocess.CalledProcessError:
            sys.exit("Scrapy or trafilatura is missing: "
                     ".venv/bin/pip install --target bench/.deps -r bench/requirements-crawl.txt")

    n_model = max(args.pages, args.polite_pages)
    print(f"building a site of {n_model} articles on {args.hosts} loopback hosts ...", file=sys.stderr)
    model = SiteModel(n_pages=n_model)
    hosts = serve_hosts(make_site(model), args.hosts, named=False)
    tmp = Path(tempfile.mkdtemp(prefix="pagetrail-crawl-bench-"))

    def urls_for(n: int) -> list[str]:
        return hosts.interleaved(lambda k: [model.url_path(i) for i in range(k, n, args.hosts)])

    print(f"\npagetrail crawl bench — {datetime.now():%Y-%m-%d %H:%M}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}, {args.hosts} loopback hosts, ~{len(model.render(0, random.Random())) // 1000}"
          f" KB pages with comments; {CONCURRENCY} in flight per process, {PER_HOST} per host, robots.txt obeyed")
    try:
        if "1" in args.tables:
            urls = urls_for(args.pages)
            print(f"\nTable 1: throughput, per-host delay 0, {len(urls)} pages", flush=True)
            print_throughput(run_all(args, urls, 0.0, tmp, hosts), len(urls))
        if "2" in args.tables:
            urls = urls_for(args.polite_pages)
            ceiling = args.hosts / args.polite_delay
            print(f"\nTable 2: politeness, per-host delay {args.polite_delay} s over {args.hosts} hosts "
                  f"(ceiling {ceiling:.0f} pages/s), {len(urls)} pages; gaps and rate from the servers' log",
                  flush=True)
            print_politeness(run_all(args, urls, args.polite_delay, tmp, hosts), len(urls), ceiling,
                             args.polite_delay)
    finally:
        hosts.close()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
