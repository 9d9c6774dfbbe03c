"""`pagetrail run` (scheduler + workers) and `pagetrail worker` (workers only).

Workers take due URLs of every job from the archive's frontier by lease; any number of them
may run on any number of machines against one PostgreSQL archive. SIGTERM or SIGINT stops a
service gracefully: fetches under way finish and are stored, leases not used are released.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from functools import lru_cache

from crawler.engine import CrawlReport, FrontierCrawl, Recrawl, RetryPolicy
from crawler.scheduler import Scheduler
from crawler.schedules import ScheduleSpec, parse_duration
from crawler.scope import Scope
from pagetrail.pipeline import make_parser, open_archive, parse_pool, run_async, worker_id
from pagetrail.settings import Settings
from storage.archive import Archive
from storage.db import SchemaMismatch, check_schema, is_disconnect

log = logging.getLogger("pagetrail.service")


def job_policy_for(archive: Archive):  # type: ignore[no-untyped-def]
    """job id -> (scope, recrawl bounds, page cap), from the job's stored config."""

    @lru_cache(maxsize=1024)
    def policy(job_id: int) -> tuple[Scope | None, Recrawl | None, int | None]:
        config = archive.job_config(job_id)
        if "cron" in config or "every" in config:  # a schedule's job
            spec = ScheduleSpec.from_config("job", config)
            scope = Scope(spec.scope, list(spec.seeds) + ([spec.sitemap] if spec.sitemap else []),
                          spec.allow, spec.deny, spec.max_depth)
            recrawl = Recrawl(parse_duration(spec.min_recrawl), parse_duration(spec.max_recrawl),
                              max(parse_duration(spec.min_recrawl), 86400.0))
            return scope, recrawl, spec.max_pages
        if config.get("follow"):
            return (Scope(config["scope"], config["seeds"], config["allow"], config["deny"], config["max_depth"]),
                    None, config.get("max_pages"))
        return None, None, None

    return policy


async def _serve_workers(settings: Settings, archive: Archive, owner: str, stop: asyncio.Event) -> CrawlReport | None:
    """Serve every job until `stop`. A lost database connection ends the current pass (fetches
    not yet stored are dropped: their leases come back) and a new one starts once the database
    answers again, backing off up to a minute; any other error is a bug and ends the service."""
    backoff = 1.0
    parse, policy = make_parser(settings), job_policy_for(archive)
    pool = parse_pool(settings, worker_on=archive.engine.dialect.name)
    try:
        while not stop.is_set():
            crawl = FrontierCrawl(
                store=archive, owner=owner, retry=RetryPolicy(park_beyond=None), job_policy=policy,
                shared_politeness=True, settings=settings.fetch_settings(), parse=parse, parse_executor=pool,
                concurrency=settings.concurrency, per_host=settings.per_host, store_batch=settings.store_batch,
            )
            began = time.monotonic()
            try:
                return await crawl.run_job(None, one_shot=False, stop=stop, run_kind="worker")
            except Exception as exc:
                if not is_disconnect(exc):
                    raise
                if time.monotonic() - began > 60:
                    backoff = 1.0  # it had been working: a new outage starts over
                log.warning("worker: lost the database (%s); starting again in %.0f s",
                            str(exc).strip().splitlines()[0], backoff)
            try:
                await asyncio.wait_for(stop.wait(), backoff)
            except TimeoutError:
                pass
            backoff = min(backoff * 2, 60.0)
        return None
    finally:
        await asyncio.to_thread(pool.shutdown)


async def watch_schema(archive: Archive, every: float, stop: asyncio.Event) -> str | None:
    """Stop the service when the database's schema stops being this code's (a newer pagetrail
    ran `db upgrade` under it): old code takes no more work in a schema it does not know; the
    fetches under way end as in a graceful stop. Returns why it stopped the service, or None
    once `stop` is set otherwise."""
    while True:
        try:
            await asyncio.wait_for(stop.wait(), every)
            return None
        except TimeoutError:
            pass
        try:
            await asyncio.to_thread(check_schema, archive.engine)
        except SchemaMismatch as exc:
            log.error("stopping: %s", exc)
            stop.set()
            return str(exc)
        except Exception as exc:  # noqa: BLE001 - a lost connection: leases and the leader lease cover it
            log.warning("cannot check the schema (%s); trying again in %.0f s", exc, every)


def run_service(settings: Settings, *, scheduler: bool = True, workers: bool = True) -> int:
    archive = open_archive(settings, must_exist=False)
    owner = worker_id()
    sched = Scheduler(archive, owner, settings.fetch_settings()) if scheduler else None
    problem: str | None = None

    async def main() -> None:
        nonlocal problem
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        # checked as often as leases are renewed: a third of a lease (20 s by default)
        watcher = asyncio.create_task(watch_schema(archive, max(1.0, settings.lease_seconds / 3), stop))
        if sched:
            sched.start()
        try:
            if workers:
                await _serve_workers(settings, archive, owner, stop)
            else:
                await stop.wait()
        finally:
            if sched:
                await asyncio.to_thread(sched.stop)
            stop.set()
            problem = await watcher

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)  # the periodic schema check says nothing
    log.info("pagetrail %s started as %s on %s", "run" if scheduler else "worker", owner,
             archive.engine.url.render_as_string(hide_password=True))
    asyncio.run(main())
    if problem is not None:  # work under way was stored and unused leases given back first
        raise SchemaMismatch(f"{problem} (this {'run' if scheduler else 'worker'} stopped after "
                             "finishing the fetches under way; it takes no new work)")
    log.info("stopped cleanly")
    return 0


def run_schedule_now(settings: Settings, name: str) -> tuple[int | None, CrawlReport | None]:
    """`schedule run NAME`: fire it now and crawl that run in the foreground."""
    from datetime import datetime, timezone

    archive = open_archive(settings, must_exist=True)
    owner = worker_id()
    sched = Scheduler(archive, owner, settings.fetch_settings())
    run_id = sched.fire(name, datetime.now(timezone.utc).replace(microsecond=0))
    if run_id is None:
        return None, None
    job_id = archive.job_id(f"schedule:{name}")
    with parse_pool(settings) as pool:
        crawl = FrontierCrawl(
            store=archive, owner=owner, job_policy=job_policy_for(archive), shared_politeness=True,
            settings=settings.fetch_settings(), parse=make_parser(settings), parse_executor=pool,
            concurrency=settings.concurrency, per_host=settings.per_host, store_batch=settings.store_batch,
        )
        report = run_async(crawl.run_job(job_id, one_shot=True, run_kind=f"schedule-now:{name}"))
    archive.finish_idle_runs()
    return run_id, report
