"""Writing research datasets (JSON lines, CSV, Parquet, WARC), each with a manifest beside it.

The rows come from storage.exports (the only SQL) one keyset batch at a time; the writers here
only format them, so an export of any size runs in constant memory. A dataset is written to
FILE.partial and renamed when complete: a failed export never leaves a FILE that looks whole.

FILE.manifest.json says how the file was made and how to check it: the query, the time,
pagetrail's version, the archive schema and the columns, the parser versions of the rows,
row counts, the file's sha256 and size, and the redactions the archive had applied.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from pagetrail import __version__
from storage.archive import Archive
from storage.exports import (
    COLUMNS,
    DEFAULT_BATCH,
    EXPORT_SCHEMA_VERSION,
    Column,
    begin_snapshot,
    capture_parser_versions,
    export_rows,
)
from storage.queries import iso

FORMATS = ("jsonl", "csv", "parquet", "warc")
MANIFEST_SUFFIX = ".manifest.json"
PARQUET_HINT = "Parquet export needs pyarrow: pip install 'pagetrail[parquet]' (or choose --format jsonl or csv)"


class ExportError(Exception):
    """The export cannot run as asked; the message says what to do."""


def manifest_path(out: Path) -> Path:
    return out.with_name(out.name + MANIFEST_SUFFIX)


# ---- value formatting --------------------------------------------------------------------------

def _text_value(col: Column, value: Any) -> Any:
    """A value for JSON lines (JSON types) — CSV stringifies these further."""
    if value is None:
        return None
    if col.type == "time":
        return iso(value)
    if col.type == "list[str]":
        return list(value)
    return value


def _csv_cell(col: Column, value: Any) -> str:
    value = _text_value(col, value)
    if value is None:
        return ""
    if col.type == "bool":
        return "true" if value else "false"
    if col.type == "list[str]":
        return json.dumps(value, ensure_ascii=False)  # a JSON array in one cell
    return str(value)


# ---- writers: (rows, columns, open file or path, batch size) -> None ----------------------------

def text_lines(rows: Iterable[dict[str, Any]], cols: tuple[Column, ...], fmt: str) -> Iterator[str]:
    """JSON lines or CSV (header first), one line at a time: the file writers and the HTTP
    API's streamed export share it."""
    if fmt == "jsonl":
        for row in rows:
            yield json.dumps({c.name: _text_value(c, row[c.name]) for c in cols}, ensure_ascii=False) + "\n"
        return
    if fmt != "csv":
        raise ExportError(f"not a text format: {fmt!r}")
    buf = io.StringIO()
    w = csv.writer(buf)

    def line(cells: list[str]) -> str:
        buf.seek(0)
        buf.truncate()
        w.writerow(cells)
        return buf.getvalue()

    yield line([c.name for c in cols])
    for row in rows:
        yield line([_csv_cell(c, row[c.name]) for c in cols])


def _write_jsonl(rows: Iterable[dict[str, Any]], cols: tuple[Column, ...], path: Path, batch_size: int) -> None:
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.writelines(text_lines(rows, cols, "jsonl"))


def _write_csv(rows: Iterable[dict[str, Any]], cols: tuple[Column, ...], path: Path, batch_size: int) -> None:
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.writelines(text_lines(rows, cols, "csv"))


def _pyarrow() -> Any:
    try:
        import pyarrow
        import pyarrow.parquet  # noqa: F401
    except ImportError:
        raise ExportError(PARQUET_HINT) from None
    return pyarrow


def parquet_schema(cols: tuple[Column, ...]) -> Any:
    pa = _pyarrow()
    types = {
        "int": pa.int64(),
        "str": pa.string(),
        "bool": pa.bool_(),
        "time": pa.timestamp("us", tz="UTC"),
        "list[str]": pa.list_(pa.string()),
    }
    return pa.schema([pa.field(c.name, types[c.type], metadata={"doc": c.doc}) for c in cols])


def _write_parquet(rows: Iterable[dict[str, Any]], cols: tuple[Column, ...], path: Path, batch_size: int) -> None:
    pa = _pyarrow()
    schema = parquet_schema(cols)
    names = [c.name for c in cols]
    # One row group per batch: never more than a batch of rows in memory.
    with pa.parquet.ParquetWriter(str(path), schema, compression="zstd") as writer:
        batch: list[dict[str, Any]] = []
        for row in rows:
            batch.append({n: row[n] for n in names})
            if len(batch) >= batch_size:
                writer.write_table(pa.Table.from_pylist(batch, schema=schema))
                batch = []
        if batch:
            writer.write_table(pa.Table.from_pylist(batch, schema=schema))


_WRITERS: dict[str, Callable[[Iterable[dict[str, Any]], tuple[Column, ...], Path, int], None]] = {
    "jsonl": _write_jsonl,
    "csv": _write_csv,
    "parquet": _write_parquet,
}


# ---- the export ---------------------------------------------------------------------------------

def file_digest(path: Path) -> tuple[str, int]:
    """(sha256 hex, byte size) of a file, read in chunks."""
    h = hashlib.sha256()
    size = 0
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 16), b""):
            h.update(chunk)
            size += len(chunk)
    return h.hexdigest(), size


def _redactions(archive: Archive) -> list[dict[str, Any]]:
    """storage.redaction.list_redactions(session): what the archive had redacted when exported.

    Imported lazily: an archive without the redaction module has redacted nothing."""
    try:
        from storage.redaction import list_redactions
    except ImportError:
        return []
    with archive.sessions() as s:
        return list_redactions(s)


class _Tally:
    """Counts the rows passing through and notes their parser versions."""

    def __init__(self, rows: Iterator[dict[str, Any]]) -> None:
        self.rows = rows
        self.count = 0
        self.parser_versions: set[str] = set()

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for row in self.rows:
            self.count += 1
            pv = row.get("parser_version")
            if pv:
                self.parser_versions.add(pv)
            yield row


def export(
    archive: Archive,
    fmt: str,
    what: str | None,
    out: Path,
    *,
    site: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    batch_size: int = DEFAULT_BATCH,
    query: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Write one dataset (or, for fmt "warc", the raw captures) to `out` and its manifest
    beside it; returns the manifest."""
    if fmt not in FORMATS:
        raise ExportError(f"unknown format {fmt!r}: one of {', '.join(FORMATS)}")
    if fmt != "warc" and what not in COLUMNS:
        raise ExportError(f"say what to export: --what {'|'.join(COLUMNS)}")
    if not out.parent.exists():
        raise ExportError(f"cannot write {out}: the folder {out.parent} does not exist")
    if fmt == "parquet":
        _pyarrow()  # say so before any work is done

    parser_versions: list[str] = []
    if fmt == "warc":
        try:
            from pagetrail.warcfiles import export_warc
        except ImportError as exc:
            if exc.name not in ("pagetrail.warcfiles", "warcio"):
                raise
            raise ExportError("WARC export is not available in this installation "
                              "(pagetrail.warcfiles is missing); reinstall pagetrail") from None
        # The WARC writer chooses gzip from the file name, so it writes `out` itself.
        rows = dict(export_warc(archive.engine, out, site=site, start=start, end=end))
        with archive.sessions() as s:
            parser_versions = capture_parser_versions(s, site=site, start=start, end=end)
        schema: dict[str, Any] = {"format": "WARC", "export_schema_version": EXPORT_SCHEMA_VERSION}
    else:
        assert what is not None
        cols = COLUMNS[what]
        partial = out.with_name(out.name + ".partial")
        try:
            with archive.sessions() as s:
                begin_snapshot(s)  # the rows of one export come from one moment of the archive
                tally = _Tally(export_rows(s, what, site=site, start=start, end=end, batch_size=batch_size))
                _WRITERS[fmt](tally, cols, partial, batch_size)
            os.replace(partial, out)
        finally:
            partial.unlink(missing_ok=True)
        rows = {what: tally.count}
        parser_versions = sorted(tally.parser_versions)
        schema = {
            "export_schema_version": EXPORT_SCHEMA_VERSION,
            "what": what,
            "columns": [{"name": c.name, "type": c.type, "doc": c.doc} for c in cols],
        }
    from storage.db import current_revision

    digest, size = file_digest(out)
    manifest = {
        "file": out.name,
        "format": fmt,
        "what": what if fmt != "warc" else None,
        "query": query if query is not None else {
            "format": fmt, "what": what, "site": site, "from": iso(start), "to": iso(end)},
        "exported_at": iso(datetime.now(timezone.utc)),
        "pagetrail_version": __version__,
        "archive": {
            "database": archive.engine.url.render_as_string(hide_password=True),
            "schema": current_revision(archive.engine),
        },
        "schema": schema,
        "parser_versions": parser_versions,
        "rows": rows,
        "sha256": digest,
        "bytes": size,
        "redactions": _redactions(archive),
    }
    mpath = manifest_path(out)
    tmp = mpath.with_name(mpath.name + ".partial")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(manifest, f, ensure_ascii=False, indent=2)
        f.write("\n")
    os.replace(tmp, mpath)
    return manifest
