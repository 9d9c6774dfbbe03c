"""`pagetrail import-warc`: captures from WARC files into the archive (the export side is
`pagetrail export --format warc`, which calls pagetrail.warcfiles.export_warc)."""

from __future__ import annotations

import argparse
from pathlib import Path

from pagetrail.cli_common import UserError, add_common, add_json, cli_settings, print_json, table


def cmd_import_warc(args: argparse.Namespace) -> int:
    from pagetrail.pipeline import make_parser, open_archive
    from pagetrail.warcfiles import import_warc

    paths = [Path(f) for f in args.files]
    for p in paths:
        if not p.is_file():
            raise UserError(f"{p}: no such file; give WARC files (.warc or .warc.gz)")
    settings = cli_settings(args)
    archive = open_archive(settings)  # a write: creates a new SQLite archive if need be
    try:
        report = import_warc(archive.engine, paths, parse=make_parser(settings))
    finally:
        archive.engine.dispose()
    data = report.to_dict()
    # Damaged records are skipped and reported; the run failed only if nothing was usable.
    nothing = report.captures_imported == 0 and report.duplicates_skipped == 0
    code = 1 if nothing and report.corrupt else 0
    if args.json:
        print_json(data)
    else:
        print(table([[k, data[k]] for k in ("records_read", "captures_imported", "duplicates_skipped",
                                             "corrupt_skipped", "new_revisions", "pages", "requests_matched",
                                             "revisits_resolved")],
                     ["import-warc", "count"]))
        print("records by type: " + ", ".join(f"{k} {v}" for k, v in data["record_types"].items()))
        for n in data["notes"]:
            print(f"note: {n}")
        for c in data["corrupt"]:
            print(f"corrupt: {c['file']} at byte {c['offset']}: {c['reason']} (skipped; reading went on)")
        for s in data["skipped"]:
            print(f"skipped: {s['url']} ({s['file']} at byte {s['offset']}): {s['reason']}")
    if code:
        raise UserError(f"nothing could be imported: every record that would make a capture is damaged "
                        f"({len(report.corrupt)} damaged stretch(es), see above); check that the files are WARCs")
    return code


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "import-warc",
        help="import captures from WARC files (wget, Heritrix, warcio, pagetrail exports)",
        description="Import the captures in WARC files (WARC/1.0 or 1.1; gzipped per record, as one stream, or plain) into "
        "the archive, in capture-time order: each response (or revisit, resolved to the payload it refers "
        "to) becomes a capture at its WARC-Date, with the payload as the server sent it, parsed and "
        "versioned like a crawled page. Importing a file twice adds nothing (an interrupted import can be run "
        "again). Damaged records are skipped "
        "and reported; the rest is imported. Exit 0 when the files were read (even with damaged records), "
        "1 when nothing usable was found.",
    )
    p.add_argument("files", nargs="+", metavar="FILE", help="WARC files (.warc, .warc.gz)")
    add_common(p)
    add_json(p)
    p.set_defaults(func=cmd_import_warc)
