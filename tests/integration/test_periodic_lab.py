"""The periodic compliance run (contrib/tepat-check-periodic) against the lab (needs root).

What the systemd service and the cron line start, run as they would run it, with a settings
file like /etc/default/tepat-check: a real `tepat check` of the lab fleet, the reports it
publishes, the history it keeps, and the summary of what NEWLY fails. A court is made to
fail between two runs by changing its /etc/timezone directly over SSH (and put back after).
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

pytestmark = pytest.mark.lab

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "contrib" / "tepat-check-periodic"
INVENTORY = "inventories/lab.py"


@pytest.fixture
def courts(lab) -> list[str]:
    """Three lab courts: one without faults, one with faults, one unreachable. Limiting the
    run to them keeps it short and away from hosts other tests are changing."""
    clean = next(h["court_id"] for h in lab.hosts if h["reachable"] and not h["faults"])
    faulty = next(h["court_id"] for h in lab.hosts if h["reachable"] and h["faults"])
    down = [h["court_id"] for h in lab.hosts if not h["reachable"]][:1]
    return [clean, faulty, *down]


@pytest.fixture
def job(tmp_path, courts):
    """Runs the periodic job with its own settings file; returns (exit status, stdout)."""
    out, textfile = tmp_path / "report", tmp_path / "textfile"
    textfile.mkdir()
    config = tmp_path / "tepat-check"
    config.write_text(
        f"TEPAT_HOME={ROOT}\n"
        f"TEPAT_BIN={Path(sys.executable).parent / 'tepat'}\n"
        f"TEPAT_INVENTORY={INVENTORY}\n"
        f"TEPAT_OUTPUT_DIR={out}\n"
        f"TEPAT_HISTORY={tmp_path / 'history.sqlite'}\n"
        f"TEPAT_TEXTFILE_DIR={textfile}\n"
        "TEPAT_LANG=en\n"
        f'TEPAT_CHECK_ARGS="--limit {",".join(courts)}"\n'
    )

    def run() -> tuple[int, str]:
        proc = subprocess.run([str(SCRIPT)], cwd=ROOT, env={"PATH": "/usr/bin:/bin",
                              "TEPAT_CONFIG": str(config)},
                              capture_output=True, text=True, timeout=1200)
        assert proc.stderr == "", proc.stderr
        return proc.returncode, proc.stdout

    run.out, run.textfile, run.history = out, textfile, tmp_path / "history.sqlite"
    return run


def test_timer_run_publishes_keeps_history_and_reports_a_newly_failing_court(lab, job, courts):
    # First run: everything failing is news (nothing to compare with yet).
    status, text = job()
    data = json.loads((job.out / "tepat.json").read_text())
    failing = [h for h in data["hosts"] if h["status"] != "compliant"]
    assert sorted(h["court_id"] for h in data["hosts"]) == sorted(courts)
    if failing:
        assert status == 1
        assert text.startswith(f"tepat: {len(failing)} court")
        assert f"Report: {job.out / 'index.html'}" in text
    html = (job.out / "index.html").read_text()
    assert all(f'data-court="{h["court_id"]}"' in html for h in data["hosts"])
    metrics = {s.name: s for f in text_string_to_metric_families(
        (job.textfile / "tepat.prom").read_text()) for s in f.samples
        if s.name == "tepat_run_complete"}
    assert metrics["tepat_run_complete"].value == 1

    # Nothing changed: quiet, exit 0, one more complete run in the history.
    status, text = job()
    assert (status, text) == (0, "")

    # A court drifts: its /etc/timezone now names another zone (OS-TZ-02).
    by_id = {h["court_id"]: h for h in data["hosts"]}
    # A compliant court if there is one (the mix leaves about a third clean), so that putting
    # it back shows as a recovery; else any reachable court whose OS-TZ-02 passes.
    candidates = sorted((h for h in data["hosts"] if h["status"] != "unreachable"
                         and {c["id"]: c["status"] for c in h["controls"]}.get("OS-TZ-02") == "pass"),
                        key=lambda h: h["status"] != "compliant")
    court = candidates[0]["court_id"]
    was_compliant = candidates[0]["status"] == "compliant"
    zone = by_id[court]["timezone"]
    other = "Asia/Jayapura" if zone != "Asia/Jayapura" else "Asia/Makassar"
    changed = lab.ssh(court, f"cp -p /etc/timezone /etc/timezone.tepat-test && "
                             f"echo {other} > /etc/timezone")
    assert changed.returncode == 0, changed.stderr
    try:
        status, text = job()
        assert status == 1
        lines = text.splitlines()
        assert lines[0].startswith("tepat: 1 court newly failing since run 2 (")
        assert lines[1].startswith(f"  {by_id[court]['court_name']} ({court}, ")
        assert lines[1].endswith(": non-compliant: OS-TZ-02")
        assert "letter step 1" in lines[2]
    finally:
        restored = lab.ssh(court, "mv /etc/timezone.tepat-test /etc/timezone")
        assert restored.returncode == 0, restored.stderr

    # Put back: a recovery at most, which is not an alert.
    status, text = job()
    assert status == 0
    if was_compliant:
        assert text.startswith(f"1 court recovered: {by_id[court]['court_name']}.")
    else:
        assert text == ""

    shown = subprocess.run([str(Path(sys.executable).parent / "tepat"), "history", "--db",
                            str(job.history), "--json"], capture_output=True, text=True,
                           cwd=ROOT, check=True)
    runs = json.loads(shown.stdout)["runs"]
    assert [r["state"] for r in runs] == ["complete"] * 4
    assert runs[0]["inventory"] == INVENTORY
