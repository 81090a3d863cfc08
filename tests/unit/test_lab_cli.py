"""`tepat lab` command line: listing faults and refusing bad input before touching anything
(no lab is started here)."""
from __future__ import annotations

import os

import pytest

from tepat.cli import main
from tepat.lab.faults import FAULTS


def test_fault_list_names_every_fault_and_the_controls_it_trips(capsys):
    assert main(["lab", "fault", "--list"]) == 0
    out = capsys.readouterr().out
    for name in FAULTS:
        assert name in out
    assert "trips: NET-01 NET-02 NET-03 NET-04" in out  # api-no-dns, with its cascade


@pytest.mark.skipif(os.geteuid() != 0, reason="as non-root the lab refuses before reading --courts")
@pytest.mark.parametrize("value", ["0", "400", "many"])
def test_bad_court_count_exits_2_naming_the_value(value, capsys, tmp_path):
    assert main(["lab", "--state-dir", str(tmp_path / "lab"), "up", "--courts", value]) == 2
    assert value in capsys.readouterr().err
    assert not (tmp_path / "lab").exists()  # nothing touched


def test_unknown_fault_exits_2(capsys, tmp_path):
    code = main(["lab", "--state-dir", str(tmp_path), "fault", "pn-ambon", "no-such-fault"])
    assert code == 2
    err = capsys.readouterr().err
    assert "no-such-fault" in err or "root" in err


def test_status_of_a_lab_that_is_not_up(capsys, tmp_path):
    assert main(["lab", "--state-dir", str(tmp_path), "status", "--json"]) == 0
    assert '"hosts": []' in capsys.readouterr().out
