"""`pagetrail schedule ...`: the operator's round trip through the archive and TOML."""

from __future__ import annotations

import json

from pagetrail.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_add_list_pause_export_apply_remove(db_url, tmp_path, capsys):
    code, out, _ = run(capsys, "schedule", "add", "health", "--seeds", "https://www.wisegeek.com/",
                       "--cron", "0 3 * * *", "--jitter", "10m", "--max-pages", "100", "--db", db_url)
    assert code == 0 and "next run" in out
    code, _, err = run(capsys, "schedule", "add", "health", "--seeds", "https://x.org/", "--every", "1h", "--db", db_url)
    assert code == 1 and "exists" in err
    run(capsys, "schedule", "pause", "health", "--db", db_url)
    code, out, _ = run(capsys, "schedule", "list", "--json", "--db", db_url)
    (row,) = json.loads(out)
    assert row["paused"] is True and row["when"] == "0 3 * * *" and row["config"]["max_pages"] == 100

    exported = tmp_path / "schedules.toml"
    assert run(capsys, "schedule", "export", "-o", str(exported), "--db", db_url)[0] == 0
    run(capsys, "schedule", "remove", "health", "--db", db_url)
    assert json.loads(run(capsys, "schedule", "list", "--json", "--db", db_url)[1]) == []
    assert run(capsys, "schedule", "apply", str(exported), "--db", db_url)[0] == 0
    (again,) = json.loads(run(capsys, "schedule", "list", "--json", "--db", db_url)[1])
    assert again["config"] == row["config"]


def test_bad_schedule_file_writes_nothing(db_url, tmp_path, capsys):
    f = tmp_path / "s.toml"
    f.write_text('[schedules.good]\nseeds = ["https://a.org/"]\nevery = "1h"\n\n'
                 '[schedules.bad]\nseeds = ["https://b.org/"]\ncron = "99 * * * *"\n')
    code, _, err = run(capsys, "schedule", "apply", str(f), "--db", db_url)
    assert code == 1 and "bad cron" in err and str(f) in err
    assert json.loads(run(capsys, "schedule", "list", "--json", "--db", db_url)[1]) == []
    f.write_text('[schedules.x]\nseeds = ["https://a.org/"]\nevery = "1h"\ncolour = "red"\n')
    code, _, err = run(capsys, "schedule", "apply", str(f), "--db", db_url)
    assert code == 1 and "colour" in err


def test_unknown_schedule(db_url, capsys):
    code, _, err = run(capsys, "schedule", "pause", "ghost", "--db", db_url)
    assert code == 1 and "no schedule named 'ghost'" in err
