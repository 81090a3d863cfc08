"""OS-TZ-01..03: the OS time zone, /etc/timezone or /etc/sysconfig/clock, and the RTC mode.

``/etc/localtime`` is compared by *content* with the court's zone file (``cmp``), so a copied
file with the right zone is correct, and a link to an alias of the zone is too. pyinfra's own
``server.timezone`` is not used: it reports a change forever on a copied file.
"""
from __future__ import annotations

import shlex
from dataclasses import dataclass, field

from pyinfra.api import FactBase


def script(zone: str) -> str:
    """The shell that reads the OS zone state; ``zone`` is quoted (it came from an inventory)."""
    z = shlex.quote(f"/usr/share/zoneinfo/{zone}")
    return rf"""
echo "os $(. /etc/os-release 2>/dev/null; echo "${{ID:-unknown}} ${{ID_LIKE:-}}")"
[ -d /run/systemd/system ] && echo "systemd yes"
command -v timedatectl >/dev/null 2>&1 && echo "timedatectl yes"
[ -L /etc/localtime ] && echo "link $(readlink /etc/localtime)"
[ -e /etc/localtime ] && echo "localtime yes"
[ -f {z} ] && echo "zonefile yes"
cmp -s /etc/localtime {z} && echo "match yes"
[ -f /etc/timezone ] && echo "timezone $(head -n 1 /etc/timezone)"
[ -f /etc/sysconfig/clock ] && {{ echo "clockfile yes"; sed -n 's/^/clock /p' /etc/sysconfig/clock; }}
[ -f /etc/adjtime ] && sed -n '3s/^/adjtime /p' /etc/adjtime
stat -c 'mtime %.9Y %n' /etc/localtime /etc/timezone 2>/dev/null
true
"""


@dataclass
class OsTimezone:
    os_id: str = "unknown"
    os_like: tuple[str, ...] = ()
    systemd: bool = False  # systemd is PID 1
    timedatectl: bool = False
    link: str | None = None  # readlink /etc/localtime, when it is a link
    localtime_exists: bool = False
    zonefile_exists: bool = False  # tzdata has the court's zone
    matches: bool = False  # /etc/localtime has the court's zone's content
    timezone_file: str | None = None  # first line of /etc/timezone, None when absent
    clock_lines: list[str] = field(default_factory=list)  # lines of /etc/sysconfig/clock
    clock_exists: bool = False
    adjtime_mode: str | None = None  # third line of /etc/adjtime: UTC or LOCAL
    mtimes: dict[str, float] = field(default_factory=dict)

    @property
    def debian_like(self) -> bool:
        return self.os_id in ("debian", "ubuntu") or "debian" in self.os_like

    @property
    def rhel_like(self) -> bool:
        return (self.os_id in ("rhel", "centos", "rocky", "almalinux", "fedora", "ol")
                or any(x in self.os_like for x in ("rhel", "fedora", "centos")))

    def clock_zone(self) -> str | None:
        """ZONE= of /etc/sysconfig/clock."""
        for line in self.clock_lines:
            key, _, value = line.partition("=")
            if key.strip() == "ZONE":
                return value.strip().strip("\"'")
        return None


def parse(lines: list[str]) -> OsTimezone:
    state = OsTimezone()
    for line in lines:
        tag, _, rest = line.partition(" ")
        if tag == "os":
            ident, _, like = rest.partition(" ")
            state.os_id, state.os_like = ident, tuple(like.split())
        elif tag == "systemd":
            state.systemd = True
        elif tag == "timedatectl":
            state.timedatectl = True
        elif tag == "link":
            state.link = rest
        elif tag == "localtime":
            state.localtime_exists = True
        elif tag == "zonefile":
            state.zonefile_exists = True
        elif tag == "match":
            state.matches = True
        elif tag == "timezone":
            state.timezone_file = rest.strip()
        elif tag == "clockfile":
            state.clock_exists = True
        elif tag == "clock":
            state.clock_lines.append(rest)
        elif tag == "adjtime":
            state.adjtime_mode = rest.strip()
        elif tag == "mtime":
            mtime, _, path = rest.partition(" ")
            try:
                state.mtimes[path] = float(mtime)
            except ValueError:
                pass
    return state


class OsTimezoneFact(FactBase):
    """The OS zone state compared with ``zone`` (OS-TZ-01..03).

    Example:

    .. code:: python

        state = host.get_fact(OsTimezoneFact, zone="Asia/Makassar")
        if not state.matches:
            ...
    """

    def command(self, zone: str) -> str:
        return script(zone)

    def process(self, output: list[str]) -> OsTimezone:
        return parse(output)
