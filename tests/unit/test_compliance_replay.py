"""Every control, judged by the real compliance suite on RECORDED output of real hosts.

tests/unit/data/compliance/lab_debian12.json is what collect.sh printed on the 20 hosts of
`tepat lab up --courts 20 --faults mix --seed 7` (Debian 12 containers, PHP 8.2 cli/fpm/
mod_php, MariaDB, chrony; recorded with `pytest tests/compliance --record`), and
lab_truth.json is the lab's ground truth at that moment (`tepat lab status --json`). The
suite runs through `tepat check --replay`, in a subprocess, exactly as against the hosts.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tepat.controls import CONTROLS

DATA = Path(__file__).parent / "data" / "compliance"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def replayed(tmp_path_factory) -> tuple[int, dict[str, dict]]:
    out = tmp_path_factory.mktemp("replay") / "run.json"
    result = subprocess.run(
        [sys.executable, "-m", "tepat.cli", "check", "-i", str(DATA / "inventory.py"),
         "--replay", str(DATA / "lab_debian12.json"), "--format", "json", "-o", str(out),
         "--no-history", "--no-progress"],
        capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert out.exists(), result.stderr
    run = json.loads(out.read_text())
    return result.returncode, {h["court_id"]: h for h in run["hosts"]}


TRUTH = json.loads((DATA / "lab_truth.json").read_text())


def controls(host: dict) -> dict[str, dict]:
    return {c["id"]: c for c in host["controls"]}


@pytest.mark.parametrize("court_id", sorted(TRUTH))
def test_failing_controls_are_the_ground_truth(replayed, court_id):
    _, hosts = replayed
    truth, host = TRUTH[court_id], hosts[court_id]
    assert [c["id"] for c in host["controls"]] == list(CONTROLS)
    if not truth["reachable"]:
        assert host["status"] == "unreachable"
        assert all(c["status"] == "error" for c in host["controls"])
        return
    failing = sorted(c["id"] for c in host["controls"] if c["status"] in ("fail", "error"))
    assert failing == sorted(truth["expected_failures"]), [
        (c["id"], c["detail"]) for c in host["controls"] if c["status"] != "pass"]
    assert host["status"] == ("non_compliant" if failing else "compliant")


def test_exit_status_is_1_for_a_fleet_with_faults(replayed):
    assert replayed[0] == 1


def test_unreachable_reasons(replayed):
    _, hosts = replayed
    assert (hosts["pn-sintang"]["reason"], hosts["pn-kepahiang"]["reason"]) == ("no_route", "auth")
    assert "No route to host" in hosts["pn-sintang"]["error"]
    assert "Permission denied" in hosts["pn-kepahiang"]["error"]


def test_details_name_what_is_wrong(replayed):
    _, h = replayed
    php = controls(h["pn-kasongan"])["PHP-TZ-01"]["detail"]
    assert "8.2/fpm pool www" in php and "/etc/php/8.2/fpm/pool.d/www.conf:" in php
    assert "8.2/apache2" in controls(h["pn-gorontalo"])["PHP-TZ-01"]["detail"]
    assert "99-sipp-timezone.ini" in controls(h["pn-tanjung-redeb"])["PHP-TZ-01"]["detail"]
    assert "not set, so PHP default UTC" in controls(h["pn-tebo"])["PHP-TZ-01"]["detail"]
    svc = controls(h["pn-barru"])["SVC-01"]["detail"]
    assert "php-fpm8.2" in svc and "/etc/php/8.2/fpm/php.ini" in svc
    assert "+8" in controls(h["pn-rangkasbitung"])["CLK-01"]["detail"]  # +89 s / +90 s
    assert "-7" in controls(h["pn-barru"])["CLK-01"]["detail"]  # about -7200 s
    assert "Supreme Court" in controls(h["pn-labuan-bajo"])["NET-04"]["detail"]
    assert "+00:00" in controls(h["pn-kasongan"])["DB-TZ-01"]["detail"]
    assert "systemd-timesyncd" in controls(h["pn-fakfak"])["NTP-01"]["detail"]
    assert "10.77.0.2" in controls(h["pn-dobo"])["NTP-02"]["detail"]


def test_cascades_name_their_root_cause(replayed):
    _, h = replayed
    tobelo = controls(h["pn-tobelo"])
    assert tobelo["NET-01"]["root_cause"] is None
    assert [tobelo[c]["root_cause"] for c in ("NET-02", "NET-03", "NET-04")] == ["NET-01"] * 3
    gorontalo = controls(h["pn-gorontalo"])
    assert gorontalo["NTP-02"]["root_cause"] == gorontalo["NTP-03"]["root_cause"] == "NTP-01"
    assert "chrony is not installed" in gorontalo["NTP-03"]["detail"]


def test_clean_host_passes_everything_with_details(replayed):
    _, h = replayed
    clean = [c for c, t in TRUTH.items() if t["reachable"] and not t["faults"]]
    assert clean
    for court_id in clean:
        for c in h[court_id]["controls"]:
            assert c["status"] == "pass", (court_id, c)
            assert c["detail"], (court_id, c["id"])
