"""The web UI: server-rendered pages over the same queries as the API. No JavaScript.

Archived pages are hostile input: templates autoescape everything, links from archived data are
kept only when they are http(s), and raw captures appear only in a sandboxed iframe whose source
is the /web/ memento path (Content-Security-Policy: sandbox there).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates

from pagetrail.diffing import DIFF_FIELDS, diff_data
from pagetrail.timeparse import BadTime, parse_moment, parse_revision_ref, utc_now
from pagetrail.web import timeline, wordiff
from pagetrail.web.http import BadRequest, int_param, stamp
from storage import queries, search, webqueries

HERE = Path(__file__).parent
PAGE_SIZE = 50


# ---- template helpers ---------------------------------------------------------------------------

def safe_href(url: Any) -> str | None:
    """Only http(s) links from archived data become links; javascript:, data: and the rest stay text."""
    if not isinstance(url, str):
        return None
    try:
        scheme = urlsplit(url.strip()).scheme.lower()
    except ValueError:
        return None
    return url.strip() if scheme in ("http", "https") else None


def highlight(snippet: str) -> Markup:
    """storage.search marks hits with **...**: escape everything, then wrap the hits in <mark>."""
    parts = (snippet or "").split("**")
    out = []
    for i, part in enumerate(parts):
        text = escape(part)
        out.append(Markup("<mark>") + text + Markup("</mark>") if i % 2 else text)
    return Markup("").join(out)


def nice_time(value: Any) -> str:
    if not value:
        return ""
    dt = parse_moment(value) if isinstance(value, str) else value
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def field_text(value: Any) -> str:
    if isinstance(value, list):
        return "; ".join(str(v) for v in value)
    return "" if value is None else str(value)


def make_templates() -> Jinja2Templates:
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(["html", "svg"], default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(safe_href=safe_href, highlight=highlight, nice_time=nice_time, field_text=field_text,
                       stamp=lambda v: stamp(parse_moment(v) if isinstance(v, str) else v))
    # A trailing underscore lets templates pass Python keywords: qs(from_=1) -> from=1.
    env.globals["qs"] = lambda **kw: urlencode({k.rstrip("_"): v for k, v in kw.items() if v not in (None, "")})
    return Jinja2Templates(env=env)


def render(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    templates: Jinja2Templates = request.app.state.templates
    return templates.TemplateResponse(request, name, context, status_code=status)


def error_page(request: Request, status: int, message: str) -> Response:
    return render(request, "error.html", status=status, status_code=status, message=message)


def _threaded(fn: Callable[[Request], Response]) -> Callable[[Request], Any]:
    async def endpoint(request: Request) -> Response:
        return await run_in_threadpool(fn, request)

    endpoint.__name__ = fn.__name__
    return endpoint


def _url(request: Request) -> str:
    url = request.query_params.get("url")
    if not url:
        raise BadRequest("which page? add ?url=THE_PAGE_URL, or pick one from the pages list")
    return url


def _sessions(request: Request):  # type: ignore[no-untyped-def]
    return request.app.state.archive.sessions


# ---- pages ----------------------------------------------------------------------------------------

def index(request: Request) -> Response:
    with _sessions(request)() as s:
        sites = webqueries.list_sites(s)
        totals = queries.totals(s)
        _n, recent = webqueries.list_pages(s, sort="last_seen", limit=10)
    return render(request, "index.html", sites=sites, totals=totals, recent=recent)


def pages(request: Request) -> Response:
    offset = int_param(request, "offset", 0, 0, 10**9)
    sort = request.query_params.get("sort", "url")
    if sort not in webqueries.PAGE_SORTS:
        sort = "url"
    has = request.query_params.get("has_comments") or ""
    f = {
        "site": request.query_params.get("site") or "",
        "q": request.query_params.get("q") or "",
        "has_comments": has,
        "sort": sort,
    }
    with _sessions(request)() as s:
        total, rows = webqueries.list_pages(
            s, site=f["site"] or None, q=f["q"] or None,
            has_comments={"yes": True, "no": False}.get(has), sort=sort, limit=PAGE_SIZE, offset=offset,
        )
        sites = webqueries.list_sites(s)
    return render(request, "pages.html", rows=rows, total=total, offset=offset, size=PAGE_SIZE, f=f, sites=sites)


def page(request: Request) -> Response:
    url = _url(request)
    with _sessions(request)() as s:
        h = queries.history(s, url)
        page_row = queries.resolve_page(s, url)
        caps = webqueries.captures(s, page_row.id)
        ct = webqueries.comment_timeline(s, page_row.id)
    plot = timeline.build(h, caps, ct["counts"])
    return render(request, "page.html", h=h, captures=caps, plot=plot, events=ct["events"], url=h["url"])


def as_of(request: Request) -> Response:
    url = _url(request)
    raw_at = request.query_params.get("at")
    at = parse_moment(raw_at) if raw_at else utc_now()
    with _sessions(request)() as s:
        h = queries.history(s, url)
        try:
            view = queries.as_of(s, url, at)
        except queries.NotFound as exc:
            # Before the first capture there is nothing (DESIGN.md); offer the first revision.
            first = h["revisions"][0]["first_seen"] if h["revisions"] else None
            return render(request, "asof_none.html", status=404, url=h["url"], at=at, message=str(exc), first=first)
        page_row = queries.resolve_page(s, url)
        mementos = webqueries.raw_mementos(s, page_row.id)
    raw = None
    for m in mementos:  # the raw capture the as-of rule picks: the latest at or before `at`
        if m.at <= at:
            raw = m
    md = view["revision"]["metadata"]
    return render(request, "asof.html", v=view, md=md, h=h, url=h["url"], at=at, raw=raw,
                  fields=DIFF_FIELDS, revisions=h["revisions"])


def capture(request: Request) -> Response:
    """The raw capture in a sandboxed frame, with what the archive knows about it around it."""
    url = _url(request)
    raw_at = request.query_params.get("at")
    at = parse_moment(raw_at) if raw_at else utc_now()
    with _sessions(request)() as s:
        page_row = queries.resolve_page(s, url)
        mementos = webqueries.raw_mementos(s, page_row.id)
        caps = {c["capture"]: c for c in webqueries.captures(s, page_row.id)}
    if not mementos:
        raise queries.NotFound(f"{page_row.url} has no stored bytes yet")
    chosen, before = mementos[0], True
    for m in mementos:
        if m.at <= at:
            chosen, before = m, False
    frame_src = f"/web/{stamp(chosen.at)}/{page_row.url}"
    return render(request, "capture.html", url=page_row.url, m=chosen, cap=caps.get(chosen.capture_id),
                  frame_src=frame_src, before=before, at=at)


def diff(request: Request) -> Response:
    url = _url(request)
    try:
        ref_from = parse_revision_ref(request.query_params["from"]) if request.query_params.get("from") else None
        ref_to = parse_revision_ref(request.query_params["to"]) if request.query_params.get("to") else None
    except BadTime as exc:
        raise BadRequest(str(exc)) from None
    with _sessions(request)() as s:
        h = queries.history(s, url)
        page_url, a, b = queries.diff_sides(s, url, ref_from, ref_to)
    d = diff_data(page_url, a, b)
    sbs = wordiff.side_by_side(d["body"]["from"], d["body"]["to"])
    meta_rows = []
    for name, change in d["metadata"].items():
        left, right = wordiff.word_diff(field_text(change["from"]), field_text(change["to"]))
        meta_rows.append({"name": name, "left": left, "right": right})
    return render(request, "diff.html", d=d, sbs=sbs, meta_rows=meta_rows, url=page_url, revisions=h["revisions"])


def comments(request: Request) -> Response:
    url = _url(request)
    with _sessions(request)() as s:
        page_row = queries.resolve_page(s, url)
        ct = webqueries.comment_timeline(s, page_row.id)
    items = sorted(ct["comments"], key=lambda c: (-(c["number"] or 0), c["first_seen"] or ""))
    return render(request, "comments.html", url=page_row.url, comments=items, events=ct["events"])


def search_page(request: Request) -> Response:
    q = (request.query_params.get("q") or "").strip()
    where = request.query_params.get("in", "all")
    if where not in ("body", "comments", "all"):
        where = "all"
    hits: list[dict[str, Any]] = []
    error = None
    if q:
        with _sessions(request)() as s:
            try:
                hits = [h.to_dict() for h in search.search(s, q, where=where, limit=50)]
            except search.BadQuery as exc:
                error = str(exc)
    return render(request, "search.html", q=q, where=where, hits=hits, error=error)


def status(request: Request) -> Response:
    with _sessions(request)() as s:
        data = {
            "totals": queries.totals(s),
            "storage": queries.storage_totals(s),
            "runs": webqueries.recent_runs(s, 20),
            "schedules": webqueries.schedules_overview(s),
            "last_capture_at": webqueries.latest_capture_time(s),
        }
    return render(request, "status.html", **data)


routes = [
    Route("/", _threaded(index), methods=["GET"]),
    Route("/pages", _threaded(pages), methods=["GET"]),
    Route("/page", _threaded(page), methods=["GET"]),
    Route("/page/as-of", _threaded(as_of), methods=["GET"]),
    Route("/page/capture", _threaded(capture), methods=["GET"]),
    Route("/page/diff", _threaded(diff), methods=["GET"]),
    Route("/page/comments", _threaded(comments), methods=["GET"]),
    Route("/search", _threaded(search_page), methods=["GET"]),
    Route("/status", _threaded(status), methods=["GET"]),
]


def now_utc() -> datetime:
    return datetime.now(timezone.utc)
