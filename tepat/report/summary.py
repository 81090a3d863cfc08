"""Counts per high court and per zone, shared by the terminal, HTML and Prometheus reports."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from tepat.results import HostResult, RunResult
from tepat.zones import INDONESIA_ZONES, canonical

# West to east, as people read the map.
ZONE_ORDER = ("Asia/Jakarta", "Asia/Pontianak", "Asia/Makassar", "Asia/Jayapura")
HOST_STATUSES = ("compliant", "non_compliant", "unreachable")


@dataclass
class Tally:
    compliant: int = 0
    non_compliant: int = 0
    unreachable: int = 0

    @property
    def total(self) -> int:
        return self.compliant + self.non_compliant + self.unreachable

    def add(self, host: HostResult) -> None:
        setattr(self, host.status, getattr(self, host.status) + 1)


def tally(hosts: Iterable[HostResult]) -> Tally:
    t = Tally()
    for h in hosts:
        t.add(h)
    return t


def zone_key(zone: str) -> tuple[int, str]:
    zone = canonical(zone)
    return (ZONE_ORDER.index(zone) if zone in ZONE_ORDER else len(ZONE_ORDER), zone)


def zone_short(zone: str) -> str:
    """``Asia/Makassar`` -> ``WITA``; a zone outside Indonesia's four is shown as is."""
    return INDONESIA_ZONES.get(canonical(zone), zone)


def by_pt(run: RunResult) -> list[tuple[str, Tally]]:
    """(PT, counts), PTs in alphabetical order."""
    groups: dict[str, Tally] = {}
    for h in run.hosts:
        groups.setdefault(h.pt, Tally()).add(h)
    return sorted(groups.items())


def by_zone(run: RunResult) -> list[tuple[str, Tally]]:
    """(IANA zone, counts), west to east."""
    groups: dict[str, Tally] = {}
    for h in run.hosts:
        groups.setdefault(canonical(h.timezone), Tally()).add(h)
    return sorted(groups.items(), key=lambda item: zone_key(item[0]))


def needing_action(run: RunResult) -> list[HostResult]:
    """Non-compliant and unreachable hosts, by PT then court name."""
    return sorted(
        (h for h in run.hosts if h.status != "compliant"),
        key=lambda h: (h.pt, h.court_name or h.court_id),
    )
