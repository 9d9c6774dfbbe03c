"""What every `pagetrail` verb module shares: the user-error exception, the common flags, settings
from flags, JSON and table output. The verb modules import this, never pagetrail.cli (which
imports them), so the faces form no circle."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, NoReturn

from pagetrail.settings import Settings, load_settings


class UserError(Exception):
    """Exit 1 with this message."""


class Parser(argparse.ArgumentParser):
    # argparse exits 2 on a usage error; our convention says a user error is 1.
    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(1, f"{self.prog}: error: {message}\n")


def add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--db", help="archive database URL (env PAGETRAIL_DB; default sqlite:///pagetrail.db)")
    p.add_argument("--config", metavar="FILE", help="a TOML settings file (env PAGETRAIL_CONFIG)")


def add_json(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print JSON for scripts instead of a table")


def cli_settings(args: argparse.Namespace, **flags: Any) -> Settings:
    flags.setdefault("db", getattr(args, "db", None))
    return load_settings(flags, config_file=getattr(args, "config", None))


def print_json(data: Any) -> None:
    json.dump(data, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")


def table(rows: list[list[Any]], headers: list[str]) -> str:
    cells = [[("" if v is None else str(v)) for v in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    line = lambda r: "  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip()  # noqa: E731
    return "\n".join([line(headers), line(["-" * w for w in widths])] + [line(r) for r in cells])


def read_session(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from pagetrail.pipeline import open_archive

    archive = open_archive(cli_settings(args), read_only=True)
    return archive.sessions()
