"""HTTP plumbing shared by the API, Memento and UI routes: dates, target URLs, JSON with ETags."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import JSONResponse, Response


class BadRequest(ValueError):
    """A 400: the message says what to send instead."""


class Forbidden(PermissionError):
    """A 401/403 for writes: the message says how to authorize."""

    def __init__(self, message: str, status: int = 403) -> None:
        super().__init__(message)
        self.status = status


# ---- times ----------------------------------------------------------------------------------

_STAMP = re.compile(r"^\d{4,14}$")
# Memento URLs carry whole seconds; a 14-digit stamp stands for that entire second.
ONE_SECOND = timedelta(seconds=1) - timedelta(microseconds=1)


def http_date(dt: datetime) -> str:
    """RFC 7231 IMF-fixdate, as Memento-Datetime and TimeMap datetimes use."""
    return format_datetime(dt.astimezone(timezone.utc).replace(microsecond=0), usegmt=True)


def parse_http_date(text: str) -> datetime:
    """An Accept-Datetime value (RFC 7089 requires an RFC 1123 HTTP-date in GMT)."""
    raw = text.strip()
    try:
        dt = parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError):
        dt = None
    if dt is None or not raw.upper().endswith(("GMT", "UTC", "+0000")):
        raise BadRequest(
            f"Accept-Datetime {text!r} is not an HTTP-date; send e.g. "
            "'Accept-Datetime: Thu, 31 May 2007 20:35:00 GMT'"
        )
    return dt.astimezone(timezone.utc)


def stamp(dt: datetime) -> str:
    """The 14-digit UTC timestamp of Wayback-style URLs."""
    return dt.astimezone(timezone.utc).strftime("%Y%m%d%H%M%S")


def parse_stamp(text: str) -> datetime:
    """A 4- to 14-digit timestamp to the END of the period it names (as CLI dates do):
    "2019" means the last second of 2019, a full stamp the last microsecond of that second."""
    if not _STAMP.match(text):
        raise BadRequest(f"{text!r} is not a YYYYMMDDhhmmss timestamp (4 to 14 digits)")
    # Pad with the latest valid value of each missing field, then clamp the day to the month.
    full = text + "1231235959"[len(text) - 4:] if len(text) < 14 else text
    year, month = int(full[0:4]), int(full[4:6])
    day, hour, minute, second = int(full[6:8]), int(full[8:10]), int(full[10:12]), int(full[12:14])
    try:
        if len(text) <= 6:  # month given (or not): its last day
            nxt = datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=timezone.utc)
            day = (nxt - timedelta(days=1)).day
        base = datetime(year, month, day, hour, minute, second, tzinfo=timezone.utc)
    except ValueError:
        raise BadRequest(f"{text!r} is not a real date and time") from None
    return base + ONE_SECOND


# ---- target URLs in paths ---------------------------------------------------------------------

def target_url(request: Request, prefix_parts: int) -> str:
    """The archived URL written after the route's prefix, e.g. /web/2019.../http://x/y?q=1.

    Read from the raw path so percent-escapes survive, with the query string re-attached (it
    belongs to the archived URL). Proxies that merge slashes turn http:// into http:/ — undone
    here — and a URL without a scheme means http://, as in the Wayback Machine.
    """
    raw = request.scope.get("raw_path")
    path = raw.decode("latin-1") if raw else quote(request.url.path, safe="/:@!$&'()*+,;=%~")
    parts = path.split("/", prefix_parts + 1)
    rest = parts[-1] if len(parts) > prefix_parts else ""
    query = request.url.query
    if query:
        rest += "?" + query
    rest = re.sub(r"^(https?):/+", r"\1://", rest, flags=re.IGNORECASE)
    if not re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", rest):
        rest = "http://" + rest
    if rest == "http://":
        raise BadRequest("give the archived URL after the prefix, e.g. /timegate/http://example.com/page")
    return rest


# ---- JSON with ETags --------------------------------------------------------------------------

def etag_for(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def not_modified(request: Request, etag: str) -> bool:
    """If-None-Match with weak comparison (RFC 9110 13.1.2)."""
    header = request.headers.get("if-none-match")
    if not header or request.method not in ("GET", "HEAD"):
        return False
    if header.strip() == "*":
        return True
    tags = [t.strip().removeprefix("W/") for t in header.split(",")]
    return etag.removeprefix("W/") in tags


def json_response(
    request: Request,
    data: Any,
    *,
    status: int = 200,
    headers: dict[str, str] | None = None,
    cache: str = "no-cache",
) -> Response:
    """JSON with a strong ETag; a matching If-None-Match gets 304 and no body."""
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    out_headers = dict(headers or {})
    if status == 200:
        etag = etag_for(body)
        out_headers["ETag"] = etag
        # no-cache: caches may store but must revalidate, which the ETag makes cheap.
        out_headers["Cache-Control"] = cache
        if not_modified(request, etag):
            return Response(status_code=304, headers=out_headers)
    return Response(body, status_code=status, headers=out_headers, media_type="application/json")


def error_json(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


# ---- query parameters -------------------------------------------------------------------------

def int_param(request: Request, name: str, default: int, lo: int, hi: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(f"{name} must be a whole number, got {raw!r}") from None
    if not lo <= value <= hi:
        raise BadRequest(f"{name} must be between {lo} and {hi}, got {value}")
    return value


def bool_param(request: Request, name: str) -> bool | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    low = raw.lower()
    if low in ("1", "true", "yes", "on"):
        return True
    if low in ("0", "false", "no", "off"):
        return False
    raise BadRequest(f"{name} must be true or false, got {raw!r}")


def required(request: Request, name: str, example: str) -> str:
    value = request.query_params.get(name)
    if not value:
        raise BadRequest(f"the query parameter {name} is required, e.g. ?{name}={example}")
    return value
