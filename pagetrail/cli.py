"""The `pagetrail` command: small verbs, human tables by default, --json for scripts.

Exit codes: 0 ok, 1 user error (the message says what to do), 2 internal error.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from pagetrail import __version__
from pagetrail.cli_common import (
    Parser,
    UserError,
    add_common,
    add_json,
    cli_settings,
    print_json,
    read_session,
    table,
)
from pagetrail.settings import SettingsError


# ---- progress -----------------------------------------------------------------------------

def log_json_event(event: dict[str, Any]) -> None:
    event = {"ts": datetime.now(timezone.utc).isoformat().replace("+00:00", "Z"), **event}
    print(json.dumps(event, default=str), file=sys.stderr, flush=True)


class Progress:
    """A one-line progress bar with rate and ETA on an interactive terminal."""

    def __init__(self) -> None:
        self.done = 0
        self.t0 = time.monotonic()

    @classmethod
    def maybe(cls) -> "Progress | None":
        return cls() if sys.stderr.isatty() else None

    def update(self, event: dict[str, Any]) -> None:
        self.done += 1
        elapsed = max(time.monotonic() - self.t0, 1e-6)
        rate = self.done / elapsed
        sys.stderr.write(f"\r{self.done} pages stored  {rate:.1f} pages/s  last: {str(event.get('url', ''))[:60]:<60}")
        sys.stderr.flush()

    def close(self) -> None:
        sys.stderr.write("\n")


# ---- verbs --------------------------------------------------------------------------------

def cmd_crawl(args: argparse.Namespace) -> int:
    from pagetrail.pipeline import crawl
    from parsers.urls import InvalidURL, normalize_url

    for url in args.urls:
        try:
            normalize_url(url)
        except InvalidURL as exc:
            raise UserError(f"{exc}; give absolute http(s) URLs, e.g. https://www.example.com/page.htm") from None
    settings = cli_settings(
        args,
        concurrency=args.concurrency,
        per_host=args.per_host,
        per_host_delay=args.delay,
        allow_private_addresses=True if args.allow_private_addresses else None,
        resolve=",".join(args.resolve) if args.resolve else None,
        user_agent=args.user_agent,
    )
    progress = None if (args.quiet or args.json or args.log_format == "json") else Progress.maybe()
    on_event = log_json_event if args.log_format == "json" else (progress.update if progress else None)
    report = crawl(settings, args.urls, follow=args.follow, scope=args.scope, allow=args.allow,
                   deny=args.deny, max_depth=args.max_depth, max_pages=args.max_pages, on_event=on_event)
    if progress:
        progress.close()
    if args.log_format == "json":
        print(json.dumps({"event": "finished", **report.to_dict()["stats"], "run": report.run_id}), file=sys.stderr)
    if args.json:
        print_json(report.to_dict() if hasattr(report, "to_dict") else report)
    elif not args.quiet:
        print(report.summary() if hasattr(report, "summary") else report)
    return 0


def cmd_parse(args: argparse.Namespace) -> int:
    import parsers

    path = Path(args.file)
    try:
        body = sys.stdin.buffer.read() if args.file == "-" else path.read_bytes()
    except OSError as exc:
        raise UserError(f"cannot read {args.file}: {exc.strerror}") from None
    url = args.url or (path.resolve().as_uri() if args.file != "-" else "file:///stdin")
    headers = {"content-type": args.content_type} if args.content_type else None
    profile = args.profile
    if profile and profile != "generic":
        from parsers.profiles import load_profiles

        settings = cli_settings(args)
        extra = [Path(settings.profiles_dir)] if settings.profiles_dir else []
        known = load_profiles(extra_dirs=extra)
        if profile not in known:
            raise UserError(f"unknown profile {profile!r}; known: {', '.join(sorted(known)) or 'none'}, generic")
        profile = known[profile]
    page = parsers.parse(body, url, headers=headers, profile=profile)
    if args.json:
        print_json(page.to_dict())
        return 0
    md = page.metadata
    print(f"profile:   {page.profile}")
    print(f"title:     {md.title}")
    print(f"authors:   {', '.join(md.authors)}")
    print(f"modified:  {md.modified}")
    print(f"body:      {len(page.body.paragraphs)} paragraphs, {len(page.body.text)} characters")
    print(f"comments:  {len(page.comments)}")
    print(f"ads:       {len(page.ads)}")
    for w in page.warnings:
        print(f"warning:   {w}")
    return 0


def cmd_history(args: argparse.Namespace) -> int:
    from storage import queries

    with read_session(args) as s:
        h = queries.history(s, args.url)
    if args.json:
        print_json(h)
        return 0
    print(f"{h['url']}  (page {h['page']}, {h['captures']} captures)")
    print(f"page uid {h['page_uid']}: cite revision N as {h['page_uid']}:N (the same in every archive)")
    print()
    print(
        table(
            [
                [r["revision"], r["first_seen"], r["last_seen"], r["valid_to"] or "now",
                 r["modified"], (f"= {r['same_as']}" if r["same_as"] else ""), r["title"]]
                for r in h["revisions"]
            ],
            ["rev", "first_seen", "last_seen", "valid_to", "modified", "same_as", "title"],
        )
    )
    print()
    print(
        table(
            [[c["number"], c["key"], c["author"], c["first_seen"], c["removed_at"] or ""] for c in h["comments"]],
            ["post", "key", "author", "first_seen", "removed_at"],
        )
    )
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from pagetrail.timeparse import BadTime, parse_moment, utc_now
    from storage import queries

    try:
        at = parse_moment(args.at) if args.at else utc_now()
    except BadTime as exc:
        raise UserError(str(exc)) from None
    with read_session(args) as s:
        view = queries.as_of(s, args.url, at)
    if args.json:
        print_json(view)
        return 0
    rev = view["revision"]
    md = rev["metadata"]
    print(f"{view['url']} as of {view['at']}: revision {rev['revision']} (valid from {rev['valid_from']})")
    if view.get("gone"):
        print("(the page was gone then: the server answered 404/410)")
    print()
    print(md.get("title") or "(no title)")
    for label, key in (("Written by", "authors"), ("Edited by", "editors"), ("Reviewed by", "reviewers")):
        if md.get(key):
            print(f"{label}: {', '.join(md[key])}")
    if md.get("modified"):
        print(f"Last modified: {md['modified']}")
    print()
    for p in rev["body"].get("paragraphs", []):
        print(p)
        print()
    print(f"Comments visible then ({len(view['comments'])}):")
    for c in view["comments"]:
        label = f"Post {c['number']}" if c["number"] is not None else c["key"]
        print(f"  {label} by {c['author'] or 'anonymous'}: {' '.join(c['text'].split())[:120]}")
    print(f"Ads and widgets in the latest capture then ({len(view['ads'])}):")
    for a in view["ads"]:
        print(f"  [{a['kind']}] {a['slot'] or ''} {(a['text'] or '')[:80]}".rstrip())
    return 0


def cmd_diff(args: argparse.Namespace) -> int:
    from pagetrail.diffing import diff_data, render_diff
    from pagetrail.timeparse import BadTime, parse_revision_ref
    from storage import queries

    try:
        ref_from = parse_revision_ref(args.from_) if args.from_ else None
        ref_to = parse_revision_ref(args.to) if args.to else None
    except BadTime as exc:
        raise UserError(str(exc)) from None
    with read_session(args) as s:
        url, a, b = queries.diff_sides(s, args.url, ref_from, ref_to)
    d = diff_data(url, a, b)
    if args.json:
        print_json(d)
    else:
        print(render_diff(d))
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    from pagetrail.timeparse import BadTime, parse_moment
    from storage import search

    try:
        from_ = parse_moment(args.from_) if args.from_ else None
        to = parse_moment(args.to) if args.to else None
    except BadTime as exc:
        raise UserError(str(exc)) from None
    with read_session(args) as s:
        try:
            hits = search.search(s, args.query, site=args.site, from_=from_, to=to, where=args.in_, limit=args.limit)
        except search.BadQuery as exc:
            raise UserError(str(exc)) from None
    if args.json:
        print_json({"query": args.query, "hits": [h.to_dict() for h in hits]})
        return 0
    if not hits:
        print("no hits")
    for h in hits:
        what = f"revision {h.revision}" if h.kind == "revision" else f"comment {h.comment_key}"
        d = h.to_dict()
        print(f"{h.url}  {what}  [{d['valid_from']} .. {d['valid_to'] or 'now'}]")
        print(f"    {' '.join(h.snippet.split())}")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from storage import queries

    from pagetrail.timeparse import utc_now

    with read_session(args) as s:
        data = {"totals": queries.totals(s), "storage": queries.storage_totals(s),
                "failing_profiles": queries.failing_profiles(s)}
        data.update(queries.operations(s, utc_now()))
    try:
        from pagetrail.cli_crawling import schedule_rows

        data["schedules"] = schedule_rows(cli_settings(args))
    except ImportError:  # pragma: no cover
        data["schedules"] = []
    if args.json:
        print_json(data)
        return 0
    t, st = data["totals"], data["storage"]
    print(table([[k, v] for k, v in t.items()], ["archive", "count"]))
    print()
    print(table([[k, v] for k, v in st.items()], ["storage", "value"]))
    print()
    print(table([[k, v] for k, v in data["frontier"].items()], ["frontier", "urls"]))
    if data["schedules"]:
        print()
        print(table([[r["name"], "paused" if r["paused"] else "active", r["next_run"] or "-", r["last_run"] or "-",
                       r["last_result"] or "-"] for r in data["schedules"]],
                     ["schedule", "state", "next_run", "last_run", "last_result"]))
    if data["runs"]:
        print()
        print(table([[r["run"], r["kind"], r["status"], r["started_at"], r["stats"].get("fetched", ""),
                       r["stats"].get("new_revisions", ""), r["stats"].get("errors", "")] for r in data["runs"][:5]],
                     ["run", "kind", "status", "started_at", "fetched", "new_revisions", "errors"]))
    if data["recent_errors"]:
        print()
        print(table([[e["fetched_at"], e["error_kind"] or f"HTTP {e['status']}", e["url"][:70]]
                      for e in data["recent_errors"]], ["when", "error", "url"]))
    if data["failing_profiles"]:
        print()
        print("FAILING PROFILES (their required fields stopped matching; captures kept, not versioned):")
        print(table([[f["profile"], f["captures"], f["first_failed"]["fetched_at"], f["first_failed"]["capture"],
                       f["first_failed"]["url"]] for f in data["failing_profiles"]],
                     ["profile", "captures", "first_failed", "capture", "url"]))
        print("fix the profile (`pagetrail profiles check NAME URL`), then `pagetrail reparse`")
    return 0


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    from storage.db import make_engine, sqlite_path, upgrade, normalize_db_url

    settings = cli_settings(args)
    path = sqlite_path(normalize_db_url(settings.db))
    if path is not None and not path.parent.exists():
        raise UserError(f"cannot create {path}: the folder {path.parent} does not exist")
    engine = make_engine(settings.db)
    try:
        before, after = upgrade(engine)
    finally:
        engine.dispose()
    if before == after:
        print(f"schema already at {after}")
    else:
        print(f"schema upgraded from {before or 'empty'} to {after}")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from pagetrail.web.server import serve

    return serve(cli_settings(args), host=args.host, port=args.port)


def cmd_demo(args: argparse.Namespace) -> int:
    from pagetrail.demo import run_demo

    return run_demo(main, db=args.db or "sqlite:///demo.db", rounds=args.rounds, port=args.port)


# ---- the parser ---------------------------------------------------------------------------

def build_parser() -> argparse.ArgumentParser:
    p = Parser(
        prog="pagetrail",
        description="Keep a faithful, queryable history of article pages.",
        epilog="Settings: flag > PAGETRAIL_<NAME> environment variable > --config FILE > defaults. "
        "Exit codes: 0 ok, 1 user error, 2 internal error. Times are UTC.",
    )
    p.add_argument("--version", action="version", version=f"pagetrail {__version__}")
    sub = p.add_subparsers(dest="command", metavar="VERB", parser_class=Parser)

    c = sub.add_parser("crawl", help="fetch, parse and archive these URLs now",
                       description="Fetch, parse and archive the given URLs now. Failed fetches are recorded "
                       "as captures too; the crawl exits 0 when it ran to its end.")
    c.add_argument("urls", nargs="+", metavar="URL", help="absolute http(s) URLs")
    add_common(c)
    add_json(c)
    c.add_argument("--concurrency", type=int, help="fetches in flight in all (default 16)")
    c.add_argument("--per-host", type=int, help="fetches in flight per host (default 1)")
    c.add_argument("--delay", type=float, metavar="SECONDS",
                   help="per-host delay, from a response's end to the next request (default 1.0; 0 for hosts you own)")
    c.add_argument("--resolve", action="append", metavar="HOST=ADDRESS",
                   help="map a host name to a loopback address, like curl --resolve (repeatable)")
    c.add_argument("--allow-private-addresses", action="store_true",
                   help="allow loopback, private and link-local addresses")
    c.add_argument("--user-agent", help="User-Agent header (and robots.txt identity)")
    c.add_argument("--follow", action="store_true", help="follow links within --scope (discovery)")
    c.add_argument("--scope", default="same-host",
                   help="with --follow: same-host (default: scheme, host, port), same-site, or prefix:URL")
    c.add_argument("--allow", action="append", metavar="REGEX", help="with --follow: only URLs matching (repeatable)")
    c.add_argument("--deny", action="append", metavar="REGEX", help="with --follow: never URLs matching (repeatable)")
    c.add_argument("--max-depth", type=int, help="with --follow: links away from the seeds (default unlimited)")
    c.add_argument("--max-pages", type=int, help="with --follow: URLs this crawl queues at most")
    c.add_argument("--quiet", action="store_true", help="print nothing but errors")
    c.add_argument("--log-format", choices=["text", "json"], default="text",
                   help="json: one JSON object per stored capture on standard error (for services)")
    c.set_defaults(func=cmd_crawl)

    pa = sub.add_parser("parse", help="parse a saved page, no database",
                        description="Parse a saved page file (or - for standard input) and print its records.")
    pa.add_argument("file", metavar="FILE")
    pa.add_argument("--url", help="the URL the page was served at (chooses the profile; default file://...)")
    pa.add_argument("--profile", help="a profile name, or 'generic' (default: chosen by host, else markup)")
    pa.add_argument("--content-type", help="the Content-Type header it was served with (charset)")
    pa.add_argument("--config", metavar="FILE", help="a TOML settings file (for profiles_dir)")
    add_json(pa)
    pa.set_defaults(func=cmd_parse)

    h = sub.add_parser("history", help="a page's revisions and comments",
                       description="List a page's revisions and its comments' lifetimes.")
    h.add_argument("url", metavar="URL")
    add_common(h)
    add_json(h)
    h.set_defaults(func=cmd_history)

    sh = sub.add_parser("show", help="the page as of a moment",
                        description="The page as of a moment: the revision valid then, comments visible then, "
                        "ads of the latest capture at or before then.")
    sh.add_argument("url", metavar="URL")
    sh.add_argument("--at", metavar="ISO-8601",
                    help="the moment (default now); a date alone means the end of that day, UTC")
    add_common(sh)
    add_json(sh)
    sh.set_defaults(func=cmd_show)

    d = sub.add_parser("diff", help="what changed between two revisions",
                       description="A unified diff of metadata and body between two revisions (default: the "
                       "last two), then the comments added and removed between them.")
    d.add_argument("url", metavar="URL")
    d.add_argument("--from", dest="from_", metavar="REV|DATE",
                   help="revision ordinal, revision ref <page_uid>:<ordinal> (history --json), or moment")
    d.add_argument("--to", metavar="REV|DATE",
                   help="revision ordinal, revision ref <page_uid>:<ordinal> (history --json), or moment")
    add_common(d)
    add_json(d)
    d.set_defaults(func=cmd_diff)

    se = sub.add_parser("search", help="full-text search across every revision and comment",
                        description="Full-text search across every revision and comment, ranked, with "
                        "highlighted snippets; each hit names its page, revision or comment, and validity window. "
                        "When more than 5,000 texts match (after --site/--from/--to/--in), the newest 5,000 are "
                        "ranked.")
    se.add_argument("query", metavar="QUERY", help="words to find (all must match)")
    se.add_argument("--site", metavar="HOST", help="only pages on this host")
    se.add_argument("--from", dest="from_", metavar="DATE", help="only texts valid at some point after this")
    se.add_argument("--to", metavar="DATE", help="only texts valid at some point before this")
    se.add_argument("--in", dest="in_", choices=["body", "comments", "all"], default="all",
                    help="search revisions (body), comments, or both (default all)")
    se.add_argument("--limit", type=int, default=50, help="most hits shown (default 50)")
    add_common(se)
    add_json(se)
    se.set_defaults(func=cmd_search)

    st = sub.add_parser("status", help="archive totals", description="Archive totals and storage figures.")
    add_common(st)
    add_json(st)
    st.set_defaults(func=cmd_status)

    db = sub.add_parser("db", help="database schema", description="Database schema management.")
    dbsub = db.add_subparsers(dest="db_command", metavar="ACTION", parser_class=Parser)
    up = dbsub.add_parser("upgrade", help="create or upgrade the schema (needed once on PostgreSQL)",
                          description="Create or upgrade the archive schema. Safe to run from several machines at once.")
    add_common(up)
    up.set_defaults(func=cmd_db_upgrade)

    dm = sub.add_parser("demo", help="crawl a bundled sample site as it changes, then show its history",
                        description="Serve a bundled sample health site on 127.0.0.1, crawl it several rounds "
                        "while it changes, and print the history, an as-of view and a diff.")
    dm.add_argument("--db", help="demo archive (default sqlite:///demo.db, recreated each run)")
    dm.add_argument("--rounds", type=int, default=4, help="crawl rounds (default 4)")
    dm.add_argument("--port", type=int, default=8642, help="sample site port on 127.0.0.1 (default 8642)")
    dm.set_defaults(func=cmd_demo)

    sv = sub.add_parser("serve", help="the HTTP API, Memento and web UI over an archive",
                        description="Serve the archive read-only over HTTP: JSON API (/api/, OpenAPI at "
                        "/api/openapi.json), Memento (/timegate/, /timemap/, /web/, /records/) and the web UI.")
    sv.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    sv.add_argument("--port", type=int, default=8080, help="port (default 8080)")
    add_common(sv)
    sv.set_defaults(func=cmd_serve)

    # Verb groups that live in their own modules register themselves here.
    import importlib

    for name in EXTRA_VERB_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        module.register(sub)
    return p


# Each module has register(subparsers) adding its verbs; helpers shared with them are the
# public names of this module (UserError, add_common, add_json, cli_settings, print_json,
# table, read_session).
EXTRA_VERB_MODULES = (
    "pagetrail.cli_research",  # pages, comments, export
    "pagetrail.cli_warc",  # import-warc
    "pagetrail.cli_archive",  # verify, redact, relayout
    "pagetrail.cli_crawling",
    "pagetrail.cli_profiles",
)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    func: Callable[[argparse.Namespace], int] | None = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 1
    from storage.db import ArchiveError
    from storage.queries import NotFound

    try:
        return func(args)
    except (UserError, SettingsError, ArchiveError, NotFound) as exc:
        print(f"pagetrail: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("pagetrail: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception:  # noqa: BLE001 - the last line of defence: say it is ours
        traceback.print_exc()
        print("pagetrail: internal error (a bug: please report it with the trace above)", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
