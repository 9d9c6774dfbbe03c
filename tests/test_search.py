"""Full-text search over time, on SQLite FTS5 and PostgreSQL tsvector: same hits, both engines."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from pagetrail.cli import main
from parsers.records import Body, Comment, Metadata, ParsedPage, ThreadInfo
from storage import search
from storage.interface import CaptureIn

T0 = datetime(2019, 3, 1, tzinfo=timezone.utc)
LIVER = "http://www.wisegeek.com/liver.htm"
MALARIA = "http://other.example.org/malaria.htm"


def parsed(url, title, paragraphs, comments=()):
    return ParsedPage(
        url=url, profile="wisegeek", parser_version="t",
        metadata=Metadata(title=title), body=Body(text="\n\n".join(paragraphs), paragraphs=list(paragraphs)),
        comments=[Comment(id=None, key=str(n), number=n, author=a, text=t) for n, a, t in comments],
        thread=ThreadInfo(present=True, parsed_cleanly=True, complete=True),
    )


@pytest.fixture
def filled(archive):
    def store(url, days, page):
        archive.store_capture(CaptureIn(requested_url=url, fetched_at=T0 + timedelta(days=days), status=200,
                                        payload=b"x"), page)

    store(LIVER, 0, parsed(LIVER, "Liver calcification", ["Calcium deposits form on the liver."]))
    store(LIVER, 10, parsed(LIVER, "Liver calcification", ["Calcium deposits form on the liver.",
                                                           "Magnesium is sometimes suggested."],
                            comments=[(1, "ysmina", "Does magnesium help dissolve calcium?")]))
    store(MALARIA, 5, parsed(MALARIA, "DDT and malaria", ["DDT kills mosquitoes carrying malaria."]))
    return archive


def keys(hits):
    return sorted((h.url, h.kind, h.revision, h.comment_key) for h in hits)


def test_hits_across_revisions_and_comments(filled):
    with filled.sessions() as s:
        hits = search.search(s, "magnesium")
    assert keys(hits) == [(LIVER, "comment", None, "1"), (LIVER, "revision", 2, None)]
    rev = next(h for h in hits if h.kind == "revision")
    assert "**Magnesium**" in rev.snippet
    assert rev.valid_from == T0 + timedelta(days=10) and rev.valid_to is None


def test_stemming_and_filters(filled):
    with filled.sessions() as s:
        assert {h.url for h in search.search(s, "deposit")} == {LIVER}  # porter / english stemming
        old = search.search(s, "calcium", to=T0 + timedelta(days=5), where="body")
        assert keys(old) == [(LIVER, "revision", 1, None)]
        assert keys(search.search(s, "calcium", from_=T0 + timedelta(days=20), where="body")) == [
            (LIVER, "revision", 2, None)]
        assert keys(search.search(s, "magnesium", where="comments")) == [(LIVER, "comment", None, "1")]
        assert keys(search.search(s, "malaria", site="other.example.org")) == [(MALARIA, "revision", 1, None)]
        assert search.search(s, "malaria", site="www.wisegeek.com") == []
        with pytest.raises(search.BadQuery):
            search.search(s, "!!!")


def test_search_cli_json(filled, db_url, capsys):
    assert main(["search", "magnesium", "--db", db_url, "--json", "--in", "body"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [set(h) for h in out["hits"]] == [{"url", "page", "page_uid", "revision", "revision_ref", "snippet",
                                              "valid_from", "valid_to"}]
    hit = out["hits"][0]
    assert hit["revision_ref"] == f"{hit['page_uid']}:{hit['revision']}"
    assert out["hits"][0]["revision"] == 2


# ---- ranking, limit and snippets (search ranks first, then makes snippets for the hits only) ----

def _page_url(n):
    return f"http://www.wisegeek.com/zinc-{n}.htm"


@pytest.fixture
def ranked(archive):
    """Pages whose relevance to "zinc" is known on both engines: the word in the title and
    repeated in the body beats it repeated in the body, which beats one mention in a long
    body. Each body has its own marker word, so a snippet shows which document it came from."""
    filler = " ".join(f"word{i}" for i in range(40))
    bodies = {
        1: ("Fish", [f"Cod marker1 once mentions zinc among much else. {filler}"]),
        2: ("Zinc", ["Zinc marker2 zinc zinc zinc supplements."]),
        3: ("Nuts", ["Zinc marker3 zinc zinc supplements. " + filler]),
        4: ("Seeds", [f"Seeds marker4 bring zinc with a long tail of other words. {filler}"]),
    }
    for n, (title, paragraphs) in bodies.items():
        archive.store_capture(
            CaptureIn(requested_url=_page_url(n), fetched_at=T0 + timedelta(days=n), status=200, payload=b"x"),
            parsed(_page_url(n), title, paragraphs),
        )
    return archive


def test_limit_keeps_the_best_ranked_hits_in_rank_order(ranked):
    with ranked.sessions() as s:
        every = search.search(s, "zinc")
        assert {h.url for h in every} == {_page_url(n) for n in (1, 2, 3, 4)}
        assert [h.url for h in every[:2]] == [_page_url(2), _page_url(3)]
        for n in (1, 2, 3):
            assert [h.url for h in search.search(s, "zinc", limit=n)] == [h.url for h in every[:n]]
        assert search.search(s, "zinc", limit=0) == []


def test_snippets_highlight_the_words_of_each_returned_hit(ranked):
    with ranked.sessions() as s:
        for limit in (1, 3, 50):
            hits = search.search(s, "zinc", limit=limit)
            for h in hits:
                n = h.url.rsplit("-", 1)[1].split(".")[0]
                assert f"marker{n}" in h.snippet  # this hit's own document ...
                assert "**zinc**" in h.snippet.lower()  # ... with the query word highlighted


def test_snippets_are_made_only_for_the_returned_hits(ranked):
    """A snippet re-reads and tokenizes its document: made for every match before ranking,
    they were most of a common word's search time."""
    from sqlalchemy import event

    engine = ranked.engine
    statements: list[str] = []

    def record(conn, cursor, statement, params, context, executemany):  # type: ignore[no-untyped-def]
        if "snippet(" in statement or "ts_headline" in statement:
            statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        with ranked.sessions() as s:
            assert len(search.search(s, "zinc", limit=1)) == 1
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert statements, "no snippet was made"
    for st in statements:
        # the snippet's statement names the one returned document; it does not rank
        assert " IN (" in st and "bm25" not in st and "ts_rank" not in st


@pytest.mark.parametrize("tie_margin", [200, 1])
def test_equal_scores_are_ordered_by_page_also_across_the_limit(archive, monkeypatch, tie_margin):
    """Pages with the same text score the same: the hits kept at the limit are the first
    pages, as without a limit. On SQLite the cut falls inside a tie here: the unfiltered
    ranking settles it from the tied matches' pages, or (a tie running past the matches it
    read, forced with a margin of 1) hands over to the joined ranking."""
    monkeypatch.setattr(search, "_TIE_MARGIN", tie_margin)
    def store(n, day, text):
        archive.store_capture(
            CaptureIn(requested_url=_page_url(n), fetched_at=T0 + timedelta(days=day), status=200, payload=b"x"),
            parsed(_page_url(n), "Same", [text]),
        )

    for n in range(5):  # pages in order ...
        store(n, 0, "Nothing to see here.")
    for n in reversed(range(5)):  # ... their matching documents in the reverse order
        store(n, 10 - n, "Identical copper text on every page.")
    with archive.sessions() as s:
        every = search.search(s, "copper")
        assert [h.page for h in every] == sorted(h.page for h in every) and len(every) == 5
        for limit in (1, 2, 4):
            assert [h.page for h in search.search(s, "copper", limit=limit)] == [h.page for h in every[:limit]]


# ---- a common word: ranked among its newest matches --------------------------------------------

def test_a_common_word_is_ranked_among_its_newest_matches(archive, monkeypatch):
    """With more matches than search.CANDIDATES, the hits are the best-ranked of the newest
    CANDIDATES matches that pass the filters (newest: stored last), in the order the full
    ranking gives them; the older, better matches are not ranked. A filter applies before the
    candidates are counted; a larger limit takes as many candidates. With no more matches than
    CANDIDATES every match is ranked."""
    filler = " ".join(f"word{i}" for i in range(20))
    for n in range(1, 7):  # older pages mention zinc more often: they rank higher
        archive.store_capture(
            CaptureIn(requested_url=_page_url(n), fetched_at=T0 + timedelta(days=n), status=200, payload=b"x"),
            parsed(_page_url(n), f"Page {n}", [" ".join(["zinc"] * (7 - n)) + f" marker{n} {filler}"]),
        )
    archive.store_capture(  # the newest matching document: a comment
        CaptureIn(requested_url=_page_url(7), fetched_at=T0 + timedelta(days=7), status=200, payload=b"x"),
        parsed(_page_url(7), "Page 7", [f"marker7 {filler}"], comments=[(1, "ann", "Zinc, once.")]),
    )

    def key(h):
        return (h.url, h.kind)

    with archive.sessions() as s:
        every = search.search(s, "zinc")  # 7 matches, CANDIDATES is far above: all ranked
        bodies = search.search(s, "zinc", where="body")
        assert len(every) == 7 and key(every[0]) == (_page_url(1), "revision")
        monkeypatch.setattr(search, "CANDIDATES", 3)
        newest = {(_page_url(7), "comment"), (_page_url(6), "revision"), (_page_url(5), "revision")}
        assert [key(h) for h in search.search(s, "zinc", limit=3)] == [key(h) for h in every if key(h) in newest]
        assert [key(h) for h in search.search(s, "zinc", limit=2)] == [key(h) for h in every if key(h) in newest][:2]
        # asked for more hits than CANDIDATES: as many candidates as hits asked for
        newest5 = newest | {(_page_url(4), "revision"), (_page_url(3), "revision")}
        assert [key(h) for h in search.search(s, "zinc", limit=5)] == [key(h) for h in every if key(h) in newest5]
        # --in body: the newest three revisions (the comment does not count)
        newest_bodies = {(_page_url(n), "revision") for n in (4, 5, 6)}
        assert [key(h) for h in search.search(s, "zinc", where="body", limit=3)] == [
            key(h) for h in bodies if key(h) in newest_bodies]
        # --to before the newest documents: the three newest of those it keeps
        older = {(_page_url(n), "revision") for n in (1, 2, 3)}
        assert {key(h) for h in search.search(s, "zinc", to=T0 + timedelta(days=3, hours=1), limit=3)} == older
        monkeypatch.setattr(search, "CANDIDATES", 7)  # exactly as many as match: all ranked
        assert [key(h) for h in search.search(s, "zinc", limit=3)] == [key(h) for h in every][:3]


def test_migration_0011_keeps_the_hits_and_moves_tsvectors_into_the_row(pg_url):
    """0011 (PostgreSQL) keeps search_doc.tsv in the row and rewrites the rows indexed before
    it: the same hits (order, snippets, windows, scores) after as before, and a long revision's
    tsvector no longer in the TOAST table (only its text is)."""
    from alembic import command
    from sqlalchemy import text

    from storage.archive import Archive
    from storage.db import _alembic_config, make_engine, upgrade

    engine = make_engine(pg_url)
    with engine.begin() as conn:
        command.upgrade(_alembic_config(conn), "0010_page_uid")
    archive = Archive(engine)
    long_text = " ".join(f"zinc{n}x{n * 7919 % 1000}" for n in range(400))  # ~6 KB, little to compress
    for n, body in enumerate((["Zinc and copper.", long_text], ["Zinc alone."], ["Copper, no zinc, twice zinc."])):
        archive.store_capture(
            CaptureIn(requested_url=_page_url(n), fetched_at=T0 + timedelta(days=n), status=200, payload=b"x"),
            parsed(_page_url(n), f"Page {n}", body),
        )

    def toasted_values() -> int:
        with engine.connect() as conn:
            toast = conn.execute(text(
                "SELECT reltoastrelid::regclass::text FROM pg_class WHERE oid = 'search_doc'::regclass")).scalar()
            return conn.execute(text(f"SELECT count(DISTINCT chunk_id) FROM {toast}")).scalar()

    def hits():
        with archive.sessions() as s:
            return [(h.url, h.kind, h.revision, h.snippet, h.valid_from, h.valid_to, h.rank)
                    for h in search.search(s, "zinc")]

    before, toasted_before = hits(), toasted_values()
    assert len(before) == 3 and toasted_before == 2  # the long revision's text and tsvector
    upgrade(engine)
    assert hits() == before
    assert toasted_values() == 1  # its text only
    engine.dispose()


def test_postgresql_snippets_compile_when_search_is_imported_first():
    """storage.search builds its statements at import; ts_headline() is only known once
    SQLAlchemy's PostgreSQL dialect is imported. A program that imports storage.search before
    it opens a PostgreSQL archive (a fresh interpreter: the test process has it loaded already)
    must still make snippets."""
    import subprocess
    import sys
    from pathlib import Path

    code = ("import storage.search as s\n"
            "from sqlalchemy.dialects import postgresql\n"
            "print(s._PG_SNIPPETS.compile(dialect=postgresql.dialect()))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=Path(__file__).resolve().parent.parent)
    assert out.returncode == 0, out.stderr
    assert "ts_headline" in out.stdout
