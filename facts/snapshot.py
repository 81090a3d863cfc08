"""Everything deploy.py needs to know about a host's time settings, in ONE command.

The PHP, OS zone, chrony and service scripts run as one shell script with a marker line
between them, and each part is parsed by its own module. One round trip per host: on a 150 ms
link to Papua, four facts would cost four. pyinfra does not cache facts in v3, so deploy.py
reads this fact once and hands the parts to the operations as arguments.
"""
from __future__ import annotations

from dataclasses import dataclass

from pyinfra.api import FactBase

from facts import chrony, clock, php, services, timezone, unfixable

MARK = "##tepat-part "
PARTS = ("php", "timezone", "chrony", "services", "clock", "unfixable")


@dataclass
class Snapshot:
    php: php.PhpLayout
    timezone: timezone.OsTimezone
    chrony: chrony.Chrony
    services: services.Services
    clock: clock.FakedClock
    unfixable: unfixable.Unfixable


def script(zone: str, api_host: str = "apis.mahkamahagung.go.id") -> str:
    # LD_PRELOAD/FAKETIME: see facts/services.py; set for the whole script, every part.
    bodies = {"php": php.SCRIPT, "timezone": timezone.script(zone), "chrony": chrony.SCRIPT,
              "services": services.SCRIPT, "clock": clock.SCRIPT,
              "unfixable": unfixable.script(api_host)}
    out = ["unset LD_PRELOAD FAKETIME"]
    for name in PARTS:
        out.append(f"echo '{MARK}{name}'")
        out.append(bodies[name].strip())
    out.append("true")
    return "\n".join(out)


def parse(lines: list[str]) -> Snapshot:
    parts: dict[str, list[str]] = {name: [] for name in PARTS}
    current: list[str] | None = None
    for line in lines:
        if line.startswith(MARK):
            current = parts.get(line[len(MARK):].strip())
            continue
        if current is not None:
            current.append(line)
    return Snapshot(php.parse(parts["php"]), timezone.parse(parts["timezone"]),
                    chrony.parse(parts["chrony"]), services.parse(parts["services"]),
                    clock.parse(parts["clock"]), unfixable.parse(parts["unfixable"]))


class TimeSnapshotFact(FactBase):
    """PHP layout, OS zone, chrony and services of a host, for ``zone`` (all controls).

    Example:

    .. code:: python

        snap = host.get_fact(TimeSnapshotFact, zone=host.data.timezone,
                             api_host=host.data.api_host)
        snap.php.runtimes, snap.timezone.matches, snap.chrony.installed
    """

    def command(self, zone: str, api_host: str = "apis.mahkamahagung.go.id") -> str:
        return script(zone, api_host)

    def process(self, output: list[str]) -> Snapshot:
        return parse(output)
