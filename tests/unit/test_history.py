"""History: runs in SQLite, crash consistency, changes since the previous run, ``tepat history``.

Input: the recorded fleet in conftest.py, changed run to run as a fleet changes. The crash
test kills a real child process in the middle of ``finish``'s transaction.
"""
from __future__ import annotations

import argparse
import copy
import json
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tepat import history
from tepat.errors import InputError
from tepat.results import ControlResult

ROOT = Path(__file__).resolve().parents[2]


def cli(argv: list[str]) -> int:
    """``tepat history ...`` through its own parser, with cli.main's error mapping."""
    parser = argparse.ArgumentParser(prog="tepat")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-i", "--inventory")
    history.add_parser(parser.add_subparsers(), common)
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except InputError as exc:
        print(f"tepat: {exc}", file=sys.stderr)
        return 2


def host(run, court_id):
    return next(h for h in run.hosts if h.court_id == court_id)


def set_control(h, cid, status, detail="", root=None):
    for i, c in enumerate(h.controls):
        if c.id == cid:
            h.controls[i] = ControlResult(cid, status, detail, root)
    h.status = "non_compliant" if h.failing() else "compliant"


def next_day(run):
    """The fleet a day later: PN Sleman fixed, PN Jakarta Pusat lost DNS, PN Sampit's clock
    drifted (already non-compliant: a new failing control), PN Bandung went down."""
    later = copy.deepcopy(run)
    later.started_at, later.finished_at = "2026-12-05T17:30:00+00:00", "2026-12-05T17:31:02+00:00"
    for cid in ("PHP-TZ-01", "SVC-01"):
        set_control(host(later, "pn-sleman"), cid, "pass")
    set_control(host(later, "pn-jakarta-pusat"), "NET-01", "fail", "no address")
    for cid in ("NET-02", "NET-03", "NET-04"):
        set_control(host(later, "pn-jakarta-pusat"), cid, "fail", "NET-01 failed", "NET-01")
    set_control(host(later, "pn-sampit"), "CLK-01", "fail", "offset +95 s")
    bandung = host(later, "pn-bandung")
    bandung.status, bandung.reason, bandung.controls = "unreachable", "no_route", []
    return later


def test_begin_marks_incomplete_and_finish_completes(fleet_run, tmp_path):
    db = tmp_path / "h.sqlite"
    run_id = history.begin(db, fleet_run.inventory)
    [r] = history.runs(db)
    assert (r.id, r.complete, r.state, r.finished_at, r.hosts) == (run_id, False, "incomplete", None, None)
    history.finish(db, run_id, fleet_run)
    [r] = history.runs(db)
    assert r.complete and r.state == "complete"
    assert (r.hosts, r.compliant, r.non_compliant, r.unreachable) == (12, 2, 6, 4)
    assert history.load_run(db, run_id) == fleet_run


def test_interrupted_run_is_stored_but_not_complete(fleet_run, tmp_path):
    db = tmp_path / "h.sqlite"
    fleet_run.complete = False
    history.record(db, fleet_run)
    assert history.runs(db)[0].state == "interrupted"
    with pytest.raises(InputError, match="no complete run"):
        history.load_run(db)


def test_a_failed_finish_rolls_back_whole(fleet_run, tmp_path):
    db = tmp_path / "h.sqlite"
    run_id = history.begin(db, fleet_run.inventory)
    fleet_run.hosts[5].controls = [ControlResult("X", "fail", object())]  # type: ignore[arg-type]
    with pytest.raises(sqlite3.ProgrammingError):
        history.finish(db, run_id, fleet_run)
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM host_results").fetchone() == (0,)
        assert conn.execute("SELECT complete FROM runs").fetchone() == (0,)


def test_a_process_killed_inside_finish_leaves_a_consistent_incomplete_run(tmp_path):
    db = tmp_path / "h.sqlite"
    child = textwrap.dedent(f"""
        import os, sqlite3, sys
        sys.path.insert(0, {str(ROOT / "tests" / "unit")!r})
        from run_fixtures import make_fleet_run
        from tepat import history
        run = make_fleet_run()
        run_id = history.begin({str(db)!r}, run.inventory)
        real_connect = sqlite3.connect
        def connect(*a, **k):
            conn = real_connect(*a, **k)
            seen = []
            def trace(sql):
                seen.append(sql)
                if "INSERT INTO control_results" in sql and len(seen) > 40:
                    os._exit(9)   # dies like a kill -9: no cleanup, no rollback by Python
            conn.set_trace_callback(trace)
            return conn
        history.sqlite3.connect = connect
        history.finish({str(db)!r}, run_id, run)
    """)
    proc = subprocess.run([sys.executable, "-c", child], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 9, proc.stderr
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert conn.execute("SELECT count(*) FROM host_results").fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM control_results").fetchone() == (0,)
    [r] = history.runs(db)
    assert r.state == "incomplete" and r.hosts is None


def test_changes_since_previous_run(fleet_run, tmp_path):
    db = tmp_path / "h.sqlite"
    history.record(db, fleet_run)
    history.record(db, next_day(fleet_run))
    ch = history.changes_since_previous(db)
    assert ch.previous is not None and ch.previous.id == ch.run.id - 1
    new = {c.court_id: c for c in ch.new_failures}
    assert set(new) == {"pn-jakarta-pusat", "pn-sampit", "pn-bandung"}
    assert new["pn-jakarta-pusat"].before == "compliant"
    assert new["pn-jakarta-pusat"].new_controls == ["NET-01", "NET-02", "NET-03", "NET-04"]
    assert "DNS" in new["pn-jakarta-pusat"].headline
    assert new["pn-sampit"].new_controls == ["CLK-01"]
    assert (new["pn-bandung"].after, new["pn-bandung"].reason) == ("unreachable", "no_route")
    assert [c.court_id for c in ch.recovered] == ["pn-sleman"]
    assert ch.recovered[0].fixed_controls == ["PHP-TZ-01", "SVC-01"]
    # Still failing the same way: not news.
    assert "pn-ambon" not in new and "pn-jayapura" not in new


def test_summary_is_short_and_in_both_languages(fleet_run, tmp_path):
    db = tmp_path / "h.sqlite"
    history.record(db, fleet_run)
    history.record(db, next_day(fleet_run))
    en = history.changes_since_previous(db, lang="en").summary("en")
    assert en.startswith("tepat: 3 courts newly failing since run 1")
    assert "  PN Jakarta Pusat (pn-jakarta-pusat, PT DKI Jakarta): non-compliant: NET-01" in en
    assert "PN Bandung (pn-bandung, PT Bandung): unreachable (no route)" in en
    assert "1 court recovered: PN Sleman." in en
    assert len(en.splitlines()) <= 10
    id_ = history.changes_since_previous(db, lang="id").summary("id")
    assert "3 pengadilan baru bermasalah" in id_ and "kembali sesuai: PN Sleman" in id_
    assert "Server tidak dapat menemukan alamat" in id_


def test_first_run_reports_every_failing_court_and_same_run_twice_nothing(fleet_run, tmp_path):
    db = tmp_path / "h.sqlite"
    history.record(db, fleet_run)
    first = history.changes_since_previous(db)
    assert first.previous is None and len(first.new_failures) == 10
    history.record(db, fleet_run)
    again = history.changes_since_previous(db)
    assert again.new_failures == [] and again.recovered == [] and again.summary() == ""


def test_runs_of_other_inventories_and_incomplete_runs_are_not_compared(fleet_run, tmp_path):
    db = tmp_path / "h.sqlite"
    history.record(db, fleet_run)
    lab = copy.deepcopy(fleet_run)
    lab.inventory = "inventories/lab.py"
    lab.hosts = lab.hosts[:1]
    history.record(db, lab)  # another fleet in between
    history.begin(db, fleet_run.inventory)  # a crashed run in between
    history.record(db, next_day(fleet_run))
    ch = history.changes_since_previous(db, inventory=fleet_run.inventory)
    assert ch.previous.id == 1 and len(ch.new_failures) == 3


def test_cli_show_changes_export_import(fleet_run, tmp_path, capsys):
    from tepat.report import json_report

    db = tmp_path / "h.sqlite"
    day1, day2 = tmp_path / "day1.json", tmp_path / "day2.json"
    day1.write_text(json_report.render(fleet_run))
    day2.write_text(json_report.render(next_day(fleet_run)))
    assert cli(["history", "import", str(day1), "--db", str(db)]) == 0
    assert cli(["history", "--db", str(db), "import", str(day1)]) == 0  # same run: skipped
    assert "already recorded" in capsys.readouterr().out
    assert cli(["history", "import", str(day2), "--db", str(db)]) == 0
    capsys.readouterr()

    assert cli(["history", "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert "    2  2026-12-05T17:30:00+00:00" in out and "complete" in out
    assert "3 courts newly failing since run 1" in out

    assert cli(["history", "--db", str(db), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [r["id"] for r in data["runs"]] == [2, 1]
    assert data["runs"][0]["state"] == "complete"
    assert {c["court_id"] for c in data["changes"]["recovered"]} == {"pn-sleman"}

    assert cli(["history", "changes", "--db", str(db), "--lang", "id"]) == 1
    assert "3 pengadilan baru bermasalah" in capsys.readouterr().out
    assert cli(["history", "changes", "--db", str(db), "--run", "1", "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["previous"] is None

    out_html = tmp_path / "out" / "index.html"
    assert cli(["history", "export", "--db", str(db), "--format", "html", "-o", str(out_html)]) == 0
    assert "PN Jakarta Pusat" in out_html.read_text()
    assert cli(["history", "export", "--db", str(db), "--run", "1", "--format", "json"]) == 0
    assert json_report.load(capsys.readouterr().out) == fleet_run


def test_cli_bad_input_exits_2_and_creates_nothing(tmp_path, capsys):
    db = tmp_path / "missing.sqlite"
    assert cli(["history", "--db", str(db)]) == 2
    assert "no history at" in capsys.readouterr().err
    assert cli(["history", "changes", "--db", str(db)]) == 2
    assert not db.exists()
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    assert cli(["history", "import", str(bad), "--db", str(db)]) == 2
    assert 'no "hosts" list' in capsys.readouterr().err
    assert not db.exists()


def test_default_path(monkeypatch, tmp_path):
    monkeypatch.setenv("TEPAT_HISTORY", str(tmp_path / "x.sqlite"))
    assert history.default_path() == tmp_path / "x.sqlite"
    monkeypatch.delenv("TEPAT_HISTORY")
    monkeypatch.setattr(history.os, "geteuid", lambda: 0)
    assert history.default_path() == Path("/var/lib/tepat/history.sqlite")
    monkeypatch.setattr(history.os, "geteuid", lambda: 1000)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    assert history.default_path() == tmp_path / ".local/share/tepat/history.sqlite"


def test_changes_of_an_unfinished_last_run_is_an_alert(fleet_run, tmp_path, capsys):
    db = tmp_path / "h.sqlite"
    history.record(db, fleet_run)
    history.record(db, fleet_run)
    history.begin(db, fleet_run.inventory)  # the last run crashed
    assert history.changes_since_previous(db).alert is False  # latest complete: no news
    ch = history.changes_since_previous(db, complete_only=False)
    assert ch.alert and ch.run.state == "incomplete" and ch.new_failures == []
    assert cli(["history", "changes", "--db", str(db)]) == 1
    assert "tepat: run 3 (" in capsys.readouterr().out


def test_record_defaults_to_the_environment_path(fleet_run, tmp_path, monkeypatch):
    monkeypatch.setenv("TEPAT_HISTORY", str(tmp_path / "env.sqlite"))
    run_id = history.record(None, fleet_run)
    assert history.load_run(tmp_path / "env.sqlite", run_id) == fleet_run


def test_export_from_a_json_report(fleet_run, tmp_path):
    from tepat.report import json_report

    src = tmp_path / "run.json"
    src.write_text(json_report.render(fleet_run))
    prom = tmp_path / "textfile" / "tepat.prom"
    assert cli(["history", "export", "--from", str(src), "--format", "prometheus",
                "-o", str(prom), "--db", str(tmp_path / "none.sqlite")]) == 0
    assert 'tepat_hosts{status="unreachable"} 4' in prom.read_text()
    assert not (tmp_path / "none.sqlite").exists()
    assert cli(["history", "export", "--from", str(tmp_path / "missing.json")]) == 2


def test_summary_names_at_most_limit_courts(fleet_run, tmp_path):
    db = tmp_path / "h.sqlite"
    history.record(db, fleet_run)
    text = history.changes_since_previous(db).summary("en", limit=3)
    assert text.startswith("tepat: 10 courts newly failing since the start of the history:")
    assert "  ... and 7 more (see the report)" in text
    assert sum(line.startswith("  PN ") for line in text.splitlines()) == 3
