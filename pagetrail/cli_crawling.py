"""Operators' verbs: `pagetrail schedule ...` (the service verbs `run` and `worker` join them)."""

from __future__ import annotations

import argparse
import tomllib
from pathlib import Path
from typing import Any

from crawler.schedules import ScheduleError, ScheduleSpec
from pagetrail.cli_common import UserError, add_common, add_json, cli_settings, print_json, table


def _archive(args: argparse.Namespace, *, read_only: bool):  # type: ignore[no-untyped-def]
    from pagetrail.pipeline import open_archive

    # schedule changes write, but only into an archive that exists already (except `add`/`apply`)
    return open_archive(cli_settings(args), must_exist=read_only)


def _now():  # type: ignore[no-untyped-def]
    from pagetrail.timeparse import utc_now

    return utc_now()


def _spec_from_args(args: argparse.Namespace) -> ScheduleSpec:
    return ScheduleSpec(
        name=args.name,
        seeds=args.seeds or [],
        sitemap=args.sitemap,
        seed_file=str(Path(args.seed_file).resolve()) if args.seed_file else None,
        cron=args.cron,
        every=args.every,
        jitter=args.jitter,
        timezone=args.timezone,
        scope=args.scope,
        allow=args.allow or [],
        deny=args.deny or [],
        max_depth=args.max_depth,
        max_pages=args.max_pages,
        min_recrawl=args.min_recrawl,
        max_recrawl=args.max_recrawl,
    )


def cmd_add(args: argparse.Namespace) -> int:
    from storage import schedules

    try:
        spec = _spec_from_args(args).validate()
    except ScheduleError as exc:
        raise UserError(str(exc)) from None
    if spec.seed_file and not Path(spec.seed_file).is_file():
        raise UserError(f"--seed-file {spec.seed_file} does not exist")
    archive = _archive(args, read_only=False)
    with archive.sessions.begin() as s:
        try:
            schedules.put(s, spec.name, spec.to_config(), _now(), replace=False)
        except ValueError as exc:
            raise UserError(str(exc)) from None
    print(f"schedule {spec.name} added; next run {spec.next_fire(_now()).isoformat().replace('+00:00', 'Z')}")
    return 0


def _rows(archive) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    from storage import schedules
    from storage.queries import iso

    now = _now()
    out = []
    with archive.sessions() as s:
        for row in schedules.all_schedules(s):
            spec = ScheduleSpec.from_config(row.name, row.config)
            run = schedules.last_run(s, row)
            out.append(
                {
                    "name": row.name,
                    "paused": row.paused,
                    "when": spec.cron or f"every {spec.every}",
                    "timezone": spec.timezone,
                    "next_run": None if row.paused else iso(spec.next_fire(now)),
                    "last_run": iso(row.last_fire_at),
                    "last_result": (run.status if run else None),
                    "last_stats": (run.stats if run else None),
                    "config": row.config,
                }
            )
    return out


def schedule_rows(settings) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    """The schedules with next and last run, for `status`."""
    from pagetrail.pipeline import open_archive

    return _rows(open_archive(settings, read_only=True))


def cmd_list(args: argparse.Namespace) -> int:
    rows = _rows(_archive(args, read_only=True))
    if args.json:
        print_json(rows)
        return 0
    print(table([[r["name"], "paused" if r["paused"] else "active", r["when"], r["next_run"] or "-",
                   r["last_run"] or "-", r["last_result"] or "-"] for r in rows],
                 ["name", "state", "when", "next_run", "last_run", "last_result"]))
    return 0


def _set_paused(args: argparse.Namespace, paused: bool) -> int:
    from storage import schedules

    archive = _archive(args, read_only=True)
    with archive.sessions.begin() as s:
        try:
            schedules.set_paused(s, args.name, paused)
        except schedules.ScheduleNotFound as exc:
            raise UserError(str(exc)) from None
    print(f"schedule {args.name} {'paused' if paused else 'resumed'}")
    return 0


def cmd_remove(args: argparse.Namespace) -> int:
    from storage import schedules

    archive = _archive(args, read_only=True)
    with archive.sessions.begin() as s:
        try:
            schedules.remove(s, args.name)
        except schedules.ScheduleNotFound as exc:
            raise UserError(str(exc)) from None
    print(f"schedule {args.name} removed")
    return 0


def load_schedule_file(path: str) -> list[ScheduleSpec]:
    """config/schedules.toml: one [schedules.NAME] table per schedule, keys as in `schedule add`."""
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"{path} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"{path} is not valid TOML: {exc}") from None
    unknown = set(data) - {"schedules"}
    if unknown:
        raise UserError(f"{path}: unknown top-level key(s) {', '.join(sorted(unknown))}; put schedules under [schedules.NAME]")
    specs = []
    for name, config in data.get("schedules", {}).items():
        if not isinstance(config, dict):
            raise UserError(f"{path}: schedules.{name} must be a table")
        try:
            specs.append(ScheduleSpec.from_config(name, config).validate())
        except ScheduleError as exc:
            raise UserError(f"{path}: {exc}") from None
    return specs


def cmd_apply(args: argparse.Namespace) -> int:
    from storage import schedules

    specs = load_schedule_file(args.file)  # all validated before anything is written
    archive = _archive(args, read_only=False)
    now = _now()
    with archive.sessions.begin() as s:
        for spec in specs:
            new = schedules.put(s, spec.name, spec.to_config(), now, replace=True)
            print(f"schedule {spec.name} {'added' if new else 'updated'}")
    return 0


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return str(v)
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    return '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'


def cmd_export(args: argparse.Namespace) -> int:
    rows = _rows(_archive(args, read_only=True))
    lines = ["# pagetrail schedules; load with `pagetrail schedule apply FILE`"]
    for r in rows:
        lines.append("")
        lines.append(f"[schedules.{r['name']}]")
        lines.extend(f"{k} = {_toml_value(v)}" for k, v in r["config"].items())
    text = "\n".join(lines) + "\n"
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
    else:
        print(text, end="")
    return 0


def cmd_schedule_run(args: argparse.Namespace) -> int:
    from pagetrail.service import run_schedule_now

    settings = cli_settings(args, per_host_delay=args.delay, allow_private_addresses=True if args.allow_private_addresses else None)
    run_id, report = run_schedule_now(settings, args.name)
    if run_id is None:
        raise UserError(f"schedule {args.name} did not fire: unknown, paused, or fired this second already")
    if args.json:
        print_json({"run": run_id, **(report.to_dict() if report else {})})
    else:
        print(f"schedule {args.name}: run {run_id}")
        if report:
            print(report.summary())
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from pagetrail.service import run_service

    return run_service(cli_settings(args, per_host_delay=args.delay), scheduler=True, workers=not args.no_workers)


def cmd_worker(args: argparse.Namespace) -> int:
    from pagetrail.service import run_service

    return run_service(cli_settings(args, per_host_delay=args.delay), scheduler=False, workers=True)


def register(sub: argparse._SubParsersAction) -> None:
    rn = sub.add_parser("run", help="the long-running service: scheduler and crawl workers",
                        description="Run the scheduler (one leader across machines; standbys take over) "
                        "and crawl workers. SIGTERM/SIGINT stop it gracefully.")
    rn.add_argument("--no-workers", action="store_true", help="only the scheduler")
    rn.add_argument("--delay", type=float, metavar="SECONDS", help="per-host delay override")
    add_common(rn)
    rn.set_defaults(func=cmd_run)
    wk = sub.add_parser("worker", help="crawl workers only (any number, on any machine)",
                        description="Run crawl workers that take due URLs from the archive's frontier by "
                        "lease. Point several at one PostgreSQL archive to crawl from several machines.")
    wk.add_argument("--delay", type=float, metavar="SECONDS", help="per-host delay override")
    add_common(wk)
    wk.set_defaults(func=cmd_worker)

    sc = sub.add_parser("schedule", help="scheduled crawls: add, list, pause, resume, remove, apply, export",
                        description="Scheduled crawls. The database is the source of truth; "
                        "`pagetrail run` fires them.")
    ssub = sc.add_subparsers(dest="schedule_command", metavar="ACTION", parser_class=type(sc))

    add = ssub.add_parser("add", help="add a schedule", description="Add a schedule.")
    add.add_argument("name", metavar="NAME")
    src = add.add_mutually_exclusive_group(required=True)
    src.add_argument("--seeds", nargs="+", metavar="URL", help="seed URLs")
    src.add_argument("--sitemap", metavar="URL", help="a sitemap (or sitemap index) URL")
    src.add_argument("--seed-file", metavar="FILE", help="a file of seed URLs, one a line")
    when = add.add_mutually_exclusive_group(required=True)
    when.add_argument("--cron", metavar='"0 3 * * *"', help="a crontab expression")
    when.add_argument("--every", metavar="6h", help="an interval: number + s, m, h, d or w")
    add.add_argument("--jitter", metavar="10m", help="a deterministic random delay up to this after each fire")
    add.add_argument("--timezone", default="UTC", help="time zone the cron expression is read in (default UTC)")
    add.add_argument("--scope", default="same-host", help="same-host (default), same-site or prefix:URL")
    add.add_argument("--allow", action="append", metavar="REGEX", help="only follow URLs matching (repeatable)")
    add.add_argument("--deny", action="append", metavar="REGEX", help="never follow URLs matching (repeatable)")
    add.add_argument("--max-depth", type=int, help="link depth from the seeds")
    add.add_argument("--max-pages", type=int, help="pages per run")
    add.add_argument("--min-recrawl", default="1h", metavar="1h",
                     help="a known page is fetched again no sooner than this, however often it changes (default 1h)")
    add.add_argument("--max-recrawl", default="30d", metavar="30d",
                     help="and no later than this, however stable it is (default 30d); between the two the "
                          "interval halves when the page changed and grows by half when it did not")
    add_common(add)
    add.set_defaults(func=cmd_add)

    ls = ssub.add_parser("list", help="schedules with next and last run", description="List schedules.")
    add_common(ls)
    add_json(ls)
    ls.set_defaults(func=cmd_list)

    for verb, paused in (("pause", True), ("resume", False)):
        p = ssub.add_parser(verb, help=f"{verb} a schedule", description=f"{verb.capitalize()} a schedule.")
        p.add_argument("name", metavar="NAME")
        add_common(p)
        p.set_defaults(func=lambda a, _p=paused: _set_paused(a, _p))

    rm = ssub.add_parser("remove", help="remove a schedule", description="Remove a schedule and its fire log.")
    rm.add_argument("name", metavar="NAME")
    add_common(rm)
    rm.set_defaults(func=cmd_remove)

    ap = ssub.add_parser("apply", help="create or update schedules from a TOML file",
                         description="Create or update schedules from a TOML file ([schedules.NAME] tables). "
                         "Every schedule is validated before any is written.")
    ap.add_argument("file", metavar="FILE")
    add_common(ap)
    ap.set_defaults(func=cmd_apply)

    sr = ssub.add_parser("run", help="fire a schedule now and crawl that run",
                         description="Fire a schedule now (recorded like any fire) and crawl that run in "
                         "the foreground.")
    sr.add_argument("name", metavar="NAME")
    sr.add_argument("--delay", type=float, metavar="SECONDS", help="per-host delay override")
    sr.add_argument("--allow-private-addresses", action="store_true")
    add_common(sr)
    add_json(sr)
    sr.set_defaults(func=cmd_schedule_run)

    ex = ssub.add_parser("export", help="print the schedules as TOML", description="Print the schedules as TOML.")
    ex.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of standard output")
    add_common(ex)
    ex.set_defaults(func=cmd_export)
