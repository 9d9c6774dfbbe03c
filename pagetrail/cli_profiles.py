"""Profile and re-derivation verbs: `profiles list`, `profiles check`, `reparse`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from pagetrail.cli_common import UserError, add_common, add_json, cli_settings, print_json, table


def _profiles(args: argparse.Namespace) -> dict[str, Any]:
    from parsers.profiles import ProfileError, load_profiles

    settings = cli_settings(args, profiles_dir=getattr(args, "profiles", None))
    extra = [Path(settings.profiles_dir)] if settings.profiles_dir else []
    try:
        return load_profiles(extra_dirs=extra)
    except ProfileError as exc:
        raise UserError(str(exc)) from None


def cmd_list(args: argparse.Namespace) -> int:
    rows = [{"name": p.name, "file": p.file, "hosts": p.hosts} for p in _profiles(args).values()]
    rows.sort(key=lambda r: r["name"])
    if args.json:
        print_json(rows)
    else:
        print(table([[r["name"], ", ".join(r["hosts"]) or "(by markup signature)", r["file"]] for r in rows],
                     ["name", "hosts", "file"]))
    return 0


def _load_target(target: str, args: argparse.Namespace) -> tuple[bytes, str, dict[str, str]]:
    """A page to check: a saved file, or a URL fetched now (settings apply: resolve, ...)."""
    if target.startswith(("http://", "https://")):
        from crawler.fetcher import Fetcher

        settings = cli_settings(args, allow_private_addresses=True if args.allow_private_addresses else None,
                             resolve=",".join(args.resolve) if args.resolve else None)

        async def get():  # type: ignore[no-untyped-def]
            async with Fetcher(settings.fetch_settings()) as f:
                return await f.fetch(target)

        from pagetrail.pipeline import run_async

        result = run_async(get())
        cap = result.capture
        if cap.error_kind or result.content is None:
            raise UserError(f"cannot fetch {target}: {cap.error_kind}: {cap.error_message}")
        return result.content, cap.final_url or target, {k.lower(): v for k, v in cap.headers}
    path = Path(target)
    try:
        return path.read_bytes(), path.resolve().as_uri(), {}
    except OSError as exc:
        raise UserError(f"cannot read {target}: {exc.strerror}") from None


def cmd_check(args: argparse.Namespace) -> int:
    import parsers
    from parsers.htmlload import decode_body, parse_html
    from parsers.profiles import apply_profile, explain_profile

    profiles = _profiles(args)
    if args.name not in profiles:
        raise UserError(f"unknown profile {args.name!r}; known: {', '.join(sorted(profiles))}")
    profile = profiles[args.name]
    reports = []
    failed = False
    for target in args.targets:
        body, url, headers = _load_target(target, args)
        if args.url and not target.startswith(("http://", "https://")):
            url = args.url
        text, _charset, _w = decode_body(body, headers)
        tree = parse_html(text)
        _page, missing = apply_profile(profile, tree, url)
        page = parsers.parse(body, url, headers=headers, profile=profile)
        md = page.to_dict()["metadata"]
        fields = {}
        for name in ("title", "authors", "editors", "reviewers", "published", "modified", "last_reviewed",
                     "publisher", "copyright", "canonical_url", "language", "description", "category"):
            source = md["sources"].get(name)
            status = ("empty" if md[name] in (None, "", []) else
                      "fallback" if source and not source.startswith("profile:") else "ok")
            fields[name] = {"status": status, "source": source}
        failed = failed or bool(missing)
        reports.append({
            "target": target, "url": url, "selectors": explain_profile(profile, tree), "fields": fields,
            "required_missing": missing, "degraded": page.degraded, "records": page.to_dict(),
        })
    if args.json:
        print_json({"profile": profile.name, "file": profile.file, "pages": reports})
        return 1 if failed else 0
    for r in reports:
        print(f"== {r['target']}  (profile {profile.name}, {profile.file})")
        print(table([[x["part"], x["count"], x["excerpt"], x["selector"][:60]] for x in r["selectors"]],
                     ["part", "matched", "excerpt", "selector"]))
        print()
        fell = [k for k, v in r["fields"].items() if v["status"] == "fallback"]
        empty = [k for k, v in r["fields"].items() if v["status"] == "empty"]
        print(f"fields from generic fallback: {', '.join(fell) or 'none'}")
        print(f"fields empty: {', '.join(empty) or 'none'}")
        rec = r["records"]
        print(f"records: title {rec['metadata']['title']!r}; {len(rec['body']['paragraphs'])} body paragraphs; "
              f"{len(rec['comments'])} comments; {len(rec['ads'])} ads/widgets; {len(rec['related'])} related links")
        if r["required_missing"]:
            print(f"FAILED: required field(s) {', '.join(r['required_missing'])} found nothing")
        print()
    return 1 if failed else 0


def cmd_reparse(args: argparse.Namespace) -> int:
    import parsers
    from pagetrail.pipeline import open_archive
    from pagetrail.reparse import print_progress, reparse
    from pagetrail.timeparse import BadTime, parse_moment

    profiles = _profiles(args)
    forced = None
    if args.profile:
        if args.profile != "generic" and args.profile not in profiles:
            raise UserError(f"unknown profile {args.profile!r}; known: {', '.join(sorted(profiles))}, generic")
        forced = profiles.get(args.profile, "generic")
    try:
        since = parse_moment(args.since) if args.since else None
    except BadTime as exc:
        raise UserError(str(exc)) from None

    def parse(content, url, headers, fetched_at):  # type: ignore[no-untyped-def]
        return parsers.parse(content, url, headers=headers, fetched_at=fetched_at,
                             profile=forced, profiles=profiles)

    archive = open_archive(cli_settings(args), must_exist=True)
    report = reparse(archive, parse, urls=args.urls or None, site=args.site, since=since, force=args.force,
                     progress=None if args.json else print_progress)
    if args.json:
        print_json(report.to_dict())
    else:
        print(f"reparse: {report.considered} captures considered, {report.rederived} re-derived, "
              f"{report.skipped} unchanged, {len(report.failed)} failed; {report.pages_rebuilt} pages' "
              "history rebuilt")
        for cid, err in report.failed:
            print(f"  capture {cid}: {err}", file=sys.stderr)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    pr = sub.add_parser("profiles", help="site profiles: list, check",
                        description="Site profiles (config/sites/*.toml plus --profiles DIR).")
    psub = pr.add_subparsers(dest="profiles_command", metavar="ACTION", parser_class=type(pr))
    ls = psub.add_parser("list", help="the profiles and the hosts they claim",
                         description="List profiles: name (the file stem), file, hosts.")
    ls.add_argument("--profiles", metavar="DIR", help="a folder of your own profiles (extends the bundled ones)")
    ls.add_argument("--config", metavar="FILE", help="a TOML settings file")
    add_json(ls)
    ls.set_defaults(func=cmd_list)

    ck = psub.add_parser("check", help="what every selector of a profile matches on pages",
                         description="Run a profile on saved pages or URLs: per page, what every selector "
                         "matched (count and excerpt), which fields fell back or came out empty, and the "
                         "resulting records. Exits 1 when a required field finds nothing.")
    ck.add_argument("name", metavar="NAME")
    ck.add_argument("targets", nargs="+", metavar="FILE|URL")
    ck.add_argument("--url", help="the URL saved files were served at")
    ck.add_argument("--profiles", metavar="DIR", help="a folder of your own profiles")
    ck.add_argument("--resolve", action="append", metavar="HOST=ADDRESS", help="for URLs: like curl --resolve")
    ck.add_argument("--allow-private-addresses", action="store_true", help="for URLs: allow loopback/private")
    ck.add_argument("--config", metavar="FILE", help="a TOML settings file")
    add_json(ck)
    ck.set_defaults(func=cmd_check)

    rp = sub.add_parser("reparse", help="re-derive records from stored captures with the current parsers",
                        description="Re-derive records from the stored raw captures (no network), then "
                        "rebuild the affected pages' revisions and comment histories. Earlier derivations are "
                        "kept; running it again changes nothing.")
    rp.add_argument("urls", nargs="*", metavar="URL", help="only these pages (default: all)")
    rp.add_argument("--site", metavar="HOST", help="only pages on this host")
    rp.add_argument("--since", metavar="DATE", help="only captures fetched at or after this")
    rp.add_argument("--profile", metavar="NAME", help="parse with this profile (or generic) instead of choosing")
    rp.add_argument("--profiles", metavar="DIR", help="a folder of your own profiles")
    rp.add_argument("--force", action="store_true", help="store new derivations even when nothing changed")
    add_common(rp)
    add_json(rp)
    rp.set_defaults(func=cmd_reparse)
