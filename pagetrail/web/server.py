"""`pagetrail serve`: open the archive read-only and run the app under uvicorn."""

from __future__ import annotations

import ipaddress
import sys

from pagetrail.settings import Settings


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve(settings: Settings, *, host: str = "127.0.0.1", port: int = 8080) -> int:
    import uvicorn

    from pagetrail.pipeline import open_archive
    from pagetrail.web.app import create_app

    # Read-only: refuse a database that does not exist rather than create an empty one.
    archive = open_archive(settings, read_only=True)
    app = create_app(archive, api_token=settings.api_token, profiles_dir=settings.profiles_dir)
    if not _is_loopback(host):
        print(f"pagetrail: warning: listening on {host}, reachable from other machines; the API is "
              f"{'read-only' if not settings.api_token else 'writable with the api_token'}", file=sys.stderr)
    print(f"pagetrail: serving {settings.db} at http://{host if ':' not in host else f'[{host}]'}:{port}/ "
          "(API docs at /api/openapi.json; Ctrl-C stops)", file=sys.stderr)
    try:
        uvicorn.run(app, host=host, port=port, log_level="info", proxy_headers=False, server_header=False)
    finally:
        archive.engine.dispose()
    return 0
