"""The lab's faults: one registry of what can be wrong on a PN server, and a reproducible mix.

Each fault has a name, what it breaks, how the lab puts it on a host, and the control ids it
must trip (``direct``; the ground truth adds their dependents, see ``expected_failures``).
Faults are applied to a host's overlay before it boots (``prepare``) and, for the few that
need a running host, once it is up (``after_boot``). ``tepat lab fault HOST NAME`` re-creates
the host with the fault added, so the host is exactly "clean plus these faults".

Control ids: PHP-TZ-01 OS-TZ-01 OS-TZ-02 OS-TZ-03 NTP-01 NTP-02 NTP-03 CLK-01 NET-01 NET-02
NET-03 NET-04 DB-TZ-01 SVC-01 (tepat/controls.py). OS-TZ-02 is judged against the court's zone.
"""
from __future__ import annotations

import os
import random
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tepat.controls import CONTROLS, dependents
from tepat.lab import provision as p
from tepat.lab.sampler import DEAD_ADDRESS, UNAPPROVED_NTP_ADDRESS, LabHost

FAKETIME_LIB = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"
TIMESYNCD_FILES = "opt/tepat-lab/timesyncd"  # in the base image (see base-setup.sh)

# A wrong zone is always one with another UTC offset (Pontianak and Jakarta share +07).
WRONG_ZONE = {
    "Asia/Jakarta": "Asia/Makassar",
    "Asia/Pontianak": "Asia/Makassar",
    "Asia/Makassar": "Asia/Jakarta",
    "Asia/Jayapura": "Asia/Jakarta",
}


@dataclass
class FaultContext:
    """What a fault needs to change one host."""

    host: LabHost
    files: p.HostFiles
    secrets: p.LabSecrets
    base_bundle: str
    database: bool
    # Runs a command inside the booted host as root (nsenter), for after_boot steps.
    run: Callable[[list[str]], "object"] | None = None

    @property
    def zone(self) -> str:
        return self.host.court.timezone

    @property
    def wrong_zone(self) -> str:
        return WRONG_ZONE[self.zone]


@dataclass(frozen=True)
class Fault:
    name: str
    group: str  # at most one fault of a group per host (they would overwrite each other)
    description: str
    applied: str  # how the lab applies it (shown by `tepat lab fault --list`)
    direct: tuple[str, ...]  # controls it trips by itself
    prepare: Callable[[FaultContext], None] | None = None
    after_boot: Callable[[FaultContext], None] | None = None
    direct_with_database: tuple[str, ...] = ()  # also tripped where MariaDB runs
    needs_database: bool = False
    boots: bool = True
    reachable: bool = True  # False: tepat cannot log in, nothing can be checked
    exclusive: bool = False  # alone on its host (an unreachable host hides everything else)
    slow_link: bool = False
    unreachable_reason: str | None = None  # what a checker should report: auth, no_route


# --- how each fault is applied -----------------------------------------------------------

def _php_ini_wrong_zone(ctx: FaultContext) -> None:
    p.set_php_timezone(ctx.files, "apache2", ctx.wrong_zone)


def _php_no_timezone(ctx: FaultContext) -> None:
    for sapi in p.PHP_SAPIS:
        p.set_php_timezone(ctx.files, sapi, None)


def _php_confd_override(ctx: FaultContext) -> None:
    ctx.files.write(f"etc/php/{p.PHP_VERSION}/cli/conf.d/99-sipp-timezone.ini",
                    "; added by a SIPP installer\ndate.timezone = UTC\n")


def _php_fpm_pool_override(ctx: FaultContext) -> None:
    rel = f"etc/php/{p.PHP_VERSION}/fpm/pool.d/www.conf"
    text = ctx.files.read(rel)
    ctx.files.write(rel, text + f"\nphp_admin_value[date.timezone] = {ctx.wrong_zone}\n")


def _php_fpm_stale_prepare(ctx: FaultContext) -> None:
    # php-fpm boots on the wrong zone; after_boot then corrects the file without a restart.
    p.set_php_timezone(ctx.files, "fpm", ctx.wrong_zone)


def _php_fpm_stale_after(ctx: FaultContext) -> None:
    assert ctx.run is not None
    ctx.run(["sh", "-c", f"for i in $(seq 100); do systemctl is-active -q php{p.PHP_VERSION}-fpm && exit 0; sleep 0.2; done; exit 1"])
    # A second later: the change must come clearly after the start, as it does when a person
    # edits the file, not within the few tens of ms a loaded machine blurs start times by.
    time.sleep(1)
    p.set_php_timezone(ctx.files, "fpm", ctx.zone)


def _os_zone_wrong(ctx: FaultContext) -> None:
    p.set_os_zone(ctx.files, ctx.wrong_zone)
    p.set_timezone_file(ctx.files, ctx.wrong_zone)


def _timezone_file_mismatch(ctx: FaultContext) -> None:
    p.set_timezone_file(ctx.files, ctx.wrong_zone)


def _hwclock_local(ctx: FaultContext) -> None:
    p.set_hardware_clock(ctx.files, "LOCAL")


def _chrony_missing(ctx: FaultContext) -> None:
    result = ctx.files.chroot("dpkg", "--purge", "chrony")
    if result.returncode != 0:
        raise RuntimeError(f"{ctx.host.court_id}: dpkg --purge chrony failed: {result.stderr.strip()}")


def _chrony_stopped(ctx: FaultContext) -> None:
    # What `systemctl disable chrony` removes: the wants link and the chronyd alias.
    p.set_enabled(ctx.files, "chrony.service", False)
    ctx.files.remove("etc/systemd/system/chronyd.service")


def _ntp_unapproved(ctx: FaultContext) -> None:
    p.set_chrony_servers(ctx.files, [UNAPPROVED_NTP_ADDRESS])


def _ntp_unreachable(ctx: FaultContext) -> None:
    p.set_chrony_servers(ctx.files, [DEAD_ADDRESS])


def _time_daemon_competing(ctx: FaultContext) -> None:
    # systemd-timesyncd conflicts with chrony in dpkg: install its files as an admin who
    # copied them would, and let it run in the container (no CAP_SYS_TIME: it cannot set the
    # clock, but it runs, polls the lab NTP server and would fight chrony on a real server).
    source = ctx.files.root / TIMESYNCD_FILES
    for directory, _dirs, names in os.walk(source):
        for name in names:
            src = Path(directory) / name
            rel = str(src.relative_to(source))
            if rel.startswith("lib/"):
                rel = "usr/" + rel  # merged /usr: /lib is a symlink in the image
            dest = ctx.files.path(rel)
            dest.parent.mkdir(parents=True, exist_ok=True)
            if os.path.lexists(dest):
                dest.unlink()
            shutil.copy2(src, dest, follow_symlinks=False)
    ctx.files.write("etc/systemd/timesyncd.conf", "[Time]\nNTP=10.77.0.1\n")
    ctx.files.write("etc/systemd/system/systemd-timesyncd.service.d/10-tepat-lab-container.conf", (
        "[Unit]\nConditionCapability=\nConditionVirtualization=\n"
        "[Service]\nAmbientCapabilities=\nCapabilityBoundingSet=\n"
    ))
    p.set_enabled(ctx.files, "systemd-timesyncd.service", True, "etc/systemd/system/sysinit.target.wants")
    ctx.files.symlink("etc/systemd/system/dbus-org.freedesktop.timesync1.service",
                      "/lib/systemd/system/systemd-timesyncd.service")


def _faketime(offset: str) -> Callable[[FaultContext], None]:
    def apply(ctx: FaultContext) -> None:
        # /etc/environment is read by PAM for every SSH session and sudo; /etc/ld.so.preload
        # would kill sshd (lab-notes.md).
        text = ctx.files.read("etc/environment") if ctx.files.exists("etc/environment") else ""
        text += f'LD_PRELOAD={FAKETIME_LIB}\nFAKETIME="{offset}"\n'
        ctx.files.write("etc/environment", text)
        # sudo drops LD_PRELOAD even with env_keep; its env_file is exempt, so `sudo date`
        # is skewed too.
        ctx.files.write("etc/sudoers.d/tepat-lab-faketime",
                        "Defaults env_file=/etc/environment\n", 0o440)
    return apply


def _db_wrong_zone(ctx: FaultContext) -> None:
    ctx.files.write("etc/mysql/mariadb.conf.d/95-sipp.cnf",
                    "# set by a SIPP installer\n[mysqld]\ndefault-time-zone = '+00:00'\n")


def _api_no_dns(ctx: FaultContext) -> None:
    p.write_identity(ctx.files, ctx.host, None)


def _api_dead_address(ctx: FaultContext) -> None:
    p.write_identity(ctx.files, ctx.host, DEAD_ADDRESS)


def _ca_untrusted(ctx: FaultContext) -> None:
    p.untrust_ca(ctx.files, ctx.secrets, ctx.base_bundle)


def _ssh_auth_broken(ctx: FaultContext) -> None:
    # A key nobody has: the lab key no longer opens root or tepat.
    p.set_authorized_key(ctx.files, "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB2kGhsbN9L0cT0lJfVw1Yt0tP5DVtXJ6u3cHdK9QJ7m former-admin")


FAULTS: dict[str, Fault] = {f.name: f for f in (
    Fault("php-ini-wrong-zone", "php", "Apache's php.ini sets another zone",
          f"date.timezone = <zone of another offset> in /etc/php/{p.PHP_VERSION}/apache2/php.ini",
          ("PHP-TZ-01",), _php_ini_wrong_zone),
    Fault("php-no-timezone", "php", "no date.timezone anywhere: PHP falls back to UTC",
          "date.timezone commented out in the cli, fpm and apache2 php.ini",
          ("PHP-TZ-01",), _php_no_timezone),
    Fault("php-confd-override", "php", "a conf.d file overrides php.ini's zone",
          f"/etc/php/{p.PHP_VERSION}/cli/conf.d/99-sipp-timezone.ini sets date.timezone = UTC",
          ("PHP-TZ-01",), _php_confd_override),
    Fault("php-fpm-pool-override", "php", "the php-fpm pool forces another zone",
          f"php_admin_value[date.timezone] = <other zone> in /etc/php/{p.PHP_VERSION}/fpm/pool.d/www.conf",
          ("PHP-TZ-01",), _php_fpm_pool_override),
    Fault("php-fpm-stale", "php", "php-fpm not restarted after its php.ini was corrected",
          "php-fpm boots with another zone in fpm/php.ini, which is then corrected without a restart",
          ("SVC-01",), _php_fpm_stale_prepare, _php_fpm_stale_after),
    Fault("os-zone-wrong", "os-zone", "the OS runs on another zone",
          "/etc/localtime and /etc/timezone name a zone of another offset (MariaDB follows it)",
          ("OS-TZ-01", "OS-TZ-02"), _os_zone_wrong, direct_with_database=("DB-TZ-01",)),
    Fault("os-timezone-file-mismatch", "os-zone", "/etc/timezone disagrees with /etc/localtime",
          "/etc/timezone names another zone; /etc/localtime is right",
          ("OS-TZ-02",), _timezone_file_mismatch),
    Fault("hwclock-local", "rtc", "the hardware clock keeps local time",
          "third line of /etc/adjtime is LOCAL", ("OS-TZ-03",), _hwclock_local),
    Fault("chrony-missing", "ntp", "chrony is not installed",
          "dpkg --purge chrony in the image (apt-get install chrony works offline: the .deb is cached)",
          ("NTP-01",), _chrony_missing),
    Fault("chrony-stopped", "ntp", "chrony is installed but stopped and disabled",
          "chrony.service not enabled, so not started at boot", ("NTP-01",), _chrony_stopped),
    Fault("ntp-unapproved", "ntp", "chrony syncs to a server that is not approved",
          f"chrony.conf: server {UNAPPROVED_NTP_ADDRESS} (a working lab NTP server not in the inventory)",
          ("NTP-02",), _ntp_unapproved),
    Fault("ntp-unreachable", "ntp", "chrony's only server does not answer",
          f"chrony.conf: server {DEAD_ADDRESS} (nothing listens there): unapproved and unsynchronised",
          ("NTP-02", "NTP-03"), _ntp_unreachable),
    Fault("time-daemon-competing", "ntp", "systemd-timesyncd runs beside chrony",
          "systemd-timesyncd installed from its .deb files and enabled, running in the container",
          ("NTP-01",), _time_daemon_competing),
    Fault("clock-skew-hours", "clock", "the clock is two hours behind",
          f'libfaketime via /etc/environment: LD_PRELOAD={FAKETIME_LIB}, FAKETIME="-2h" (SSH sessions and sudo)',
          ("CLK-01",), _faketime("-2h")),
    Fault("clock-skew-90s", "clock", "the clock is a minute and a half ahead",
          'libfaketime via /etc/environment: FAKETIME="+90" (SSH sessions and sudo)',
          ("CLK-01",), _faketime("+90")),
    Fault("db-wrong-timezone", "db", "MariaDB runs on UTC, not the court's zone",
          "default-time-zone = '+00:00' in /etc/mysql/mariadb.conf.d/95-sipp.cnf",
          ("DB-TZ-01",), _db_wrong_zone, needs_database=True),
    Fault("api-no-dns", "net", "apis.mahkamahagung.go.id does not resolve",
          "no /etc/hosts entry for the API, and the lab has no DNS server",
          ("NET-01",), _api_no_dns),
    Fault("api-dead-address", "net", "the API name resolves to an address where nothing listens",
          f"/etc/hosts maps the API to {DEAD_ADDRESS} (connection refused)",
          ("NET-02",), _api_dead_address),
    Fault("ca-untrusted", "net", "the lab CA is not trusted: TLS verification fails",
          "the lab CA left out of /etc/ssl/certs and ca-certificates.crt", ("NET-03",), _ca_untrusted),
    Fault("api-5xx", "net", "the API answers 503 to this host",
          "the host's address is listed in the API stand-in's fail file", ("NET-04",)),
    Fault("host-down", "access", "the host is down", "the container is not started",
          (), boots=False, reachable=False, exclusive=True, unreachable_reason="no_route"),
    Fault("ssh-auth-broken", "access", "SSH rejects the lab key",
          "authorized_keys of root and tepat hold someone else's key",
          (), _ssh_auth_broken, reachable=False, exclusive=True, unreachable_reason="auth"),
    Fault("slow-link", "link", "a slow link: 150 ms round trip, as to Papua",
          "a delaying TCP relay (75 ms each way) in front of SSH; the inventory points at it",
          (), slow_link=True),
)}

for _fault in FAULTS.values():  # a typo in a control id must fail at import, not in a test
    for _cid in _fault.direct + _fault.direct_with_database:
        assert _cid in CONTROLS, f"fault {_fault.name}: unknown control {_cid}"


def unknown(names: list[str]) -> list[str]:
    return [n for n in names if n not in FAULTS]


def expected_failures(names: list[str], database: bool) -> list[str]:
    """Every control the faults must make fail, cascades included; none if unreachable."""
    faults = [FAULTS[n] for n in names]
    if not all(f.reachable for f in faults):
        return []
    direct: set[str] = set()
    for f in faults:
        direct.update(f.direct)
        if database:
            direct.update(f.direct_with_database)
    return sorted(dependents(direct))


def reachable(names: list[str]) -> bool:
    return all(FAULTS[n].reachable for n in names)


def unreachable_reason(names: list[str]) -> str | None:
    return next((FAULTS[n].unreachable_reason for n in names if FAULTS[n].unreachable_reason), None)


def boots(names: list[str]) -> bool:
    return all(FAULTS[n].boots for n in names)


def compatible(names: list[str]) -> str | None:
    """Why these faults cannot share a host, or None."""
    faults = [FAULTS[n] for n in names]
    groups = [f.group for f in faults]
    for g in set(groups):
        if groups.count(g) > 1:
            clash = [f.name for f in faults if f.group == g]
            return f"{' and '.join(clash)} change the same thing"
    if len(faults) > 1 and any(f.exclusive for f in faults):
        return f"{[f.name for f in faults if f.exclusive][0]} hides every other fault"
    return None


MAX_FAULTS_PER_HOST = 3


def plan_mix(hosts: list[LabHost], seed: int, databases: set[str]) -> dict[str, list[str]]:
    """Faults per court id for ``--faults mix``: reproducible for a seed.

    About a third of the hosts stay clean (false alarms must show), at least one host is
    unreachable (from two hosts on), and every fault appears at least once when there are
    enough hosts, a few hosts carrying two or three compatible faults.
    """
    rng = random.Random(seed)
    plan: dict[str, list[str]] = {h.court_id: [] for h in hosts}
    order = [h.court_id for h in hosts]
    rng.shuffle(order)
    n = len(order)
    n_clean = round(n / 3) if n >= 3 else 0
    faulty = order[n_clean:]
    access = [f for f in FAULTS.values() if f.exclusive]
    n_access = 0 if n < 2 else 1 if len(faulty) < 8 else len(access)
    rng.shuffle(access)
    for court_id, fault in zip(faulty[:n_access], access):
        plan[court_id] = [fault.name]
    open_hosts = faulty[n_access:]
    if not open_hosts:
        return plan
    others = [f for f in FAULTS.values() if not f.exclusive]
    rng.shuffle(others)
    # Faults with the most constrained placement first.
    others.sort(key=lambda f: (not f.needs_database, -sum(g.group == f.group for g in others)))

    def place(fault: Fault) -> bool:
        candidates = [
            c for c in open_hosts
            if len(plan[c]) < MAX_FAULTS_PER_HOST
            and compatible(plan[c] + [fault.name]) is None
            and (not fault.needs_database or c in databases)
        ]
        if not candidates:
            return False
        fewest = min(len(plan[c]) for c in candidates)
        plan[rng.choice([c for c in candidates if len(plan[c]) == fewest])].append(fault.name)
        return True

    for fault in others:
        place(fault)
    for court_id in open_hosts:  # more hosts than faults: repeat faults until each has one
        while not plan[court_id]:
            choice = rng.choice(others)
            if compatible([choice.name]) is None and (not choice.needs_database or court_id in databases):
                plan[court_id].append(choice.name)
    return {c: sorted(f) for c, f in plan.items()}
