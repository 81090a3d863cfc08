"""Ground truth and the files `tepat lab up` writes, from a recorded lab state (no root, no
containers: the state.json below is what `up` records for two hosts)."""
from __future__ import annotations

import json
import stat
from pathlib import Path

import yaml

from tepat.lab.lab import Lab, database_courts, plan
from tepat.lab.sampler import sample

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAWOat8po/S3mGJ9DSWvr3AtVmAzICWE6dKMKTTvjLnA pn-x"


def _record(court_id, index, address, zone, faults, database=True):
    return {"court_id": court_id, "index": index, "machine": f"tepat-{index:03d}",
            "address": address, "timezone": zone, "faults": faults, "database": database,
            "image": "x", "host_key": KEY, "relay_port": 22000 + index,
            "nspawn": None, "leader": None, "relay": None}


def _lab(tmp_path: Path) -> Lab:
    state_dir = tmp_path / "lab"
    state_dir.mkdir()
    state = {"params": {"courts": 3, "seed": 7, "faults": "mix"}, "services": {}, "hosts": {
        "pn-biak": _record("pn-biak", 111, "10.77.1.112", "Asia/Jayapura", ["slow-link", "hwclock-local"]),
        "pn-sintang": _record("pn-sintang", 271, "10.77.2.22", "Asia/Pontianak", ["host-down"]),
        "pn-kediri": _record("pn-kediri", 342, "10.77.2.93", "Asia/Jakarta", ["os-zone-wrong"], False),
    }}
    (state_dir / "state.json").write_text(json.dumps(state))
    return Lab(state_dir, log=lambda _m: None, inventory=tmp_path / "lab_inventory.py")


def test_status_json_has_the_fields_of_issue_3(tmp_path):
    truth = _lab(tmp_path).status()
    hosts = {h["court_id"]: h for h in truth["hosts"]}
    for h in hosts.values():
        assert {"court_id", "address", "ssh_port", "ssh_user", "ssh_key", "known_hosts", "timezone",
                "faults", "expected_failures", "reachable"} <= set(h)
        assert h["ssh_user"] == "tepat" and h["running"] is False
    slow = hosts["pn-biak"]
    assert (slow["address"], slow["ssh_port"], slow["direct_address"]) == ("10.77.0.1", 22111, "10.77.1.112")
    assert slow["expected_failures"] == ["OS-TZ-03"] and slow["reachable"] is True
    assert hosts["pn-sintang"]["reachable"] is False and hosts["pn-sintang"]["expected_failures"] == []
    assert hosts["pn-sintang"]["unreachable_reason"] == "no_route"
    assert slow["unreachable_reason"] is None
    no_db = hosts["pn-kediri"]
    assert no_db["expected_failures"] == ["OS-TZ-01", "OS-TZ-02"]  # no MariaDB: no DB-TZ-01
    assert no_db["not_applicable"] == ["DB-TZ-01"]


def test_outputs_pin_keys_and_form_a_pyinfra_inventory(tmp_path):
    lab = _lab(tmp_path)
    lab._write_outputs()
    known = (tmp_path / "lab" / "known_hosts").read_text().splitlines()
    assert "10.77.1.112 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAWOat8po/S3mGJ9DSWvr3AtVmAzICWE6dKMKTTvjLnA" in known
    assert any(line.startswith("[10.77.0.1]:22111 ssh-ed25519 ") for line in known)
    data = yaml.safe_load((tmp_path / "lab" / "hosts.yaml").read_text())
    assert data["only_listed"] is True
    assert data["defaults"]["ssh_user"] == "tepat" and data["defaults"]["ntp_servers"] == ["10.77.0.1"]
    assert data["courts"]["pn-biak"] == {"address": "10.77.0.1", "ssh_port": 22111}
    assert data["courts"]["pn-kediri"] == {"address": "10.77.2.93"}
    inventory = (tmp_path / "lab_inventory.py").read_text()
    assert f"pyinfra_groups({str(tmp_path / 'lab' / 'hosts.yaml')!r})" in inventory
    compile(inventory, "lab.py", "exec")


def test_api_fail_file_lists_exactly_the_api_5xx_hosts(tmp_path):
    lab = _lab(tmp_path)
    lab.state["hosts"]["pn-kediri"]["faults"] = ["api-5xx"]
    lab._write_outputs()
    assert (tmp_path / "lab" / "api-5xx").read_text() == "10.77.2.93\n"


def test_password_file_is_private(tmp_path, monkeypatch):
    lab = _lab(tmp_path)
    secrets = lab._ensure_material()
    mode = stat.S_IMODE((tmp_path / "lab" / "password").stat().st_mode)
    assert mode == 0o600
    assert secrets.password_hash.startswith("$6$")
    assert lab.status()["lab"]["accounts"]["password"] == (tmp_path / "lab" / "password").read_text().strip()


def test_large_labs_run_mariadb_on_a_share_of_hosts():
    assert len(database_courts(sample(20, 1))) == 20
    every = sample(382, 1)
    share = database_courts(every)
    assert 100 < len(share) < 200
    hosts, mix, databases = plan(382, 1, "mix")
    for court_id, names in mix.items():
        if "db-wrong-timezone" in names:
            assert court_id in databases
