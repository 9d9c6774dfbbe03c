"""Any bytes in, a record out: parse() never raises, and says what it could not do."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

import parsers
from pagetrail.cli import main

SCHEMA = json.loads((Path(parsers.__file__).parent / "schema" / "parsedpage.schema.json").read_text())
FIXTURE = Path(__file__).parent / "fixtures" / "sample" / "liver-reference.html"
URL = "http://www.wisegeek.com/what-is-the-treatment-for-liver-calcification.htm"


def check(page):
    jsonschema.validate(page.to_dict(), SCHEMA)
    return page


@pytest.mark.parametrize("body", [b"", b"   ", b"\x00\x01\x02", b"<<<>>><html", b"<html><body><p>unclosed",
                                  b"\xff\xfe\xfd" * 1000, "<p>caf\u00e9</p>".encode("utf-16")])
def test_malformed_and_empty_input(body):
    page = check(parsers.parse(body, "http://example.org/x"))
    assert page.profile == "generic"
    if not body.strip(b" "):
        assert "empty document" in page.warnings


def test_truncated_reference_page_still_parses():
    raw = FIXTURE.read_bytes()
    page = check(parsers.parse(raw[: len(raw) // 2], URL))
    assert page.metadata.title == "What Is the Treatment for Liver Calcification?"


def test_non_html_content_type():
    page = check(parsers.parse(b"\x89PNG\r\n\x1a\n", "http://example.org/a.png", headers={"Content-Type": "image/png"}))
    assert page.warnings == ["not an HTML page (Content-Type image/png): nothing extracted"]
    assert page.body.paragraphs == []


def test_cp1252_labelled_utf8_is_read_right():
    raw = "<html><body><article><p>Caf\u00e9 na\u00efvet\u00e9 \u2014 r\u00e9sum\u00e9 of liver findings, long enough to be a paragraph.</p></article></body></html>"
    page = check(parsers.parse(raw.encode("cp1252"), "http://example.org/", headers={"Content-Type": "text/html; charset=utf-8"}))
    assert "Caf\u00e9 na\u00efvet\u00e9 \u2014 r\u00e9sum\u00e9" in page.body.text
    assert any("does not decode as its declared utf-8" in w for w in page.warnings)


def test_utf8_labelled_latin1_is_read_right():
    raw = "<html><body><article><p>Caf\u00e9 na\u00efvet\u00e9 \u2014 r\u00e9sum\u00e9 of liver findings, long enough to be a paragraph.</p></article></body></html>"
    page = check(parsers.parse(raw.encode("utf-8"), "http://example.org/", headers={"Content-Type": "text/html; charset=iso-8859-1"}))
    assert "Caf\u00e9 na\u00efvet\u00e9 \u2014 r\u00e9sum\u00e9" in page.body.text  # no mojibake
    assert any("is UTF-8" in w for w in page.warnings)


def test_meta_charset_and_missing_charset():
    raw = "<html><head><meta charset='windows-1251'></head><body><p>\u041f\u0435\u0447\u0435\u043d\u044c</p></body></html>"
    assert "\u041f\u0435\u0447\u0435\u043d\u044c" in parsers.parse(raw.encode("cp1251"), "http://example.org/").body.text
    russian = ("Кальциноз печени обычно не требует лечения. Это состояние не является болезнью, "
               "но может указывать на другое заболевание, которое нужно лечить. Врачи советуют "
               "регулярно проходить обследование и следить за питанием. ") * 8
    raw2 = f"<html><body><article><p>{russian}</p></article></body></html>"
    page = parsers.parse(raw2.encode("cp1251"), "http://example.org/")
    assert "Кальциноз печени" in page.body.text
    assert any("no charset declared" in w for w in page.warnings)


def test_deep_nesting_and_a_big_page():
    deep = b"<html><body>" + b"<div>" * 5000 + b"<p>deep</p>" + b"</div>" * 5000 + b"</body></html>"
    check(parsers.parse(deep, "http://example.org/"))
    big = b"<html><body><article>" + b"<p>A paragraph of a very long article, with commas, and words.</p>" * 150_000 + b"</article></body></html>"
    assert len(big) > 9_000_000
    page = check(parsers.parse(big, "http://example.org/"))
    assert len(page.body.paragraphs) > 100_000


def test_parse_cli(capsys, tmp_path):
    assert main(["parse", str(FIXTURE), "--url", URL, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    jsonschema.validate(out, SCHEMA)
    assert out["profile"] == "wisegeek" and len(out["comments"]) == 3
    assert main(["parse", str(FIXTURE), "--profile", "generic", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["profile"] == "generic"
    assert main(["parse", str(tmp_path / "nope.html")]) == 1
    assert "cannot read" in capsys.readouterr().err
    assert main(["parse", str(FIXTURE), "--profile", "nosuch"]) == 1
    assert "unknown profile 'nosuch'" in capsys.readouterr().err


def test_parsing_from_several_threads_at_once():
    """The crawler parses in a thread pool: each thread gets its own lxml parser."""
    import threading

    from parsers import htmlload

    raw = FIXTURE.read_bytes()
    results, parsers_seen = [], set()

    def work():
        for _ in range(20):
            results.append(len(parsers.parse(raw, URL).comments))
        parsers_seen.add(id(htmlload._parser()))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [3] * 80 and len(parsers_seen) == 4


def test_article_text_about_event_attributes_is_valid_but_the_attributes_are_gone():
    # text that names an event attribute is article text (escaped in body.html), not markup
    para = ("To run code when the page loads, write <body onload=\"init()\"> in the markup, "
            "though the onload= attribute is better replaced by addEventListener today.")
    html = ("<html><body><article><h1>Events in HTML</h1><p>" + para.replace("<", "&lt;").replace(">", "&gt;")
            + "</p><p onclick='steal()'>" + para.replace("<", "&lt;").replace(">", "&gt;") + "</p></article></body></html>")
    page = parsers.parse(html, "https://dev.example/events", profile="generic")
    assert para in page.body.text
    assert "steal()" not in page.body.html
    check(page)


def test_a_malformed_link_costs_that_link_only():
    """urllib refuses "http://[bad/" (an unclosed IPv6 host): in a link, the base, the canonical
    link, an ad or a related link it used to make parse() give up on the whole page."""
    paragraph = "<p>An article paragraph, long enough to be the body, with commas, and more words. "
    html = ('<html><head><base href="http://[base/"><link rel=canonical href="http://[canon/"></head><body>'
            '<article><h1>Title</h1>' + paragraph * 4 + '<a href="http://[bad/x">bad</a> <a href="/ok">ok</a></p>'
            '</article><div class="related"><a href="http://[rel/">A related article title</a></div>'
            '<div class="ad-slot"><a href="http://[ad/">Buy now</a></div></body></html>')
    page = check(parsers.parse(html, "http://example.com/a", profile="generic"))
    assert not page.warnings
    assert "An article paragraph" in page.body.text
    assert page.links == ["http://example.com/ok"]  # the base is ignored; the bad links are gone
    assert page.metadata.canonical_url is None
    assert [r.url for r in page.related] == [None]
    assert [a.url for a in page.ads] == [None]
    assert '<a href="http://example.com/ok">ok</a>' in page.body.html and "[bad" not in page.body.html


@pytest.mark.parametrize("href", [
    "http://a.example/x", "https://a.example", "http://a.example/x?q=1", "http://a.example?q=1",
    "http://a.example/x?", "http://a.example/x#", "http://a.example/x;", "http://a.example/x;p=1",
    "http://a.example/x?#", "http://a.example/a/../b", "http://a.example/x\ty", "http://[::1]/x",
    "http:///x", "http://?q", "http://a.example/caf\u00e9", "/rooted", "rel/ative", "https://b.example/x",
])
def test_join_url_answers_as_urljoin_does(href):
    """join_url skips urljoin for absolute URLs it would give back unchanged: same answers."""
    from urllib.parse import urljoin

    from parsers.urls import join_url

    for base in ("http://b.example/p/q", "https://b.example/"):
        assert join_url(base, href) == urljoin(base, href)
    assert join_url("http://b.example/", "http://[bad/") is None
    assert join_url("http://b.example/", "http://bad]/") is None
