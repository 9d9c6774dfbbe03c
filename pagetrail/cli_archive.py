"""Archive care verbs: `verify` (fixity and references), `relayout` (blobs to the delta layout),
`redact` (personal data out, with an audit trail; `redact --list` shows the trail).

Exit codes: 0 ok, 1 user error, 2 internal error, and for `verify` 3: the check ran and found
damage (a script can tell "the archive is damaged" from "the command was used wrongly").
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import asdict
from typing import Any

from pagetrail.cli_common import UserError, add_common, add_json, cli_settings, print_json, read_session, table

# `verify` found a problem: not a user error (1) nor ours (2); the report lists what and where.
EXIT_DAMAGED = 3


# ---- verify ---------------------------------------------------------------------------------

def _check_site(s: Any, site: str) -> None:
    from sqlalchemy import func, select

    from storage.integrity import site_page_ids
    from storage.models import Site

    if not s.scalar(select(func.count()).select_from(site_page_ids(site).subquery())):
        hosts = s.scalars(select(Site.host).order_by(Site.host).limit(20)).all()
        raise UserError(f"no pages of site {site!r} in the archive; sites: {', '.join(hosts) or 'none yet'}")


def cmd_verify(args: argparse.Namespace) -> int:
    from storage import integrity

    if args.sample is not None and args.sample < 1:
        raise UserError("--sample takes how many blobs to re-hash (1 or more); leave it out to check every blob")
    with read_session(args) as s:
        if args.site:
            _check_site(s, args.site)
        rep = integrity.verify(s, sample=args.sample, site=args.site)
    if args.json:
        print_json(rep.to_dict())
    else:
        print("\n".join(rep.lines()))
        if not rep.ok:
            print("the captures listed cannot be restored byte-identically: restore the damaged blob rows "
                  "from a backup of the database, then run verify again")
    return 0 if rep.ok else EXIT_DAMAGED


# ---- relayout -------------------------------------------------------------------------------

def cmd_relayout(args: argparse.Namespace) -> int:
    from pagetrail.pipeline import open_archive
    from storage.relayout import RelayoutReport, pending, relayout

    if args.batch < 1:
        raise UserError("--batch takes how many pages to re-encode per transaction (1 or more)")
    archive = open_archive(cli_settings(args), must_exist=True)
    try:
        with archive.sessions() as s:
            todo = pending(s)

        def progress(r: RelayoutReport) -> None:
            if not args.quiet:
                done = r.reencoded + r.kept
                print(f"relayout: batch {r.batches}: {r.pages} pages, {done}/{todo} blobs "
                      f"({r.reencoded} now deltas, {r.kept} kept as keyframes)", file=sys.stderr, flush=True)

        rep = relayout(archive.engine, batch_pages=args.batch, on_batch=progress)
    finally:
        archive.engine.dispose()
    data = {**asdict(rep), "pending_before": todo, "bytes_saved": rep.bytes_before - rep.bytes_after}
    if args.json:
        print_json(data)
    elif rep.batches == 0 and not rep.remaining:
        print("relayout: nothing to do: every blob is in the delta layout")
    else:
        print(f"relayout: {rep.pages} pages in {rep.batches} batches: {rep.reencoded} blobs re-encoded as "
              f"deltas, {rep.kept} kept as keyframes, {data['bytes_saved']} bytes saved, {rep.remaining} left, "
              f"{rep.seconds:.1f} s")
    return 0


# ---- redact ---------------------------------------------------------------------------------

def _removed_summary(removed: dict[str, Any]) -> str:
    parts = [f"{removed.get('comments', 0)} comments", f"{len(removed.get('captures') or [])} raw captures"]
    if removed.get("raw_kept"):
        parts.append(f"{len(removed['raw_kept'])} raw kept")
    return ", ".join(parts)


def cmd_redact_list(args: argparse.Namespace) -> int:
    from storage.redaction import list_redactions

    with read_session(args) as s:
        rows = list_redactions(s)
    if args.json:
        print_json(rows)
        return 0
    if not rows:
        print("no redactions recorded")
        return 0
    print(table(
        [[r["id"], r["at"], r["who"], f"{r['target']['kind']} {r['target']['value']}",
          "yes" if r["raw_redacted"] else "no", _removed_summary(r["removed"]), r["reason"]] for r in rows],
        ["id", "at", "who", "target", "raw", "removed", "reason"],
    ))
    return 0


def _print_redaction(d: dict[str, Any]) -> None:
    t, rm = d["target"], d["removed"]
    where = f" on {t['url']}" if t["url"] and t["kind"] != "author" else ""
    print(f"redaction {d['id']} recorded ({d['at']}, by {d['who']}): {t['kind']} {t['value']}{where}")
    if d["already_redacted"]:
        print("  nothing left to remove: this target was already redacted (the request is recorded all the same)")
    if t["kind"] != "capture":
        print(f"  comments redacted: {rm['comments']} of {rm['comments_matched']} matched (author and text now "
              f"\"[redacted]\"; keys and thread links kept)")
        print(f"  comment versions: {rm['comment_versions']}, replies naming the author: {rm['replies']}, "
              f"search rows: {rm['search_rows']}, parsed records rewritten: {rm['derivations']}")
    if rm["captures"]:
        print(f"  raw captures REDACTED: the payloads of {len(rm['captures'])} captures are deleted "
              f"({len(rm['blobs'])} blobs; {rm['rebased']} deltas re-based): {', '.join(map(str, rm['captures']))}")
    elif d["raw_redacted"]:
        print("  raw captures redacted: none held it any more")
    if rm["raw_kept"]:
        print(f"  raw captures NOT redacted: {len(rm['raw_kept'])} captures still hold it in their stored bytes "
              f"({', '.join(map(str, rm['raw_kept']))}); run again with --raw to delete those payloads")


def cmd_redact(args: argparse.Namespace) -> int:
    if args.list:
        return cmd_redact_list(args)
    from pagetrail.pipeline import open_archive
    from storage.blobs import BlobCorrupt
    from storage.redaction import RedactionError, redact

    if not args.reason:
        raise UserError("give a --reason TEXT: the audit trail records why data was removed")
    archive = open_archive(cli_settings(args), must_exist=True)
    try:
        with archive.sessions.begin() as s:  # everything of one redaction: all or nothing
            rep = redact(s, comment_key=args.comment, url=args.url, author=args.author, capture_id=args.capture,
                         reason=args.reason, who=args.who, raw=args.raw)
            data = rep.to_dict()
    except RedactionError as exc:
        raise UserError(str(exc)) from None
    except BlobCorrupt as exc:  # BlobMissing too: re-basing needs the blob and its dependants whole
        raise UserError(f"{exc}; nothing was changed. Run `pagetrail verify` to see the damage") from None
    finally:
        archive.engine.dispose()
    if args.json:
        print_json(data)
    else:
        _print_redaction(data)
    return 0


# ---- registration ---------------------------------------------------------------------------

def register(sub: Any) -> None:
    v = sub.add_parser(
        "verify", help="check fixity (every payload against its sha256) and references",
        description="Re-hash stored payloads — through their delta chains, from the database alone — against "
        "their sha256 digests, and check that every capture's blob and every delta's base exists, chains end "
        "at a keyframe within the depth bound and sizes agree. Each problem names its blob digest and the "
        "captures whose payload needs it.",
        epilog="Exit codes: 0 intact; 3 a problem was found (listed, with --json under \"problems\"); "
        "1 user error; 2 internal error.",
    )
    v.add_argument("--site", metavar="HOST", help="only the captures of this site's pages and the blobs they need "
                   "(HOST matches any port; HOST:PORT one)")
    v.add_argument("--sample", type=int, metavar="N", help="re-hash N random blobs through their whole chains "
                   "instead of every blob (references are always checked in full)")
    add_common(v)
    add_json(v)
    v.set_defaults(func=cmd_verify)

    r = sub.add_parser(
        "relayout", help="re-encode an older archive's blobs as deltas (resumable)",
        description="Re-encode blobs written before the delta layout (each a keyframe) as deltas, page by page, "
        "one transaction per batch. Interrupted at any point, run it again: it continues where it stopped; with "
        "nothing left it does nothing. Pause crawls while it runs. Progress goes to standard error.",
    )
    r.add_argument("--batch", type=int, default=100, metavar="N", help="pages per transaction (default 100)")
    r.add_argument("--quiet", action="store_true", help="no progress lines")
    add_common(r)
    add_json(r)
    r.set_defaults(func=cmd_relayout)

    d = sub.add_parser(
        "redact", help="remove personal data (comments, authors, raw captures) with an audit entry",
        description="Remove personal data from the archive in ONE transaction and record who, when, why and what. "
        "A redacted comment keeps its key, number, dates and thread links; its author and every text version "
        "become \"[redacted]\", its search rows go and every parsed record showing it is rewritten. The rule "
        "stands: later crawls and reparse store it redacted. --raw also deletes the payloads of the captures "
        "that hold it (deltas built on them are re-based first; each capture keeps its row, marked redacted, "
        "with the digest it had). --capture ID deletes that capture's payload (and so of every capture with "
        "the same bytes). Running the same redaction again is harmless.",
        epilog="Exit codes: 0 ok (also when nothing was left to remove), 1 user error (unknown or ambiguous "
        "target, no --reason), 2 internal error.",
    )
    target = d.add_mutually_exclusive_group(required=True)
    target.add_argument("--comment", metavar="KEY", help="the comment with this key (see `history URL --json`)")
    target.add_argument("--author", metavar="NAME", help="every comment by this name (exact match), on every page")
    target.add_argument("--capture", type=int, metavar="ID", help="this capture's raw payload (implies --raw)")
    target.add_argument("--list", action="store_true", help="list the recorded redactions (the audit trail)")
    d.add_argument("--url", metavar="URL", help="with --comment: the page (needed when several pages have the key)")
    d.add_argument("--reason", metavar="TEXT", help="why (required; recorded)")
    d.add_argument("--who", metavar="NAME", help="who asks (recorded; default the OS user)")
    d.add_argument("--raw", action="store_true", help="also delete the raw captures' payloads that hold it")
    add_common(d)
    add_json(d)
    d.set_defaults(func=cmd_redact)
