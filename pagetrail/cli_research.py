"""Research verbs: `pages`, `comments`, `export` (datasets with a manifest beside each file).

All three are read-only: they refuse a database that does not exist. Dates are ISO 8601, at
least YYYY-MM-DD, UTC when no offset is given; a date alone in --from / --changed-since means
the start of that day and in --to the end of it, so both ends include the whole day.
"""

from __future__ import annotations

import argparse
import re
from datetime import datetime, time, timezone
from pathlib import Path
from typing import Any

from pagetrail.cli_common import UserError, add_common, add_json, cli_settings, print_json, read_session, table

_DATE_ONLY = re.compile(r"^\s*\d{4}-\d{2}-\d{2}\s*$")


def _moment(text: str | None, *, start_of_day: bool) -> datetime | None:
    from pagetrail.timeparse import BadTime, parse_moment

    if text is None:
        return None
    try:
        at = parse_moment(text)  # a date alone: the end of that day
    except BadTime as exc:
        raise UserError(str(exc)) from None
    if start_of_day and _DATE_ONLY.match(text):
        at = datetime.combine(at.date(), time.min, tzinfo=timezone.utc)
    return at


def _window(args: argparse.Namespace) -> tuple[datetime | None, datetime | None]:
    start = _moment(args.from_, start_of_day=True)
    end = _moment(args.to, start_of_day=False)
    if start is not None and end is not None and start > end:
        raise UserError(f"--from ({args.from_}) is after --to ({args.to}); swap them")
    return start, end


def _short(text: str | None, n: int) -> str:
    flat = " ".join((text or "").split())
    return flat if len(flat) <= n else flat[: n - 1] + "…"


# ---- pages --------------------------------------------------------------------------------------

def cmd_pages(args: argparse.Namespace) -> int:
    from storage.exports import pages

    since = _moment(args.changed_since, start_of_day=True)
    with read_session(args) as s:
        rows = list(pages(s, site=args.site, changed_since=since, author=args.author))
    if args.json:
        print_json(rows)
        return 0
    if not rows:
        print("no pages match")
        return 0
    print(table(
        [[r["page"], r["site"], r["revisions"], r["first_capture"], r["last_capture"], _short(r["title"], 50),
          ", ".join(r["authors"]), r["url"]] for r in rows],
        ["page", "site", "revs", "first_capture", "last_capture", "title", "authors", "url"],
    ))
    return 0


# ---- comments -----------------------------------------------------------------------------------

def cmd_comments(args: argparse.Namespace) -> int:
    from storage.exports import comment_thread

    start, end = _window(args)
    with read_session(args) as s:
        thread = comment_thread(s, args.url, start=start, end=end)
    if args.json:
        print_json(thread["comments"])
        return 0
    window = ""
    if start or end:
        window = f" visible between {thread['from'] or 'the start'} and {thread['to'] or 'now'}"
    print(f"{thread['url']}  (page {thread['page']}): {len(thread['comments'])} comments{window}")
    print()
    print(table(
        [[c["number"], c["key"], c["author"], c["posted"], c["first_seen"], c["last_seen"], c["removed_at"] or "",
          c["versions"], _short(c["text"], 60)] for c in thread["comments"]],
        ["post", "key", "author", "posted", "first_seen", "last_seen", "removed_at", "versions", "text"],
    ))
    return 0


# ---- export -------------------------------------------------------------------------------------

def cmd_export(args: argparse.Namespace) -> int:
    from pagetrail.exporting import ExportError, export, manifest_path
    from pagetrail.pipeline import open_archive

    if args.format != "warc" and args.what is None:
        raise UserError("say what to export: --what revisions|comments|captures|ads "
                        "(only --format warc needs none)")
    if args.batch_size < 1:
        raise UserError("--batch-size must be at least 1")
    start, end = _window(args)
    out = Path(args.output)
    query: dict[str, Any] = {
        "verb": "export",
        "format": args.format,
        "what": None if args.format == "warc" else args.what,
        "site": args.site,
        "from": args.from_,
        "to": args.to,
        "from_utc": start.isoformat().replace("+00:00", "Z") if start else None,
        "to_utc": end.isoformat().replace("+00:00", "Z") if end else None,
    }
    archive = open_archive(cli_settings(args), read_only=True)
    try:
        manifest = export(archive, args.format, query["what"], out, site=args.site, start=start, end=end,
                          batch_size=args.batch_size, query=query)
    except ExportError as exc:
        raise UserError(str(exc)) from None
    finally:
        archive.engine.dispose()
    if args.json:
        print_json({"file": str(out), "manifest": str(manifest_path(out)), **manifest})
        return 0
    counts = ", ".join(f"{n} {k}" for k, n in manifest["rows"].items())
    print(f"wrote {counts} to {out} ({manifest['bytes']} bytes, sha256 {manifest['sha256']})")
    print(f"manifest: {manifest_path(out)}")
    return 0


# ---- registration -------------------------------------------------------------------------------

def register(sub: Any) -> None:
    from pagetrail.exporting import FORMATS
    from storage.exports import DEFAULT_BATCH, WHATS

    p = sub.add_parser(
        "pages", help="list archived pages (filter by site, change date, author)",
        description="List archived pages: URL, page id, site, revision count, first and last capture, "
        "the latest title and authors.",
        epilog="Example: pagetrail pages --site www.wisegeek.com --changed-since 2019-10-01 --author 'Erin J. Hill'",
    )
    p.add_argument("--site", metavar="HOST", help="only pages on this host (any port unless given)")
    p.add_argument("--changed-since", metavar="DATE",
                   help="only pages with a revision valid from this moment on (a date alone: from its start)")
    p.add_argument("--author", metavar="NAME",
                   help="only pages any of whose revisions names this author (case-insensitive, whole name)")
    add_common(p)
    add_json(p)
    p.set_defaults(func=cmd_pages)

    c = sub.add_parser(
        "comments", help="a page's comment thread over time",
        description="Every comment of a page as the thread grew and shrank: key, site id, number, author, "
        "posted, first_seen, last_seen, removed_at, the text (latest version at or before --to) and its "
        "number of text versions by then.",
        epilog="Example: pagetrail comments https://www.wisegeek.com/liver.htm --from 2019-06-01 --to 2019-12-31",
    )
    c.add_argument("url", metavar="URL")
    c.add_argument("--from", dest="from_", metavar="DATE",
                   help="only comments still visible at or after this (a date alone: from its start)")
    c.add_argument("--to", metavar="DATE",
                   help="only comments seen by this moment (a date alone: to its end); texts as of then")
    add_common(c)
    add_json(c)
    c.set_defaults(func=cmd_comments)

    e = sub.add_parser(
        "export", help="write a dataset (JSONL, CSV, Parquet) or WARC, with a manifest",
        description="Write a dataset of revisions, comment versions, captures or ads — or, with --format "
        "warc, the archived captures themselves — streaming in constant memory. Beside FILE goes "
        "FILE.manifest.json: the query, time, pagetrail version, columns, parser versions, row counts, the "
        "file's sha256 and size, and the archive's redactions. Columns: docs/exports.md.",
        epilog="Example: pagetrail export --format parquet --what revisions --site www.wisegeek.com "
        "-o revisions.parquet",
    )
    e.add_argument("--format", required=True, choices=FORMATS,
                   help="jsonl, csv, parquet (needs pip install 'pagetrail[parquet]') or warc")
    e.add_argument("--what", choices=WHATS,
                   help="the dataset (required except for warc, which ignores it)")
    e.add_argument("--site", metavar="HOST", help="only pages on this host (any port unless given)")
    e.add_argument("--from", dest="from_", metavar="DATE",
                   help="revisions and comment texts valid at some point from then; captures and ads "
                   "fetched from then (a date alone: from its start)")
    e.add_argument("--to", metavar="DATE", help="... up to this moment (a date alone: to its end)")
    e.add_argument("-o", "--output", required=True, metavar="FILE", help="the file to write (replaced)")
    e.add_argument("--batch-size", type=int, default=DEFAULT_BATCH, metavar="N",
                   help=f"rows read per query and per Parquet row group (default {DEFAULT_BATCH})")
    add_common(e)
    add_json(e)
    e.set_defaults(func=cmd_export)
