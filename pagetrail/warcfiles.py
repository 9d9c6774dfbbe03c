"""WARC out and in: `export_warc` writes the archive's captures as a WARC 1.1 file, and
`import_warc` reads WARC files (ours, wget's, Heritrix's, warcio's ...) into the archive.

The SQL for both lives in storage.warcdata; this module only reads and writes WARC records
(with warcio) and builds the capture inputs the archive's unit of work takes.

Extension fields. Besides the standard WARC fields, our response, revisit and metadata records
carry a few `Pagetrail-*` fields so a round trip through a WARC loses nothing pagetrail keeps
(other readers ignore them): `Pagetrail-Requested-URI` (the page key, when the response came
from another URL after redirects), `Pagetrail-Redirects` (the chain, JSON), and
`Pagetrail-Error-Kind` / `Pagetrail-Error-Message` (a fetch that failed or broke off).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import tempfile
import zlib
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http import HTTPStatus
from io import BytesIO
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

from sqlalchemy import Engine
from warcio.archiveiterator import ArchiveIterator
from warcio.bufferedreaders import ChunkedDataReader
from warcio.exceptions import ArchiveLoadFailed
from warcio.recordloader import ArcWarcRecord
from warcio.statusandheaders import StatusAndHeaders, StatusAndHeadersParserException
from warcio.utils import BUFF_SIZE, Digester
from warcio.warcwriter import WARCWriter

from pagetrail import __version__
from parsers.records import ParsedPage
from parsers.urls import InvalidURL, normalize_url
from storage import warcdata
from storage.archive import Archive
from storage.interface import CaptureIn

REQUESTED_URI = "Pagetrail-Requested-URI"
REDIRECTS = "Pagetrail-Redirects"
ERROR_KIND = "Pagetrail-Error-Kind"
ERROR_MESSAGE = "Pagetrail-Error-Message"
SYNTHESIZED = "Pagetrail-Synthesized"
RECORD_KIND = "Pagetrail-Record"  # on our own metadata records: "fetch-error" | "payload-unavailable"

PROFILE_NOT_MODIFIED = "http://netpreserve.org/warc/1.1/revisit/server-not-modified"
WARC_1_1_SPEC = "http://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/"

ParseFn = Callable[[bytes, str, list[tuple[str, str]], datetime], ParsedPage | None]


def warc_date(dt: datetime) -> str:
    """WARC-Date: UTC with Z; WARC 1.1 allows the fraction, so capture times survive exactly."""
    dt = dt.astimezone(timezone.utc)
    frac = f".{dt.microsecond:06d}" if dt.microsecond else ""
    return dt.strftime("%Y-%m-%dT%H:%M:%S") + frac + "Z"


def _one_line(text: str) -> str:
    return " ".join(text.split())


class _RawHeaders(StatusAndHeaders):
    """HTTP headers written byte for byte as they were received (stored decoded as latin-1),
    where warcio would percent-encode anything outside ASCII."""

    def to_ascii_bytes(self, filter_func=None):  # type: ignore[no-untyped-def]
        return self.to_str(filter_func).encode("latin-1", "replace") + b"\r\n"


def _has_chunked(headers: Sequence[tuple[str, str]]) -> bool:
    return any(k.lower() == "transfer-encoding" and "chunked" in v.lower() for k, v in headers)


# ==== export ===================================================================================
@dataclass
class _Written:
    """A payload already written in this file: what a revisit record refers to."""

    record_id: str
    uri: str
    date: str
    payload_digest: str


def export_warc(
    engine: Engine,
    out: Path,
    *,
    site: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> dict[str, int]:
    """Write the archive's captures (optionally one site's, with start <= capture time <= end)
    to `out` as a WARC 1.1 file in capture-time order, each record gzipped on its own (a name
    ending in plain `.warc` gets an uncompressed file). The captures come from one snapshot of
    the archive; on SQLite pass a read-only engine so a crawl is never blocked.

    Records, per capture:
    - `request`: SYNTHESIZED — we keep no request bytes, so it is rebuilt as `GET path` with a
      Host header for the URL the response came from, and marked `Pagetrail-Synthesized`;
      its WARC-Concurrent-To names the response (and the response's names it).
    - `response`: status line, the response headers as stored, and the payload exactly as the
      server sent it (content-encoding kept). A stored `Transfer-Encoding: chunked` header is
      kept too, so the payload is framed as one chunk (what any reader de-chunks to the same
      bytes). WARC-Date is the capture time (UTC, microseconds), digests are sha1 base32 as
      warcio writes them (`warcio check` verifies them); a truncated capture is marked
      `WARC-Truncated: length`.
    - `revisit` instead of the response when the same payload was already written in this
      file (profile identical-payload-digest, WARC-Refers-To, -Target-URI, -Date); a 304 is a
      revisit with profile server-not-modified, referring to the payload it confirmed.
    - `metadata` (application/json, WARC-Refers-To the response/revisit): the derivation's
      ParsedPage JSON, for captures that have one.
    Error captures (no response at all) are NOT skipped: each is a `metadata` record
    (application/json) stating the error kind and message, with `Pagetrail-Error-Kind`, so
    the attempt stays on record (and `import_warc` restores it). A capture whose payload
    cannot be restored (redacted, damaged) is likewise a metadata record saying so.
    A `warcinfo` record comes first (software, format, the query).

    Returns counts: captures, records, responses, revisits, requests, metadata, errors,
    payload_missing. The file appears under `out` only once complete.
    """
    counts: Counter[str] = Counter(captures=0, records=0, responses=0, revisits=0, requests=0,
                                   metadata=0, errors=0, payload_missing=0)
    written: dict[tuple[str, bool], _Written] = {}
    part = out.with_name(out.name + ".part")
    try:
        with open(part, "wb") as fh:
            writer = WARCWriter(fh, gzip=not out.name.endswith(".warc"), warc_version="1.1")
            writer.write_record(_warcinfo(writer, out.name, site, start, end))
            counts["records"] += 1
            for cap in warcdata.iter_captures(engine, site=site, start=start, end=end):
                counts["captures"] += 1
                for rec in _capture_records(writer, cap, written, counts):
                    writer.write_record(rec)
                    counts["records"] += 1
        part.replace(out)
    finally:
        part.unlink(missing_ok=True)
    return dict(counts)


def _warcinfo(writer: WARCWriter, filename: str, site: str | None, start: datetime | None,
              end: datetime | None) -> ArcWarcRecord:
    query = {"site": site, "start": warc_date(start) if start else None, "end": warc_date(end) if end else None}
    info = {
        "software": f"pagetrail/{__version__} (warcio)",
        "format": "WARC File Format 1.1",
        "conformsTo": WARC_1_1_SPEC,
        "description": "pagetrail archive export: one request/response (or revisit) and a metadata "
                       "record (ParsedPage JSON) per capture, in capture-time order",
        "pagetrail-query": json.dumps(query, sort_keys=True),
        "pagetrail-request-records": "synthesized (GET with a Host header); the request bytes are not archived",
    }
    return writer.create_warcinfo_record(filename, info)


def _http_headers(cap: warcdata.CaptureOut) -> _RawHeaders:
    try:
        reason = HTTPStatus(cap.status).phrase
    except ValueError:
        reason = ""
    statusline = f"{cap.status} {reason}".rstrip()
    return _RawHeaders(statusline, list(cap.headers), protocol=cap.http_version or "HTTP/1.1")


def _provenance(cap: warcdata.CaptureOut, uri: str) -> dict[str, str]:
    fields = {"WARC-Date": warc_date(cap.fetched_at)}
    if cap.requested_url != uri:
        fields[REQUESTED_URI] = cap.requested_url
    if cap.redirects:
        fields[REDIRECTS] = json.dumps([[u, st] for u, st in cap.redirects])
    if cap.error_kind:
        fields[ERROR_KIND] = cap.error_kind
        fields[ERROR_MESSAGE] = _one_line(cap.error_message or "")
    return fields


def _json_record(writer: WARCWriter, uri: str, data: Any, fields: dict[str, str]) -> ArcWarcRecord:
    body = json.dumps(data, ensure_ascii=False).encode("utf-8")
    return writer.create_warc_record(uri, "metadata", payload=BytesIO(body), length=len(body),
                                     warc_content_type="application/json", warc_headers_dict=fields)


def _capture_records(writer: WARCWriter, cap: warcdata.CaptureOut, written: dict[tuple[str, bool], _Written],
                     counts: Counter[str]) -> list[ArcWarcRecord]:
    uri = cap.final_url or cap.requested_url
    fields = _provenance(cap, uri)
    if cap.status is None:  # no response: the metadata record states the error
        counts["errors"] += 1
        counts["metadata"] += 1
        fields[RECORD_KIND] = "fetch-error"
        return [_json_record(writer, uri, {
            "error_kind": cap.error_kind, "error_message": cap.error_message,
            "requested_url": cap.requested_url, "final_url": cap.final_url,
            "redirects": [[u, st] for u, st in cap.redirects], "fetched_at": fields["WARC-Date"],
        }, fields)]
    if cap.payload is None and cap.payload_problem is not None and not cap.not_modified:
        counts["payload_missing"] += 1
        counts["metadata"] += 1
        fields[RECORD_KIND] = "payload-unavailable"
        return [_json_record(writer, uri, {"payload_unavailable": cap.payload_problem,
                                           "status": cap.status, "fetched_at": fields["WARC-Date"]}, fields)]

    http = _http_headers(cap)
    chunked = _has_chunked(cap.headers)
    earlier = written.get((cap.blob_digest, chunked)) if cap.blob_digest else None
    if cap.not_modified:
        main = writer.create_warc_record(uri, "revisit", http_headers=http, warc_headers_dict=fields)
        main.rec_headers.add_header("WARC-Profile", PROFILE_NOT_MODIFIED)
        digest = earlier.payload_digest if earlier else (
            _sha1_b32(cap.payload) if cap.payload is not None else None)
        _refer(main, earlier, digest)
        counts["revisits"] += 1
    elif earlier is not None:
        main = writer.create_revisit_record(uri, earlier.payload_digest, earlier.uri, earlier.date,
                                            http_headers=http, warc_headers_dict=fields)
        main.rec_headers.add_header("WARC-Refers-To", earlier.record_id)
        counts["revisits"] += 1
    else:
        payload = cap.payload or b""
        if chunked:  # the header says chunked: frame the de-chunked payload as one chunk
            payload = (f"{len(payload):x}\r\n".encode() + payload + b"\r\n" if payload else b"") + b"0\r\n\r\n"
        if cap.truncated:
            fields["WARC-Truncated"] = "length"
        main = writer.create_warc_record(uri, "response", payload=BytesIO(payload), length=len(payload),
                                         http_headers=http, warc_headers_dict=fields)
        if cap.blob_digest:
            written[(cap.blob_digest, chunked)] = _Written(
                main.rec_headers.get_header("WARC-Record-ID"), uri, fields["WARC-Date"],
                main.rec_headers.get_header("WARC-Payload-Digest"))
        counts["responses"] += 1
    main_id = main.rec_headers.get_header("WARC-Record-ID")

    parts = urlsplit(uri)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    request = writer.create_warc_record(
        uri, "request",
        http_headers=StatusAndHeaders(f"GET {target} HTTP/1.1", [("Host", parts.netloc)], is_http_request=True),
        warc_headers_dict={"WARC-Date": fields["WARC-Date"], "WARC-Concurrent-To": main_id,
                           SYNTHESIZED: "request rebuilt from the requested URL; its bytes were not archived"},
    )
    main.rec_headers.add_header("WARC-Concurrent-To", request.rec_headers.get_header("WARC-Record-ID"))
    counts["requests"] += 1
    out = [request, main]
    if cap.record is not None:
        out.append(_json_record(writer, uri, cap.record,
                                {"WARC-Date": fields["WARC-Date"], "WARC-Refers-To": main_id}))
        counts["metadata"] += 1
    return out


def _sha1_b32(payload: bytes) -> str:
    d = Digester("sha1")
    d.update(payload)
    return str(d)


def _refer(rec: ArcWarcRecord, earlier: _Written | None, digest: str | None) -> None:
    if digest:
        rec.rec_headers.add_header("WARC-Payload-Digest", digest)
    if earlier is not None:
        rec.rec_headers.add_header("WARC-Refers-To", earlier.record_id)
        rec.rec_headers.add_header("WARC-Refers-To-Target-URI", earlier.uri)
        rec.rec_headers.add_header("WARC-Refers-To-Date", earlier.date)


# ==== import: reading WARC files robustly =======================================================
class _QuietIterator(ArchiveIterator):
    # A record not followed by its blank lines (a wrong Content-Length) is counted in err_count
    # and reported by us as a damaged record, instead of warcio printing to standard error.
    INC_RECORD = ""


_READ_ERRORS = (ArchiveLoadFailed, StatusAndHeadersParserException, zlib.error, EOFError, ValueError,
                UnicodeDecodeError, IndexError, OSError)
_GZIP_MAGIC = b"\x1f\x8b\x08"


class _Damaged(Exception):
    pass


@dataclass
class _Bad:
    offset: int
    reason: str


def _drain(rec: ArcWarcRecord) -> int:
    n = 0
    while True:
        buf = rec.raw_stream.read(BUFF_SIZE)
        if not buf:
            return n
        n += len(buf)


_WARC_LINE = re.compile(rb"WARC/1\.[01]\r?\n")


def _next_start(fh: IO[bytes], after: int, gz: bool) -> int | None:
    """The next offset at or after `after` where a record may begin (a gzip member, or a
    `WARC/1.x` line, which a cut-off record may leave mid-line) — where reading resumes after
    a damaged stretch."""
    fh.seek(after)
    base, tail = after, b""
    keep = 16  # a match may straddle two blocks
    while True:
        block = fh.read(1 << 20)
        if not block:
            return None
        data = tail + block
        if gz:
            i = data.find(_GZIP_MAGIC)
        else:
            m = _WARC_LINE.search(data)
            i = m.start() if m else -1
        if i >= 0:
            return base - len(tail) + i
        tail = data[-keep:]
        base += len(block)


def _reason(exc: Exception) -> str:
    text = str(exc).strip()
    text = text.splitlines()[0] if text else ""
    if not isinstance(exc, _Damaged):
        text = f"unreadable record ({type(exc).__name__}: {text})" if text else f"unreadable record ({type(exc).__name__})"
    return "".join(c if c.isprintable() else "?" for c in text)[:300]


def scan_records(fh: IO[bytes]) -> Iterator[tuple[int, ArcWarcRecord] | _Bad]:
    """Every record of a WARC file (gzipped per record or plain, WARC/1.0 or 1.1) as
    (offset, record) with its block read through and its digests checked — only its headers
    are left to look at; or a `_Bad` for each damaged stretch (a truncated or garbled record,
    a digest that does not match, a wrong Content-Length), after which reading resumes at the
    next record that parses."""
    head = fh.read(2)
    gz = head == _GZIP_MAGIC[:2]
    pos = 0
    bad: _Bad | None = None
    while True:
        fh.seek(pos)
        it = _QuietIterator(fh, check_digests=True)
        start = pos
        try:
            for rec in it:
                start, errors = it.offset, it.err_count
                n = _drain(rec)
                it.read_to_end()
                declared = rec.payload_length if rec.payload_length >= 0 else rec.length
                if rec.digest_checker.passed is False:
                    raise _Damaged("; ".join(rec.digest_checker.problems))
                if it.err_count > errors:
                    raise _Damaged("the record is not followed by its blank lines: a wrong Content-Length")
                if declared is not None and n < int(declared):
                    raise _Damaged(f"the record ends after {n} of its {declared} bytes (a truncated file?)")
                if bad is not None:
                    yield bad
                    bad = None
                yield start, rec
            if bad is not None:
                yield bad
            return
        except (_Damaged, *_READ_ERRORS) as exc:
            # a damaged record read through begins at `start`; one that failed to parse (or
            # broke off while being read) at the iterator's offset
            at = start if isinstance(exc, _Damaged) else it.offset
            if bad is None:
                bad = _Bad(at, _reason(exc))
            nxt = _next_start(fh, at + 1, gz)
            if nxt is None:
                yield bad
                return
            pos = nxt


def _read_at(fh: IO[bytes], offset: int) -> tuple[StatusAndHeaders | None, bytes]:
    """The HTTP headers and the payload of the record at `offset`: transfer-encoding undone
    (as an HTTP client does), content-encoding kept (as the server sent it)."""
    fh.seek(offset)
    rec = next(iter(_QuietIterator(fh)))
    stream = rec.raw_stream
    if rec.http_headers is not None and _has_chunked(rec.http_headers.headers):
        # de-chunks when the body is chunked; a body that is not (some writers store it
        # de-chunked under the original header) is read as it is
        stream = ChunkedDataReader(stream)
    chunks = []
    while True:
        buf = stream.read(BUFF_SIZE)
        if not buf:
            break
        chunks.append(buf)
    return rec.http_headers, b"".join(chunks)


# ==== import: from records to captures =========================================================
def _digest_key(value: str | None) -> str | None:
    """A WARC digest ("sha1:BASE32", or base16 / base64) as "algo:hex", so writers that encode
    it differently still match."""
    if not value or ":" not in value:
        return None
    algo, _, text = value.partition(":")
    algo, text = algo.strip().lower(), text.strip()
    raw = None
    for decode in (lambda t: base64.b32decode(t.upper()), lambda t: bytes.fromhex(t),
                   lambda t: base64.b64decode(t, altchars=b"-_" if ("-" in t or "_" in t) else None, validate=True)):
        try:
            raw = decode(text)
            break
        except (binascii.Error, ValueError):
            continue
    if raw is None:
        return None
    return f"{algo}:{raw.hex()}"


def _parse_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        dt = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return dt.astimezone(timezone.utc) if dt.tzinfo else dt.replace(tzinfo=timezone.utc)


@dataclass
class _Entry:
    """A record that becomes a capture: a response, a revisit, or one of our error records."""

    file: int
    offset: int
    order: int  # position across all files: the tie-break for equal dates
    kind: str  # "response" | "revisit" | "error"
    uri: str
    date: datetime
    record_id: str | None
    status: int | None
    payload_digest: str | None
    concurrent_to: list[str]
    refers_to: str | None = None
    refers_to_uri: str | None = None
    refers_to_date: datetime | None = None
    fields: dict[str, str] = field(default_factory=dict)  # our Pagetrail-* fields
    truncated: bool = False


@dataclass
class _Request:
    method: str
    record_id: str | None
    concurrent_to: list[str]


@dataclass
class ImportReport:
    files: list[str] = field(default_factory=list)
    records_read: int = 0
    record_types: Counter[str] = field(default_factory=Counter)
    captures_imported: int = 0
    duplicates_skipped: int = 0
    new_revisions: int = 0
    requests_matched: int = 0
    revisits_resolved: int = 0
    corrupt: list[dict[str, Any]] = field(default_factory=list)  # {file, offset, reason}
    skipped: list[dict[str, Any]] = field(default_factory=list)  # {file, offset, url, reason}
    pages: set[int] = field(default_factory=set)
    notes: list[str] = field(default_factory=list)
    run: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "files": list(self.files),
            "run": self.run,
            "records_read": self.records_read,
            "record_types": dict(sorted(self.record_types.items())),
            "captures_imported": self.captures_imported,
            "duplicates_skipped": self.duplicates_skipped,
            "corrupt_skipped": len(self.corrupt),
            "corrupt": list(self.corrupt),
            "skipped": list(self.skipped),
            "requests_matched": self.requests_matched,
            "revisits_resolved": self.revisits_resolved,
            "new_revisions": self.new_revisions,
            "pages": len(self.pages),
            "notes": list(self.notes),
        }


class _Index:
    """What the first pass learns from every file: the captures to make and where each
    record's payload is, so the second pass can read them in capture-time order."""

    def __init__(self) -> None:
        self.entries: list[_Entry] = []
        self.requests: dict[str, _Request] = {}  # by record id
        self.request_for: dict[str, _Request] = {}  # by the record id it is concurrent to
        self.by_id: dict[str, tuple[int, int]] = {}  # response record id -> (file, offset)
        self.by_digest: dict[str, tuple[int, int]] = {}  # payload digest -> first response
        self.by_uri_date: dict[tuple[str, datetime], tuple[int, int]] = {}

    def add(self, file_no: int, offset: int, rec: ArcWarcRecord, report: ImportReport) -> None:
        h = rec.rec_headers
        kind = rec.rec_type
        uri = (h.get_header("WARC-Target-URI") or "").strip()
        record_id = h.get_header("WARC-Record-ID")
        concurrent = [v for k, v in h.headers if k.lower() == "warc-concurrent-to"]
        if kind == "request":
            method = (rec.http_headers.protocol if rec.http_headers else "") or "?"
            req = _Request(method.upper(), record_id, concurrent)
            if record_id:
                self.requests[record_id] = req
            for other in concurrent:
                self.request_for[other] = req
            return
        error_record = kind == "metadata" and h.get_header(RECORD_KIND) == "fetch-error"
        if kind not in ("response", "revisit") and not error_record:
            return  # warcinfo, our ParsedPage metadata, resources, conversions: nothing to capture
        if not uri.lower().startswith(("http://", "https://")):
            report.skipped.append({"file": report.files[file_no], "offset": offset, "url": uri,
                                   "reason": f"a {kind} record for a non-HTTP URI"})
            return
        date = _parse_date(h.get_header("WARC-Date"))
        if date is None:
            report.skipped.append({"file": report.files[file_no], "offset": offset, "url": uri,
                                   "reason": f"no readable WARC-Date ({h.get_header('WARC-Date')!r})"})
            return
        status = None
        if not error_record:
            if rec.http_headers is None and kind == "response":
                report.skipped.append({"file": report.files[file_no], "offset": offset, "url": uri,
                                       "reason": "a response record without an HTTP response in it"})
                return
            if rec.http_headers is not None:
                try:
                    status = int(rec.http_headers.get_statuscode())
                except (TypeError, ValueError):
                    report.skipped.append({"file": report.files[file_no], "offset": offset, "url": uri,
                                           "reason": f"no HTTP status in {rec.http_headers.statusline!r}"})
                    return
        entry = _Entry(
            file=file_no, offset=offset, order=len(self.entries), kind="error" if error_record else kind,
            uri=uri, date=date, record_id=record_id, status=status,
            payload_digest=_digest_key(h.get_header("WARC-Payload-Digest")), concurrent_to=concurrent,
            refers_to=h.get_header("WARC-Refers-To"),
            refers_to_uri=h.get_header("WARC-Refers-To-Target-URI"),
            refers_to_date=_parse_date(h.get_header("WARC-Refers-To-Date")),
            fields={k: v for k, v in h.headers if k.lower().startswith("pagetrail-")},
            truncated=bool(h.get_header("WARC-Truncated")),
        )
        self.entries.append(entry)
        if kind == "response":
            where = (file_no, offset)
            if record_id:
                self.by_id[record_id] = where
            if entry.payload_digest:
                self.by_digest.setdefault(entry.payload_digest, where)
            self.by_uri_date.setdefault((uri, date), where)

    def request_of(self, e: _Entry) -> _Request | None:
        for rid in e.concurrent_to:
            if rid in self.requests:
                return self.requests[rid]
        return self.request_for.get(e.record_id or "")

    def original_of(self, e: _Entry) -> tuple[int, int] | None:
        """Where the payload a revisit record stands for was written, if in these files."""
        if e.refers_to and e.refers_to in self.by_id:
            return self.by_id[e.refers_to]
        if e.payload_digest and e.payload_digest in self.by_digest:
            return self.by_digest[e.payload_digest]
        if e.refers_to_uri and e.refers_to_date:
            return self.by_uri_date.get((e.refers_to_uri, e.refers_to_date))
        return None


def _open_warc(path: Path, report: ImportReport) -> IO[bytes]:
    """The file to read records from. A WARC gzipped as ONE stream (`gzip file.warc`, not one
    member per record, so records cannot be found by offset) is decompressed into a temporary
    file first; the report says so, and its offsets are then in the decompressed data."""
    fh = open(path, "rb")
    if fh.read(2) != _GZIP_MAGIC[:2]:
        fh.seek(0)
        return fh
    fh.seek(0)
    inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
    out = tempfile.TemporaryFile()
    try:
        while not inflate.eof:
            block = fh.read(1 << 20)
            if not block:
                break
            out.write(inflate.decompress(block))
        one_stream = inflate.eof and not inflate.unused_data and not fh.read(1)
    except zlib.error:
        one_stream = False  # damaged: leave it to the record reader, which reports where
    if not one_stream:  # gzipped per record (the first member ended before the file did)
        out.close()
        fh.seek(0)
        return fh
    fh.close()
    out.seek(0)
    report.notes.append(f"{path}: gzipped as one stream, not per record; read decompressed "
                        "(offsets below are in the decompressed data)")
    return out


def default_parse(content: bytes, url: str, headers: list[tuple[str, str]], fetched_at: datetime) -> ParsedPage:
    import parsers

    return parsers.parse(content, url, headers=headers, fetched_at=fetched_at)


def import_warc(
    engine: Engine,
    paths: Sequence[Path],
    *,
    parse: ParseFn | None = None,
) -> ImportReport:
    """Import the captures in these WARC files into the archive on `engine`.

    Two passes: the first reads every record of every file (checking digests and framing,
    skipping and reporting damaged stretches) and notes where each capture's payload is; the
    second stores the captures in capture-time order (WARC-Date), each through the archive's
    unit of work, so a page's history is built as if it had been crawled then (captures older
    than ones already archived are replayed by storage). For each capture:
    - the payload is kept as the server sent it (chunking undone, content-encoding kept) and
      the decoded body is parsed with `parse` (default: the bundled profiles) at WARC-Date;
    - a revisit record gets the payload it refers to (WARC-Refers-To, else its payload digest,
      else WARC-Refers-To-Target-URI + -Date, else a sha256 payload digest archived before); a
      revisit with status 304 is a "not modified" capture; one that cannot be resolved is
      skipped and reported;
    - a request record, when there is one (WARC-Concurrent-To either way), must be a GET;
      responses to other methods are skipped and reported;
    - a capture the archive already holds (same page, time, status and payload) is counted
      as a duplicate, so importing a file twice adds nothing — and an import that was
      interrupted can simply be run again.
    """
    archive = Archive(engine)
    parse = parse or default_parse
    report = ImportReport(files=[str(p) for p in paths])
    index = _Index()
    with ExitStack() as stack:
        handles = [stack.enter_context(_open_warc(p, report)) for p in paths]
        for file_no, fh in enumerate(handles):
            for item in scan_records(fh):
                if isinstance(item, _Bad):
                    report.corrupt.append({"file": report.files[file_no], "offset": item.offset,
                                           "reason": item.reason})
                    continue
                offset, rec = item
                report.records_read += 1
                report.record_types[rec.rec_type or "unknown"] += 1
                index.add(file_no, offset, rec, report)
        report.run = archive.start_run("import-warc", report.files)
        stats: Counter[str] = Counter()
        try:
            for e in sorted(index.entries, key=lambda e: (e.date, e.order)):
                _import_entry(archive, index, handles, e, parse, report)
        finally:
            stats.update(imported=report.captures_imported, duplicates=report.duplicates_skipped,
                         corrupt=len(report.corrupt), skipped=len(report.skipped),
                         new_revisions=report.new_revisions, fetched=report.captures_imported)
            archive.finish_run(report.run, dict(stats))
    return report


def _import_entry(archive: Archive, index: _Index, handles: list[IO[bytes]], e: _Entry, parse: ParseFn,
                  report: ImportReport) -> None:
    def skip(reason: str) -> None:
        report.skipped.append({"file": report.files[e.file], "offset": e.offset, "url": e.uri, "reason": reason})

    requested = e.fields.get(REQUESTED_URI) or e.uri
    try:
        requested = normalize_url(requested)
    except InvalidURL as exc:
        return skip(f"not a page URL: {exc}")
    redirects: list[tuple[str, int]] = []
    if REDIRECTS in e.fields:
        try:
            redirects = [(str(u), int(st)) for u, st in json.loads(e.fields[REDIRECTS])]
        except (ValueError, TypeError):
            redirects = []
    capture = CaptureIn(requested_url=requested, fetched_at=e.date, final_url=e.uri, redirects=redirects,
                        error_kind=e.fields.get(ERROR_KIND), error_message=e.fields.get(ERROR_MESSAGE),
                        truncated=e.truncated, crawl_run_id=report.run)
    if e.kind != "error":
        req = index.request_of(e)
        if req is not None:
            report.requests_matched += 1
            if req.method != "GET":
                return skip(f"the response to a {req.method} request, not a page fetch")
        http, payload = _read_at(handles[e.file], e.offset)
        capture.status = e.status
        if e.kind == "revisit" and e.status != 304:
            where = index.original_of(e)
            original_http = None
            if where is not None:
                original_http, payload = _read_at(handles[where[0]], where[1])
            else:
                archived = None
                if e.payload_digest and e.payload_digest.startswith("sha256:"):
                    archived = warcdata.stored_payload(archive, e.payload_digest.split(":", 1)[1])
                if archived is None:
                    return skip("a revisit record whose original payload is neither in these files nor archived")
                payload = archived
            report.revisits_resolved += 1
            http = http or original_http  # an empty revisit borrows the original's headers
        elif e.status == 304:
            payload = b""  # "not modified" has no body; the archive links the payload it confirms
        if http is None:
            return skip("no HTTP headers for this capture")
        capture.status = int(http.get_statuscode())
        capture.headers = [(k, v) for k, v in http.headers]
        capture.http_version = http.protocol or None
        capture.payload = payload
    if warcdata.capture_known(archive, capture):
        report.duplicates_skipped += 1
        return None
    parsed = _parse_capture(capture, parse)
    stored = warcdata.store_new_capture(archive, capture, parsed)
    if stored is None:
        report.duplicates_skipped += 1
        return None
    report.captures_imported += 1
    report.pages.add(stored.page_id)
    if stored.outcome == "new_revision":
        report.new_revisions += 1
    return None


def _parse_capture(capture: CaptureIn, parse: ParseFn) -> ParsedPage | None:
    """Decode and parse as the crawler does a fresh fetch (same gate, same decoding errors)."""
    from crawler.engine import is_parseable
    from crawler.fetcher import decode_capture

    if capture.payload is None or not is_parseable(capture):
        return None
    content = decode_capture(capture)
    if content is None:
        return None
    return parse(content, capture.final_url or capture.requested_url, capture.headers, capture.fetched_at)
