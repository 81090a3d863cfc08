"""The one registry of tepat's controls.

Every control id (``PHP-TZ-01`` ...) is defined here once, with the metadata InSpec keeps per
control: a title, an impact, the rationale (which step of Badilum letter 720/DJU/TI1.1/III/2025
it serves) and a remediation hint. The compliance suite (``tests/compliance``), the fix
(``deploy.py``), the lab's faults, the reports and ``docs/controls.md`` all refer to these ids;
none of them redefines one.

``depends_on`` lists the controls whose failure makes this one meaningless: a failing
dependency is named as the root cause instead of reporting a second, unrelated-looking fault.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Control:
    id: str
    title: str
    impact: float  # 0.0-1.0, as InSpec: 0.7+ critical for appeals syncing
    letter_step: str  # which step of the letter this control serves
    rationale: str
    remediation: str
    fixable: bool  # True when `tepat fix` (deploy.py) remedies it
    depends_on: tuple[str, ...] = field(default=())

    @property
    def layer(self) -> str:
        """The first part of the id: PHP, OS, NTP, CLK, NET, DB, SVC."""
        return self.id.split("-", 1)[0]


_ALL = (
    Control(
        "PHP-TZ-01", "Every PHP runtime's effective date.timezone is the court's zone", 0.9, "1a",
        "SIPP stamps every case event with PHP's date(); a runtime on the wrong zone (or on PHP's "
        "UTC default) writes times hours off, and the Supreme Court's sync rejects or misorders "
        "appeals.",
        "Run `tepat fix --court <court>`: it writes one managed ini file that loads last in each "
        "runtime (cli, fpm, apache2) and comments out conflicting settings, then reloads php-fpm "
        "and Apache.",
        True,
    ),
    Control(
        "OS-TZ-01", "The operating system's time zone is the court's zone", 0.7, "1b",
        "Cron jobs, logs and the database take local time from the OS zone; the letter asks for "
        "the server's date and time to match the court's region.",
        "Run `tepat fix --court <court>` (timedatectl set-timezone, or the /etc/localtime link).",
        True,
    ),
    Control(
        "OS-TZ-02", "/etc/timezone (Debian) or /etc/sysconfig/clock (RHEL) agrees with the zone", 0.4,
        "1b",
        "Tools that read /etc/timezone (Debian's tzdata, some PHP builds, Java) disagree with "
        "/etc/localtime after a plain `timedatectl set-timezone`.",
        "Run `tepat fix`: it rewrites the file to the court's zone.",
        True,
    ),
    Control(
        "OS-TZ-03", "The hardware clock keeps UTC", 0.3, "1b",
        "A hardware clock in local time shifts the system clock by hours at every reboot until "
        "NTP corrects it, and breaks DST-free zone arithmetic.",
        "Run `tepat fix` (timedatectl set-local-rtc 0, or UTC in /etc/adjtime).",
        True,
    ),
    Control(
        "NTP-01", "chrony is installed, enabled and running, with no competing time daemon", 0.7,
        "1b",
        "Without a running NTP client the clock drifts; two daemons fight over the clock.",
        "Run `tepat fix`: it installs chrony and stops and disables ntpd and systemd-timesyncd.",
        True,
    ),
    Control(
        "NTP-02", "chrony uses only approved time sources", 0.5, "1b",
        "An unapproved or unreachable source leaves the clock unsynchronised or wrong; the "
        "national time scale UTC(IDN) is served by BSN.",
        "Run `tepat fix`: it renders chrony.conf with the approved servers from the inventory.",
        True,
        ("NTP-01",),
    ),
    Control(
        "NTP-03", "chrony is synchronised (a selected source, leap status Normal, small offset)",
        0.7, "1b",
        "A configured but unsynchronised chrony does not keep the clock right.",
        "Check that the court's network allows UDP 123 to the approved servers; then "
        "`tepat fix` restarts chrony and waits for sync.",
        True,
        ("NTP-01",),
    ),
    Control(
        "CLK-01", "The host's clock agrees with the reference clocks", 0.9, "1b",
        "The letter names the server's date and time; a clock minutes off makes SIPP's "
        "timestamps and TLS validity checks wrong even when the zone is right.",
        "Run `tepat fix` to put chrony in charge (makestep corrects a large offset); if the "
        "skew persists, look for a process faking time (LD_PRELOAD, FAKETIME).",
        True,
    ),
    Control(
        "NET-01", "The host resolves apis.mahkamahagung.go.id", 0.9, "2",
        "SIPP cannot send an appeal to an API it cannot find.",
        "Court network admin: check /etc/resolv.conf and the DNS servers it names.",
        False,
    ),
    Control(
        "NET-02", "The host reaches apis.mahkamahagung.go.id on TCP 443", 0.9, "2",
        "A firewall or missing route blocks the sync even when the name resolves.",
        "Court network admin: allow outbound TCP 443 to the API's addresses; check the route "
        "and any proxy.",
        False,
        ("NET-01",),
    ),
    Control(
        "NET-03", "A verified TLS handshake succeeds with the system trust store and PHP's curl",
        0.9, "2",
        "SIPP talks HTTPS through PHP's curl; an outdated CA bundle or an intercepting proxy "
        "breaks it. A system PHP whose curl uses libcurl's default CA bundle tests both in one "
        "request; otherwise the curl command tests the system store apart.",
        "Update ca-certificates; remove any TLS-intercepting proxy; check the clock (CLK-01).",
        False,
        ("NET-02",),
    ),
    Control(
        "NET-04", "The API answers HTTP requests", 0.6, "3",
        "A 5xx answer is trouble on the Supreme Court's side (letter step 3): escalate, the "
        "court's server is not at fault.",
        "If the API answers 5xx, escalate through Satgas SIPP at the court's PT (letter step 4).",
        False,
        ("NET-03",),
    ),
    Control(
        "DB-TZ-01", "MariaDB/MySQL NOW() agrees with the court's local time", 0.6, "1b",
        "SIPP stores case times with the database's NOW(); a database on another zone "
        "disagrees with PHP.",
        "Set default-time-zone to SYSTEM (or the court's zone) in the server config and restart "
        "the database in a maintenance window (`tepat fix --restart-database`).",
        False,
    ),
    Control(
        "SVC-01", "Services were started after their time settings last changed", 0.5, "1",
        "A process reads the zone when it starts: php-fpm, Apache, cron or the database "
        "started before the change still runs on the old zone.",
        "Run `tepat fix` (restarts php-fpm, Apache and cron on change); restart the database in "
        "a maintenance window.",
        True,
    ),
)

CONTROLS: dict[str, Control] = {c.id: c for c in _ALL}


def control(control_id: str) -> Control:
    """The control with this id; KeyError names the unknown id."""
    try:
        return CONTROLS[control_id]
    except KeyError:
        raise KeyError(f"unknown control id {control_id!r}") from None


def dependents(control_ids: set[str] | list[str]) -> set[str]:
    """``control_ids`` plus every control that depends on them, transitively.

    A failure cascades: when NET-01 fails, NET-02..04 fail too, naming NET-01 as root cause.
    The compliance suite reports it so, and the lab's ground truth expects it so.
    """
    result = set(control_ids)
    changed = True
    while changed:
        changed = False
        for c in _ALL:
            if c.id not in result and any(d in result for d in c.depends_on):
                result.add(c.id)
                changed = True
    return result
