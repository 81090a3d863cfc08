"""DB-TZ-01: where MariaDB/MySQL runs, its NOW() agrees with the court's local time.

NOW() - UTC_TIMESTAMP() is the zone the database really applies, whatever its configuration
says (time_zone SYSTEM follows the OS zone as it was when the server started). Comparing
offsets, not clocks, keeps this control about the zone: the clock itself is CLK-01's.
"""
from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo


def _fmt(minutes: int) -> str:
    sign = "+" if minutes >= 0 else "-"
    return f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def test_DB_TZ_01(facts, zone, verdict):
    """DB-TZ-01: MariaDB/MySQL NOW() agrees with the court's local time."""
    db = facts.db
    if not db.running:
        verdict.skip("no MariaDB/MySQL server runs on this host")
    if not db.ok:
        verdict.cannot(f"could not query the database (needs passwordless sudo for its client): {db.error}")
    if zone is None:
        verdict.fail("no court given and the OS zone is not one of Indonesia's four zones")
    offset = ZoneInfo(zone).utcoffset(datetime.now(timezone.utc).replace(tzinfo=None))
    want = round(offset.total_seconds() / 60)
    got = db.offset_minutes
    seen = (f"NOW() {db.now:%Y-%m-%d %H:%M:%S} is {_fmt(got)} (time_zone {db.time_zone}, "
            f"system {db.system_time_zone})")
    if got != want:
        verdict.fail(f"{seen}; {zone} is {_fmt(want)}")
    verdict.ok(seen)
