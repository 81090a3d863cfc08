"""The lab itself, against real containers (needs root): `tepat lab up --courts 20 --faults mix
--seed 7`, as the session fixture in conftest.py brings it up.

Every fault's presence is confirmed by looking at the host directly (SSH as root, plain
commands, or the machine's view for hosts that cannot be logged into), never through tepat's
own checks.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import paramiko
import pytest
import yaml

from tepat.courts import read_courts
from tepat.lab.faults import FAULTS
from tepat.zones import INDONESIA_ZONES

pytestmark = [pytest.mark.lab, pytest.mark.usefixtures("pristine_lab")]

PHP = "/etc/php/8.2"
REQUIRED_FIELDS = {"court_id", "address", "ssh_port", "ssh_user", "ssh_key", "known_hosts",
                   "timezone", "faults", "expected_failures", "reachable"}


def offset_hours(zone: str) -> int:
    from datetime import datetime
    return int(datetime.now(ZoneInfo(zone)).utcoffset().total_seconds() // 3600)


def run(lab, court_id: str, command: str, user: str = "root") -> str:
    result = lab.ssh(court_id, command, user=user)
    assert result.returncode == 0, f"{court_id}: `{command}` failed: {result.stderr}"
    return result.stdout.strip()


# --- the lab as a whole ------------------------------------------------------------------

def test_status_is_ground_truth_for_20_sampled_courts(lab):
    hosts = lab.hosts
    assert len(hosts) == 20
    courts = {c.court_id: c for c in read_courts()}
    for h in hosts:
        assert REQUIRED_FIELDS <= set(h), h
        assert h["timezone"] == courts[h["court_id"]].timezone
        assert Path(h["ssh_key"]).exists() and Path(h["known_hosts"]).exists()
        for name in h["faults"]:
            assert set(FAULTS[name].direct) <= set(h["expected_failures"]) or not h["reachable"]
    assert {h["timezone"] for h in hosts} == set(INDONESIA_ZONES)
    assert len({courts[h["court_id"]].pt for h in hosts}) == 20  # 34 PTs: one court each
    clean = [h for h in hosts if not h["faults"]]
    assert 5 <= len(clean) <= 8, "about a third of the hosts must be clean"
    assert all(not h["expected_failures"] for h in clean)
    assert any(not h["reachable"] for h in hosts)
    assert {n for h in hosts for n in h["faults"]} == set(FAULTS), "every fault at least once"


def test_inventory_files_point_at_the_lab(lab):
    info = lab.info
    data = yaml.safe_load(Path(info["hosts_yaml"]).read_text())
    assert data["only_listed"] is True
    assert data["defaults"]["ntp_servers"] == ["10.77.0.1"]
    assert data["defaults"]["ssh_key"] == info["ssh_key"]
    assert set(data["courts"]) == {h["court_id"] for h in lab.hosts}
    for h in lab.hosts:
        assert data["courts"][h["court_id"]]["address"] == h["address"]
        assert data["courts"][h["court_id"]].get("ssh_port", 22) == h["ssh_port"]
    inventory = Path(info["inventory"]).read_text()
    assert "pyinfra_groups" in inventory and info["hosts_yaml"] in inventory
    assert oct(Path(info["accounts"]["password_file"]).stat().st_mode & 0o777) == "0o600"


def test_every_reachable_host_answers_ssh_with_its_pinned_key(lab):
    problems = []
    for h in lab.reachable():
        for user in ("tepat", "root"):
            result = lab.ssh(h["court_id"], "hostname; id -un; sudo -n id -un", user=user)
            lines = result.stdout.split()
            if result.returncode != 0 or lines != [h["court_id"], user, "root"]:
                problems.append(f"{h['court_id']} as {user}: {result.returncode} {result.stdout!r} {result.stderr!r}")
    assert not problems, "\n".join(problems)


def test_host_key_checking_is_real(lab, tmp_path):
    """A known_hosts file with another host's key for this address makes SSH refuse."""
    a, b = lab.clean()[:2]
    lines = Path(a["known_hosts"]).read_text().splitlines()
    key_of_b = next(line.split(None, 1)[1] for line in lines if line.split()[0] == b["address"])
    wrong = tmp_path / "known_hosts"
    wrong.write_text(f"{a['address']} {key_of_b}\n")
    from tepat.lab.remote import ssh_argv
    result = subprocess.run(ssh_argv(a["address"], 22, "tepat", a["ssh_key"], str(wrong), "true"),
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 255
    assert "host key" in result.stderr.lower() or "verification failed" in result.stderr.lower()


def test_technician_logs_in_with_password_and_sudo_asks_for_it(lab):
    host = lab.clean()[0]
    password = lab.info["accounts"]["password"]
    client = paramiko.SSHClient()
    client.load_host_keys(host["known_hosts"])
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    client.connect(host["direct_address"], username="technician", password=password,
                   look_for_keys=False, allow_agent=False, timeout=20)
    try:
        _, out, _ = client.exec_command("sudo -n true 2>&1; echo status=$?")
        assert "status=1" in out.read().decode()  # sudo needs the password
        stdin, out, _ = client.exec_command("sudo -S -p '' id -u")
        stdin.write(password + "\n")
        stdin.flush()
        assert out.read().decode().strip() == "0"
    finally:
        client.close()


def test_lab_services_run_on_the_bridge_only(lab):
    assert all(lab.info["services"].values()), lab.info["services"]
    out = subprocess.run(["ss", "-H", "-lntu"], capture_output=True, text=True).stdout
    listeners = [line.split()[4] for line in out.splitlines()]
    for want in ("10.77.0.1:443", "10.77.0.1:123", "10.77.0.2:123"):
        assert want in listeners
    wildcard = [a for a in listeners if a.rsplit(":", 1)[1] in ("443", "123")
                and a.rsplit(":", 1)[0] in ("0.0.0.0", "*", "[::]")]
    assert not wildcard, f"lab services must listen on the bridge only: {wildcard}"
    assert Path("/proc/sys/net/ipv4/ip_forward").read_text().strip() == "0"


# --- clean hosts are compliant -----------------------------------------------------------

CLEAN_PROBE = r"""
set -u
echo tz=$(cat /etc/timezone)
echo localtime=$(readlink /etc/localtime)
echo adjtime=$(sed -n 3p /etc/adjtime)
for s in cli fpm apache2; do echo php_$s=$(sed -n 's/^date.timezone *= *//p' /etc/php/8.2/$s/php.ini); done
echo php_effective=$(php -r 'echo ini_get("date.timezone");')
echo leap=$(chronyc -n tracking | sed -n 's/^Leap status *: //p' | tr ' ' _)
echo ref=$(chronyc -n tracking | sed -n 's/^Reference ID *: [0-9A-F]* (\(.*\))/\1/p')
for u in ssh cron chrony php8.2-fpm apache2; do echo svc_$u=$(systemctl is-active $u); done
echo api=$(curl -sS -o /dev/null -w '%{http_code}' https://apis.mahkamahagung.go.id/)
echo php_api=$(php -r '$c=curl_init("https://apis.mahkamahagung.go.id/"); curl_setopt($c, CURLOPT_RETURNTRANSFER, 1); curl_exec($c); echo curl_getinfo($c, CURLINFO_HTTP_CODE);')
echo resolves=$(getent hosts apis.mahkamahagung.go.id | awk '{print $1}')
echo default_route=$(ip route show default | wc -l)
"""


def parse(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines() if "=" in line)


def test_clean_hosts_are_compliant_sipp_servers(lab):
    problems = []
    for h in lab.clean():
        zone = h["timezone"]
        got = parse(run(lab, h["court_id"], CLEAN_PROBE))
        want = {
            "tz": zone, "localtime": f"/usr/share/zoneinfo/{zone}", "adjtime": "UTC",
            "php_cli": zone, "php_fpm": zone, "php_apache2": zone, "php_effective": zone,
            "leap": "Normal", "ref": "10.77.0.1", "svc_ssh": "active", "svc_cron": "active",
            "svc_chrony": "active", "svc_php8.2-fpm": "active", "svc_apache2": "active",
            "api": "200", "php_api": "200", "resolves": "10.77.0.1", "default_route": "0",
        }
        wrong = {k: (got.get(k), v) for k, v in want.items() if got.get(k) != v}
        if h["database"]:
            db = run(lab, h["court_id"], "mariadb -N -e 'SELECT TIMESTAMPDIFF(HOUR, UTC_TIMESTAMP(), NOW())'")
            if int(db) != offset_hours(zone):
                wrong["db_offset"] = (db, offset_hours(zone))
        if wrong:
            problems.append(f"{h['court_id']}: {wrong}")
    assert not problems, "\n".join(problems)


def test_clean_hosts_clock_and_api_date_agree_with_the_machine(lab):
    for h in lab.clean()[:3]:
        before = time.time()
        out = run(lab, h["court_id"], "date +%s; curl -sS -D - -o /dev/null https://apis.mahkamahagung.go.id/ | sed -n 's/^Date: //Ip'")
        after = time.time()
        remote, date_header = out.splitlines()
        assert before - 2 <= int(remote) <= after + 2
        from email.utils import parsedate_to_datetime
        assert before - 2 <= parsedate_to_datetime(date_header).timestamp() <= after + 2


# --- each fault, seen on the host --------------------------------------------------------

def _fault_hosts(lab, name: str) -> list[dict]:
    hosts = lab.with_fault(name)
    assert hosts, f"the seed-7 mix has no host with {name}"
    return hosts


def _check_php_ini_wrong_zone(lab, h):
    value = run(lab, h["court_id"], f"sed -n 's/^date.timezone *= *//p' {PHP}/apache2/php.ini")
    assert value in INDONESIA_ZONES and value != h["timezone"]
    assert offset_hours(value) != offset_hours(h["timezone"])


def _check_php_no_timezone(lab, h):
    out = run(lab, h["court_id"], f"grep -c '^date.timezone' {PHP}/*/php.ini || true; php -r 'echo \"[\", ini_get(\"date.timezone\"), \"]\";'")
    assert all(line.endswith(":0") for line in out.splitlines()[:-1]), out
    assert out.splitlines()[-1] == "[UTC]"  # PHP 8 falls back to UTC when nothing sets it


def _check_php_confd_override(lab, h):
    out = run(lab, h["court_id"], f"sed -n 's/^date.timezone *= *//p' {PHP}/cli/php.ini; php -r 'echo ini_get(\"date.timezone\");'")
    ini, effective = out.splitlines()
    assert ini == h["timezone"] and effective == "UTC"


def _check_php_fpm_pool_override(lab, h):
    value = run(lab, h["court_id"], rf"sed -n 's/^php_admin_value\[date.timezone\] *= *//p' {PHP}/fpm/pool.d/www.conf")
    assert value and value != h["timezone"]


def _check_php_fpm_stale(lab, h):
    out = run(lab, h["court_id"], f"stat -c %Y {PHP}/fpm/php.ini; date -d \"$(ps -o lstart= -p $(cat /run/php/php8.2-fpm.pid))\" +%s; sed -n 's/^date.timezone *= *//p' {PHP}/fpm/php.ini")
    changed, started, zone = out.splitlines()
    assert int(changed) > int(started), "php.ini must be newer than the running php-fpm"
    assert zone == h["timezone"]


def _check_os_zone_wrong(lab, h):
    out = run(lab, h["court_id"], "readlink /etc/localtime; cat /etc/timezone; date +%z")
    link, tzfile, offset = out.splitlines()
    assert not link.endswith(h["timezone"]) and tzfile != h["timezone"]
    assert int(offset[:3]) != offset_hours(h["timezone"])


def _check_os_timezone_file_mismatch(lab, h):
    out = run(lab, h["court_id"], "readlink /etc/localtime; cat /etc/timezone")
    link, tzfile = out.splitlines()
    assert link == f"/usr/share/zoneinfo/{h['timezone']}" and tzfile != h["timezone"]


def _check_hwclock_local(lab, h):
    assert run(lab, h["court_id"], "sed -n 3p /etc/adjtime") == "LOCAL"


def _check_chrony_missing(lab, h):
    out = run(lab, h["court_id"], "dpkg-query -W -f='${Status}' chrony 2>/dev/null; echo; command -v chronyd || echo none")
    assert "install ok installed" not in out and out.splitlines()[-1] == "none"


def _check_chrony_stopped(lab, h):
    out = run(lab, h["court_id"], "dpkg-query -W -f='${Status}\n' chrony; systemctl is-active chrony; systemctl is-enabled chrony; true")
    status, active, enabled = out.splitlines()
    assert status == "install ok installed" and active != "active" and enabled != "enabled"


def _sources(lab, h) -> str:
    return run(lab, h["court_id"], "chronyc -n sources; chronyc -n tracking")


def _check_ntp_unapproved(lab, h):
    out = _sources(lab, h)
    assert "10.77.0.2" in out and "10.77.0.1 " not in out.split("Reference ID")[0]
    approved = yaml.safe_load(Path(lab.info["hosts_yaml"]).read_text())["defaults"]["ntp_servers"]
    assert "10.77.0.2" not in approved


def _check_ntp_unreachable(lab, h):
    out = _sources(lab, h)
    assert "10.77.0.3" in out and "Leap status     : Not synchronised" in out


def _check_time_daemon_competing(lab, h):
    out = run(lab, h["court_id"], "systemctl is-active systemd-timesyncd; pgrep -x systemd-timesyn >/dev/null && echo running")
    assert out.splitlines() == ["active", "running"]


def _skew(lab, h, user: str, command: str = "date +%s") -> float:
    before = time.time()
    remote = int(run(lab, h["court_id"], command, user=user))
    after = time.time()
    return remote - (before + after) / 2


def _check_clock_skew_hours(lab, h):
    assert -7200 - 30 < _skew(lab, h, "tepat") < -7200 + 30
    assert -7200 - 30 < _skew(lab, h, "tepat", "sudo date +%s") < -7200 + 30


def _check_clock_skew_90s(lab, h):
    assert 90 - 20 < _skew(lab, h, "tepat") < 90 + 20


def _check_db_wrong_timezone(lab, h):
    out = run(lab, h["court_id"], "mariadb -N -e 'SELECT @@global.time_zone, TIMESTAMPDIFF(HOUR, UTC_TIMESTAMP(), NOW())'")
    zone, hours = out.split()
    assert zone == "+00:00" and int(hours) == 0 != offset_hours(h["timezone"])


def _check_api_no_dns(lab, h):
    result = lab.ssh(h["court_id"], "getent hosts apis.mahkamahagung.go.id")
    assert result.returncode == 2 and not result.stdout


def _check_api_dead_address(lab, h):
    out = run(lab, h["court_id"], "getent hosts apis.mahkamahagung.go.id | awk '{print $1}'; curl -sS --max-time 10 https://apis.mahkamahagung.go.id/ >/dev/null 2>&1; echo $?")
    address, curl_status = out.splitlines()
    assert address == lab.info["dead_address"] and curl_status == "7"  # connection refused


def _check_ca_untrusted(lab, h):
    out = run(lab, h["court_id"], "curl -sS https://apis.mahkamahagung.go.id/ >/dev/null 2>&1; echo $?; curl -ksS -o /dev/null -w '%{http_code}' https://apis.mahkamahagung.go.id/")
    assert out.splitlines() == ["60", "200"]  # verification fails; the server is there


def _check_api_5xx(lab, h):
    code = run(lab, h["court_id"], "curl -sS -o /dev/null -w '%{http_code}' https://apis.mahkamahagung.go.id/")
    assert code == "503"


def _check_host_down(lab, h):
    assert h["running"] is False and h["reachable"] is False
    with pytest.raises(OSError):
        socket.create_connection((h["direct_address"], 22), timeout=3).close()


def _check_ssh_auth_broken(lab, h):
    assert h["reachable"] is False
    result = lab.ssh(h["court_id"], "true", user="tepat")
    assert result.returncode == 255 and "Permission denied" in result.stderr, result.stderr
    with socket.create_connection((h["direct_address"], 22), timeout=5) as conn:
        assert conn.recv(64).startswith(b"SSH-")  # the host is up, only the key is refused


def _check_slow_link(lab, h):
    assert (h["address"], h["ssh_port"]) != (h["direct_address"], 22)
    assert run(lab, h["court_id"], "hostname", user="tepat") == h["court_id"]  # via the relay
    # The relay delays the server's greeting by one leg (75 ms) at least; a lower bound only.
    waits = []
    for _ in range(3):
        with socket.create_connection((h["address"], h["ssh_port"]), timeout=10) as conn:
            start = time.monotonic()
            assert conn.recv(64).startswith(b"SSH-")
            waits.append(time.monotonic() - start)
    assert min(waits) >= 0.07, waits


@pytest.mark.parametrize("name", sorted(FAULTS))
def test_fault_is_present_on_its_host(lab, name):
    check = globals()[f"_check_{name.replace('-', '_')}"]
    for h in _fault_hosts(lab, name):
        check(lab, h)


# --- life cycle --------------------------------------------------------------------------

def _leaders(lab) -> dict[str, dict]:
    state = json.loads((Path(lab.info["state_dir"]) / "state.json").read_text())
    return {c: r["leader"] for c, r in state["hosts"].items()}


def test_up_again_reconciles_instead_of_duplicating(lab):
    before = _leaders(lab)
    victim = lab.clean()[-1]["court_id"]
    os.kill(before[victim]["pid"], signal.SIGKILL)  # a crashed container
    lab.up()
    after = _leaders(lab)
    assert set(after) == set(before)
    assert after[victim] != before[victim]
    assert {c: r for c, r in after.items() if c != victim} == {c: r for c, r in before.items() if c != victim}
    assert run(lab, victim, "hostname") == victim


def test_fault_command_and_reset(lab):
    target = lab.clean()[0]["court_id"]
    lab.fault(target, "hwclock-local")
    assert lab.host(target)["faults"] == ["hwclock-local"]
    assert lab.host(target)["expected_failures"] == ["OS-TZ-03"]
    assert run(lab, target, "sed -n 3p /etc/adjtime") == "LOCAL"
    lab.reset([target], clean=True)
    assert lab.host(target)["faults"] == []
    assert run(lab, target, "sed -n 3p /etc/adjtime") == "UTC"
    bad = lab.cli("lab", "fault", target, "no-such-fault", check=False)
    assert bad.returncode == 2 and "no-such-fault" in bad.stderr


@pytest.mark.lab_teardown
def test_down_leaves_nothing_behind_even_after_a_crash(lab):
    state_dir = Path(lab.info["state_dir"])
    state = json.loads((state_dir / "state.json").read_text())
    tracked = [r[k]["pid"] for r in state["hosts"].values() for k in ("nspawn", "leader", "relay") if r.get(k)]
    tracked += [r["pid"] for r in state["services"].values()]
    # A crash: one nspawn killed hard (its container's systemd lives on, re-parented) and the
    # lab's record of that host lost.
    victim = next(c for c, r in state["hosts"].items() if r.get("nspawn"))
    os.kill(state["hosts"][victim]["nspawn"]["pid"], signal.SIGKILL)
    del state["hosts"][victim]
    (state_dir / "state.json").write_text(json.dumps(state))

    assert lab.cli("lab", "down").returncode == 0
    assert lab.cli("lab", "down").returncode == 0  # twice is fine

    time.sleep(1)
    alive = [p for p in tracked if Path(f"/proc/{p}").exists()
             and Path(f"/proc/{p}/stat").read_text().split(") ")[1][0] != "Z"]
    assert not alive, f"processes left: {alive}"
    leftovers = [p for p in Path("/proc").iterdir() if p.name.isdigit()
                 and _root_under(p, state_dir / "hosts")]
    assert not leftovers
    mounts = [line.split()[4] for line in Path("/proc/self/mountinfo").read_text().splitlines()]
    assert not [m for m in mounts if m.startswith(str(state_dir))]
    links = subprocess.run(["ip", "-br", "link"], capture_output=True, text=True).stdout
    assert "tepat0" not in links and "vb-tepat-" not in links
    from tepat.lab import cgroups
    assert not cgroups.pids(lab.info["cgroup"])
    assert not any((h / lab.info["cgroup"]).exists() for h in cgroups.hierarchies())
    assert Path("/proc/sys/net/ipv4/ip_forward").read_text().strip() == "0"
    assert lab.cli("lab", "status", "--json").stdout and json.loads(
        lab.cli("lab", "status", "--json").stdout)["hosts"] == []
    if os.environ.get("TEPAT_KEEP_LAB") == "1":
        lab.up()


def _root_under(proc: Path, prefix: Path) -> bool:
    try:
        return os.readlink(proc / "root").startswith(str(prefix))
    except OSError:
        return False

