"""The JSON API under /api/: thin handlers over storage.queries, storage.webqueries, storage.search.

Every answer is JSON with an ETag (a matching If-None-Match gets 304); every error is
{"error": message}. Reads are open; anything that changes the archive needs the configured
`api_token` as `Authorization: Bearer <token>`. The OpenAPI description (openapi.py) lists
exactly these routes; tests keep the two in step.
"""

from __future__ import annotations

import hmac
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import text
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from pagetrail import __version__
from pagetrail.diffing import diff_data
from pagetrail.timeparse import parse_moment, parse_revision_ref, utc_now
from pagetrail.web import wordiff
from pagetrail.web.http import (
    BadRequest,
    Forbidden,
    bool_param,
    int_param,
    json_response,
    required,
)
from storage import queries, schedules, search, webqueries
from storage.db import current_revision, head_revision

MAX_LIMIT = 500
URL_EXAMPLE = "http://www.wisegeek.com/what-is-liver-calcification.htm"


def _sessions(request: Request):  # type: ignore[no-untyped-def]
    return request.app.state.archive.sessions


def _threaded(fn: Callable[[Request], Response]) -> Callable[[Request], Any]:
    """Run a synchronous handler (database work) in the thread pool."""

    async def endpoint(request: Request) -> Response:
        return await run_in_threadpool(fn, request)

    endpoint.__name__ = fn.__name__
    endpoint.__doc__ = fn.__doc__
    return endpoint


def _moment(request: Request, name: str, *, default_now: bool = False):  # type: ignore[no-untyped-def]
    raw = request.query_params.get(name)
    if not raw:
        return utc_now() if default_now else None
    return parse_moment(raw)


# ---- health, status, metrics ------------------------------------------------------------------

def health(request: Request) -> Response:
    """Liveness and database reachability: 200 when the archive answers, 503 when it does not."""
    archive = request.app.state.archive
    try:
        with archive.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        schema = current_revision(archive.engine)
    except Exception as exc:  # noqa: BLE001 - any failure means "unhealthy", said as such
        return json_response(request, {"status": "unavailable", "error": f"database unreachable: {exc}"}, status=503)
    return json_response(
        request,
        {"status": "ok", "version": __version__, "schema": schema, "schema_expected": head_revision()},
    )


def _status_data(request: Request) -> dict[str, Any]:
    with _sessions(request)() as s:
        return {
            "totals": queries.totals(s),
            "storage": queries.storage_totals(s),
            "last_capture_at": queries.iso(webqueries.latest_capture_time(s)),
            "last_run": webqueries.last_run(s),
            "runs": webqueries.recent_runs(s, 20),
            "schedules": webqueries.schedules_overview(s),
        }


def status(request: Request) -> Response:
    """Archive totals (as `pagetrail status --json`), recent crawl runs and schedules."""
    return json_response(request, _status_data(request))


def metrics(request: Request) -> Response:
    """The same figures in the Prometheus text format, for scrapers."""
    data = _status_data(request)
    lines = []
    for name, value in data["totals"].items():
        lines += [f"# TYPE pagetrail_{name} gauge", f"pagetrail_{name} {value}"]
    for name, value in data["storage"].items():
        lines += [f"# TYPE pagetrail_storage_{name} gauge", f"pagetrail_storage_{name} {value}"]
    run = data["last_run"]
    if run and run["started_at"]:
        started = parse_moment(run["started_at"]).timestamp()
        lines += ["# TYPE pagetrail_last_run_started_seconds gauge", f"pagetrail_last_run_started_seconds {started:.0f}"]
        if run["finished_at"]:
            finished = parse_moment(run["finished_at"]).timestamp()
            lines += ["# TYPE pagetrail_last_run_finished_seconds gauge",
                      f"pagetrail_last_run_finished_seconds {finished:.0f}"]
    return Response("\n".join(lines) + "\n", media_type="text/plain; version=0.0.4; charset=utf-8",
                    headers={"Cache-Control": "no-cache"})


# ---- sites and pages ----------------------------------------------------------------------------

def sites(request: Request) -> Response:
    """Every site with its page and capture counts."""
    with _sessions(request)() as s:
        return json_response(request, {"items": webqueries.list_sites(s)})


def _next_link(request: Request, offset: int, limit: int, total: int) -> str | None:
    if offset + limit >= total:
        return None
    params = dict(request.query_params)
    params.update(offset=str(offset + limit), limit=str(limit))
    return f"{request.url.path}?{urlencode(params)}"


def pages(request: Request) -> Response:
    """Pages with filters (site, q, has_comments, changed_since, gone), sorting and pagination."""
    limit = int_param(request, "limit", 50, 1, MAX_LIMIT)
    offset = int_param(request, "offset", 0, 0, 10**9)
    sort = request.query_params.get("sort", "url")
    if sort not in webqueries.PAGE_SORTS:
        raise BadRequest(f"sort must be one of {', '.join(webqueries.PAGE_SORTS)}, got {sort!r}")
    with _sessions(request)() as s:
        total, items = webqueries.list_pages(
            s,
            site=request.query_params.get("site") or None,
            q=request.query_params.get("q") or None,
            has_comments=bool_param(request, "has_comments"),
            changed_since=_moment(request, "changed_since"),
            gone=bool_param(request, "gone"),
            sort=sort,
            limit=limit,
            offset=offset,
        )
    nxt = _next_link(request, offset, limit, total)
    headers = {"Link": f'<{nxt}>; rel="next"'} if nxt else None
    return json_response(
        request, {"total": total, "limit": limit, "offset": offset, "next": nxt, "items": items}, headers=headers
    )


def history(request: Request) -> Response:
    """A page's revisions and comment lifetimes (as `pagetrail history --json`)."""
    url = required(request, "url", URL_EXAMPLE)
    with _sessions(request)() as s:
        return json_response(request, queries.history(s, url))


def captures(request: Request) -> Response:
    """Every fetch of a page, failed ones too, with the revision valid at each."""
    url = required(request, "url", URL_EXAMPLE)
    with _sessions(request)() as s:
        page = queries.resolve_page(s, url)
        return json_response(request, {"url": page.url, "items": webqueries.captures(s, page.id)})


def as_of(request: Request) -> Response:
    """The page as of `at` (default now), by the archive's one as-of resolver."""
    url = required(request, "url", URL_EXAMPLE)
    at = _moment(request, "at", default_now=True)
    with _sessions(request)() as s:
        return json_response(request, queries.as_of(s, url, at))


def diff(request: Request) -> Response:
    """What changed between two revisions (ordinals or moments; default the last two)."""
    url = required(request, "url", URL_EXAMPLE)
    ref_from = parse_revision_ref(request.query_params["from"]) if request.query_params.get("from") else None
    ref_to = parse_revision_ref(request.query_params["to"]) if request.query_params.get("to") else None
    with _sessions(request)() as s:
        page_url, a, b = queries.diff_sides(s, url, ref_from, ref_to)
    d = diff_data(page_url, a, b)
    d["side_by_side"] = wordiff.as_json(wordiff.side_by_side(d["body"]["from"], d["body"]["to"]))
    return json_response(request, d)


def comments(request: Request) -> Response:
    """Each comment with its text versions, and added/edited/removed events in time order."""
    url = required(request, "url", URL_EXAMPLE)
    with _sessions(request)() as s:
        page = queries.resolve_page(s, url)
        data = webqueries.comment_timeline(s, page.id)
    return json_response(request, {"url": page.url, **data})


def search_(request: Request) -> Response:
    """Full-text search across every revision and comment (as `pagetrail search --json`)."""
    q = required(request, "q", "liver")
    where = request.query_params.get("in", "all")
    limit = int_param(request, "limit", 50, 1, MAX_LIMIT)
    with _sessions(request)() as s:
        try:
            hits = search.search(
                s, q, site=request.query_params.get("site") or None, from_=_moment(request, "from"),
                to=_moment(request, "to"), where=where, limit=limit,
            )
        except search.BadQuery as exc:
            raise BadRequest(str(exc)) from None
    return json_response(request, {"query": q, "hits": [h.to_dict() for h in hits]})


def schedule_list(request: Request) -> Response:
    """Schedules with their last fire and last run."""
    with _sessions(request)() as s:
        return json_response(request, {"items": webqueries.schedules_overview(s)})


# ---- writes (token required) ----------------------------------------------------------------------

def require_token(request: Request) -> None:
    token = request.app.state.api_token
    if not token:
        raise Forbidden(
            "this server is read-only: set the api_token setting (PAGETRAIL_API_TOKEN or api_token in "
            "the --config file) and restart it to allow changes"
        )
    sent = request.headers.get("authorization", "")
    scheme, _, value = sent.partition(" ")
    if scheme.lower() != "bearer" or not value:
        raise Forbidden("this endpoint changes the archive: send 'Authorization: Bearer <api_token>'", 401)
    if not hmac.compare_digest(value.strip().encode(), token.encode()):
        raise Forbidden("the bearer token does not match the server's api_token", 401)


def _set_paused(request: Request, paused: bool) -> Response:
    require_token(request)
    name = request.path_params["name"]
    with _sessions(request).begin() as s:
        schedules.set_paused(s, name, paused)
    with _sessions(request)() as s:
        item = next(x for x in webqueries.schedules_overview(s) if x["name"] == name)
    return json_response(request, item)


def schedule_pause(request: Request) -> Response:
    """Pause a schedule (needs the API token)."""
    return _set_paused(request, True)


def schedule_resume(request: Request) -> Response:
    """Resume a schedule (needs the API token)."""
    return _set_paused(request, False)


def _text(request: Request, name: str) -> str | None:
    value = request.query_params.get(name)
    return value.strip() if value and value.strip() else None


def reparse_(request: Request) -> Response:
    """Re-derive records from stored captures with the current parsers (needs the API token):
    ?url=… (repeatable) or ?site=HOST or neither (everything); ?since=DATE; ?force=true."""
    require_token(request)
    import parsers
    from parsers.profiles import ProfileError, load_profiles
    from pagetrail.reparse import reparse

    extra = [Path(request.app.state.profiles_dir)] if request.app.state.profiles_dir else []
    try:
        profiles = load_profiles(extra_dirs=extra)
    except ProfileError as exc:
        raise BadRequest(f"the server's site profiles do not load: {exc}") from None

    def parse(content, url, headers, fetched_at):  # type: ignore[no-untyped-def]
        return parsers.parse(content, url, headers=headers, fetched_at=fetched_at, profiles=profiles)

    report = reparse(request.app.state.archive, parse, urls=request.query_params.getlist("url") or None,
                     site=_text(request, "site"), since=_moment(request, "since"),
                     force=bool(bool_param(request, "force")))
    return json_response(request, report.to_dict())


def redact_(request: Request) -> Response:
    """Remove personal data from the records, the search index and exports, with an audit entry
    (needs the API token): exactly one of ?comment=KEY (&url=…), ?author=NAME, ?capture=ID;
    ?reason=… is required; ?raw=true removes the raw captures' bytes too; ?who=… (default "api")."""
    require_token(request)
    from storage.redaction import RedactionError, redact

    capture = _text(request, "capture")
    if capture is not None and not capture.isdigit():
        raise BadRequest("capture must be a capture id (an integer), as history and exports show it")
    try:
        with _sessions(request).begin() as s:
            report = redact(s, comment_key=_text(request, "comment"), url=_text(request, "url"),
                            author=_text(request, "author"), capture_id=int(capture) if capture else None,
                            reason=_text(request, "reason") or "", who=_text(request, "who") or "api",
                            raw=bool(bool_param(request, "raw")))
    except RedactionError as exc:
        raise BadRequest(str(exc)) from None
    return json_response(request, report.to_dict())


def redactions(request: Request) -> Response:
    """The redaction audit trail: who removed what, when and why (never the data itself)."""
    from storage.redaction import list_redactions

    with _sessions(request)() as s:
        return json_response(request, {"items": list_redactions(s)})


def export_(request: Request) -> Response:
    """A research dataset as a file download, written by the same code as `pagetrail export`:
    ?format=jsonl|csv|parquet|warc &what=revisions|comments|captures|ads (not for warc)
    &site=HOST &from=DATE &to=DATE. The manifest's sha256 and row counts come as X-Export-*
    headers; ?manifest=true answers with the manifest itself instead of the file."""
    import tempfile

    from starlette.background import BackgroundTask
    from starlette.responses import FileResponse

    from pagetrail.exporting import ExportError, export

    fmt = request.query_params.get("format", "jsonl")
    what = _text(request, "what")
    suffix = {"jsonl": ".jsonl", "csv": ".csv", "parquet": ".parquet", "warc": ".warc.gz"}.get(fmt)
    if suffix is None:
        raise BadRequest("format must be jsonl, csv, parquet or warc")
    folder = Path(tempfile.mkdtemp(prefix="pagetrail-export-"))
    out = folder / (f"{what or 'captures'}{suffix}")
    query = {k: v for k, v in request.query_params.items() if k != "manifest"}

    def cleanup() -> None:
        shutil.rmtree(folder, ignore_errors=True)

    try:
        manifest = export(request.app.state.archive, fmt, what, out, site=_text(request, "site"),
                          start=_moment(request, "from"), end=_moment(request, "to"), query=query)
    except ExportError as exc:
        cleanup()
        raise BadRequest(str(exc)) from None
    except BaseException:
        cleanup()
        raise
    if bool_param(request, "manifest"):
        cleanup()
        return json_response(request, manifest)
    media = {"jsonl": "application/x-ndjson", "csv": "text/csv; charset=utf-8",
             "parquet": "application/vnd.apache.parquet", "warc": "application/warc"}[fmt]
    headers = {"X-Export-Sha256": manifest["sha256"],
               "X-Export-Rows": json.dumps(manifest["rows"], separators=(",", ":"))}
    return FileResponse(out, media_type=media, filename=out.name, headers=headers,
                        background=BackgroundTask(cleanup))


def openapi(request: Request) -> Response:
    from pagetrail.web.openapi import spec

    return json_response(request, spec(str(request.base_url).rstrip("/")))


routes = [
    Route("/api/openapi.json", _threaded(openapi), methods=["GET"]),
    Route("/api/health", _threaded(health), methods=["GET"]),
    Route("/api/status", _threaded(status), methods=["GET"]),
    Route("/api/metrics", _threaded(metrics), methods=["GET"]),
    Route("/api/sites", _threaded(sites), methods=["GET"]),
    Route("/api/pages", _threaded(pages), methods=["GET"]),
    Route("/api/history", _threaded(history), methods=["GET"]),
    Route("/api/captures", _threaded(captures), methods=["GET"]),
    Route("/api/as-of", _threaded(as_of), methods=["GET"]),
    Route("/api/diff", _threaded(diff), methods=["GET"]),
    Route("/api/comments", _threaded(comments), methods=["GET"]),
    Route("/api/search", _threaded(search_), methods=["GET"]),
    Route("/api/schedules", _threaded(schedule_list), methods=["GET"]),
    Route("/api/schedules/{name}/pause", _threaded(schedule_pause), methods=["POST"]),
    Route("/api/schedules/{name}/resume", _threaded(schedule_resume), methods=["POST"]),
    Route("/api/export", _threaded(export_), methods=["GET"]),
    Route("/api/redactions", _threaded(redactions), methods=["GET"]),
    Route("/api/reparse", _threaded(reparse_), methods=["POST"]),
    Route("/api/redact", _threaded(redact_), methods=["POST"]),
]
