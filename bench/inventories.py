"""Inventories the benchmark derives from the lab's ground truth (`tepat lab status --json`).

- An Ansible YAML inventory of the same hosts, with the same user, key and pinned known_hosts
  (host key checking stays on: ``StrictHostKeyChecking=yes``, never accept-new).
- For the 150 ms runs: every host reached through a delaying relay on the loopback, i.e. a
  tepat hosts.yaml + pyinfra inventory and a known_hosts whose entries name the relay's
  ``[127.0.0.1]:port`` with each host's own pinned key (the key is the host's; only the
  address it is reached at changes).

Pure functions over the status document (unit-tested on a recorded one); callers write files.
"""
from __future__ import annotations

from typing import Any

RELAY_ADDRESS = "127.0.0.1"
RELAY_BASE_PORT = 42000  # far from the lab's own slow-link relays (22000 + host index)


def _ssh_args(known_hosts: str) -> str:
    return (f"-o UserKnownHostsFile={known_hosts} -o StrictHostKeyChecking=yes "
            "-o PasswordAuthentication=no -o ConnectTimeout=10")


def ansible_inventory(status: dict[str, Any], endpoints: dict[str, tuple[str, int]] | None = None,
                      known_hosts: str | None = None) -> dict[str, Any]:
    """An Ansible inventory (YAML document as a dict) of every lab host.

    ``endpoints`` overrides where a court is reached (court_id -> (address, port)), and
    ``known_hosts`` the pinned-keys file: both for the relayed (150 ms) variant.
    Group vars carry what every host shares; host vars the address, port and court zone.
    """
    hosts = status["hosts"]
    lab = status.get("lab", {})
    first = hosts[0] if hosts else {}
    key = first.get("ssh_key") or lab.get("ssh_key")
    kh = known_hosts or first.get("known_hosts") or lab.get("known_hosts")
    group_vars: dict[str, Any] = {
        "ansible_user": first.get("ssh_user", "tepat"),
        "ansible_ssh_private_key_file": key,
        "ansible_ssh_common_args": _ssh_args(kh),
        "ansible_python_interpreter": "/usr/bin/python3",
        "ansible_become": True,
        "ntp_servers": list(lab.get("ntp_servers") or []),
        "api_host": (lab.get("api") or {}).get("host", "apis.mahkamahagung.go.id"),
    }
    host_vars: dict[str, Any] = {}
    for h in hosts:
        address, port = (endpoints or {}).get(h["court_id"], (h["address"], h["ssh_port"]))
        entry: dict[str, Any] = {"ansible_host": address, "ansible_port": port,
                                 "court_timezone": h["timezone"]}
        if h.get("ssh_key") and h["ssh_key"] != key:
            entry["ansible_ssh_private_key_file"] = h["ssh_key"]
        if not known_hosts and h.get("known_hosts") and h["known_hosts"] != kh:
            entry["ansible_ssh_common_args"] = _ssh_args(h["known_hosts"])
        if h.get("database"):
            entry["has_database"] = True
        host_vars[h["court_id"]] = entry
    return {"all": {"vars": group_vars, "hosts": host_vars}}


def relay_plan(status: dict[str, Any], base_port: int = RELAY_BASE_PORT) -> list[tuple[str, int, str, int]]:
    """(court_id, listen port on RELAY_ADDRESS, target address, target port) per host that
    boots and answers SSH, targeting the host's own address (never a lab relay: one delay)."""
    plan = []
    for i, h in enumerate(status["hosts"]):
        if not h.get("reachable", True):
            continue
        plan.append((h["court_id"], base_port + i, h.get("direct_address") or h["address"], 22))
    return plan


def relayed_known_hosts(known_hosts_text: str, status: dict[str, Any],
                        plan: list[tuple[str, int, str, int]]) -> str:
    """known_hosts lines ``[127.0.0.1]:PORT <key>`` carrying each host's pinned key.

    Raises ValueError if a host's key is not pinned in the lab's known_hosts (the benchmark
    never learns a key on first use).
    """
    keys: dict[str, list[str]] = {}
    for line in known_hosts_text.splitlines():
        parts = line.split()
        if len(parts) >= 3 and not line.startswith("#"):
            for name in parts[0].split(","):
                keys.setdefault(name, []).append(" ".join(parts[1:3]))
    out = []
    for court_id, port, address, _ in plan:
        found = keys.get(address)
        if not found:
            raise ValueError(f"{court_id}: no pinned host key for {address} in the lab's known_hosts")
        out += [f"[{RELAY_ADDRESS}]:{port} {k}" for k in found]
    return "\n".join(out) + "\n"


def relayed_hosts_yaml(status: dict[str, Any], plan: list[tuple[str, int, str, int]],
                       known_hosts: str) -> dict[str, Any]:
    """A tepat hosts.yaml (see tepat.inventory) pointing every relayed court at its relay."""
    lab = status.get("lab", {})
    first = status["hosts"][0] if status["hosts"] else {}
    return {
        "defaults": {
            "ssh_user": first.get("ssh_user", "tepat"),
            "ssh_port": 22,
            "ssh_key": first.get("ssh_key") or lab.get("ssh_key"),
            "known_hosts": known_hosts,
            "ntp_servers": list(lab.get("ntp_servers") or []),
        },
        "only_listed": True,
        "courts": {court_id: {"address": RELAY_ADDRESS, "ssh_port": port}
                   for court_id, port, _, _ in plan},
    }


def pyinfra_inventory_source(hosts_yaml_path: str) -> str:
    """The text of a pyinfra inventory file over a hosts.yaml, as the lab writes its own."""
    return ('"""pyinfra inventory written by bench/run (lab hosts behind delaying relays)."""\n'
            "from tepat.inventory import pyinfra_groups\n\n"
            f"globals().update(pyinfra_groups({hosts_yaml_path!r}))\n")
