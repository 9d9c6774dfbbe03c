"""The fetcher and the crawl engine against real HTTP servers on 127.0.0.1 (no mocked transport)."""

from __future__ import annotations

import gzip
import socket
from dataclasses import dataclass, field

import pytest

from crawler.asyncrun import run_async
from crawler.engine import Crawl, retry_after_seconds, run_crawl
from crawler.fetcher import Fetcher
from crawler.settings import FetchSettings
from parsers.records import Body, Metadata, ParsedPage
from storage.interface import CaptureIn, StoredCapture
from tests.httpserver import Reply, LocalServer, LocalSite, gzipped, html


@pytest.fixture
def site():
    s = LocalSite()
    s["/robots.txt"] = Reply(200, b"User-agent: *\nDisallow: /private/\n", {"Content-Type": "text/plain"})
    server = LocalServer(s)
    s.base = server.base_url  # type: ignore[attr-defined]
    yield s
    server.close()


def settings(**kw) -> FetchSettings:
    base = dict(allow_private_addresses=True, per_host_delay=0.0, total_timeout=5.0, read_timeout=2.0)
    base.update(kw)
    return FetchSettings(**base)


def fetch(url: str, **kw):
    async def go():
        async with Fetcher(settings(**kw)) as f:
            return await f.fetch(url)

    return run_async(go())


@dataclass
class MemoryWriter:
    """Our own ArchiveWriter interface, recorded in memory: the engine's only view of storage."""

    stored: list[tuple[CaptureIn, ParsedPage | None]] = field(default_factory=list)
    runs: list[tuple[str, dict]] = field(default_factory=list)

    def start_run(self, kind, seeds):
        return 1

    def finish_run(self, run_id, stats, status="finished"):
        self.runs.append((status, stats))

    def store_capture(self, capture, parsed):
        self.stored.append((capture, parsed))
        outcome = "error" if capture.error_kind or (capture.status or 0) >= 400 else "new_revision"
        return StoredCapture(len(self.stored), 1, outcome, 1)


def tiny_parse(content, url, headers, fetched_at):
    text = content.decode("utf-8", "replace")
    return ParsedPage(url=url, profile="test", parser_version="t", metadata=Metadata(title=url),
                      body=Body(text=text, paragraphs=[text]))


def crawl(urls, **kw):
    writer = MemoryWriter()
    report = run_async(run_crawl(urls, settings=settings(**kw), writer=writer, parse=tiny_parse))
    return writer, report


def test_plain_page(site):
    site["/a"] = html("<p>hello</p>", ETag='"v1"')
    r = fetch(site.base + "/a")
    c = r.capture
    assert (c.status, c.payload, r.content, c.error_kind) == (200, b"<p>hello</p>", b"<p>hello</p>", None)
    assert c.http_version == "HTTP/1.1" and c.header("etag") == '"v1"'
    assert c.fetched_at.tzinfo is not None and c.elapsed_ms is not None
    assert site.hits("/a")[0].user_agent.startswith("pagetrail/")


def test_redirect_chain_recorded(site):
    site["/old"] = Reply(301, b"", {"Location": "/mid"})
    site["/mid"] = Reply(302, b"", {"Location": site.base + "/new?utm_source=x"})
    site["/new"] = html("<p>new</p>")
    c = fetch(site.base + "/old").capture
    assert c.redirects == [(site.base + "/old", 301), (site.base + "/mid", 302)]
    assert c.final_url == site.base + "/new" and c.status == 200


def test_redirect_loop_and_too_many(site):
    site["/x"] = Reply(302, b"", {"Location": "/y"})
    site["/y"] = Reply(302, b"", {"Location": "/x"})
    assert fetch(site.base + "/x").capture.error_kind == "redirect_loop"
    for i in range(5):
        site[f"/r{i}"] = Reply(302, b"", {"Location": f"/r{i + 1}"})
    assert fetch(site.base + "/r0", max_redirects=3).capture.error_kind == "too_many_redirects"


@pytest.mark.parametrize("status", [404, 410, 500])
def test_error_statuses_are_captures(site, status):
    site["/s"] = html("<p>status page</p>", status)
    c = fetch(site.base + "/s").capture
    assert c.status == status and c.payload == b"<p>status page</p>" and c.error_kind is None


def test_timeout(site):
    site["/slow"] = Reply(200, b"late", delay=3.0)
    c = fetch(site.base + "/slow", read_timeout=0.5).capture
    assert c.error_kind == "timeout" and c.status is None


def test_total_timeout_on_a_slow_drip(site):
    def drip(sock):
        sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 100000\r\n\r\n")
        for _ in range(40):
            sock.sendall(b"x" * 10)
            import time as _t

            _t.sleep(0.1)

    site["/drip"] = Reply(raw=drip)
    c = fetch(site.base + "/drip", total_timeout=1.0, read_timeout=5.0).capture
    assert c.error_kind == "timeout" and c.truncated and c.status == 200
    assert 0 < len(c.payload) < 400


def test_oversized_body_is_cut_kept_and_flagged(site):
    site["/big"] = html("<p>" + "x" * 50_000 + "</p>")
    r = fetch(site.base + "/big", max_body_bytes=10_000)
    assert r.capture.truncated and len(r.capture.payload) == 10_000 and r.capture.error_kind is None


def test_gzip_payload_kept_as_sent(site):
    body = b"<p>" + b"liver " * 1000 + b"</p>"
    site["/gz"] = gzipped(body)
    r = fetch(site.base + "/gz")
    assert r.capture.payload == site.routes["/gz"].body and r.content == body  # the bytes as sent


def test_gzip_bomb_is_cut(site):
    site["/bomb"] = gzipped(b"\0" * 30_000_000)
    r = fetch(site.base + "/bomb", max_decompressed_bytes=1_000_000)
    assert r.capture.truncated and r.capture.error_kind == "decompression" and len(r.content) == 1_000_000


def test_wrong_charset_bytes_pass_through_untouched(site):
    body = "<meta charset=utf-8><p>caf\u00e9 na\u00efve</p>".encode("cp1252")
    site["/cs"] = Reply(200, body, {"Content-Type": "text/html; charset=utf-8"})
    assert fetch(site.base + "/cs").content == body


def test_private_addresses_refused_unless_allowed(site):
    site["/p"] = html("<p>x</p>")
    c = fetch(site.base + "/p", allow_private_addresses=False).capture
    assert c.error_kind == "private_address" and "allow_private_addresses" in c.error_message
    assert site.hits("/p") == []


def test_resolve_maps_a_real_name_to_loopback(site):
    site["/named"] = html("<p>named</p>")
    port = site.base.rsplit(":", 1)[1]
    r = fetch(f"http://www.wisegeek.com:{port}/named", allow_private_addresses=False,
              resolve={"www.wisegeek.com": "127.0.0.1"})
    assert r.capture.status == 200 and r.capture.final_url == f"http://www.wisegeek.com:{port}/named"
    assert site.hits("/named")[0].host == f"www.wisegeek.com:{port}"


def test_connection_refused_and_dns():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    assert fetch(f"http://127.0.0.1:{port}/").capture.error_kind == "connect"
    assert fetch("http://no-such-host.invalid/").capture.error_kind == "dns"


def test_reset_mid_body_keeps_what_arrived(site):
    def reset(sock):
        sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + b"y" * 100)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        sock.close()

    site["/reset"] = Reply(raw=reset)
    c = fetch(site.base + "/reset").capture
    assert c.truncated and c.error_kind in ("read", "protocol") and c.payload.startswith(b"y")


def test_robots_disallow_makes_a_capture_without_a_request(site):
    site["/private/x"] = html("<p>secret</p>")
    site["/ok"] = html("<p>ok</p>")
    writer, report = crawl([site.base + "/private/x", site.base + "/ok"])
    by_url = {c.requested_url: c for c, _ in writer.stored}
    assert by_url[site.base + "/private/x"].error_kind == "robots"
    assert site.hits("/private/x") == []
    assert by_url[site.base + "/ok"].status == 200
    assert writer.runs[0][0] == "finished" and report.stats["error:robots"] == 1


@pytest.mark.parametrize("robots_status,allowed", [(404, True), (500, False)])
def test_robots_failures_follow_rfc_9309(site, robots_status, allowed):
    site["/robots.txt"] = Reply(robots_status, b"", {"Content-Type": "text/plain"})
    site["/page"] = html("<p>p</p>")
    writer, _ = crawl([site.base + "/page"])
    (cap, _), = writer.stored
    assert (cap.error_kind is None) == allowed
    assert bool(site.hits("/page")) == allowed


def test_per_host_delay_from_the_server_log(site):
    for i in range(4):
        site[f"/d{i}"] = html(f"<p>{i}</p>")
    crawl([site.base + f"/d{i}" for i in range(4)], per_host_delay=0.3)
    hits = sorted((h for h in site.log if h.path.startswith("/d")), key=lambda h: h.start)
    gaps = [b.start - a.end for a, b in zip(hits, hits[1:])]
    assert len(hits) == 4 and min(gaps) >= 0.29


def test_the_server_log_never_shows_a_gap_under_the_delay(site):
    """The delay runs from the end this side saw, plus a margin for the server stamping that
    end later than the wire (its thread may wait for a core after writing): even on a busy
    machine the server's own log shows at least the delay, not a few milliseconds less."""
    from crawler.engine import END_MARGIN

    for i in range(5):
        site[f"/m{i}"] = html(f"<p>{i}</p>")
    crawl([site.base + f"/m{i}" for i in range(5)], per_host_delay=0.1)
    hits = sorted((h for h in site.log if h.path.startswith("/m")), key=lambda h: h.start)
    assert len(hits) == 5 and min(b.start - a.end for a, b in zip(hits, hits[1:])) >= 0.1 + END_MARGIN / 2


def test_crawl_delay_from_robots(site):
    site["/robots.txt"] = Reply(200, b"User-agent: *\nCrawl-delay: 0.4\n", {"Content-Type": "text/plain"})
    for i in range(3):
        site[f"/c{i}"] = html("<p>c</p>")
    crawl([site.base + f"/c{i}" for i in range(3)], per_host_delay=0.0)
    hits = sorted((h for h in site.log if h.path.startswith("/c")), key=lambda h: h.start)
    assert min(b.start - a.end for a, b in zip(hits, hits[1:])) >= 0.39


def test_retry_after_holds_the_host(site):
    calls = {"n": 0}

    def flaky():
        calls["n"] += 1
        return Reply(429, b"slow down", {"Retry-After": "1"}) if calls["n"] == 1 else html("<p>ok</p>")

    site["/ra1"] = flaky
    site["/ra2"] = html("<p>2</p>")
    crawl([site.base + "/ra1", site.base + "/ra2"], per_host_delay=0.0)
    first, second = sorted((h for h in site.log if h.path.startswith("/ra")), key=lambda h: h.start)
    assert second.start - first.end >= 0.95


def test_retry_after_formats():
    from datetime import datetime, timezone

    now = datetime(2026, 1, 1, tzinfo=timezone.utc)
    assert retry_after_seconds("120", now) == 120
    assert retry_after_seconds("Thu, 01 Jan 2026 00:00:30 GMT", now) == 30
    assert retry_after_seconds("soon", now) is None


def test_the_engine_never_stops_on_failures(site):
    site["/fine"] = html("<p>fine</p>")
    site["/boom"] = html("oops", 500)
    writer, report = crawl([site.base + "/fine", site.base + "/boom", "not a url", "http://127.0.0.1:1/"])
    assert len(writer.stored) == 3 and report.stats["fetched"] == 3
    assert {i.outcome for i in report.items if i.url == "not a url"} == {"invalid_url"}
    parsed = [p for c, p in writer.stored if c.status == 200]
    assert parsed[0].body.text == "<p>fine</p>"


def test_invalid_chunking_is_recorded(site):
    def bad_chunks(sock):
        sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nTransfer-Encoding: chunked\r\n\r\n"
                     b"5\r\nhello\r\nZZZ\r\nnot a chunk\r\n")

    site["/chunks"] = Reply(raw=bad_chunks)
    c = fetch(site.base + "/chunks").capture
    assert c.status == 200 and c.error_kind in ("protocol", "read") and c.truncated


def test_endless_body_is_cut_at_the_limit(site):
    def endless(sock):
        sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n")
        try:
            while True:
                sock.sendall(b"<p>more</p>" * 1000)
        except OSError:
            pass

    site["/endless"] = Reply(raw=endless)
    c = fetch(site.base + "/endless", max_body_bytes=200_000).capture
    assert c.truncated and len(c.payload) == 200_000


def test_delay_adapts_to_a_slow_host(site):
    for i in range(3):
        site[f"/s{i}"] = Reply(200, b"<p>slow</p>", {"Content-Type": "text/html"}, delay=0.4)
    crawl([site.base + f"/s{i}" for i in range(3)], per_host_delay=0.1)
    hits = sorted((h for h in site.log if h.path.startswith("/s")), key=lambda h: h.start)
    # a host that takes 0.4 s to answer gets at least that long between requests, not just 0.1 s
    assert min(b.start - a.end for a, b in zip(hits, hits[1:])) >= 0.39
