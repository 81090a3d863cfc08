"""NTP-01, SVC-01: the systemd units that keep or read time, and when each was started.

One ``systemctl show`` for every unit that matters (chrony, competing time daemons, php-fpm,
Apache, cron, MariaDB/MySQL). Start times come from ``ActiveEnterTimestampMonotonic`` and
``/proc/uptime``, with ``date`` run after unsetting ``LD_PRELOAD``/``FAKETIME``: a host whose
sessions fake the clock (libfaketime in /etc/environment) must not fool the staleness test.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from pyinfra.api import FactBase

TIME_DAEMONS = ("chrony.service", "chronyd.service")
COMPETING = ("ntp.service", "ntpd.service", "ntpsec.service", "systemd-timesyncd.service",
             "openntpd.service")
WEB = ("apache2.service", "httpd.service")
CRON = ("cron.service", "crond.service")
DATABASES = ("mariadb.service", "mysql.service", "mysqld.service")
NAMED_UNITS = TIME_DAEMONS + COMPETING + WEB + CRON + DATABASES

SCRIPT = rf"""
unset LD_PRELOAD FAKETIME
if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
  echo "now $(date +%s.%N) $(cut -d' ' -f1 /proc/uptime)"
  f=$(for x in /lib/systemd/system/*fpm*.service /usr/lib/systemd/system/*fpm*.service \
        /etc/systemd/system/*fpm*.service; do [ -e "$x" ] && basename "$x"; done | sort -u)
  systemctl show -p Id -p LoadState -p ActiveState -p UnitFileState \
    -p ActiveEnterTimestampMonotonic {' '.join(NAMED_UNITS)} $f 2>/dev/null | sed 's/^/u /'
fi
true
"""


@dataclass
class Unit:
    id: str
    load: str = ""
    active: str = ""
    file_state: str = ""
    started_at: float | None = None  # epoch seconds, None when not active

    @property
    def exists(self) -> bool:
        return self.load == "loaded"

    @property
    def is_active(self) -> bool:
        return self.active in ("active", "activating", "reloading")

    @property
    def is_enabled(self) -> bool:
        return self.file_state in ("enabled", "enabled-runtime", "alias", "static", "indirect")


@dataclass
class Services:
    systemd: bool = False
    units: dict[str, Unit] = field(default_factory=dict)  # by Id (aliases collapse)

    def get(self, *names: str) -> Unit | None:
        """The first of ``names`` that is loaded."""
        for name in names:
            unit = self.units.get(name)
            if unit and unit.exists:
                return unit
        return None


def parse(lines: list[str]) -> Services:
    state = Services()
    now = uptime = None
    blocks: list[dict[str, str]] = []
    for line in lines:
        tag, _, rest = line.partition(" ")
        if tag == "now":
            state.systemd = True
            try:
                now, uptime = (float(x) for x in rest.split())
            except ValueError:
                pass
        elif tag == "u":
            key, _, value = rest.partition("=")
            if key == "Id" or not blocks:
                blocks.append({})
            if key:
                blocks[-1][key] = value
    for block in blocks:
        if "Id" not in block:
            continue
        unit = Unit(block["Id"], block.get("LoadState", ""), block.get("ActiveState", ""),
                    block.get("UnitFileState", ""))
        mono = block.get("ActiveEnterTimestampMonotonic", "0")
        if unit.is_active and mono.isdigit() and int(mono) and now is not None:
            unit.started_at = now - uptime + int(mono) / 1e6
        state.units.setdefault(unit.id, unit)
    return state


class ServicesFact(FactBase):
    """State and start time of the units that keep or read time (NTP-01, SVC-01).

    Example:

    .. code:: python

        services = host.get_fact(ServicesFact)
        fpm = services.get("php8.2-fpm.service")
    """

    def command(self) -> str:
        return SCRIPT

    def process(self, output: list[str]) -> Services:
        return parse(output)
