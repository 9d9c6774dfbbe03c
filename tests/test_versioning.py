"""Versioning rules of DESIGN.md on SQLite and PostgreSQL, through the storage unit of work.

The records here are built by hand so each rule is isolated; tests/test_spine_*.py run the same
rules through the real crawler and parser.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from parsers.records import Ad, Body, Comment, Metadata, ParsedPage, ThreadInfo
from storage import queries
from storage.blobs import get_blob
from storage.interface import CaptureIn

URL = "http://www.wisegeek.com/what-is-liver-calcification.htm"
T0 = datetime(2019, 6, 1, 12, 0, tzinfo=timezone.utc)


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def page(
    paragraphs=("First paragraph.", "Second paragraph."),
    comments=(),
    widget="Fact one",
    thread=None,
    modified="2019-06-14",
    degraded=False,
) -> ParsedPage:
    cs = [
        Comment(id=f"post_{n}", key=f"post_{n}", number=n, author=a, text=t)
        for n, a, t in comments
    ]
    numbers = [n for n, _, _ in comments] or [None]
    return ParsedPage(
        url=URL,
        profile="wisegeek",
        parser_version="test",
        metadata=Metadata(title="Liver", authors=["Erin J. Hill"], modified=modified),
        body=Body(text="\n\n".join(paragraphs), paragraphs=list(paragraphs)),
        ads=[Ad(kind="widget", slot="did-you-know", text=widget)],
        comments=cs,
        thread=thread
        or ThreadInfo(
            present=True, parsed_cleanly=True, complete=True,
            first_number=max(numbers, default=None) if comments else None,
            last_number=min(numbers, default=None) if comments else None,
        ),
        degraded=degraded,
    )


def capture(when: datetime, status: int = 200, payload: bytes | None = b"<html>x</html>", **kw) -> CaptureIn:
    return CaptureIn(requested_url=URL, fetched_at=when, final_url=URL, status=status, payload=payload, **kw)


def hist(archive):
    with archive.sessions() as s:
        return queries.history(s, URL)


C1 = (1, "alice", "First!")
C2 = (2, "bob", "@alice-- agreed")
C3 = (3, "carol", "Third")


def test_rotating_widgets_make_no_new_revision(archive):
    archive.store_capture(capture(at(0), payload=b"a"), page(widget="Fact one"))
    r = archive.store_capture(capture(at(1), payload=b"b"), page(widget="Fact two"))
    assert r.outcome == "unchanged"
    h = hist(archive)
    assert h["captures"] == 2
    assert [x["revision"] for x in h["revisions"]] == [1]
    assert h["revisions"][0]["last_seen"] == "2019-06-01T13:00:00Z"
    with archive.sessions() as s:  # the ads stay per capture
        assert queries.as_of(s, URL, at(0.5))["ads"][0]["text"] == "Fact one"
        assert queries.as_of(s, URL, at(2))["ads"][0]["text"] == "Fact two"


def test_new_comment_is_a_record_not_a_revision(archive):
    archive.store_capture(capture(at(0)), page(comments=[C1]))
    r = archive.store_capture(capture(at(1)), page(comments=[C2, C1]))
    assert (r.outcome, r.comments_added) == ("unchanged", 1)
    h = hist(archive)
    assert len(h["revisions"]) == 1
    assert {c["key"]: c["first_seen"] for c in h["comments"]} == {
        "post_1": "2019-06-01T12:00:00Z",
        "post_2": "2019-06-01T13:00:00Z",
    }


def test_body_edit_then_revert(archive):
    archive.store_capture(capture(at(0)), page())
    r2 = archive.store_capture(capture(at(1)), page(paragraphs=("First paragraph, revised.", "Second paragraph.")))
    r3 = archive.store_capture(capture(at(2)), page())
    assert (r2.outcome, r2.revision, r3.outcome, r3.revision) == ("new_revision", 2, "new_revision", 3)
    revs = hist(archive)["revisions"]
    assert [r["same_as"] for r in revs] == [None, None, 1]
    assert revs[0]["valid_to"] == revs[1]["first_seen"] == "2019-06-01T13:00:00Z"
    assert revs[2]["valid_to"] is None
    assert revs[2]["content_hash"] == revs[0]["content_hash"]


def test_whitespace_and_nfc_do_not_make_revisions(archive):
    archive.store_capture(capture(at(0)), page(paragraphs=("Caf\u00e9  au lait.",)))
    r = archive.store_capture(capture(at(1)), page(paragraphs=("Cafe\u0301 au\nlait. ",)))
    assert r.outcome == "unchanged"


def test_removed_comment_gets_removed_at(archive):
    archive.store_capture(capture(at(0)), page(comments=[C2, C1]))
    r = archive.store_capture(capture(at(1)), page(comments=[C1]))
    assert r.comments_removed == 1
    removed = {c["key"]: c["removed_at"] for c in hist(archive)["comments"]}
    assert removed == {"post_1": None, "post_2": "2019-06-01T13:00:00Z"}
    with archive.sessions() as s:
        assert [c["key"] for c in queries.as_of(s, URL, at(0.5))["comments"]] == ["post_2", "post_1"]
        assert [c["key"] for c in queries.as_of(s, URL, at(1))["comments"]] == ["post_1"]


def test_comment_outside_the_shown_range_is_not_removed(archive):
    archive.store_capture(capture(at(0)), page(comments=[C3, C2, C1]))
    # The next capture shows only posts 3 to 2 (a paged thread): post 1 is out of view.
    partial = ThreadInfo(present=True, parsed_cleanly=True, complete=False, first_number=3, last_number=2)
    archive.store_capture(capture(at(1)), page(comments=[C3, C2], thread=partial))
    assert all(c["removed_at"] is None for c in hist(archive)["comments"])
    # A capture whose thread did not parse cleanly removes nothing either.
    broken = ThreadInfo(present=True, parsed_cleanly=False)
    archive.store_capture(capture(at(2)), page(comments=[], thread=broken))
    assert all(c["removed_at"] is None for c in hist(archive)["comments"])


def test_edited_comment_is_a_new_version(archive):
    archive.store_capture(capture(at(0)), page(comments=[C1]))
    archive.store_capture(capture(at(1)), page(comments=[(1, "alice", "First! (edited)")]))
    h = hist(archive)
    assert len(h["comments"]) == 1 and h["comments"][0]["removed_at"] is None
    with archive.sessions() as s:
        assert queries.as_of(s, URL, at(0.5))["comments"][0]["text"] == "First!"
        assert queries.as_of(s, URL, at(1.5))["comments"][0]["text"] == "First! (edited)"


def test_as_of_between_captures_and_before_the_first(archive):
    archive.store_capture(capture(at(0)), page())
    archive.store_capture(capture(at(10)), page(paragraphs=("Changed.",)))
    with archive.sessions() as s:
        assert queries.as_of(s, URL, at(9.99))["revision"]["revision"] == 1
        assert queries.as_of(s, URL, at(10))["revision"]["revision"] == 2
        assert queries.as_of(s, URL, at(10))["revision"]["body"]["paragraphs"] == ["Changed."]
        with pytest.raises(queries.NotFound, match="first revision is from 2019-06-01T12:00:00Z"):
            queries.as_of(s, URL, at(-1))


def test_errors_5xx_truncated_and_degraded_change_nothing(archive):
    archive.store_capture(capture(at(0)), page())
    outcomes = [
        archive.store_capture(capture(at(1), status=500, payload=b"oops"), None).outcome,
        archive.store_capture(
            capture(at(2), status=None, payload=None, error_kind="timeout", error_message="read timed out"), None
        ).outcome,
        archive.store_capture(capture(at(3), truncated=True), page(paragraphs=("Cut",))).outcome,
        archive.store_capture(capture(at(4)), page(paragraphs=(), degraded=True)).outcome,
    ]
    assert outcomes == ["error", "error", "not_versioned", "not_versioned"]
    h = hist(archive)
    assert h["captures"] == 5 and len(h["revisions"]) == 1


def test_gone_and_back(archive):
    archive.store_capture(capture(at(0)), page())
    assert archive.store_capture(capture(at(1), status=410, payload=b"gone"), None).outcome == "gone"
    with archive.sessions() as s:
        assert queries.as_of(s, URL, at(2))["gone"] is True
    archive.store_capture(capture(at(3)), page())
    with archive.sessions() as s:
        assert queries.as_of(s, URL, at(4))["gone"] is False


def test_not_modified_extends_revision_and_points_to_the_blob(archive):
    archive.store_capture(capture(at(0), payload=b"<html>v1</html>"), page())
    r = archive.store_capture(capture(at(5), status=304, payload=None), None)
    assert r.outcome == "not_modified"
    assert hist(archive)["revisions"][0]["last_seen"] == "2019-06-01T17:00:00Z"
    with archive.sessions() as s:
        from storage.models import Capture

        cap = s.get(Capture, r.capture_id)
        assert get_blob(s, cap.blob_digest) == b"<html>v1</html>"


def test_identical_payloads_are_stored_once(archive):
    archive.store_capture(capture(at(0), payload=b"same bytes" * 100), page())
    archive.store_capture(capture(at(1), payload=b"same bytes" * 100), page())
    with archive.sessions() as s:
        st = queries.storage_totals(s)
    assert st["captures"] == 2 and st["keyframes"] == 1
    assert st["bytes_received"] == 2000 and st["bytes_stored"] < 1000


def test_late_capture_replays_history(archive):
    archive.store_capture(capture(at(0)), page(paragraphs=("A",)))
    archive.store_capture(capture(at(2)), page(paragraphs=("C",)))
    archive.store_capture(capture(at(1)), page(paragraphs=("B",)))  # arrives late
    revs = hist(archive)["revisions"]
    assert [r["first_seen"][11:16] for r in revs] == ["12:00", "13:00", "14:00"]
    with archive.sessions() as s:
        assert queries.as_of(s, URL, at(1.5))["revision"]["body"]["paragraphs"] == ["B"]


def test_aliases_resolve_to_the_page(archive):
    cap = capture(at(0))
    cap.requested_url = "http://www.wisegeek.com/old-liver.htm"
    cap.final_url = URL
    cap.redirects = [("http://www.wisegeek.com/old-liver.htm", 301)]
    p = page()
    p.metadata.canonical_url = "http://www.wisegeek.com/canonical-liver.htm?utm_source=x"
    archive.store_capture(cap, p)
    with archive.sessions() as s:
        for u in (URL, "http://www.wisegeek.com/canonical-liver.htm", "HTTP://WWW.wisegeek.com/old-liver.htm#x"):
            assert queries.history(s, u)["url"] == "http://www.wisegeek.com/old-liver.htm"
        with pytest.raises(queries.NotFound, match="pagetrail crawl"):
            queries.history(s, "http://www.wisegeek.com/never.htm")
