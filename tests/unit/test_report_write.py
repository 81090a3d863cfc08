"""``tepat.report.write``: formats, stdout vs file, atomic replacement, bad arguments.

Input: the recorded fleet in run_fixtures.py.
"""
from __future__ import annotations

import json
import os

import pytest

from tepat import report


@pytest.mark.parametrize("fmt", report.FORMATS)
def test_every_format_to_stdout_and_to_a_file_is_the_same_text(fleet_run, fmt, tmp_path, capsys):
    report.write(fleet_run, fmt, None, "id")
    shown = capsys.readouterr().out
    out = tmp_path / "deep" / f"report.{fmt}"
    report.write(fleet_run, fmt, str(out), "id")
    assert out.read_text(encoding="utf-8") == shown == report.render(fleet_run, fmt, "id")
    assert "PN Ambon" in shown or "pn-ambon" in shown


def test_dash_means_stdout(fleet_run, capsys):
    report.write(fleet_run, "json", "-")
    assert json.loads(capsys.readouterr().out)["summary"]["hosts"] == 12


@pytest.mark.parametrize("fmt, lang, message", [
    ("xml", "en", "unknown report format 'xml'"),
    ("json", "fr", "unknown language 'fr'"),
])
def test_bad_arguments_write_nothing(fleet_run, tmp_path, fmt, lang, message):
    out = tmp_path / "r.txt"
    with pytest.raises(ValueError, match=message):
        report.write(fleet_run, fmt, str(out), lang)
    assert not out.exists()


def test_a_failed_write_leaves_the_old_file_and_no_temporary(fleet_run, tmp_path, monkeypatch):
    out = tmp_path / "index.html"
    out.write_text("yesterday's report")

    def broken_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="No space left"):
        report.write(fleet_run, "html", str(out))
    assert out.read_text() == "yesterday's report"
    assert [p.name for p in tmp_path.iterdir()] == ["index.html"]
