"""Browser tests drive Debian's chromium (/usr/bin/chromium) with Playwright — never a browser
download. They are skipped only when PAGETRAIL_SKIP_BROWSER=1 says chromium could not be
installed (`make test` sets it then); otherwise a missing chromium or playwright is a failure
that says what to install.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from storage.archive import Archive
from storage.db import open_engine
from tests.web_fixtures import build_archive

CHROMIUM = os.environ.get("PAGETRAIL_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"


def shot_path(name: str) -> Path:
    """A screenshot file for a test id (parameters may hold slashes and URLs)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS / (re.sub(r"[^\w.-]+", "_", name).strip("_")[:150] + ".png")


def pytest_collection_modifyitems(config, items):  # type: ignore[no-untyped-def]
    here = Path(__file__).parent
    for item in items:
        if Path(str(item.fspath)).is_relative_to(here):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if os.environ.get("PAGETRAIL_SKIP_BROWSER") == "1":
        pytest.skip("PAGETRAIL_SKIP_BROWSER=1: chromium could not be installed on this machine")
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        pytest.fail(f"{CHROMIUM} is missing: run `apt-get update && apt-get install -y chromium` "
                    "(or set PAGETRAIL_SKIP_BROWSER=1 where it truly cannot be installed)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("playwright is missing: `pip install -e '.[browser]'` (never `playwright install`)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"], headless=True)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture(scope="session")
def server(tmp_path_factory) -> Iterator[str]:
    """The real app under uvicorn on 127.0.0.1 (a free port), over the test archive."""
    import uvicorn

    from pagetrail.web import create_app

    db = f"sqlite:///{tmp_path_factory.mktemp('browser') / 'archive.db'}"
    engine = open_engine(db)
    archive = Archive(engine)
    build_archive(archive)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(create_app(archive), log_level="warning")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    for _ in range(100):
        if srv.started:
            break
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        srv.should_exit = True
        thread.join(timeout=10)
        sock.close()
        engine.dispose()


@pytest.fixture
def page(browser, request) -> Iterator[object]:  # type: ignore[no-untyped-def]
    """A fresh page that records dialogs, console errors and any request leaving 127.0.0.1."""
    ctx = browser.new_context(viewport={"width": 1200, "height": 900})
    pg = ctx.new_page()
    pg.dialogs = []  # type: ignore[attr-defined]
    pg.outside = []  # type: ignore[attr-defined]
    pg.on("dialog", lambda d: (pg.dialogs.append(d.message), d.dismiss()))  # type: ignore[attr-defined]

    def _route(route):  # type: ignore[no-untyped-def]
        url = route.request.url
        if url.startswith(("http://127.0.0.1", "data:", "about:")):
            route.continue_()
        else:  # nothing leaves the machine, whatever an archived page asks for
            pg.outside.append(url)  # type: ignore[attr-defined]
            route.abort()

    ctx.route("**/*", _route)
    yield pg
    try:
        pg.screenshot(path=str(shot_path(request.node.name)), full_page=True)
    except Exception:  # noqa: BLE001 - a screenshot is a by-product, never the failure
        pass
    ctx.close()
