"""The lab bridge ``tepat0`` on the machine, and the kernel limits the containers need.

Only the bridge's own subnet is used; ``net.ipv4.ip_forward`` is left as it is (0): the lab
never routes anywhere.
"""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tepat.lab.sampler import BRIDGE, BRIDGE_ADDRESSES, SUBNET_PREFIX

VETH_PREFIX = "vb-tepat-"  # nspawn names a container's veth "vb-<machine>"

# systemd in each container needs inotify instances (lab-notes.md: 8192 was enough for 100).
# 382 hosts run ~10k processes and threads: the machine's default pid_max (32768) is too close.
SYSCTLS = {
    "kernel.pid_max": 4194304,
    "fs.inotify.max_user_instances": 65536,
    "fs.inotify.max_user_watches": 4194304,
}


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=check)


def raise_limits() -> None:
    for key, wanted in SYSCTLS.items():
        path = Path("/proc/sys") / key.replace(".", "/")
        if int(path.read_text()) < wanted:
            path.write_text(str(wanted))


def links() -> list[dict]:
    return json.loads(_ip("-j", "link", "show").stdout or "[]")


def bridge_exists() -> bool:
    return any(link.get("ifname") == BRIDGE for link in links())


def ensure_bridge() -> None:
    """Create the bridge with the machine's lab addresses (idempotent)."""
    if not bridge_exists():
        _ip("link", "add", BRIDGE, "type", "bridge")
    v6 = Path(f"/proc/sys/net/ipv6/conf/{BRIDGE}/disable_ipv6")
    if v6.exists():
        v6.write_text("1")
    have = {a["local"] for a in json.loads(_ip("-j", "addr", "show", "dev", BRIDGE).stdout)[0].get("addr_info", [])}
    for address in BRIDGE_ADDRESSES:
        if address not in have:
            _ip("addr", "add", f"{address}/{SUBNET_PREFIX}", "dev", BRIDGE)
    _ip("link", "set", BRIDGE, "up")


def leftover_veths() -> list[str]:
    return [link["ifname"] for link in links() if link.get("ifname", "").startswith(VETH_PREFIX)]


def remove_veth(machine: str) -> None:
    """Delete the machine's veth if a previous container of that name left it behind.

    The kernel tears a dead container's network namespace down asynchronously; a host
    re-created at once would otherwise fail with "File exists" on ``vb-<machine>``.
    """
    name = "vb-" + machine
    if any(link.get("ifname") == name for link in links()):
        _ip("link", "del", name, check=False)


def remove_bridge() -> None:
    """Delete leftover container veths and the bridge (safe if already gone)."""
    for name in leftover_veths():
        _ip("link", "del", name, check=False)
    if bridge_exists():
        _ip("link", "del", BRIDGE, check=False)


def ip_forward() -> int:
    return int(Path("/proc/sys/net/ipv4/ip_forward").read_text())
