"""Memento (RFC 7089) in the URL conventions of the Wayback Machine and pywb (DESIGN.md).

Two kinds of memento share one scheme:
- raw:     /web/{YYYYMMDDhhmmss}/{URL}      the bytes as served (content-encoding undone)
           TimeGate /timegate/{URL}, TimeMaps /timemap/link/{URL} and /timemap/json/{URL}
- records: /records/{YYYYMMDDhhmmss}/{URL}  the parsed as-of record (JSON)
           TimeGate /records/timegate/{URL}, TimeMaps /records/timemap/link|json/{URL}

This is RFC 7089's pattern 2.2 (the original resource lives elsewhere; a separate, redirecting
TimeGate). Selection follows the archive's one "as of T" rule: the latest memento at or before
T. A 14-digit stamp or an Accept-Datetime names a whole second, so T is the end of that second.
Before the first memento the TimeGate offers the first one and says so (X-Memento-Notice and the
body). Two captures within one second share a URL; the later one answers for it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from pagetrail.web.http import (
    ONE_SECOND,
    BadRequest,
    error_json,
    http_date,
    json_response,
    not_modified,
    parse_http_date,
    parse_stamp,
    stamp,
    target_url,
)
from parsers.urls import InvalidURL, normalize_url
from parsers.content_encoding import DecodingError, decode_payload, encodings_of
from storage import queries, webqueries
from storage.blobs import get_blob
from storage.webqueries import MementoRow

# The archived bytes are hostile: no script runs, nothing loads from the live web, no form posts,
# and only our own UI may frame them. `sandbox` (no allow-*) also gives the document an opaque
# origin, so even an injected script could not read the app's cookies or storage.
RAW_CSP = (
    "sandbox; default-src 'none'; img-src data:; style-src 'unsafe-inline'; font-src data:; "
    "media-src data:; form-action 'none'; base-uri 'none'; frame-ancestors 'self'"
)
_HOP_BY_HOP = {
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
    "transfer-encoding", "upgrade", "content-length", "content-encoding",
}
_CTL = re.compile(r"[\x00-\x1f\x7f]")
FAR_FUTURE = datetime(9999, 12, 31, tzinfo=timezone.utc)


@dataclass(frozen=True)
class Kind:
    """Where one kind of memento lives."""

    name: str
    memento_prefix: str  # "/web" | "/records"
    timegate_prefix: str
    timemap_prefix: str


RAW = Kind("raw", "/web", "/timegate", "/timemap")
RECORDS = Kind("records", "/records", "/records/timegate", "/records/timemap")


@dataclass
class Context:
    """A URL's mementos as one face sees them."""

    page_url: str
    mementos: list[MementoRow]  # oldest first, one per second
    base: str  # scheme://host[:port] of this server
    kind: Kind

    def memento_uri(self, m: MementoRow) -> str:
        return f"{self.base}{self.kind.memento_prefix}/{stamp(m.at)}/{self.page_url}"

    @property
    def timegate_uri(self) -> str:
        return f"{self.base}{self.kind.timegate_prefix}/{self.page_url}"

    def timemap_uri(self, fmt: str) -> str:
        return f"{self.base}{self.kind.timemap_prefix}/{fmt}/{self.page_url}"


def _one_per_second(rows: list[MementoRow]) -> list[MementoRow]:
    out: list[MementoRow] = []
    for m in rows:
        if out and stamp(out[-1].at) == stamp(m.at):
            out[-1] = m  # the later capture in the same second answers for it
        else:
            out.append(m)
    return out


def _context(request: Request, s: Session, url: str, kind: Kind) -> Context:
    page = queries.resolve_page(s, url)
    rows = webqueries.raw_mementos(s, page.id) if kind is RAW else webqueries.record_mementos(s, page.id)
    base = str(request.base_url).rstrip("/")
    return Context(page.url, _one_per_second(rows), base, kind)


def select(mementos: list[MementoRow], at: datetime) -> tuple[int, bool]:
    """The as-of rule over mementos: (index of the latest at or before `at`, True if `at` is
    before the first memento and the first is offered instead)."""
    chosen = None
    for i, m in enumerate(mementos):
        if m.at <= at:
            chosen = i
        else:
            break
    if chosen is None:
        return 0, True
    return chosen, False


def _link(uri: str, rel: str, **params: str) -> str:
    return f'<{uri}>; rel="{rel}"' + "".join(f'; {k}="{v}"' for k, v in params.items())


def _memento_links(ctx: Context, i: int | None) -> list[str]:
    """first/prev/next/last (and the selected memento itself), each URI once with all its rels."""
    ms = ctx.mementos
    rels: dict[int, list[str]] = {}

    def add(j: int, rel: str) -> None:
        rels.setdefault(j, []).append(rel)

    add(0, "first")
    add(len(ms) - 1, "last")
    if i is not None:
        if i > 0:
            add(i - 1, "prev")
        if i < len(ms) - 1:
            add(i + 1, "next")
        rels.setdefault(i, [])
    order = ["first", "prev", "next", "last"]
    out = []
    for j in sorted(rels):
        words = sorted(set(rels[j]), key=order.index) + ["memento"]
        out.append(_link(ctx.memento_uri(ms[j]), " ".join(words), datetime=http_date(ms[j].at)))
    return out


def _span(ctx: Context) -> dict[str, str]:
    return {"from": http_date(ctx.mementos[0].at), "until": http_date(ctx.mementos[-1].at)}


def link_header(ctx: Context, i: int | None, *, with_timegate: bool) -> str:
    links = [_link(ctx.page_url, "original")]
    if with_timegate:
        links.append(_link(ctx.timegate_uri, "timegate"))
    links.append(_link(ctx.timemap_uri("link"), "timemap", type="application/link-format", **_span(ctx)))
    links.append(_link(ctx.timemap_uri("json"), "timemap", type="application/json", **_span(ctx)))
    links.extend(_memento_links(ctx, i))
    return ", ".join(links)


def _no_mementos(ctx: Context) -> Response:
    what = "stored bytes" if ctx.kind is RAW else "parsed records that take part in versioning"
    return error_json(404, f"{ctx.page_url} is in the archive but has no {what} yet; "
                      f"see /api/captures?url={ctx.page_url} for its fetches")


# ---- TimeGate -----------------------------------------------------------------------------------

def _timegate(request: Request, url: str, kind: Kind) -> Response:
    accept = request.headers.get("accept-datetime")
    at = parse_http_date(accept) + ONE_SECOND if accept else FAR_FUTURE
    with request.app.state.archive.sessions() as s:
        ctx = _context(request, s, url, kind)
    if not ctx.mementos:
        return _no_mementos(ctx)
    i, before_first = select(ctx.mementos, at)
    m = ctx.mementos[i]
    location = ctx.memento_uri(m)
    headers = {
        "Location": location,
        "Vary": "accept-datetime",
        "Link": link_header(ctx, i, with_timegate=False),
    }
    if before_first:
        assert accept is not None
        headers["X-Memento-Notice"] = "before-first-memento"
        body = (
            f"The archive has nothing for {ctx.page_url} as of {accept}: its first memento is from "
            f"{http_date(m.at)}. Redirecting to that first memento.\n"
        )
    else:
        body = f"Redirecting to the memento of {ctx.page_url} from {http_date(m.at)}: {location}\n"
    return Response(body, status_code=302, headers=headers, media_type="text/plain; charset=utf-8")


async def timegate(request: Request) -> Response:
    return await _threaded(_timegate, request, target_url(request, 1), RAW)


async def records_timegate(request: Request) -> Response:
    return await _threaded(_timegate, request, target_url(request, 2), RECORDS)


# ---- TimeMaps -------------------------------------------------------------------------------------

def _timemap(request: Request, url: str, kind: Kind, fmt: str) -> Response:
    with request.app.state.archive.sessions() as s:
        ctx = _context(request, s, url, kind)
    if not ctx.mementos:
        return _no_mementos(ctx)
    if fmt == "json":
        items = [
            {"datetime": queries.iso(m.at.replace(microsecond=0)), "uri": ctx.memento_uri(m), "status": m.status}
            for m in ctx.mementos
        ]
        data = {
            "original_uri": ctx.page_url,
            "timegate_uri": ctx.timegate_uri,
            "timemap_uri": {"link_format": ctx.timemap_uri("link"), "json_format": ctx.timemap_uri("json")},
            "mementos": {"first": items[0], "last": items[-1], "list": items},
        }
        return json_response(request, data)
    lines = [
        _link(ctx.page_url, "original"),
        _link(ctx.timemap_uri("link"), "self", type="application/link-format", **_span(ctx)),
        _link(ctx.timemap_uri("json"), "timemap", type="application/json"),
        _link(ctx.timegate_uri, "timegate"),
    ]
    last = len(ctx.mementos) - 1
    for j, m in enumerate(ctx.mementos):
        words = (["first"] if j == 0 else []) + (["last"] if j == last else []) + ["memento"]
        lines.append(_link(ctx.memento_uri(m), " ".join(words), datetime=http_date(m.at)))
    body = (",\n".join(lines) + "\n").encode("utf-8")
    from pagetrail.web.http import etag_for

    etag = etag_for(body)
    headers = {"ETag": etag, "Cache-Control": "no-cache"}
    if not_modified(request, etag):
        return Response(status_code=304, headers=headers)
    return Response(body, headers=headers, media_type="application/link-format")


async def timemap(request: Request) -> Response:
    fmt = request.path_params["fmt"]
    prefix = 2
    return await _threaded(_timemap, request, target_url(request, prefix), RAW, fmt)


async def records_timemap(request: Request) -> Response:
    fmt = request.path_params["fmt"]
    return await _threaded(_timemap, request, target_url(request, 3), RECORDS, fmt)


# ---- mementos -------------------------------------------------------------------------------------

def _resolve_memento(request: Request, s: Session, ts: str, url: str, kind: Kind) -> tuple[Context, int] | Response:
    """The memento a stamped URL names, or a redirect to the one the as-of rule picks."""
    ctx = _context(request, s, url, kind)
    if not ctx.mementos:
        return _no_mementos(ctx)
    i, _before = select(ctx.mementos, parse_stamp(ts))
    m = ctx.mementos[i]
    if stamp(m.at) != ts or _normalized(url) != ctx.page_url:
        # Not this memento's exact URL: send the client to the canonical memento URL (pywb and
        # the Wayback Machine do the same), keeping the Memento headers on the redirect.
        return Response(
            f"The closest memento is at {ctx.memento_uri(m)}\n",
            status_code=302,
            headers={"Location": ctx.memento_uri(m), "Link": link_header(ctx, i, with_timegate=True)},
            media_type="text/plain; charset=utf-8",
        )
    return ctx, i


def _normalized(url: str) -> str:
    # Compare normalized forms, so a client that re-encodes the URL never loops on redirects.
    try:
        return normalize_url(url)
    except InvalidURL:
        return url


def _clean(value: str) -> str:
    return _CTL.sub(" ", value)


def _raw_memento(request: Request, ts: str, url: str) -> Response:
    with request.app.state.archive.sessions() as s:
        found = _resolve_memento(request, s, ts, url, RAW)
        if isinstance(found, Response):
            return found
        ctx, i = found
        cap = webqueries.capture_row(s, ctx.mementos[i].capture_id)
        assert cap is not None and cap.blob_digest is not None
        stored_headers = webqueries.payload_headers(s, cap)
        digest = cap.blob_digest
        encodings = encodings_of([(k, v) for k, v in stored_headers])
        # The body sent is the decoded payload when it was encoded: a different representation
        # from the stored bytes, so a different validator.
        etag = f'"{digest}-decoded"' if encodings else f'"{digest}"'
        m = ctx.mementos[i]
        headers: dict[str, str] = {
            "Memento-Datetime": http_date(m.at),
            "Link": link_header(ctx, i, with_timegate=True),
            "Content-Security-Policy": RAW_CSP,
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
            "Cache-Control": "max-age=300",
            "ETag": etag,
        }
        if not_modified(request, etag):
            return Response(status_code=304, headers=headers)
        payload = get_blob(s, digest)
        truncated = bool(cap.truncated)
        status = cap.status if cap.status and 200 <= cap.status < 600 and cap.status != 304 else 200
    content_type = "application/octet-stream"
    for k, v in stored_headers:
        lk = k.lower()
        if lk == "content-type":
            content_type = _clean(v)
        if lk not in _HOP_BY_HOP:
            headers[f"X-Archive-Orig-{_clean(k)}"] = _clean(v)
    body = payload
    if encodings:
        try:
            body, cut = decode_payload(payload, [(k, v) for k, v in stored_headers])
            truncated = truncated or cut
        except DecodingError as exc:
            # Cannot undo it here (e.g. brotli without its module, or a corrupt stream): send
            # the bytes exactly as stored with the encoding they were stored with.
            headers["Content-Encoding"] = ", ".join(encodings)
            headers["X-Memento-Notice"] = _clean(f"stored encoding kept: {exc}")
    if truncated:
        headers["X-Archive-Truncated"] = "true"
    headers["X-Archive-Status"] = str(cap.status)
    headers["Content-Type"] = content_type  # as archived, verbatim: no charset is added
    return Response(body, status_code=status, headers=headers)


def _records_memento(request: Request, ts: str, url: str) -> Response:
    with request.app.state.archive.sessions() as s:
        found = _resolve_memento(request, s, ts, url, RECORDS)
        if isinstance(found, Response):
            return found
        ctx, i = found
        m = ctx.mementos[i]
        view: dict[str, Any] = queries.as_of(s, ctx.page_url, m.at)
    view["memento"] = {"datetime": queries.iso(m.at), "capture": m.capture_id}
    return json_response(
        request,
        view,
        headers={
            "Memento-Datetime": http_date(m.at),
            "Link": link_header(ctx, i, with_timegate=True),
            "Content-Security-Policy": "sandbox; default-src 'none'",
        },
    )


async def web_memento(request: Request) -> Response:
    ts = request.path_params["ts"]
    if not ts.isdigit():
        # /web/{URL} with no timestamp: behave as the TimeGate (latest, or Accept-Datetime).
        return await _threaded(_timegate, request, target_url(request, 1), RAW)
    return await _threaded(_raw_memento, request, ts, target_url(request, 2))


async def records_memento(request: Request) -> Response:
    ts = request.path_params["ts"]
    if not ts.isdigit():
        return await _threaded(_timegate, request, target_url(request, 1), RECORDS)
    return await _threaded(_records_memento, request, ts, target_url(request, 2))


async def _threaded(fn: Any, *args: Any) -> Response:
    # Database work is synchronous (SQLAlchemy sessions): keep it off the event loop.
    from starlette.concurrency import run_in_threadpool

    return await run_in_threadpool(fn, *args)


def _check_fmt(fmt: str) -> None:
    if fmt not in ("link", "json"):
        raise BadRequest("TimeMaps come as /timemap/link/{URL} or /timemap/json/{URL}")


async def timemap_checked(request: Request) -> Response:
    _check_fmt(request.path_params["fmt"])
    return await timemap(request)


async def records_timemap_checked(request: Request) -> Response:
    _check_fmt(request.path_params["fmt"])
    return await records_timemap(request)


routes = [
    Route("/timegate/{url:path}", timegate, methods=["GET", "HEAD"]),
    Route("/timemap/{fmt}/{url:path}", timemap_checked, methods=["GET", "HEAD"]),
    Route("/web/{ts}/{url:path}", web_memento, methods=["GET", "HEAD"]),
    # Before /records/{ts}/...: "timegate" and "timemap" are never timestamps.
    Route("/records/timegate/{url:path}", records_timegate, methods=["GET", "HEAD"]),
    Route("/records/timemap/{fmt}/{url:path}", records_timemap_checked, methods=["GET", "HEAD"]),
    Route("/records/{ts}/{url:path}", records_memento, methods=["GET", "HEAD"]),
]
