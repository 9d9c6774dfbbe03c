"""`pagetrail redact`, on SQLite and PostgreSQL: a comment (by key) or an author's comments
disappear from history, show, search and the parsed records while the thread keeps its shape;
each redaction is one transaction with an audit entry (`list_redactions`, `redact --list`);
--raw and --capture delete payloads, even in the middle of a delta chain, and everything else
still restores byte-identically and verifies; a repeat is harmless; a recrawl or a reparse
does not bring a redacted comment back."""

from __future__ import annotations

import getpass
import json
from datetime import timedelta

from sqlalchemy import select, text

from pagetrail.cli import main
from pagetrail.demo import DemoSite, NEW_POST
from storage import blobs
from storage.blobs import get_blob
from storage.models import Blob, Capture, Derivation, Page
from storage.redaction import REDACTED, list_redactions
from tests.sample_archive import BASE, LIVER_URL, T0, digest_of, fill, store_page
from tests.test_blobs_integrity import fresh_cache  # noqa: F401 - autouse: no payload served from memory
from tests.test_spine import cli, cli_json
from tests.test_verify_relayout_cli import corrupt

NEW_KEY = NEW_POST.id  # post_2409874 by ocelot60: "... found by accident on a scan ..."


def hits(capsys, db_url: str, words: str) -> list[dict]:  # type: ignore[no-untyped-def]
    return cli_json(capsys, "search", words, "--in", "comments", "--db", db_url)["hits"]


def records_text(archive) -> str:  # type: ignore[no-untyped-def]
    with archive.sessions() as s:
        return json.dumps(s.scalars(select(Derivation.record)).all(), ensure_ascii=False)


def restore_all(archive, sent: dict[int, tuple[str, bytes]], skip: set[int]) -> None:  # type: ignore[no-untyped-def]
    blobs.clear_cache()
    with archive.sessions() as s:
        for cap_id, (_url, payload) in sent.items():
            if cap_id not in skip:
                d = s.scalar(select(Capture.blob_digest).where(Capture.id == cap_id))
                assert d == digest_of(payload) and get_blob(s, d) == payload


def test_redact_a_comment_by_key(archive, db_url, capsys) -> None:
    sent = fill(archive, rounds=4)
    assert [h["comment_key"] for h in hits(capsys, db_url, "accident scan")] == [NEW_KEY]
    totals = cli_json(capsys, "status", "--db", db_url)["totals"]

    rep = cli_json(capsys, "redact", "--comment", NEW_KEY, "--url", LIVER_URL, "--reason", "the reader asked",
                   "--who", "alice", "--db", db_url)
    assert rep["raw_redacted"] is False and rep["already_redacted"] is False
    assert rep["target"] == {"kind": "comment", "value": NEW_KEY, "url": LIVER_URL}
    removed = rep["removed"]
    assert removed["comments"] == 1 and removed["comment_versions"] == 1 and removed["search_rows"] == 1
    liver_caps = sorted(c for c, (u, _) in sent.items() if u == LIVER_URL)
    assert removed["derivations"] == 3 and removed["captures"] == []
    assert removed["raw_kept"] == liver_caps[1:]  # rounds 2-4 showed it: their bytes still hold it

    history = cli_json(capsys, "history", LIVER_URL, "--db", db_url)
    post = next(c for c in history["comments"] if c["key"] == NEW_KEY)
    assert post["author"] == REDACTED and post["number"] == 4  # still there, still counted
    shown = cli_json(capsys, "show", LIVER_URL, "--db", db_url)
    post = next(c for c in shown["comments"] if c["key"] == NEW_KEY)
    assert post["text"] == REDACTED and post["reply_to"] == "fify"  # the thread keeps its links
    for out in (json.dumps(history), json.dumps(shown), records_text(archive)):
        assert "ocelot60" not in out and "accident" not in out
    assert hits(capsys, db_url, "accident scan") == []
    assert hits(capsys, db_url, "magnesium")  # the other comments are still found
    assert cli_json(capsys, "status", "--db", db_url)["totals"] == totals

    audit = cli_json(capsys, "redact", "--list", "--db", db_url)
    with archive.sessions() as s:
        assert list_redactions(s) == audit
    assert len(audit) == 1 and audit[0]["who"] == "alice" and audit[0]["reason"] == "the reader asked"
    assert audit[0]["target"] == rep["target"] and audit[0]["raw_redacted"] is False
    assert audit[0]["at"].endswith("Z") and audit[0]["removed"] == removed

    # Again, without --url and --who: harmless; recorded, by the OS user.
    code, out, _ = cli(capsys, "redact", "--comment", NEW_KEY, "--reason", "checking", "--db", db_url)
    assert code == 0 and "already redacted" in out and "raw captures NOT redacted" in out
    again = cli_json(capsys, "redact", "--list", "--db", db_url)[-1]
    assert again["who"] == getpass.getuser() and again["removed"]["comments"] == 0

    # The page still shows the post: a recrawl stores it redacted, and reparse keeps it so.
    site = DemoSite()
    site.base = BASE
    site.states = {slug: st.__class__(fetch=9, added=(NEW_POST,)) for slug, st in site.states.items()}
    page = LIVER_URL.removeprefix(BASE)
    store_page(archive, LIVER_URL, site(page).body, T0 + timedelta(days=9))
    for rerun in ([], ["reparse", "--force", "--db", db_url]):
        if rerun:
            assert main(rerun) == 0
            capsys.readouterr()
        shown = cli_json(capsys, "show", LIVER_URL, "--db", db_url)
        assert next(c for c in shown["comments"] if c["key"] == NEW_KEY)["text"] == REDACTED
        assert hits(capsys, db_url, "accident scan") == [] and "accident" not in records_text(archive)


def test_redact_an_author_with_raw_captures(archive, db_url, capsys) -> None:
    sent = fill(archive, rounds=4)
    liver = {c for c, (u, _) in sent.items() if u == LIVER_URL}
    rep = cli_json(capsys, "redact", "--author", "ysmina", "--raw", "--reason", "erasure request", "--db", db_url)
    assert rep["raw_redacted"] is True
    removed = rep["removed"]
    assert removed["comments"] == 1 and removed["replies"] == 1  # serenity36's "@ysmina--" reply
    assert set(removed["captures"]) == liver and removed["raw_kept"] == []  # every liver capture shows her post
    shown = cli_json(capsys, "show", LIVER_URL, "--db", db_url)
    assert "ysmina" not in json.dumps(shown) and "ysmina" not in records_text(archive)
    reply = next(c for c in shown["comments"] if c["key"] == "post_2409872")
    assert reply["author"] == "serenity36" and reply["reply_to"] == REDACTED
    assert reply["text"].startswith("@[redacted]--") and reply["reply_to_key"] == "post_2409871"
    assert hits(capsys, db_url, "interesting") == []  # a word only her post had

    with archive.sessions() as s:
        for cap in s.scalars(select(Capture).where(Capture.id.in_(liver))):
            assert cap.redacted and cap.blob_digest is None and cap.redacted_digest == digest_of(sent[cap.id][1])
        assert s.scalar(select(Blob.digest).where(Blob.digest.in_([digest_of(sent[c][1]) for c in liver]))) is None
    restore_all(archive, sent, skip=liver)  # the magnesium chain, rooted on a liver blob, was re-based
    code, out, _ = cli(capsys, "verify", "--db", db_url)
    assert code == 0, out
    rp = cli_json(capsys, "reparse", "--force", "--db", db_url)
    assert rp["considered"] == len(sent) - len(liver)  # redacted captures are skipped
    assert cli_json(capsys, "history", LIVER_URL, "--db", db_url)["captures"] == len(liver)

    code, out, _ = cli(capsys, "redact", "--author", "ysmina", "--raw", "--reason", "again", "--db", db_url)
    assert code == 0 and "already redacted" in out
    code, _, err = cli(capsys, "redact", "--author", "nobody-at-all", "--reason", "x", "--db", db_url)
    assert code == 1 and "no comment by" in err


def test_redact_a_capture_in_the_middle_of_a_delta_chain(archive, db_url, capsys) -> None:
    sent = fill(archive, rounds=5)
    with archive.sessions() as s:
        middle = next(
            d for d in s.scalars(select(Blob.digest).where(Blob.base_digest.is_not(None)).order_by(Blob.seq, Blob.digest))
            if s.scalar(select(Blob.digest).where(Blob.base_digest == d).limit(1))
        )
        victim = s.scalar(select(Capture.id).where(Capture.blob_digest == middle))
    code, _, err = cli(capsys, "redact", "--capture", str(victim), "--db", db_url)
    assert code == 1 and "--reason" in err
    code, out, _ = cli(capsys, "redact", "--capture", str(victim), "--reason", "court order", "--db", db_url)
    assert code == 0 and "raw captures REDACTED: the payloads of 1 captures are deleted" in out
    audit = cli_json(capsys, "redact", "--list", "--db", db_url)
    assert audit[-1]["target"]["kind"] == "capture" and audit[-1]["raw_redacted"] is True
    assert audit[-1]["removed"]["captures"] == [victim] and audit[-1]["removed"]["rebased"] >= 1
    restore_all(archive, sent, skip={victim})  # its neighbours, deltas of it before, restore
    code, out, _ = cli(capsys, "verify", "--db", db_url)
    assert code == 0, out
    with archive.sessions() as s:
        assert s.get(Capture, victim).redacted_digest == middle
    # A repeat is harmless; a capture that is not there is a user error.
    again = cli_json(capsys, "redact", "--capture", str(victim), "--reason", "again", "--db", db_url)
    assert again["already_redacted"] and again["removed"]["captures"] == []
    code, _, err = cli(capsys, "redact", "--capture", "999999", "--reason", "x", "--db", db_url)
    assert code == 1 and "no capture 999999" in err


def test_a_failed_redaction_changes_nothing(archive, db_url, capsys) -> None:
    fill(archive, rounds=4)
    with archive.sessions() as s:
        # A liver delta with deltas of its own: removing it must re-base them, which fails.
        damaged = next(
            d for d in s.scalars(
                select(Blob.digest).join(Capture, Capture.blob_digest == Blob.digest)
                .join(Page, Page.id == Capture.page_id)
                .where(Page.url == LIVER_URL, Blob.base_digest.is_not(None)).order_by(Blob.digest)
            )
            if s.scalar(select(Blob.digest).where(Blob.base_digest == d).limit(1))
        )
    corrupt(archive, damaged)
    code, _, err = cli(capsys, "redact", "--author", "ysmina", "--raw", "--reason", "x", "--db", db_url)
    assert code == 1 and "nothing was changed" in err and "pagetrail verify" in err
    with archive.sessions() as s:
        assert list_redactions(s) == []
        assert s.scalar(select(Capture.id).where(Capture.redacted.is_(True))) is None
    assert "ysmina" in records_text(archive)
    assert [h["comment_key"] for h in hits(capsys, db_url, "interesting")] == ["post_2409871"]
    with archive.engine.connect() as c:
        assert c.execute(text("SELECT count(*) FROM comment WHERE author = 'ysmina'")).scalar() == 1
