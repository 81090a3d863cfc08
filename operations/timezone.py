"""OS-TZ-01..03: the OS zone, /etc/timezone or /etc/sysconfig/clock, and an RTC kept in UTC.

- OS-TZ-01: ``timedatectl set-timezone`` where systemd runs (it also tells timedated and
  D-Bus listeners), otherwise an atomic ``/etc/localtime`` link. The state comes from
  ``facts.timezone``, which compares content: a copied ``/etc/localtime`` holding the right
  zone is left as it is.
- OS-TZ-02: ``/etc/timezone`` (Debian family, or wherever it exists) holds the zone name;
  ``ZONE=`` of ``/etc/sysconfig/clock`` (RHEL) too, where that file exists.
- OS-TZ-03: the third line of ``/etc/adjtime`` says ``UTC`` (what ``timedatectl set-local-rtc
  0`` writes; edited directly so the change is backed up like every other).
"""
from __future__ import annotations

import shlex

from pyinfra.api import operation

from facts.timezone import OsTimezone
from operations import safety


def zone_change_needed(state: OsTimezone) -> bool:
    return not state.matches


@operation(is_idempotent=True)
def zone(state: OsTimezone, zone: str, run: str):
    """OS-TZ-01: put the OS on ``zone`` unless /etc/localtime already holds it.

    Example:

    .. code:: python

        timezone.zone(name="OS-TZ-01 /etc/localtime -> Asia/Jayapura",
                      state=snap.timezone, zone="Asia/Jayapura", run=safety.run_id())
    """
    if state.matches:
        return
    target = f"/usr/share/zoneinfo/{zone}"
    if not state.zonefile_exists:
        # Nothing sensible to link to: fail the host with the reason instead of guessing.
        yield (f"echo 'tepat OS-TZ-01: {target} does not exist (install tzdata)' >&2; exit 1")
        return
    yield safety.backup_command("/etc/localtime", run)
    if state.systemd and state.timedatectl:
        yield f"timedatectl set-timezone {shlex.quote(zone)}"
    else:
        # ln to a temp name, then rename over /etc/localtime: never a moment without it.
        yield (f"set -e; ln -sfn {shlex.quote(target)} /etc/.localtime.tepat; "
               "mv -Tf /etc/.localtime.tepat /etc/localtime")


def timezone_file_needed(state: OsTimezone, zone: str) -> bool:
    wanted = state.timezone_file is not None or state.debian_like
    return wanted and state.timezone_file != zone


def clock_file_needed(state: OsTimezone, zone: str) -> bool:
    return state.clock_exists and state.clock_zone() != zone


@operation(is_idempotent=True)
def zone_files(state: OsTimezone, zone: str, run: str):
    """OS-TZ-02: /etc/timezone and /etc/sysconfig/clock name ``zone``.

    Example:

    .. code:: python

        timezone.zone_files(name="OS-TZ-02 /etc/timezone", state=snap.timezone,
                            zone="Asia/Makassar", run=safety.run_id())
    """
    if timezone_file_needed(state, zone):
        yield safety.write_command("/etc/timezone", f"{zone}\n", run)
    if clock_file_needed(state, zone):
        line = f'ZONE="{zone}"'
        if any(x.partition("=")[0].strip() == "ZONE" for x in state.clock_lines):
            sed = f"s|^[[:space:]]*ZONE=.*|{line}|"
            yield safety.edit_command("/etc/sysconfig/clock", sed, run)
        else:
            yield safety.edit_command("/etc/sysconfig/clock", "", run, append=line + "\n")


def rtc_change_needed(state: OsTimezone) -> bool:
    return state.adjtime_mode is not None and state.adjtime_mode != "UTC"


@operation(is_idempotent=True)
def rtc_utc(state: OsTimezone, run: str):
    """OS-TZ-03: the hardware clock keeps UTC (``/etc/adjtime`` line 3). A missing adjtime
    already means UTC to systemd and hwclock.

    Example:

    .. code:: python

        timezone.rtc_utc(name="OS-TZ-03 /etc/adjtime: UTC", state=snap.timezone,
                         run=safety.run_id())
    """
    if rtc_change_needed(state):
        yield safety.edit_command("/etc/adjtime", "3s/.*/UTC/", run)
