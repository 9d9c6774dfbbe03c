"""Memento (RFC 7089) header by header, following the RFC's pattern 2.2 examples (a TimeGate
separate from the original resource, 302-style negotiation): section 4.2.1's TimeGate and
memento responses, section 5's TimeMap in application/link-format, and the error cases of
section 4.5. Raw mementos serve the archived bytes (content-encoding handled) with a sandbox CSP.

The archive (tests/web_fixtures.py): ARTICLE captured 2019-06-01..05 at 12:00 UTC each day
(the 06-04 capture is a 304; the 06-01 payload is gzip-encoded); revisions begin 06-01, 06-03, 06-05.
"""

from __future__ import annotations

import gzip
import re

import pytest

from tests.web_fixtures import (  # noqa: F401 - fixtures
    ARTICLE,
    ENCODED,
    ENCODED_BYTES,
    OTHER,
    client,
    web_archive,
)

BASE = "http://testserver"
HTTP_DATE = re.compile(r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "
                       r"\d{4} \d{2}:\d{2}:\d{2} GMT$")
DAYS = ["20190601120000", "20190602120000", "20190603120000", "20190604120000", "20190605120000"]
DATES = ["Sat, 01 Jun 2019 12:00:00 GMT", "Sun, 02 Jun 2019 12:00:00 GMT", "Mon, 03 Jun 2019 12:00:00 GMT",
         "Tue, 04 Jun 2019 12:00:00 GMT", "Wed, 05 Jun 2019 12:00:00 GMT"]


def m_uri(ts: str, url: str = ARTICLE, prefix: str = "/web") -> str:
    return f"{BASE}{prefix}/{ts}/{url}"


def parse_links(header: str) -> list[tuple[str, dict[str, str]]]:
    """A small RFC 8288 parser: [(target, {param: value})], in order."""
    out = []
    for m in re.finditer(r'<([^>]*)>((?:\s*;\s*[\w*]+\s*=\s*"[^"]*")*)', header):
        params = dict(re.findall(r';\s*([\w*]+)\s*=\s*"([^"]*)"', m.group(2)))
        out.append((m.group(1), params))
    return out


def by_rel(links: list[tuple[str, dict[str, str]]]) -> dict[str, list[tuple[str, dict[str, str]]]]:
    out: dict[str, list[tuple[str, dict[str, str]]]] = {}
    for target, params in links:
        for rel in params.get("rel", "").split():
            out.setdefault(rel, []).append((target, params))
    return out


# ---- TimeGate (RFC 7089 4.2.1: 302 with Vary, Location and Link; no Memento-Datetime) ----------------

@pytest.mark.parametrize(
    "accept,expected",
    [
        ("Sun, 02 Jun 2019 12:00:00 GMT", 1),  # exactly a memento's second: that memento
        ("Sun, 02 Jun 2019 18:30:00 GMT", 1),  # between two: the latest at or before (the as-of rule)
        ("Mon, 03 Jun 2019 11:59:59 GMT", 1),
        ("Mon, 03 Jun 2019 12:00:00 GMT", 2),
        ("Tue, 04 Jun 2019 13:00:00 GMT", 3),  # the 304 capture is a memento of the bytes it confirms
        ("Fri, 01 Jan 2100 00:00:00 GMT", 4),  # after the last: the last
        (None, 4),  # no Accept-Datetime: the most recent
    ],
)
def test_timegate_redirects_by_the_as_of_rule(client, accept, expected):
    headers = {"Accept-Datetime": accept} if accept else {}
    r = client.get(f"/timegate/{ARTICLE}", headers=headers)
    assert r.status_code == 302
    assert r.headers["location"] == m_uri(DAYS[expected])
    assert r.headers["vary"].lower() == "accept-datetime"
    assert "memento-datetime" not in r.headers  # a TimeGate is not a memento
    assert "x-memento-notice" not in r.headers
    rels = by_rel(parse_links(r.headers["link"]))
    assert rels["original"] == [(ARTICLE, {"rel": "original"})]
    tm = {p["type"]: (t, p) for t, p in rels["timemap"]}
    assert tm["application/link-format"][0] == f"{BASE}/timemap/link/{ARTICLE}"
    assert tm["application/link-format"][1]["from"] == DATES[0]
    assert tm["application/link-format"][1]["until"] == DATES[-1]
    assert tm["application/json"][0] == f"{BASE}/timemap/json/{ARTICLE}"
    assert rels["first"][0][0] == m_uri(DAYS[0]) and rels["last"][0][0] == m_uri(DAYS[-1])
    # The chosen memento is among the links with its datetime.
    chosen = [p for t, p in rels["memento"] if t == m_uri(DAYS[expected])]
    assert chosen and chosen[0]["datetime"] == DATES[expected]
    for _t, p in rels["memento"]:
        assert HTTP_DATE.match(p["datetime"])


def test_timegate_before_the_first_memento_offers_the_first_and_says_so(client):
    r = client.get(f"/timegate/{ARTICLE}", headers={"Accept-Datetime": "Wed, 01 May 2019 00:00:00 GMT"})
    assert r.status_code == 302
    assert r.headers["location"] == m_uri(DAYS[0])
    assert r.headers["x-memento-notice"] == "before-first-memento"
    assert "nothing" in r.text and "first memento is from Sat, 01 Jun 2019 12:00:00 GMT" in r.text


@pytest.mark.parametrize("bad", ["2019-06-01", "yesterday", "Sat, 01 Jun 2019 12:00:00 +0200", ""])
def test_timegate_rejects_a_bad_accept_datetime(client, bad):
    # RFC 7089 4.5.3: a TimeGate answers 400 to an Accept-Datetime that is not an HTTP-date.
    r = client.get(f"/timegate/{ARTICLE}", headers={"Accept-Datetime": bad})
    if bad == "":
        assert r.status_code == 302  # an empty header is no negotiation at all
        return
    assert r.status_code == 400
    assert "HTTP-date" in r.json()["error"]


def test_timegate_for_an_unarchived_url_is_404(client):
    r = client.get("/timegate/http://www.wisegeek.com/never.htm")
    assert r.status_code == 404 and "pagetrail crawl" in r.json()["error"]


def test_timegate_url_forms(client):
    # Query strings belong to the archived URL; merged slashes and a missing scheme are repaired.
    for path in (f"/timegate/{ARTICLE.replace('http://', 'http:/')}", f"/timegate/{ARTICLE[len('http://'):]}",
                 f"/web/{ARTICLE}"):
        r = client.get(path)
        assert r.status_code == 302 and r.headers["location"] == m_uri(DAYS[-1]), path
    r = client.get(f"/timegate/{ARTICLE}?utm_source=feed")  # a tracking parameter the normalizer drops
    assert r.status_code == 302 and r.headers["location"] == m_uri(DAYS[-1])


# ---- Mementos (RFC 7089 4.2.1: Memento-Datetime and Link; no Vary) ------------------------------------

def test_raw_memento_headers(client):
    r = client.get(f"/web/{DAYS[2]}/{ARTICLE}")
    assert r.status_code == 200
    assert r.headers["memento-datetime"] == DATES[2]
    assert "vary" not in r.headers or "accept-datetime" not in r.headers["vary"].lower()
    rels = by_rel(parse_links(r.headers["link"]))
    assert rels["original"][0][0] == ARTICLE
    assert rels["timegate"][0][0] == f"{BASE}/timegate/{ARTICLE}"
    assert {p["type"] for _t, p in rels["timemap"]} == {"application/link-format", "application/json"}
    for rel, day in (("first", 0), ("prev", 1), ("next", 3), ("last", 4)):
        (target, params), = rels[rel]
        assert target == m_uri(DAYS[day]) and params["datetime"] == DATES[day], rel
        assert "memento" in params["rel"].split()
    # The archived bytes, sandboxed: no script, no loads from the live web.
    csp = r.headers["content-security-policy"]
    assert csp.split(";")[0].strip() == "sandbox" and "default-src 'none'" in csp
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["content-type"] == "text/html; charset=utf-8"
    assert r.content.startswith(b"<!doctype html>") and b"Treating Liver Calcification" in r.content
    assert r.headers["x-archive-status"] == "200"


def test_first_and_last_mementos_combine_relations(client):
    first = by_rel(parse_links(client.get(f"/web/{DAYS[0]}/{ARTICLE}").headers["link"]))
    assert "prev" not in first and first["first"][0][0] == m_uri(DAYS[0])
    assert first["next"][0][0] == m_uri(DAYS[1])
    only = client.get(f"/web/20190602000000/{OTHER}")
    assert only.status_code == 200
    links = parse_links(only.headers["link"])
    mementos = [(t, p) for t, p in links if "memento" in p["rel"].split()]
    assert [t for t, _p in mementos] == [m_uri("20190602000000", OTHER)]  # one link, all its relations
    assert set(mementos[0][1]["rel"].split()) == {"first", "last", "memento"}


def test_gzip_payload_is_served_decoded(client):
    r = client.get(f"/web/{DAYS[0]}/{ARTICLE}")
    assert r.status_code == 200
    assert "content-encoding" not in r.headers  # decoded here: a client gets plain HTML
    assert r.content.startswith(b"<!doctype html>")
    assert r.headers["x-archive-orig-last-modified"] == "Thu, 30 May 2019 10:00:00 GMT"
    assert r.headers["etag"].endswith('-decoded"')
    assert gzip.decompress(gzip.compress(r.content)) == r.content


def test_undecodable_payload_is_sent_as_stored_with_its_encoding(client):
    r = client.get(f"/web/2019/{ENCODED}")
    assert r.status_code == 302  # not this memento's exact second: to the canonical URL
    r = client.get(r.headers["location"].removeprefix(BASE))
    assert r.status_code == 200
    assert r.headers["content-encoding"] == "compress"
    assert r.headers["x-memento-notice"].startswith("stored encoding kept")
    assert r.headers["content-type"] == "text/plain"


def test_304_memento_serves_the_confirmed_bytes(client):
    r = client.get(f"/web/{DAYS[3]}/{ARTICLE}")
    assert r.status_code == 200 and r.headers["x-archive-status"] == "304"
    assert r.headers["content-type"] == "text/html; charset=utf-8"  # borrowed from the confirmed capture
    assert r.content == client.get(f"/web/{DAYS[2]}/{ARTICLE}").content


@pytest.mark.parametrize(
    "ts,expected",
    [
        ("20190602", DAYS[1]),  # a day means its end, like CLI dates
        ("201906", DAYS[4]),
        ("20190603115959", DAYS[1]),
        ("20190603120001", DAYS[2]),
        ("19990101000000", DAYS[0]),  # before the first: the first
    ],
)
def test_inexact_stamps_redirect_to_the_memento_the_as_of_rule_picks(client, ts, expected):
    r = client.get(f"/web/{ts}/{ARTICLE}")
    assert r.status_code == 302 and r.headers["location"] == m_uri(expected)
    assert "link" in r.headers


def test_bad_stamp_and_unknown_url(client):
    assert client.get(f"/web/2019060112000099/{ARTICLE}").status_code == 400
    assert client.get(f"/web/20191301000000/{ARTICLE}").json()["error"].endswith("not a real date and time")
    assert client.get("/web/20190601120000/http://nowhere.example/").status_code == 404


def test_memento_etag_and_304(client):
    r = client.get(f"/web/{DAYS[2]}/{ARTICLE}")
    again = client.get(f"/web/{DAYS[2]}/{ARTICLE}", headers={"If-None-Match": r.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["memento-datetime"] == DATES[2]


# ---- TimeMaps (RFC 7089 5: application/link-format) ---------------------------------------------------

def test_link_timemap(client):
    r = client.get(f"/timemap/link/{ARTICLE}")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/link-format"
    links = parse_links(r.text)
    assert links[0] == (ARTICLE, {"rel": "original"})
    assert links[1][0] == f"{BASE}/timemap/link/{ARTICLE}"
    assert links[1][1] == {"rel": "self", "type": "application/link-format", "from": DATES[0], "until": DATES[-1]}
    rels = by_rel(links)
    assert rels["timegate"] == [(f"{BASE}/timegate/{ARTICLE}", {"rel": "timegate"})]
    mementos = rels["memento"]
    assert [t for t, _p in mementos] == [m_uri(d) for d in DAYS]
    assert [p["datetime"] for _t, p in mementos] == DATES
    assert mementos[0][1]["rel"] == "first memento" and mementos[-1][1]["rel"] == "last memento"
    assert all(p["rel"] == "memento" for _t, p in mementos[1:-1])
    # Entries are separated by commas, one per line, as in the RFC's example.
    assert r.text.count(",\n") == len(links) - 1
    assert client.get(f"/timemap/link/{ARTICLE}", headers={"If-None-Match": r.headers["etag"]}).status_code == 304


def test_json_timemap(client):
    data = client.get(f"/timemap/json/{ARTICLE}").json()
    assert data["original_uri"] == ARTICLE
    assert data["timegate_uri"] == f"{BASE}/timegate/{ARTICLE}"
    assert data["timemap_uri"] == {"link_format": f"{BASE}/timemap/link/{ARTICLE}",
                                   "json_format": f"{BASE}/timemap/json/{ARTICLE}"}
    assert [m["uri"] for m in data["mementos"]["list"]] == [m_uri(d) for d in DAYS]
    assert data["mementos"]["first"]["datetime"] == "2019-06-01T12:00:00Z"
    assert data["mementos"]["last"]["uri"] == m_uri(DAYS[-1])
    assert client.get(f"/timemap/xml/{ARTICLE}").status_code == 400


# ---- parsed-record mementos ---------------------------------------------------------------------------

def test_record_memento_is_the_as_of_record(client):
    r = client.get(f"/records/{DAYS[1]}/{ARTICLE}")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    assert r.headers["memento-datetime"] == DATES[1]
    view = r.json()
    assert view["revision"]["revision"] == 1 and [c["key"] for c in view["comments"]] == ["post_2", "post_1"]
    assert view["memento"]["datetime"] == "2019-06-02T12:00:00Z"
    assert view == {**client.get("/api/as-of", params={"url": ARTICLE, "at": "2019-06-02T12:00:00Z"}).json(),
                    "memento": view["memento"]}
    rels = by_rel(parse_links(r.headers["link"]))
    assert rels["timegate"][0][0] == f"{BASE}/records/timegate/{ARTICLE}"
    assert rels["timemap"][0][0].startswith(f"{BASE}/records/timemap/")
    # The 304 capture took no part in versioning: no record memento at 06-04.
    assert rels["next"][0][0] == m_uri(DAYS[2], prefix="/records")


def test_record_timegate_and_timemap(client):
    r = client.get(f"/records/timegate/{ARTICLE}", headers={"Accept-Datetime": "Tue, 04 Jun 2019 13:00:00 GMT"})
    assert r.status_code == 302 and r.headers["location"] == m_uri(DAYS[2], prefix="/records")
    assert r.headers["vary"].lower() == "accept-datetime"
    tm = parse_links(client.get(f"/records/timemap/link/{ARTICLE}").text)
    assert [t for t, p in tm if "memento" in p["rel"].split()] == [
        m_uri(d, prefix="/records") for d in (DAYS[0], DAYS[1], DAYS[2], DAYS[4])
    ]
    r = client.get(f"/records/timegate/{ARTICLE}", headers={"Accept-Datetime": "Wed, 01 May 2019 00:00:00 GMT"})
    assert r.headers["x-memento-notice"] == "before-first-memento"
    assert r.headers["location"] == m_uri(DAYS[0], prefix="/records")
    assert client.get(f"/records/timemap/json/{ENCODED}").status_code == 404  # no versioned parse
