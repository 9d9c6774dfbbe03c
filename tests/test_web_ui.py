"""The web UI without a browser: every page renders, archived text is escaped (checked with an
HTML parser: no script element, no event-handler attribute, no javascript: link survives), the
security headers are there, and `pagetrail serve` really listens on 127.0.0.1."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import lxml.html
import pytest

from storage.refs import page_uid
from tests.web_fixtures import (  # noqa: F401 - fixtures
    ARTICLE,
    HOSTILE,
    build_archive,
    client,
    web_archive,
)

HOSTILE_PAGES = [
    "/",
    "/pages",
    f"/page?url={HOSTILE}",
    f"/page/as-of?url={HOSTILE}&at=2019-06-01T12:00:00Z",
    f"/page/as-of?url={HOSTILE}",
    f"/page/diff?url={HOSTILE}&from=1&to=2",
    f"/page/comments?url={HOSTILE}",
    f"/page/capture?url={HOSTILE}",
    "/search?q=script",
    "/search?q=pwned",
    "/status",
]


def assert_inert(html: str) -> lxml.html.HtmlElement:
    doc = lxml.html.document_fromstring(html)
    assert doc.xpath("//script") == [], "a <script> element reached the page"
    for el in doc.iter():
        if not isinstance(el.tag, str):
            continue
        for name, value in el.attrib.items():
            assert not name.lower().startswith("on"), f"event handler {name}= on <{el.tag}>"
            if name.lower() in ("href", "src", "action", "formaction", "xlink:href", "data"):
                assert not value.strip().lower().startswith(("javascript:", "data:", "vbscript:")), value
    for frame in doc.xpath("//iframe"):
        assert frame.get("sandbox") == "", "raw captures only in a fully sandboxed frame"
        assert frame.get("src").startswith("/web/")
    return doc


@pytest.mark.parametrize("path", HOSTILE_PAGES)
def test_archived_text_is_escaped(client, path):
    r = client.get(path)
    assert r.status_code == 200, r.text[:300]
    assert r.headers["content-type"].startswith("text/html")
    doc = assert_inert(r.text)
    csp = r.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src" not in csp and "frame-ancestors 'none'" in csp
    assert r.headers["x-frame-options"] == "DENY" and r.headers["x-content-type-options"] == "nosniff"
    assert doc.xpath("//meta[@name='viewport']")  # phone-width layout


def test_hostile_text_is_shown_as_text(client):
    r = client.get(f"/page/comments?url={HOSTILE}")
    assert "&lt;script&gt;window.__pwned=1" in r.text
    doc = lxml.html.document_fromstring(r.text)
    texts = [el.text_content() for el in doc.xpath("//p[@class='ctext']")]
    assert any(t.startswith("<img src=x onerror=") for t in texts)
    asof = client.get(f"/page/as-of?url={HOSTILE}&at=2019-06-01T12:00:00Z").text
    doc = lxml.html.document_fromstring(asof)
    # The javascript: links in ads and the canonical URL stay text.
    assert not doc.xpath("//a[starts-with(@href, 'javascript')]")
    assert "javascript:window.__pwned" in doc.xpath("string(//ul[@class='ads'])")


def test_ui_pages_render_the_article(client):
    page = lxml.html.document_fromstring(client.get(f"/page?url={ARTICLE}").text)
    bands = page.xpath("//*[local-name()='svg']//*[local-name()='a'][@class='band-link']")
    assert [b.get("data-revision") for b in bands] == ["r1", "r2", "r3"]
    assert bands[1].get("href") == f"/page/as-of?url={ARTICLE.replace(':', '%3A').replace('/', '%2F')}&at=2019-06-03T12%3A00%3A00Z"
    ticks = page.xpath("//*[local-name()='a'][@class='tick-link']")
    assert len(ticks) == 5
    assert page.xpath("//*[local-name()='path'][@class='comments-line']")
    uid = page_uid(ARTICLE)
    assert page.xpath("//table//code[@class='ref']/text()") == [f"{uid}:1", f"{uid}:2", f"{uid}:3"]

    asof = lxml.html.document_fromstring(client.get(f"/page/as-of?url={ARTICLE}&at=2019-06-03T13:00:00Z").text)
    assert asof.xpath("string(//strong[@class='rev-no'])") == "2"
    assert asof.xpath("string(//code[@class='ref'])") == f"{uid}:2"
    assert asof.xpath("string(//h2[@class='archived-title'])") == "Treating Liver Calcification"
    assert [t.strip() for t in asof.xpath("//ol[@class='comments']//p[@class='ctext']/text()")] == [
        "@alice-- agreed", "First! (edited)"
    ]

    diff = lxml.html.document_fromstring(client.get(f"/page/diff?url={ARTICLE}&from=1&to=2").text)
    assert diff.xpath("string(//div[contains(@class,'changed')]//ins)") == " and on the patient's age"
    assert "Treating" in diff.xpath("string(//table[contains(@class,'meta-diff')]//ins)")

    thread = lxml.html.document_fromstring(client.get(f"/page/comments?url={ARTICLE}").text)
    classes = [li.get("class") for li in thread.xpath("//ol[contains(@class,'thread')]/li")]
    assert classes == ["present", "removed", "edited"]  # posts 3, 2, 1


def test_before_the_first_capture_says_so(client):
    r = client.get(f"/page/as-of?url={ARTICLE}&at=2019-01-01")
    assert r.status_code == 404 and "first revision is from" in r.text
    assert "See the first revision" in r.text


def test_ui_errors_are_pages(client):
    r = client.get("/page?url=http://www.wisegeek.com/never.htm")
    assert r.status_code == 404 and r.headers["content-type"].startswith("text/html")
    assert "pagetrail crawl" in r.text
    assert client.get("/page").status_code == 400


def test_static_css(client):
    r = client.get("/static/style.css")
    assert r.status_code == 200 and "@media (max-width: 640px)" in r.text


# ---- the real server ------------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _listen_addresses(port: int) -> set[str]:
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            local, state = line.split()[1], line.split()[3]
            addr, hexport = local.split(":")
            if int(hexport, 16) == port and state == "0A":  # LISTEN
                if len(addr) == 8:
                    found.add(socket.inet_ntoa(bytes.fromhex(addr)[::-1]))
                else:
                    found.add(addr)
    return found


def test_pagetrail_serve_listens_on_loopback(tmp_path: Path):
    from storage.archive import Archive
    from storage.db import open_engine

    db = f"sqlite:///{tmp_path / 'a.db'}"
    engine = open_engine(db)
    build_archive(Archive(engine))
    engine.dispose()
    port = _free_port()
    env = {**os.environ, "PAGETRAIL_API_TOKEN": "t0k"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "pagetrail.cli", "serve", "--db", db, "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                if httpx.get(f"{base}/api/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        else:
            pytest.fail(f"serve did not start: {proc.stderr.read1().decode() if proc.stderr else ''}")
        r = httpx.get(f"{base}/timegate/{ARTICLE}", headers={"Accept-Datetime": "Sun, 02 Jun 2019 13:00:00 GMT"})
        assert r.status_code == 302 and r.headers["location"].startswith(f"{base}/web/20190602120000/")
        assert "server" not in r.headers
        # The token came from the environment (settings precedence): writes are possible with it.
        assert httpx.post(f"{base}/api/schedules/x/pause").status_code == 401
        # Loopback only by default: the listening socket is bound to 127.0.0.1 (read from the
        # kernel's table, so no traffic goes anywhere else to find out).
        assert _listen_addresses(port) == {"127.0.0.1"}
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0


def test_serve_refuses_a_missing_database(tmp_path: Path):
    r = subprocess.run(
        [sys.executable, "-m", "pagetrail.cli", "serve", "--db", f"sqlite:///{tmp_path / 'none.db'}", "--port", "1"],
        capture_output=True, text=True, timeout=60,
    )
    assert r.returncode == 1 and "no archive at" in r.stderr
    assert not (tmp_path / "none.db").exists()
