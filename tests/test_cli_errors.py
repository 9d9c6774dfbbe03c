"""Bad input at the command line: a clear message, exit 1, nothing archived lost."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timezone

import pytest

from pagetrail.cli import main
from parsers.records import Body, Metadata, ParsedPage
from storage.archive import Archive
from storage.db import open_engine
from storage.interface import CaptureIn

URL = "http://www.wisegeek.com/what-is-liver-calcification.htm"


@pytest.fixture
def filled(sqlite_url):
    archive = Archive(open_engine(sqlite_url))
    page = ParsedPage(url=URL, profile="wisegeek", parser_version="t",
                      metadata=Metadata(title="Liver"), body=Body(text="P", paragraphs=["P"]))
    archive.store_capture(
        CaptureIn(requested_url=URL, fetched_at=datetime(2019, 6, 1, tzinfo=timezone.utc), status=200,
                  payload=b"<html></html>"), page)
    archive.engine.dispose()
    return sqlite_url


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_bad_at_is_a_user_error(filled, capsys):
    code, out, err = run(capsys, "show", URL, "--db", filled, "--at", "last tuesday")
    assert code == 1 and "YYYY-MM-DD" in err
    code, out, _ = run(capsys, "show", URL, "--db", filled, "--at", "2019-06-01", "--json")
    assert code == 0 and json.loads(out)["revision"]["revision"] == 1


def test_unknown_url_says_how_to_archive_it(filled, capsys):
    code, _, err = run(capsys, "history", "http://www.wisegeek.com/nope.htm", "--db", filled)
    assert code == 1 and "pagetrail crawl" in err
    code, _, err = run(capsys, "history", "not a url", "--db", filled)
    assert code == 1 and "http(s)" in err


def test_before_the_first_capture_there_is_nothing(filled, capsys):
    code, _, err = run(capsys, "show", URL, "--db", filled, "--at", "2018-01-01")
    assert code == 1 and "first revision is from 2019-06-01" in err


def test_read_only_commands_refuse_a_missing_database(tmp_path, capsys):
    db = tmp_path / "none.db"
    for verb in (["history", URL], ["show", URL], ["diff", URL], ["status"]):
        code, _, err = run(capsys, *verb, "--db", f"sqlite:///{db}")
        assert code == 1 and "no archive at" in err
    assert not db.exists()  # looking never creates an empty archive


def test_unreachable_database_is_a_clear_error(capsys):
    code, _, err = run(capsys, "status", "--db", "postgresql://postgres@127.0.0.1:1/none")
    assert code == 1 and "cannot reach the database" in err


def test_postgres_without_schema_says_to_upgrade(pg_url, capsys):
    code, _, err = run(capsys, "status", "--db", pg_url)
    assert code == 1 and "pagetrail db upgrade" in err
    code, out, _ = run(capsys, "db", "upgrade", "--db", pg_url)
    assert code == 0 and "upgraded" in out
    code, out, _ = run(capsys, "db", "upgrade", "--db", pg_url)
    assert code == 0 and "already" in out
    code, out, _ = run(capsys, "status", "--db", pg_url, "--json")
    assert code == 0 and json.loads(out)["totals"]["pages"] == 0


def test_newer_schema_is_refused(filled, capsys):
    import sqlite3

    path = filled.removeprefix("sqlite:///")
    con = sqlite3.connect(path)
    con.execute("UPDATE alembic_version SET version_num='9999_future'")
    con.commit()
    con.close()
    code, _, err = run(capsys, "status", "--db", filled)
    assert code == 1 and "newer than this pagetrail" in err


def test_bad_config_line_names_file_and_key(tmp_path, capsys):
    cfg = tmp_path / "bad.toml"
    cfg.write_text('per_host_delay = "soon"\n')
    code, _, err = run(capsys, "status", "--config", str(cfg))
    assert code == 1 and str(cfg) in err and "per_host_delay" in err
    cfg.write_text("colour = 'blue'\n")
    code, _, err = run(capsys, "status", "--config", str(cfg))
    assert code == 1 and "unknown setting 'colour'" in err


def test_usage_error_exits_1_and_help_is_complete(capsys):
    with pytest.raises(SystemExit) as e:
        main(["show"])
    assert e.value.code == 1
    out = subprocess.run([sys.executable, "-m", "pagetrail.cli", "show", "--help"],
                         capture_output=True, text=True).stdout
    for flag in ("--at", "--json", "--db", "--config"):
        assert flag in out
