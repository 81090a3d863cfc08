"""OS-TZ-01..03: the operating system's zone, its zone files, and the hardware clock."""
from __future__ import annotations

from hostfacts import normalize_zone


def test_OS_TZ_01(facts, zone, verdict):
    """OS-TZ-01: the operating system's time zone (/etc/localtime) is the court's zone."""
    os_zone = facts.os_zone
    if zone is None:
        verdict.fail(f"no court given and the OS zone ({os_zone.how}) is not one of "
                     "Indonesia's four zones")
    if os_zone.zone != zone:
        verdict.fail(f"{os_zone.how}; expected {zone}")
    verdict.ok(os_zone.how)


def test_OS_TZ_02(facts, zone, verdict):
    """OS-TZ-02: /etc/timezone (Debian) or /etc/sysconfig/clock (RHEL) names the court's zone."""
    os_zone = facts.os_zone
    files = [(f, v) for f, v in (("/etc/timezone", os_zone.etc_timezone),
                                  ("/etc/sysconfig/clock ZONE", os_zone.sysconfig_zone)) if v]
    if not files:
        verdict.skip("neither /etc/timezone nor ZONE in /etc/sysconfig/clock exists: "
                     "/etc/localtime alone names the zone")
    expected = zone or os_zone.zone
    wrong = [(f, v) for f, v in files if normalize_zone(v) != expected]
    if wrong:
        agree = "" if os_zone.zone == expected else f" ({os_zone.how})"
        verdict.fail("; ".join(f"{f}: {v}" for f, v in wrong)
                     + f"; expected {expected or 'one of Indonesia zones'}{agree}")
    verdict.ok("; ".join(f"{f}: {v}" for f, v in files))


def test_OS_TZ_03(facts, verdict):
    """OS-TZ-03: the hardware clock keeps UTC (not local time)."""
    if facts.os_zone.rtc_local:
        verdict.fail(f"hardware clock in local time ({facts.os_zone.rtc_how})")
    verdict.ok(facts.os_zone.rtc_how)
