"""Which courts a lab of N hosts simulates, and where each one lives on the lab bridge.

The sample covers all four zones first, then as many high courts (PT) as N allows, then fills
at random; the same ``--seed`` always gives the same courts. Addresses and machine names come
from a court's row in ``inventories/courts.csv``, so a court keeps them whatever N is.
"""
from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass

from tepat.courts import Court, read_courts
from tepat.zones import INDONESIA_ZONES

BRIDGE = "tepat0"
SUBNET_PREFIX = 16
MACHINE_ADDRESS = "10.77.0.1"  # the machine: NTP server, API stand-in, slow-link relays
UNAPPROVED_NTP_ADDRESS = "10.77.0.2"  # a working NTP server that is not in the inventory
DEAD_ADDRESS = "10.77.0.3"  # on the bridge, nothing listens: "resolves where nobody answers"
BRIDGE_ADDRESSES = (MACHINE_ADDRESS, UNAPPROVED_NTP_ADDRESS, DEAD_ADDRESS)
RELAY_BASE_PORT = 22000


@dataclass(frozen=True)
class LabHost:
    court: Court
    index: int  # the court's position in courts.csv (0-based)

    @property
    def court_id(self) -> str:
        return self.court.court_id

    @property
    def machine(self) -> str:
        # nspawn derives the veth name "vb-<machine>" (15 bytes max) from this: keep it short.
        return f"tepat-{self.index:03d}"

    @property
    def address(self) -> str:
        return f"10.77.{1 + self.index // 250}.{1 + self.index % 250}"

    @property
    def relay_port(self) -> int:
        return RELAY_BASE_PORT + self.index


def parse_count(value: str | int, total: int) -> int:
    """``--courts`` value: a positive number or ``all``."""
    if isinstance(value, int):
        count = value
    elif value.strip().lower() == "all":
        return total
    else:
        try:
            count = int(value)
        except ValueError:
            raise ValueError(f"--courts must be a number or 'all', not {value!r}") from None
    if not 1 <= count <= total:
        raise ValueError(f"--courts must be between 1 and {total} (or 'all'), not {count}")
    return count


def sample(count: int, seed: int, courts: list[Court] | None = None) -> list[LabHost]:
    """``count`` courts: every zone, then every PT possible, then random; in courts.csv order."""
    courts = read_courts() if courts is None else courts
    indexed = list(enumerate(courts))
    if count >= len(indexed):
        return [LabHost(c, i) for i, c in indexed]
    rng = random.Random(seed)
    chosen: dict[int, Court] = {}

    def pick(pool: list[tuple[int, Court]]) -> None:
        free = [(i, c) for i, c in pool if i not in chosen]
        if free and len(chosen) < count:
            i, c = rng.choice(free)
            chosen[i] = c

    by_zone: dict[str, list[tuple[int, Court]]] = defaultdict(list)
    by_pt: dict[str, list[tuple[int, Court]]] = defaultdict(list)
    for i, c in indexed:
        by_zone[c.timezone].append((i, c))
        by_pt[c.pt].append((i, c))
    zones = [z for z in INDONESIA_ZONES if z in by_zone]
    rng.shuffle(zones)
    for zone in zones:
        pick(by_zone[zone])
    covered = {c.pt for c in chosen.values()}
    pts = sorted(p for p in by_pt if p not in covered)
    rng.shuffle(pts)
    for pt in pts:
        pick(by_pt[pt])
    rest = [(i, c) for i, c in indexed if i not in chosen]
    for i, c in rng.sample(rest, count - len(chosen)):
        chosen[i] = c
    return [LabHost(chosen[i], i) for i in sorted(chosen)]
