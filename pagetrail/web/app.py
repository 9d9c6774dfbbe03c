"""The ASGI application: API, Memento and UI routes over one archive, with error handling and
security headers in one place.

Starlette (with uvicorn to serve it): small, typed, well kept, async where it matters (slow
clients) while the archive's synchronous SQLAlchemy work runs in its thread pool.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pagetrail.timeparse import BadTime
from pagetrail.web.http import BadRequest, Forbidden, error_json
from storage.archive import Archive
from storage.queries import NotFound
from storage.schedules import ScheduleNotFound

HERE = Path(__file__).parent

# Paths whose answers are machine-readable: errors there are JSON {"error": message}.
_MACHINE_PREFIXES = ("/api/", "/timegate/", "/timemap/", "/web/", "/records/")

# The UI needs no script at all; archived text is escaped, and raw captures only appear in a
# sandboxed frame from /web/ (which sets its own, stricter policy).
UI_CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; frame-src 'self'; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)


class SecurityHeaders:
    """Adds defaults to every response that did not set its own."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                defaults = {
                    b"x-content-type-options": b"nosniff",
                    b"referrer-policy": b"no-referrer",
                    b"content-security-policy": UI_CSP.encode(),
                    b"x-frame-options": b"DENY",
                }
                if scope["path"].startswith("/web/"):
                    defaults.pop(b"x-frame-options")  # our UI frames raw captures
                for k, v in defaults.items():
                    if k not in present:
                        headers.append((k, v))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _is_machine(request: Request) -> bool:
    return request.url.path.startswith(_MACHINE_PREFIXES) or request.url.path == "/api"


def _error(request: Request, status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    if _is_machine(request):
        return error_json(status, message, headers)
    from pagetrail.web.ui import error_page

    return error_page(request, status, message)


async def _not_found(request: Request, exc: Exception) -> Response:
    return _error(request, 404, str(exc))


async def _bad_request(request: Request, exc: Exception) -> Response:
    return _error(request, 400, str(exc))


async def _forbidden(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Forbidden)
    headers = {"WWW-Authenticate": 'Bearer realm="pagetrail"'} if exc.status == 401 else None
    return _error(request, exc.status, str(exc), headers)


async def _http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    message = exc.detail if exc.status_code != 404 else (
        f"nothing at {request.url.path}; the API is described at /api/openapi.json"
        if _is_machine(request) else f"nothing at {request.url.path}"
    )
    if exc.status_code == 405:
        message = f"{request.method} is not allowed on {request.url.path}"
    return _error(request, exc.status_code, message, dict(exc.headers or {}))


async def _internal(request: Request, exc: Exception) -> Response:
    # The trace goes to the server log (uvicorn prints it); the client gets a JSON line.
    return _error(request, 500, f"internal error ({type(exc).__name__}); the server log has the details")


def create_app(archive: Archive, *, api_token: str | None = None, profiles_dir: str | None = None) -> Starlette:
    """The whole site over `archive`. `api_token` unset: every changing endpoint is refused.
    `profiles_dir`: the extra site profiles a reparse through the API uses (as the CLI's)."""
    from pagetrail.web import api, memento, ui

    routes: list[Any] = [
        *api.routes,
        *memento.routes,
        Mount("/static", app=StaticFiles(directory=HERE / "static"), name="static"),
        *ui.routes,
    ]
    app = Starlette(
        routes=routes,
        exception_handlers={
            NotFound: _not_found,
            ScheduleNotFound: _not_found,
            BadRequest: _bad_request,
            BadTime: _bad_request,
            Forbidden: _forbidden,
            HTTPException: _http_exception,
            Exception: _internal,
        },
    )
    app.state.archive = archive
    app.state.api_token = api_token
    app.state.profiles_dir = profiles_dir
    app.state.templates = ui.make_templates()
    app.add_middleware(SecurityHeaders)
    return app
