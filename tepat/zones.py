"""Indonesia's four time zones, and which province keeps which.

The province map is kept here, apart from ``inventories/courts.csv``, so that validation can
catch a court whose zone was typed wrong (a zone "from another region").
"""
from __future__ import annotations

from datetime import datetime
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

# IANA zone -> the name people use (WIB/WITA/WIT).
INDONESIA_ZONES: dict[str, str] = {
    "Asia/Jakarta": "WIB",
    "Asia/Pontianak": "WIB",
    "Asia/Makassar": "WITA",
    "Asia/Jayapura": "WIT",
}

# Old names that resolve to one of the four (tzdata "backward" links). Accepted on a host
# (a PHP ini may say Asia/Ujung_Pandang), never in the inventory.
ALIASES: dict[str, str] = {"Asia/Ujung_Pandang": "Asia/Makassar"}

# From the IANA tz database's region comments (see inventories/SOURCES.md).
PROVINCE_ZONES: dict[str, str] = {
    **dict.fromkeys(
        [
            "Aceh", "Sumatera Utara", "Sumatera Barat", "Riau", "Kepulauan Riau", "Jambi",
            "Bengkulu", "Sumatera Selatan", "Kepulauan Bangka Belitung", "Lampung",
            "Banten", "DKI Jakarta", "Jawa Barat", "Jawa Tengah", "DI Yogyakarta", "Jawa Timur",
        ],
        "Asia/Jakarta",
    ),
    **dict.fromkeys(["Kalimantan Barat", "Kalimantan Tengah"], "Asia/Pontianak"),
    **dict.fromkeys(
        [
            "Bali", "Nusa Tenggara Barat", "Nusa Tenggara Timur", "Kalimantan Selatan",
            "Kalimantan Timur", "Kalimantan Utara", "Sulawesi Utara", "Gorontalo",
            "Sulawesi Tengah", "Sulawesi Barat", "Sulawesi Selatan", "Sulawesi Tenggara",
        ],
        "Asia/Makassar",
    ),
    **dict.fromkeys(
        [
            "Maluku", "Maluku Utara", "Papua", "Papua Barat", "Papua Barat Daya",
            "Papua Tengah", "Papua Pegunungan", "Papua Selatan",
        ],
        "Asia/Jayapura",
    ),
}


@cache
def _known_zones() -> frozenset[str]:
    return frozenset(available_timezones())  # walks the tz database: once per process


def is_iana_zone(name: str) -> bool:
    """True if the tz database on this machine knows ``name``."""
    if name in _known_zones():
        return True
    try:  # a zone that available_timezones() leaves out but ZoneInfo can still load
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return "/" in name


def canonical(name: str) -> str:
    """``name`` with old aliases resolved (Asia/Ujung_Pandang -> Asia/Makassar)."""
    return ALIASES.get(name, name)


def utc_offset(zone: str) -> str:
    """The zone's UTC offset, e.g. ``UTC+07:00`` (Indonesia keeps no DST)."""
    offset = datetime.now(ZoneInfo(zone)).utcoffset()
    assert offset is not None
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    return f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def label(zone: str) -> str:
    """``Asia/Makassar (WITA, UTC+08:00)``."""
    zone = canonical(zone)
    short = INDONESIA_ZONES.get(zone)
    return f"{zone} ({short}, {utc_offset(zone)})" if short else zone
