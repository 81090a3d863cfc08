"""SVC-01: php-fpm, Apache, cron and the database started after their time settings changed.

A process reads the zone when it starts: one started before the change still runs on the old
zone. Start times come from the kernel (/proc), file times from the file system, so a faked
or skewed clock does not blur them. See hostfacts.service_starts for which files count.
"""
from __future__ import annotations

from datetime import datetime, timezone

from hostfacts import service_starts


def _at(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def test_SVC_01(facts, verdict):
    """SVC-01: services were started after their time settings last changed."""
    services = service_starts(facts)
    if not services:
        verdict.skip("none of php-fpm, Apache, cron, MariaDB/MySQL runs on this host")
    stale = [s for s in services if s.stale_by > 0]
    if stale:
        verdict.fail("; ".join(
            f"{s.name} (pid {s.pid}) started {_at(s.start)}, before {s.newest[0]} changed "
            f"{_at(s.newest[1])}: restart it" for s in stale))
    unknown = [s.name for s in services if s.start is None]
    if unknown:
        verdict.cannot(f"start time unknown for {', '.join(unknown)}")
    verdict.ok(", ".join(s.name for s in services) + " started after their settings last changed")
