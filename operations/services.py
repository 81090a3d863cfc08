"""SVC-01: services that read time settings are restarted after those settings change.

A process reads its zone when it starts: php-fpm and Apache (mod_php) read php.ini and the OS
zone, cron and MariaDB/MySQL the OS zone. A unit is restarted when tepat changed its settings in
this run, or when it was started before its settings last changed (a stale process: "php-fpm
not restarted after its config changed"). Only units that are running are restarted: a
stopped service stays stopped. MariaDB/MySQL is only *reported* unless the operator passes
``--restart-database`` (data ``tepat_restart_database``): restarting a court's database cuts
SIPP off and belongs in a maintenance window.
"""
from __future__ import annotations

import shlex
from dataclasses import dataclass

from pyinfra.api import operation

from facts.php import PhpLayout
from facts.services import CRON, DATABASES, WEB, Services, Unit
from facts.timezone import OsTimezone

CONTROL = "SVC-01"


@dataclass(frozen=True)
class Restart:
    unit: str
    reason: str
    database: bool = False

    def describe(self) -> str:
        return f"{CONTROL} restart {self.unit}: {self.reason}"


# Start times are computed from /proc/uptime (10 ms resolution) and date: allow that much.
MARGIN_S = 0.05


def _stale(unit: Unit, mtimes: dict[str, float], files: list[str]) -> str | None:
    """The newest of ``files`` changed after ``unit`` started, or None."""
    if unit.started_at is None:
        return None
    newer = [(mtimes[f], f) for f in files
             if f in mtimes and mtimes[f] > unit.started_at + MARGIN_S]
    return max(newer)[1] if newer else None


def plan(services: Services, php: PhpLayout, os_state: OsTimezone,
         php_changed: set[str], zone_changed: bool) -> list[Restart]:
    """Which running units to restart, and why (see the module docstring)."""
    restarts: dict[str, Restart] = {}
    # Only /etc/localtime: services read the zone from it (glibc), never from /etc/timezone.
    os_files = ["/etc/localtime"]

    def consider(unit: Unit | None, changed: str | None, files: list[str],
                 mtimes: dict[str, float], database: bool = False) -> None:
        if unit is None or not unit.is_active or unit.id in restarts:
            return
        reason = changed
        if reason is None:
            stale = _stale(unit, mtimes, files)
            if stale:
                reason = f"started before {stale} last changed"
        if reason:
            restarts[unit.id] = Restart(unit.id, reason, database)

    zone_reason = "the OS zone changed" if zone_changed else None
    all_mtimes = {**php.mtimes, **os_state.mtimes}
    for runtime in php.runtimes:
        for name in runtime.units:
            if name == "xampp":
                if runtime.name in php_changed:
                    restarts[name] = Restart(name, "its PHP config changed (xampp)")
                continue
            unit = services.get(name)
            changed = (f"its PHP config changed ({runtime.name})"
                       if runtime.name in php_changed else zone_reason)
            consider(unit, changed, php.files_of(runtime) + os_files, all_mtimes)
    for names, database in ((WEB, False), (CRON, False), (DATABASES, True)):
        for name in names:
            consider(services.get(name), zone_reason, os_files, os_state.mtimes, database)
    return list(restarts.values())


@operation(is_idempotent=False)
def restart(unit: str, systemd: bool = True):
    """SVC-01: restart one running unit so it reads its new time settings.

    Example:

    .. code:: python

        services.restart(name="SVC-01 restart php8.2-fpm.service: its PHP config changed",
                         unit="php8.2-fpm.service")
    """
    if unit == "xampp":
        # XAMPP's Apache is not a systemd unit: its own control script reloads it.
        yield "/opt/lampp/lampp reloadapache"
    elif systemd:
        yield f"systemctl restart {shlex.quote(unit)}"
    else:
        yield f"service {shlex.quote(unit.removesuffix('.service'))} restart"
