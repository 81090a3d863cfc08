"""Validation of the court list and of connection details, before any host is contacted.

Every check returns problems as ``Problem`` rows (file:line, court, message, value) so that a
run lists *all* of them at once and exits 2 without touching anything.
"""
from __future__ import annotations

import ipaddress
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

from tepat.courts import Court
from tepat.zones import INDONESIA_ZONES, PROVINCE_ZONES, is_iana_zone

# Values end up in remote commands (pyinfra quotes them, our collectors too); refusing shell
# metacharacters outright means a typo or a hostile edit can never become a command.
_SHELL_META = re.compile(r"[;&|`$<>\\\"'*?!{}\[\]\n\r\t#^%=]")
_COURT_ID = re.compile(r"^pn-[a-z0-9]+(-[a-z0-9]+)*$")
_HOSTNAME_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
_USER = re.compile(r"^[a-z_][a-z0-9_.-]{0,31}$")
_PATH = re.compile(r"^[A-Za-z0-9_./~+@:-]+$")


@dataclass(frozen=True)
class Problem:
    where: str  # "inventories/courts.csv:12"
    court: str  # court id or name, "" when the problem is not about one court
    message: str
    value: Any = None

    def __str__(self) -> str:
        court = f" {self.court}:" if self.court else ""
        value = "" if self.value is None else f": {self.value!r}"
        return f"{self.where}:{court} {self.message}{value}"


def has_shell_meta(value: str) -> bool:
    return bool(_SHELL_META.search(value))


def is_address(value: str) -> bool:
    """An IPv4/IPv6 address or an RFC 1123 host name."""
    try:
        ipaddress.ip_address(value)
        return True
    except ValueError:
        pass
    if len(value) > 253 or not value:
        return False
    labels = value.rstrip(".").split(".")
    return all(_HOSTNAME_LABEL.match(label) for label in labels) and not labels[-1].isdigit()


def is_user(value: str) -> bool:
    return bool(_USER.match(value))


def is_path(value: str) -> bool:
    return bool(_PATH.match(value))


def check_zone(where: str, court: str, zone: str) -> list[Problem]:
    if not is_iana_zone(zone):
        return [Problem(where, court, "time zone is not a valid IANA zone", zone)]
    if zone not in INDONESIA_ZONES:
        return [Problem(where, court, "time zone is not one of Indonesia's four "
                        f"({', '.join(INDONESIA_ZONES)})", zone)]
    return []


def check_courts(courts: list[Court], high_courts: set[str]) -> list[Problem]:
    """Every problem in the court list: zones, provinces, unique ids and names, PTs, safe text."""
    problems: list[Problem] = []
    ids = Counter(c.court_id for c in courts)
    names = Counter(c.name.casefold() for c in courts)
    for c in courts:
        label = c.court_id or c.name or "(no id)"
        for field, value in (("court_id", c.court_id), ("name", c.name), ("pt", c.pt),
                             ("province", c.province), ("city_or_regency", c.city),
                             ("timezone", c.timezone)):
            if not value.strip():
                problems.append(Problem(c.source, label, f"{field} is empty"))
            elif has_shell_meta(value):
                problems.append(Problem(c.source, label,
                                        f"{field} contains a shell metacharacter", value))
        if c.court_id and not _COURT_ID.match(c.court_id):
            problems.append(Problem(c.source, label,
                                    "court_id must look like pn-name-in-lower-case", c.court_id))
        if ids[c.court_id] > 1:
            problems.append(Problem(c.source, label, "duplicate court_id", c.court_id))
        if names[c.name.casefold()] > 1:
            problems.append(Problem(c.source, label, "duplicate court name", c.name))
        if c.pt and c.pt not in high_courts:
            problems.append(Problem(c.source, label, "unknown high court (PT)", c.pt))
        if c.timezone:
            zone_problems = check_zone(c.source, label, c.timezone)
            problems += zone_problems
            expected = PROVINCE_ZONES.get(c.province)
            if c.province and expected is None:
                problems.append(Problem(c.source, label, "unknown province", c.province))
            elif not zone_problems and expected and expected != c.timezone:
                problems.append(Problem(
                    c.source, label,
                    f"time zone does not match its province {c.province} (expected {expected})",
                    c.timezone))
    return problems
