"""The inventories bench/run derives from the lab's ground truth (bench/inventories.py):
Ansible's, and the relayed (150 ms) one for tepat. Input: a recorded ``tepat lab status
--json`` (5 hosts of a 20-court fault-mix lab, the accounts' password removed) and the lab's
pinned known_hosts lines for them (tests/unit/data/bench_lab_status.json). No lab needed."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from bench import inventories

DATA = json.loads((Path(__file__).parent / "data" / "bench_lab_status.json").read_text())
STATUS = DATA["status"]
KNOWN_HOSTS = DATA["known_hosts"]


def test_ansible_inventory_has_every_lab_host_with_its_address_port_and_zone():
    doc = yaml.safe_load(yaml.safe_dump(inventories.ansible_inventory(STATUS)))  # YAML round trip
    hosts = doc["all"]["hosts"]
    assert sorted(hosts) == sorted(h["court_id"] for h in STATUS["hosts"])
    for h in STATUS["hosts"]:
        entry = hosts[h["court_id"]]
        assert (entry["ansible_host"], entry["ansible_port"]) == (h["address"], h["ssh_port"])
        assert entry["court_timezone"] == h["timezone"]
    # the slow-link host is reached through the lab's relay, as tepat reaches it
    assert (hosts["pn-singkil"]["ansible_host"], hosts["pn-singkil"]["ansible_port"]) == ("10.77.0.1", 22026)


def test_ansible_inventory_keeps_host_keys_pinned_and_uses_the_lab_key():
    group = inventories.ansible_inventory(STATUS)["all"]["vars"]
    args = group["ansible_ssh_common_args"]
    assert f"UserKnownHostsFile={STATUS['hosts'][0]['known_hosts']}" in args
    assert "StrictHostKeyChecking=yes" in args
    assert "accept-new" not in args and "StrictHostKeyChecking=no" not in args
    assert group["ansible_ssh_private_key_file"] == STATUS["hosts"][0]["ssh_key"]
    assert group["ansible_user"] == "tepat" and group["ansible_become"] is True
    assert group["ntp_servers"] == STATUS["lab"]["ntp_servers"]
    assert group["api_host"] == "apis.mahkamahagung.go.id"


def test_relay_plan_targets_each_reachable_host_directly():
    plan = inventories.relay_plan(STATUS, base_port=43000)
    ids = [p[0] for p in plan]
    assert "pn-kepahiang" not in ids and "pn-sintang" not in ids  # auth broken, down
    ports = [p[1] for p in plan]
    assert len(set(ports)) == len(ports) and all(p >= 43000 for p in ports)
    singkil = next(p for p in plan if p[0] == "pn-singkil")
    assert singkil[2:] == ("10.77.1.27", 22)  # its own address, not the lab's slow relay


def test_relayed_known_hosts_carries_each_hosts_own_pinned_key():
    plan = inventories.relay_plan(STATUS)
    text = inventories.relayed_known_hosts(KNOWN_HOSTS, STATUS, plan)
    pinned = {line.split()[0]: " ".join(line.split()[1:3]) for line in KNOWN_HOSTS.splitlines()}
    lines = text.splitlines()
    assert len(lines) == len(plan)
    for (court_id, port, address, _), line in zip(plan, lines):
        name, key = line.split(" ", 1)
        assert name == f"[127.0.0.1]:{port}"
        assert key == pinned[address]


def test_relayed_known_hosts_refuses_a_host_without_a_pinned_key():
    plan = inventories.relay_plan(STATUS)
    without_dobo = "\n".join(l for l in KNOWN_HOSTS.splitlines() if not l.startswith("10.77.1.4 "))
    with pytest.raises(ValueError, match="pn-dobo: no pinned host key for 10.77.1.4"):
        inventories.relayed_known_hosts(without_dobo, STATUS, plan)


def test_relayed_inventory_loads_through_tepats_own_loader(tmp_path):
    from tepat.inventory import load_targets

    plan = inventories.relay_plan(STATUS)
    kh = tmp_path / "known_hosts"
    kh.write_text(inventories.relayed_known_hosts(KNOWN_HOSTS, STATUS, plan))
    key = tmp_path / "id_ed25519"
    key.write_text("not a real key\n")
    doc = inventories.relayed_hosts_yaml(STATUS, plan, str(kh))
    doc["defaults"]["ssh_key"] = str(key)
    hosts_yaml = tmp_path / "hosts.yaml"
    hosts_yaml.write_text(yaml.safe_dump(doc))
    inventory = tmp_path / "lab_relayed.py"
    inventory.write_text(inventories.pyinfra_inventory_source(str(hosts_yaml)))
    targets = {t.name: t for t in load_targets(str(inventory))}
    assert sorted(targets) == sorted(p[0] for p in plan)
    for court_id, port, _, _ in plan:
        t = targets[court_id]
        assert (t.address, t.port, t.known_hosts) == ("127.0.0.1", port, str(kh))
        assert t.timezone == next(h["timezone"] for h in STATUS["hosts"] if h["court_id"] == court_id)
