"""The fetcher: one URL -> one capture, never an exception for network trouble.

Redirects are followed by hand so every hop is recorded and checked against the network
policy; the payload is kept exactly as the server sent it (content-encoding included) and
decoded separately for parsing; bodies over the limit are cut, kept and flagged truncated.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from urllib.parse import urljoin, urlsplit, urlunsplit

import httpx

from crawler.netpolicy import NetPolicy, PolicyRefused, Target
from crawler.settings import FetchSettings
from parsers.content_encoding import DecodingError, decode_payload
from parsers.urls import InvalidURL, normalize_url
from storage.interface import CaptureIn

REDIRECT_STATUSES = (301, 302, 303, 307, 308)


@dataclass
class FetchResult:
    capture: CaptureIn
    content: bytes | None  # the decoded body (content-encoding undone), for parsing


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


def _pinned(url: str, target: Target) -> str:
    """The URL with its host replaced by the address to connect to."""
    parts = urlsplit(url)
    address = f"[{target.address}]" if ":" in target.address else target.address
    default = 443 if parts.scheme == "https" else 80
    netloc = address if target.port == default else f"{address}:{target.port}"
    return urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))


def _error_kind(exc: Exception, *, reading: bool) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return "timeout"
    if isinstance(exc, httpx.ConnectError):
        cause = exc.__cause__ or exc.__context__
        if isinstance(cause, ssl.SSLError) or "SSL" in str(exc):
            return "tls"
        return "connect"
    if isinstance(exc, httpx.RemoteProtocolError):
        return "read" if reading else "protocol"
    if isinstance(exc, (httpx.ReadError, httpx.WriteError, httpx.CloseError)):
        return "read"
    if isinstance(exc, (httpx.UnsupportedProtocol, httpx.InvalidURL)):
        return "invalid_url"
    if isinstance(exc, httpx.DecodingError):
        return "decompression"
    return "other"


class Fetcher:
    """One per crawl (holds the connection pool). Use as an async context manager."""

    def __init__(self, settings: FetchSettings) -> None:
        self.settings = settings
        self.policy = NetPolicy(settings)
        self.client = httpx.AsyncClient(
            http1=True,
            http2=False,
            follow_redirects=False,
            trust_env=False,  # never a proxy from the environment: traffic goes where we say
            timeout=httpx.Timeout(
                connect=settings.connect_timeout,
                read=settings.read_timeout,
                write=settings.read_timeout,
                pool=settings.total_timeout,
            ),
            limits=httpx.Limits(max_connections=256, max_keepalive_connections=64),
            headers={"User-Agent": settings.user_agent, "Accept-Encoding": "gzip, deflate"},
        )

    async def __aenter__(self) -> "Fetcher":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.client.aclose()

    async def fetch(self, url: str, *, conditional: dict[str, str] | None = None,
                    requested_url: str | None = None) -> FetchResult:
        """Fetch `url`. conditional: {"etag": ..., "last_modified": ...} for a conditional GET."""
        capture = CaptureIn(requested_url=requested_url or url, fetched_at=_utcnow())
        t0 = time.monotonic()
        content: bytes | None = None
        try:
            async with asyncio.timeout(self.settings.total_timeout):
                content = await self._fetch(url, capture, conditional or {})
        except TimeoutError:
            capture.error_kind = capture.error_kind or "timeout"
            capture.error_message = (
                f"the fetch took longer than total_timeout ({self.settings.total_timeout:g} s)"
            )
            if capture.payload is not None:
                capture.truncated = True
        except PolicyRefused as exc:
            capture.error_kind, capture.error_message = exc.kind, str(exc)
        capture.elapsed_ms = int((time.monotonic() - t0) * 1000)
        return FetchResult(capture, content)

    async def _fetch(self, url: str, capture: CaptureIn, conditional: dict[str, str]) -> bytes | None:
        current = url
        seen = {url}
        for _hop in range(self.settings.max_redirects + 1):
            target = await self.policy.target(current)
            headers = {"Host": target.host if target.port in (80, 443) else f"{target.host}:{target.port}"}
            if conditional.get("etag"):
                headers["If-None-Match"] = conditional["etag"]
            if conditional.get("last_modified"):
                headers["If-Modified-Since"] = conditional["last_modified"]
            extensions = {"sni_hostname": target.host} if current.startswith("https:") else {}
            request = self.client.build_request("GET", _pinned(current, target), headers=headers,
                                                extensions=extensions)
            try:
                response = await self.client.send(request, stream=True)
            except httpx.HTTPError as exc:
                capture.final_url = current
                capture.error_kind = _error_kind(exc, reading=False)
                capture.error_message = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
                return None
            try:
                location = response.headers.get("location")
                if response.status_code in REDIRECT_STATUSES and location:
                    capture.redirects.append((current, response.status_code))
                    nxt = urljoin(current, location.strip())
                    try:
                        nxt = normalize_url(nxt)
                    except InvalidURL:
                        self._record_response(capture, current, response)
                        capture.error_kind = "invalid_url"
                        capture.error_message = f"redirect to a non-http(s) URL: {location!r}"
                        return None
                    if nxt in seen:
                        self._record_response(capture, current, response)
                        capture.final_url = nxt
                        capture.error_kind = "redirect_loop"
                        capture.error_message = f"redirect loop back to {nxt}"
                        return None
                    seen.add(nxt)
                    current = nxt
                    continue
                self._record_response(capture, current, response)
                await self._read_body(response, capture)
            finally:
                await response.aclose()
            return self._decode(capture)
        capture.final_url = current
        capture.error_kind = "too_many_redirects"
        capture.error_message = f"more than {self.settings.max_redirects} redirects"
        return None

    @staticmethod
    def _record_response(capture: CaptureIn, url: str, response: httpx.Response) -> None:
        capture.final_url = url
        capture.status = response.status_code
        capture.http_version = response.http_version
        capture.headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in response.headers.raw]

    async def _read_body(self, response: httpx.Response, capture: CaptureIn) -> None:
        limit = self.settings.max_body_bytes
        buf = bytearray()
        try:
            async for chunk in response.aiter_raw():
                room = limit - len(buf)
                if len(chunk) > room:
                    buf += chunk[:room]
                    capture.truncated = True
                    break
                buf += chunk
        except httpx.HTTPError as exc:
            # What arrived is kept; a body that broke off is a truncated capture.
            capture.truncated = True
            capture.error_kind = _error_kind(exc, reading=True)
            capture.error_message = f"the body broke off after {len(buf)} bytes: {type(exc).__name__}: {exc}"
        finally:  # also when the total timeout cancels us mid-body: keep what arrived
            capture.payload = bytes(buf)

    def _decode(self, capture: CaptureIn) -> bytes | None:
        return decode_capture(capture, self.settings.max_decompressed_bytes)


def decode_capture(capture: CaptureIn, limit: int | None = None) -> bytes | None:
    """The capture's body with its content-encoding undone, or None. A body that does not
    decode, or decodes past `limit`, is recorded on the capture (error kind "decompression";
    cut bodies flagged truncated); a body cut off in transit may simply not decode."""
    if capture.payload is None:
        return None
    try:
        if limit is None:
            content, cut = decode_payload(capture.payload, capture.headers)
        else:
            content, cut = decode_payload(capture.payload, capture.headers, limit)
    except DecodingError as exc:
        if capture.truncated:  # a cut-off compressed body may not decode at all
            return None
        capture.error_kind = capture.error_kind or "decompression"
        capture.error_message = capture.error_message or str(exc)
        return None
    if cut:
        capture.truncated = True
        capture.error_kind = capture.error_kind or "decompression"
        capture.error_message = capture.error_message or (
            f"the body decompresses past max_decompressed_bytes ({limit}): cut there" if limit is not None
            else "the body decompresses past the limit: cut there")
    return content
