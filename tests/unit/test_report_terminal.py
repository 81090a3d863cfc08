"""Terminal report: counts per PT and per zone, then the courts that need action.

Input: the recorded fleet in conftest.py. Plain text is what mail and pipes get; the rich
rendering is drawn on a recording console (what a TTY shows).
"""
from __future__ import annotations

import io
import re

from rich.console import Console

from tepat import report
from tepat.report import terminal


def _row(text, name):
    line = next(l for l in text.splitlines() if l.startswith(name + " "))
    return [int(n) for n in re.findall(r"\b\d+\b", line[len(name):])]


def test_plain_counts_per_pt_and_zone(fleet_run):
    text = report.render(fleet_run, "terminal", "en")
    assert "12 courts: 2 compliant, 6 non-compliant, 4 unreachable" in text
    assert _row(text, "PT Jayapura") == [0, 0, 2, 2]
    assert _row(text, "PT DKI Jakarta") == [1, 0, 0, 1]
    assert _row(text, "WITA Asia/Makassar") == [0, 2, 1, 3]
    assert _row(text, "WIT Asia/Jayapura") == [0, 1, 2, 3]
    # West to east.
    assert text.index("WIB Asia/Jakarta") < text.index("WIB Asia/Pontianak") < \
        text.index("WITA Asia/Makassar") < text.index("WIT Asia/Jayapura")


def test_failing_courts_with_their_diagnosis_and_no_compliant_ones(fleet_run):
    text = report.render(fleet_run, "terminal", "en")
    failing = text.split("Courts that need action", 1)[1]
    assert "PN Sleman (pn-sleman, PT Yogyakarta, Asia/Jakarta" in failing
    assert '`tepat fix -i inventories/production.py --court "PN Sleman"`' in failing
    assert "PN Medan (pn-medan" in failing and "Do not connect" in failing
    assert "PN Jakarta Pusat (" not in failing
    assert "pn-pontianak" not in failing
    assert "queue at the Supreme Court" in failing  # the note for compliant courts


def test_indonesian(fleet_run):
    text = report.render(fleet_run, "terminal", "id")
    assert "12 pengadilan: 2 sesuai, 6 tidak sesuai, 4 tidak dapat dihubungi" in text
    assert "Pengadilan yang perlu ditindaklanjuti" in text
    assert "Lakukan perbaikan dengan `tepat fix -i inventories/production.py --court \"PN Makassar\"`" in text


def test_all_compliant_and_incomplete(fleet_run):
    fleet_run.hosts = [h for h in fleet_run.hosts if h.status == "compliant"]
    fleet_run.complete = False
    text = report.render(fleet_run, "terminal", "en")
    assert "Every court is compliant." in text
    assert "INCOMPLETE RUN" in text


def test_write_to_a_pipe_is_plain_text(fleet_run, capsys):
    report.write(fleet_run, "terminal", None, "en")
    out = capsys.readouterr().out
    assert "\x1b[" not in out and "┃" not in out
    assert out == report.render(fleet_run, "terminal", "en")


def test_rich_rendering_keeps_untrusted_text_literal(fleet_run, host_factory):
    fleet_run.hosts.append(host_factory("pn-manado", {"PHP-TZ-01": ("fail", "[bold red]x[/] [link=http://e]")}))
    console = Console(file=io.StringIO(), width=200, record=True, color_system="truecolor")
    terminal.print_rich(fleet_run, "en", console)
    shown = console.export_text()
    assert "[bold red]x[/] [link=http://e]" in shown  # not interpreted as rich markup
    assert "┃ By high court (PT)" in shown
    assert "PN Manado (pn-manado" in shown


def test_one_court_shows_its_own_diagnosis_without_tables(fleet_run, fleet_host):
    fleet_run.inventory = "local"
    fleet_run.hosts = [fleet_host("pn-pontianak")]
    text = report.render(fleet_run, "terminal", "id")
    assert "Per pengadilan tinggi" not in text
    assert "PN Pontianak (pn-pontianak, PT Pontianak, Asia/Pontianak, 10.77.12.234): sesuai" in text
    assert "Satgas SIPP PT Pontianak" in text  # the all-clear names the court's own PT
    console = Console(file=io.StringIO(), width=200, record=True)
    terminal.print_rich(fleet_run, "id", console)
    assert "Satgas SIPP PT Pontianak" in console.export_text()
