"""NTP-01..03: chrony installed and alone, on approved sources, synchronised."""
from __future__ import annotations

import re

# NTP-03's limit on chrony's own offset estimate. A synchronised chrony keeps a server within
# milliseconds of its source (even over a 150 ms WAN path); SIPP stamps events to the second,
# so half a second is where a timestamp can land in the wrong second. More than that with a
# selected source means chrony is not (yet) keeping the clock. CLK-01 separately measures the
# clock from outside, with a looser limit that covers its measurement error.
MAX_NTP_OFFSET_S = 0.5

COMPETITORS = ("ntp.service", "ntpd.service", "ntpsec.service", "openntpd.service",
               "systemd-timesyncd.service")
COMPETING_PROCESSES = ("ntpd", "ntpsec", "openntpd", "systemd-timesyn", "systemd-timesyncd")


def test_NTP_01(facts, verdict):
    """NTP-01: chrony is installed, enabled and running, with no competing time daemon."""
    c = facts.chrony
    problems = []
    if not c.installed:
        problems.append("chrony is not installed")
    running = [p for p in facts.processes.values() if p.comm == "chronyd"]
    if c.installed and not running:
        problems.append("chronyd is not running")
    if facts.systemd:
        chrony_units = [u for u in facts.units.values() if u.id in ("chrony.service", "chronyd.service")]
        enabled = any(u.file_state.startswith("enabled") for u in chrony_units)
        how = ", ".join(f"{u.id} {u.file_state or u.load}" for u in chrony_units) or "no chrony unit"
    else:
        enabled = any("chrony" in l for l in facts.sysv_links)
        how = "rc start link " + ("present" if enabled else "missing")
    if c.installed and not enabled:
        problems.append(f"chrony is not enabled at boot ({how})")
    competing = sorted({p.comm for p in facts.processes.values() if p.comm in COMPETING_PROCESSES})
    competing += [f"{u.id} {u.active}/{u.file_state}" for u in facts.units.values()
                  if u.id in COMPETITORS and u.load == "loaded"
                  and (u.active in ("active", "activating") or u.file_state.startswith("enabled"))]
    if competing:
        problems.append("competing time daemon: " + ", ".join(competing))
    if problems:
        verdict.fail("; ".join(problems))
    verdict.ok(f"chronyd running (pid {running[0].pid}), {how}; no competing daemon")


def _is_ip(name: str) -> bool:
    return bool(re.match(r"^[0-9.]+$|^[0-9a-fA-F:]+:[0-9a-fA-F:]*$", name))


def test_NTP_02(facts, target, verdict):
    """NTP-02: chrony uses only approved time sources (host data ntp_servers)."""
    approved = {s.lower() for s in target.ntp_servers}
    c = facts.chrony
    if c.sources and c.source_names:
        used = [s.name for s in c.sources]
        where = "in use (chronyc sources)"
    else:  # chronyd not running, or chrony < 4.0 (addresses only): what is configured
        used = [name for _, kind, name in c.config_sources if kind != "refclock"]
        where = "configured"
    if not used:
        verdict.fail("chrony has no time source configured")
    bad = [u for u in used if u.lower() not in approved]
    if bad:
        verdict.fail(f"unapproved source(s) {where}: {', '.join(bad)}; approved: "
                     f"{', '.join(target.ntp_servers)}")
    verdict.ok(f"sources {where}: {', '.join(used)}")


def test_NTP_03(facts, verdict):
    """NTP-03: chrony is synchronised: a selected source, leap status Normal, small offset."""
    c = facts.chrony
    t = c.tracking
    if t is None:
        verdict.fail(f"chronyc tracking gave no answer: {c.tracking_error or 'nothing'}")
    selected = [s.name for s in c.sources if s.state == "*"]
    problems = []
    if t.leap != "Normal":
        problems.append(f"leap status {t.leap}")
    if t.ref_id in ("00000000", "7F7F0101") or not selected:
        problems.append("no selected source" + (" (only its local clock)" if t.ref_id == "7F7F0101" else ""))
    offset = max(abs(t.system_offset), abs(t.last_offset))
    if offset > MAX_NTP_OFFSET_S:
        problems.append(f"offset {offset:.3f} s over {MAX_NTP_OFFSET_S} s")
    if problems:
        verdict.fail("not synchronised: " + "; ".join(problems))
    verdict.ok(f"selected {selected[0]}, leap status Normal, offset {t.system_offset:+.6f} s "
               f"(last {t.last_offset:+.6f} s)")
