"""NTP-01..03, CLK-01: chrony installed, alone, configured with the approved sources, synced.

- NTP-01: install chrony (apt-get, dnf or yum) when missing; stop and disable ntpd, ntpsec,
  openntpd and systemd-timesyncd; enable chrony and start it.
- NTP-02: render ``templates/chrony.conf.j2`` at the distro's path (``/etc/chrony/chrony.conf``
  on Debian/Ubuntu, ``/etc/chrony.conf`` on RHEL/CentOS) with the approved servers.
- NTP-03/CLK-01: restart chrony only when its config or package changed (``makestep 1 3``
  then steps a large offset at once), ``chronyc makestep`` when a running, unchanged chrony is
  more than a second off, and afterwards wait a bounded time for sync and report it.
"""
from __future__ import annotations

import shlex
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from pyinfra.api import operation

from facts.chrony import Chrony
from facts.services import COMPETING, Services
from facts.timezone import OsTimezone
from operations import safety

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
STEP_THRESHOLD_S = 1.0  # as makestep in the template
WAIT_TRIES = 30  # chronyc waitsync tries, 1 s apart: sync is waited for 30 s at most


def config_path(os_state: OsTimezone, chrony: Chrony) -> str:
    """Debian family: /etc/chrony/chrony.conf; RHEL family: /etc/chrony.conf."""
    if os_state.debian_like:
        return "/etc/chrony/chrony.conf"
    if os_state.rhel_like:
        return "/etc/chrony.conf"
    return next(iter(chrony.configs), "/etc/chrony/chrony.conf")


def unit_name(os_state: OsTimezone) -> str:
    return "chrony.service" if os_state.debian_like or not os_state.rhel_like else "chronyd.service"


def render(servers: list[str], path: str) -> str:
    """chrony.conf for ``servers``, with the drift and key files where the distro keeps them."""
    env = Environment(loader=FileSystemLoader(TEMPLATES), trim_blocks=True, lstrip_blocks=True,
                      keep_trailing_newline=True, undefined=StrictUndefined, autoescape=False)
    debian = path == "/etc/chrony/chrony.conf"
    return env.get_template("chrony.conf.j2").render(
        servers=servers,
        driftfile="/var/lib/chrony/chrony.drift" if debian else "/var/lib/chrony/drift",
        keyfile="/etc/chrony/chrony.keys" if debian else "/etc/chrony.keys",
    )


def config_acceptable(chrony: Chrony, path: str, servers: list[str]) -> bool:
    """NTP-02 already holds: the config (with its included dirs) uses exactly the approved
    servers and steps a large offset (``makestep``). Then it is left alone, even if it is not
    tepat's template: a compliant server gets no change and no chrony restart."""
    return (path in chrony.configs and chrony.sources(path) == set(servers)
            and chrony.has_makestep(path))


@operation(is_idempotent=True)
def install(chrony: Chrony):
    """NTP-01: install chrony with the host's package manager if chronyd is missing.

    Example:

    .. code:: python

        chrony_ops.install(name="NTP-01 install chrony", chrony=snap.chrony)
    """
    if chrony.installed:
        return
    if "apt-get" in chrony.package_managers:
        yield ("DEBIAN_FRONTEND=noninteractive apt-get install -y -q "
               "-o Dpkg::Options::=--force-confold chrony")
    elif "dnf" in chrony.package_managers:
        yield "dnf install -y -q chrony"
    elif "yum" in chrony.package_managers:
        yield "yum install -y -q chrony"
    else:
        yield "echo 'tepat NTP-01: no apt-get, dnf or yum to install chrony with' >&2; exit 1"


@operation(is_idempotent=True)
def config(path: str, content: str, current: str | None, run: str):
    """NTP-02: chrony's config at ``path`` is ``content`` (backed up, written atomically).

    Example:

    .. code:: python

        chrony_ops.config(name="NTP-02 /etc/chrony/chrony.conf", path=path,
                          content=render(servers, path), current=snap.chrony.configs.get(path),
                          run=safety.run_id())
    """
    if current != content:
        yield safety.write_command(path, content, run)


def competing_units(services: Services) -> list[str]:
    """Competing time daemons that run or would start at boot."""
    found = []
    for name in COMPETING:
        unit = services.units.get(name)
        if unit and unit.exists and (unit.is_active or unit.file_state == "enabled"):
            found.append(unit.id)
    return sorted(set(found))


@operation(is_idempotent=True)
def stop_competitors(units: list[str], systemd: bool):
    """NTP-01: stop and disable competing time daemons (two daemons fight over the clock).

    Example:

    .. code:: python

        chrony_ops.stop_competitors(name="NTP-01 stop systemd-timesyncd",
                                    units=["systemd-timesyncd.service"], systemd=True)
    """
    for unit in units:
        if systemd:
            # Tolerate a unit that vanished meanwhile (apt removes systemd-timesyncd with it).
            name = shlex.quote(unit)
            yield (f"if systemctl cat {name} >/dev/null 2>&1; then "
                   f"systemctl disable --now {name}; fi")
        else:
            name = shlex.quote(unit.removesuffix(".service"))
            yield f"service {name} stop; update-rc.d {name} disable 2>/dev/null || chkconfig {name} off"


@operation(is_idempotent=True)
def service(unit: str, systemd: bool, enabled: bool, active: bool, restart: bool):
    """NTP-01/03: chrony enabled at boot, and (re)started only when needed.

    ``restart``: its config or package changed. A stopped chrony is started.

    Example:

    .. code:: python

        chrony_ops.service(name="NTP-01 enable and restart chrony", unit="chrony.service",
                           systemd=True, enabled=True, active=True, restart=True)
    """
    name = shlex.quote(unit)
    if systemd:
        if not enabled:
            yield f"systemctl enable {name}"
        if restart or not active:
            yield f"systemctl restart {name}"
    elif restart or not active:
        yield f"service {shlex.quote(unit.removesuffix('.service'))} restart"


def step_needed(chrony: Chrony) -> bool:
    """CLK-01: chrony runs and tracks a source but the clock is more than 1 s off."""
    t = chrony.tracking
    return bool(chrony.running and t and t.synced and abs(t.offset_s) > STEP_THRESHOLD_S)


@operation(is_idempotent=False)
def makestep():
    """CLK-01: step a running chrony's clock now (it would otherwise slew for hours).

    Example:

    .. code:: python

        chrony_ops.makestep(name="CLK-01 chronyc makestep")
    """
    yield "chronyc makestep"


_TRACKING = ("chronyc -n -c tracking 2>&1 | awk -F, "
             "'NF >= 14 {printf \"source %s, offset %+.6f s, leap status %s\", $2, $5, $14}'")
WAIT_COMMAND = (
    f"if timeout {WAIT_TRIES + 10} chronyc waitsync {WAIT_TRIES} 0 0 1 >/dev/null 2>&1; then "
    f"echo \"NTP-03 synchronised: $({_TRACKING})\"; "
    f"else echo \"NTP-03 not synchronised after {WAIT_TRIES} s: $({_TRACKING})\"; fi"
)


@operation(is_idempotent=False)
def wait_sync():
    """NTP-03: wait (at most ~30 s) for chrony to select a source; print the result, never fail
    (a court firewall blocking UDP 123 is reported, not an error of the fix).

    Example:

    .. code:: python

        chrony_ops.wait_sync(name="NTP-03 wait for sync")
    """
    yield WAIT_COMMAND
