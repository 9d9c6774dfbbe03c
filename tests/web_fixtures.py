"""A small archive for the HTTP and browser tests, built with hand-made ParsedPage records
(as tests/test_versioning.py does), so these tests need neither the crawler nor the parser.

ARTICLE: three revisions over four days, comments added, edited and removed, a gzip-encoded
payload and a 304. HOSTILE: a page whose every archived text and byte tries to run script.
OTHER: a page on another site with no comments (for filters).
"""

from __future__ import annotations

import gzip
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import create_engine, text

from parsers.records import Ad, Body, Comment, Metadata, ParsedPage, Related, ThreadInfo
from storage.archive import Archive
from storage.db import make_engine, normalize_db_url, open_engine, upgrade
from storage.interface import CaptureIn
from tests.conftest import PG_URL, pg_schema_url

ARTICLE = "http://www.wisegeek.com/what-is-liver-calcification.htm"
HOSTILE = "http://www.wisegeek.com/hostile.htm"
OTHER = "http://example.org/other.htm"
ENCODED = "http://example.org/encoded.htm"
ENCODED_BYTES = b"\x1f\x9d stored as sent, in an encoding nobody decodes"
TOKEN = "s3cret-token"
T0 = datetime(2019, 6, 1, 12, 0, tzinfo=timezone.utc)

P1 = "Liver calcification is the buildup of calcium deposits in the liver."
P2 = "Treatment depends on the underlying cause."
P2b = "Treatment depends on the underlying cause and on the patient's age."
P3 = "Most calcifications need no treatment at all."

# What a browser would do if any of this ran: set a global, change the title, or navigate away.
JS = "window.__pwned=1;try{top.__pwned=1;parent.document.title='PWNED'}catch(e){};document.title='PWNED'"
HOSTILE_TEXTS = [
    f"<script>{JS}</script>",
    f'<img src=x onerror="{JS}">',
    f'<svg onload="{JS}"></svg>',
    f'"><script>{JS}</script>',
    f"</textarea></title><script>{JS}</script>",
    f"<a href=\"javascript:{JS}\">click</a>",
    f"<iframe src=\"javascript:{JS}\"></iframe>",
]
HOSTILE_RAW = (
    "<!doctype html><html><head><title>hostile</title>"
    f"<script>{JS}</script><meta http-equiv=\"refresh\" content=\"0;url=javascript:{JS}\"></head>"
    f"<body onload=\"{JS}\"><h1>Hostile page</h1>"
    f"<img src=x onerror=\"{JS}\"><svg onload=\"{JS}\"></svg>"
    f"<a id=jslink href=\"javascript:{JS}\">link</a>"
    f"<form action=\"javascript:{JS}\"><button>go</button></form>"
    f"<iframe src=\"javascript:{JS}\"></iframe>"
    "</body></html>"
).encode()


def at(days: float) -> datetime:
    return T0 + timedelta(days=days)


def _page(url: str, title: str, paragraphs: list[str], comments: list[Comment], *, widget: str = "Fact",
          modified: str = "2019-05-30", ads: list[Ad] | None = None, related: list[Related] | None = None,
          authors: list[str] | None = None) -> ParsedPage:
    numbers = [c.number for c in comments if c.number is not None]
    return ParsedPage(
        url=url,
        profile="wisegeek",
        parser_version="test",
        metadata=Metadata(title=title, authors=authors or ["Erin J. Hill"], modified=modified,
                          canonical_url=None),
        body=Body(text="\n\n".join(paragraphs), paragraphs=list(paragraphs)),
        ads=ads if ads is not None else [Ad(kind="widget", slot="did-you-know", text=widget)],
        related=related or [],
        comments=comments,
        thread=ThreadInfo(present=True, parsed_cleanly=True, complete=True,
                          first_number=max(numbers) if numbers else None,
                          last_number=min(numbers) if numbers else None),
    )


def _c(n: int, author: str, text: str) -> Comment:
    return Comment(id=f"post_{n}", key=f"post_{n}", number=n, author=author, text=text)


def _html(title: str, paragraphs: list[str]) -> bytes:
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return f"<!doctype html><html><head><title>{title}</title></head><body><h1>{title}</h1>{body}</body></html>".encode()


def build_archive(archive: Archive) -> None:
    html_headers = [("Content-Type", "text/html; charset=utf-8")]
    gz_headers = html_headers + [("Content-Encoding", "gzip"), ("Last-Modified", "Thu, 30 May 2019 10:00:00 GMT")]
    title1, title2 = "What Is the Treatment for Liver Calcification?", "Treating Liver Calcification"
    c1, c2, c3 = _c(1, "alice", "First!"), _c(2, "bob", "@alice-- agreed"), _c(3, "carol", "Very helpful.")

    def cap(url: str, when: datetime, payload: bytes | None, status: int = 200, headers=None) -> CaptureIn:
        return CaptureIn(requested_url=url, fetched_at=when, final_url=url, status=status, payload=payload,
                         headers=list(headers if headers is not None else html_headers))

    # ARTICLE: r1 at day 0 (gzip payload), unchanged + comment at day 1, r2 at day 2, 304 at day 3, r3 at day 4.
    archive.store_capture(cap(ARTICLE, at(0), gzip.compress(_html(title1, [P1, P2])), headers=gz_headers),
                          _page(ARTICLE, title1, [P1, P2], [c1], widget="Fact one"))
    archive.store_capture(cap(ARTICLE, at(1), _html(title1, [P1, P2]) + b"<!-- rotated ad -->"),
                          _page(ARTICLE, title1, [P1, P2], [c2, c1], widget="Fact two"))
    archive.store_capture(cap(ARTICLE, at(2), _html(title2, [P1, P2b])),
                          _page(ARTICLE, title2, [P1, P2b], [c2, _c(1, "alice", "First! (edited)")],
                                modified="2019-06-03"))
    archive.store_capture(cap(ARTICLE, at(3), None, status=304, headers=[]), None)
    archive.store_capture(cap(ARTICLE, at(4), _html(title2, [P1, P2b, P3])),
                          _page(ARTICLE, title2, [P1, P2b, P3], [c3, _c(1, "alice", "First! (edited)")],
                                modified="2019-06-05"))

    # HOSTILE: every text field carries an injection; the raw bytes are a script festival.
    hostile_comments = [
        Comment(id=f"post_{i + 10}", key=f"post_{i + 10}", number=i + 10, author=t, text=t,
                reply_to=t, posted="2019-06-01T00:00:00Z")
        for i, t in enumerate(HOSTILE_TEXTS)
    ]
    hostile_ads = [Ad(kind="ad", slot=t, text=t, url=f"javascript:{JS}") for t in HOSTILE_TEXTS[:3]]
    p1 = _page(HOSTILE, HOSTILE_TEXTS[0], HOSTILE_TEXTS, hostile_comments[:4], ads=hostile_ads,
               authors=[HOSTILE_TEXTS[1]], related=[Related(title=HOSTILE_TEXTS[2], url=f"javascript:{JS}")])
    p1.metadata.canonical_url = f"javascript:{JS}"
    archive.store_capture(cap(HOSTILE, at(0), HOSTILE_RAW), p1)
    p2 = _page(HOSTILE, HOSTILE_TEXTS[3], list(reversed(HOSTILE_TEXTS)), hostile_comments[2:], ads=hostile_ads,
               authors=[HOSTILE_TEXTS[4]], modified="<b onclick=alert(1)>x</b>")  # fits String(40)
    archive.store_capture(cap(HOSTILE, at(1), HOSTILE_RAW + b"<!-- v2 -->"), p2)

    # OTHER: another site, no comments.
    archive.store_capture(cap(OTHER, at(0.5), _html("Other", ["Other text."])),
                          _page(OTHER, "Other page", ["Other text."], []))
    # ENCODED: a payload in a content-encoding the server cannot undo (LZW "compress"): kept as is.
    archive.store_capture(cap(ENCODED, at(0.5), ENCODED_BYTES,
                              headers=[("Content-Type", "text/plain"), ("Content-Encoding", "compress")]), None)


# ---- fixtures (import them into a test module to use them) ---------------------------------------

@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def web_archive(request, tmp_path_factory) -> Iterator[Archive]:
    """The archive above, built once per module on each backend."""
    schema = None
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('web') / 'archive.db'}"
    else:
        schema = "pt_web_" + uuid.uuid4().hex[:10]
        admin = create_engine(normalize_db_url(PG_URL), isolation_level="AUTOCOMMIT")
        with admin.connect() as c:
            c.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = pg_schema_url(schema)
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    engine = open_engine(url)
    archive = Archive(engine)
    build_archive(archive)
    try:
        yield archive
    finally:
        engine.dispose()
        if schema:
            with admin.connect() as c:
                c.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()


def _test_client_class():  # type: ignore[no-untyped-def]
    # Starlette 1.x warns that it prefers httpx2; the httpx it still supports is what we ship.
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient
    return TestClient


@pytest.fixture(scope="module")
def client(web_archive):  # type: ignore[no-untyped-def]
    """A test client on the app with no api_token (read-only)."""
    TestClient = _test_client_class()
    from pagetrail.web import create_app

    with TestClient(create_app(web_archive), follow_redirects=False) as c:
        yield c


@pytest.fixture(scope="module")
def token_client(web_archive):  # type: ignore[no-untyped-def]
    TestClient = _test_client_class()
    from pagetrail.web import create_app

    with TestClient(create_app(web_archive, api_token=TOKEN), follow_redirects=False) as c:
        yield c
