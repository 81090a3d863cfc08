"""`tepat check` and the compliance suite against the lab's real containers (needs root).

The lab's ground truth (`tepat lab status --json`) names, per host, the faults injected and
every control they must trip (cascades included); the check must report exactly those as
failing, nothing on clean hosts, and unreachable hosts as unreachable with the right reason.
These tests only read the hosts: they never change them or take the lab down.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tepat.controls import CONTROLS

pytestmark = pytest.mark.lab

ROOT = Path(__file__).resolve().parents[2]
UNREACHABLE_REASON = {"host-down": "no_route", "ssh-auth-broken": "auth"}


def tepat_check(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tepat.cli", "check", "--no-progress", *args],
                          capture_output=True, text=True, timeout=timeout, cwd=ROOT)


def run_json(tmp_path: Path, *args: str) -> tuple[int, dict]:
    out = tmp_path / "run.json"
    result = tepat_check(*args, "--format", "json", "-o", str(out), "--no-history")
    assert out.exists(), f"no report; exit {result.returncode}: {result.stderr}"
    return result.returncode, json.loads(out.read_text())


def test_fleet_check_reports_exactly_the_ground_truth(lab, tmp_path):
    lab.refresh()
    code, run = run_json(tmp_path, "-i", lab.info["inventory"])
    hosts = {h["court_id"]: h for h in run["hosts"]}
    assert set(hosts) == {e["court_id"] for e in lab.hosts}
    problems = []
    for entry in lab.hosts:
        h = hosts[entry["court_id"]]
        assert [c["id"] for c in h["controls"]] == list(CONTROLS), h["court_id"]
        if not entry["reachable"]:
            reason = UNREACHABLE_REASON[next(f for f in entry["faults"] if f in UNREACHABLE_REASON)]
            if h["status"] != "unreachable" or h["reason"] != reason:
                problems.append(f"{h['court_id']} {entry['faults']}: {h['status']} {h['reason']}, "
                                f"expected unreachable {reason}")
            assert all(c["status"] == "error" for c in h["controls"])
            continue
        failing = sorted(c["id"] for c in h["controls"] if c["status"] in ("fail", "error"))
        if failing != sorted(entry["expected_failures"]):
            details = "; ".join(f"{c['id']} {c['status']}: {c['detail']}" for c in h["controls"]
                                if c["status"] != "pass")
            problems.append(f"{h['court_id']} {entry['faults']}: failing {failing}, expected "
                            f"{entry['expected_failures']} ({details})")
        expected_status = "non_compliant" if entry["expected_failures"] else "compliant"
        if h["status"] != expected_status:
            problems.append(f"{h['court_id']}: {h['status']}, expected {expected_status}")
        for cid in entry.get("not_applicable", []):
            status = next(c["status"] for c in h["controls"] if c["id"] == cid)
            if status != "skip":
                problems.append(f"{h['court_id']}: {cid} {status}, expected skip (not applicable)")
    assert not problems, "\n".join(problems)
    assert any(not e["faults"] for e in lab.hosts), "the mix should keep clean hosts"
    assert code == 1  # the mix has non-compliant and unreachable hosts


def test_cascade_names_the_root_cause(lab, tmp_path):
    lab.refresh()
    no_dns = [e for e in lab.with_fault("api-no-dns") if e["reachable"]]
    if not no_dns:
        pytest.skip("the lab mix has no reachable host with api-no-dns")
    code, run = run_json(tmp_path, "-i", lab.info["inventory"], "--limit", no_dns[0]["court_id"])
    controls = {c["id"]: c for c in run["hosts"][0]["controls"]}
    assert controls["NET-01"]["status"] == "fail" and controls["NET-01"]["root_cause"] is None
    for cid in ("NET-02", "NET-03", "NET-04"):
        assert controls[cid]["status"] == "fail"
        assert controls[cid]["root_cause"] == "NET-01"
        assert "NET-01" in controls[cid]["detail"]
    assert code == 1


def test_clean_host_by_address_with_pinned_key(lab, tmp_path):
    """The laptop journey: one court by address. An ad-hoc host is judged against the national
    time servers (no inventory data), so the lab's own NTP server is reported unapproved,
    and nothing else."""
    lab.refresh()
    clean = [e for e in lab.clean() if e["reachable"]]
    assert clean, "the lab mix has no clean host"
    e = clean[0]
    code, run = run_json(tmp_path, "--host", f"{e['ssh_user']}@{e['address']}:{e['ssh_port']}",
                         "--court", e["court_id"], "--ssh-key", e["ssh_key"],
                         "--known-hosts", e["known_hosts"])
    host = run["hosts"][0]
    assert host["timezone"] == e["timezone"] and host["address"] == e["address"]
    failing = {c["id"]: c for c in host["controls"] if c["status"] in ("fail", "error")}
    assert list(failing) == ["NTP-02"], failing
    assert lab.info["ntp_servers"][0] in failing["NTP-02"]["detail"]
    assert code == 1


def test_unknown_host_key_is_refused(lab, tmp_path):
    """StrictHostKeyChecking: an empty known_hosts means the host key is unknown: no login."""
    lab.refresh()
    e = next(e for e in lab.clean() if e["reachable"])
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    code, run = run_json(tmp_path, "--host", f"{e['ssh_user']}@{e['address']}:{e['ssh_port']}",
                         "--court", e["court_id"], "--ssh-key", e["ssh_key"],
                         "--known-hosts", str(empty))
    host = run["hosts"][0]
    assert (host["status"], host["reason"]) == ("unreachable", "host_key"), host
    assert empty.read_text() == "", "a check must never write known_hosts"
    assert code == 1


def test_changed_host_key_is_refused(lab, tmp_path):
    """Another host's key pinned for this address (as after a reinstall or a MITM): no login."""
    lab.refresh()
    reachable = [e for e in lab.hosts if e["reachable"] and e["ssh_port"] == 22]
    e, other = reachable[0], reachable[1]
    lines = Path(e["known_hosts"]).read_text().splitlines()
    theirs = [l.split(None, 1)[1] for l in lines if l.split(None, 1)[0].split(",")[0] in (other["address"], f"[{other['address']}]:22")]
    assert theirs, f"no pinned key for {other['address']}"
    wrong = tmp_path / "known_hosts"
    wrong.write_text("".join(f"{e['address']} {k}\n" for k in theirs))
    code, run = run_json(tmp_path, "--host", f"{e['ssh_user']}@{e['address']}",
                         "--court", e["court_id"], "--ssh-key", e["ssh_key"],
                         "--known-hosts", str(wrong))
    host = run["hosts"][0]
    assert (host["status"], host["reason"]) == ("unreachable", "host_key"), host
    assert code == 1


def test_plain_pytest_runs_the_suite_on_the_lab(lab):
    """`pytest tests/compliance --inventory ...` works on its own, without tepat check."""
    lab.refresh()
    e = next(e for e in lab.clean() if e["reachable"])
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "tests/compliance", "--inventory", lab.info["inventory"],
         "--limit", e["court_id"], "--no-progress", "-q"],
        capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert result.returncode == 0, result.stdout[-3000:]
    assert f"{len(CONTROLS) - len(e.get('not_applicable', []))} passed" in result.stdout


def test_check_this_machine_against_a_court(lab, tmp_path):
    """`tepat check --court X` with no inventory checks the machine it runs on (local backend):
    its OS zone detail must be what /etc/localtime really is."""
    code, run = run_json(tmp_path, "--court", "PN Sleman")
    host = run["hosts"][0]
    assert (host["court_id"], host["address"], host["timezone"]) == ("pn-sleman", "localhost", "Asia/Jakarta")
    controls = {c["id"]: c for c in host["controls"]}
    assert set(controls) == set(CONTROLS)
    link = os.readlink("/etc/localtime") if os.path.islink("/etc/localtime") else None
    if link:
        assert link in controls["OS-TZ-01"]["detail"]
        expected = "pass" if link.endswith("/Asia/Jakarta") else "fail"
        assert controls["OS-TZ-01"]["status"] == expected
    assert code == (0 if host["status"] == "compliant" else 1)


def test_bad_input_exits_2_and_contacts_nothing(lab, tmp_path):
    for args, words in ((["--court", "PN Atlantis"], "no court matches"),
                        (["--host", "tepat@10.77.1.1;reboot", "--court", "PN Sleman"], "not an address"),
                        (["-i", str(tmp_path / "missing.py")], "does not exist"),
                        (["--ssh-key", "/nonexistent/key", "--host", "10.77.1.1"], "no such file")):
        result = tepat_check(*args)
        assert result.returncode == 2, (args, result.stderr)
        assert words in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr


def _unreachable(tmp_path: Path, spec: str) -> dict:
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    code, run = run_json(tmp_path, "--host", spec, "--court", "PN Sleman", "--known-hosts", str(empty))
    assert code == 1
    host = run["hosts"][0]
    assert host["status"] == "unreachable"
    assert all(c["status"] == "error" for c in host["controls"])
    return host


def test_refused_port_is_reported_refused(lab, tmp_path):
    import socket
    with socket.socket() as s:  # a loopback port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    host = _unreachable(tmp_path, f"tepat@127.0.0.1:{port}")
    assert host["reason"] == "refused", host["error"]


def test_silent_server_is_reported_timeout(lab, tmp_path):
    """A server that accepts but never speaks SSH (a hung sshd, a black-holing middlebox)."""
    import socket
    import threading
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    held = []
    threading.Thread(target=lambda: held.append(server.accept()), daemon=True).start()
    try:
        host = _unreachable(tmp_path, f"tepat@127.0.0.1:{server.getsockname()[1]}")
    finally:
        server.close()
        for conn, _ in held:
            conn.close()
    assert host["reason"] == "timeout", host["error"]


def test_address_with_no_host_is_reported_no_route(lab, tmp_path):
    """An address on the lab bridge that no container holds: ARP finds nobody."""
    lab.refresh()
    used = {e["address"] for e in lab.hosts} | {e.get("direct_address") for e in lab.hosts}
    address = next(f"10.77.250.{i}" for i in range(200, 250) if f"10.77.250.{i}" not in used)
    host = _unreachable(tmp_path, f"tepat@{address}")
    assert host["reason"] == "no_route", host["error"]
