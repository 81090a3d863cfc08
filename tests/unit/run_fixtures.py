"""Realistic ``RunResult`` builders for the tests (imported by conftest.py and by the
integration tests that render reports; kept out of conftest.py so it can be imported by
path without clashing with tests/integration/conftest.py).

``make_fleet_run()`` is a fleet as ``tepat check`` reports it: real courts from
inventories/courts.csv in all four zones and eleven PTs, every control status (pass / fail /
skip / error), cascaded failures naming their root cause, a 5xx from the API, and unreachable
hosts for several reasons. The control details are worded as the compliance suite words them
from the recorded command output of real hosts (lab containers).
"""
from __future__ import annotations

from tepat.controls import CONTROLS
from tepat.courts import read_courts
from tepat.results import ControlResult, HostResult, RunResult

_COURTS = {c.court_id: c for c in read_courts()}

# What a passing control says, per id (as the suite reports it on a compliant Debian host).
_PASS_DETAIL = {
    "PHP-TZ-01": "cli, fpm (pool www), apache2: {tz}",
    "OS-TZ-01": "/etc/localtime -> /usr/share/zoneinfo/{tz}",
    "OS-TZ-02": "/etc/timezone: {tz}",
    "OS-TZ-03": "RTC in local TZ: no",
    "NTP-01": "chrony.service enabled, active; no ntpd, systemd-timesyncd inactive",
    "NTP-02": "sources: ntp.bsn.go.id, ntp.bmkg.go.id",
    "NTP-03": "selected ntp.bsn.go.id, Leap status Normal, offset +0.000214 s",
    "CLK-01": "offset -0.08 s from controller (rtt 0.03 s), -0.4 s from API Date",
    "NET-01": "apis.mahkamahagung.go.id -> 103.10.20.30",
    "NET-02": "connected to 103.10.20.30:443",
    "NET-03": "TLSv1.3 verified (system store, php curl)",
    "NET-04": "HTTP 200",
    "DB-TZ-01": "MariaDB NOW() 2026-12-04 17:30:02, local 2026-12-04 17:30:02",
    "SVC-01": "php8.2-fpm, apache2, cron, mariadb started after last zone change",
}


def make_host(
    court_id: str,
    results: dict[str, tuple] | None = None,
    *,
    address: str | None = None,
    status: str | None = None,
    reason: str | None = None,
    error: str = "",
) -> HostResult:
    """A host of a real court. ``results`` overrides controls: ``{id: (status, detail[, root])}``.

    Controls not named pass. The host status follows from the controls unless given
    (``status="unreachable"`` gives a host with no controls).
    """
    court = _COURTS[court_id]
    if address is None:
        address = "10.77.%d.%d" % (len(court_id) % 250, sum(map(ord, court_id)) % 250 + 2)
    if status == "unreachable":
        return HostResult(
            court_id=court.court_id, court_name=court.name, pt=court.pt,
            timezone=court.timezone, address=address, status="unreachable",
            reason=reason, error=error, duration_s=10.0,
        )
    controls = []
    for cid in CONTROLS:
        spec = (results or {}).get(cid)
        if spec is None:
            controls.append(ControlResult(cid, "pass", _PASS_DETAIL[cid].format(tz=court.timezone)))
        else:
            controls.append(ControlResult(cid, spec[0], spec[1], spec[2] if len(spec) > 2 else None))
    if status is None:
        status = "non_compliant" if any(c.status in ("fail", "error") for c in controls) else "compliant"
    return HostResult(
        court_id=court.court_id, court_name=court.name, pt=court.pt, timezone=court.timezone,
        address=address, status=status, controls=controls, duration_s=1.7,
    )


def make_fleet_run() -> RunResult:
    """Twelve courts, four zones, eight PTs; see the module docstring."""
    net_down = "NET-01 failed: no name resolution"
    hosts = [
        # Compliant, every control passing.
        make_host("pn-jakarta-pusat"),
        # Letter step 1a: php-fpm pool override, and php-fpm not restarted.
        make_host("pn-sleman", {
            "PHP-TZ-01": ("fail", "fpm pool www: php_admin_value[date.timezone] = UTC "
                                  "(/etc/php/8.2/fpm/pool.d/www.conf:412); cli, apache2: Asia/Jakarta"),
            "SVC-01": ("fail", "php8.2-fpm started 2026-12-01 03:12:09, before "
                               "/etc/php/8.2/fpm/php.ini changed 2026-12-03 09:40:55"),
        }),
        # Letter step 2, DNS: the network layers after it cascade.
        make_host("pn-ambon", {
            "NET-01": ("fail", "apis.mahkamahagung.go.id: no address (getent ahosts exit 2)"),
            "NET-02": ("fail", net_down, "NET-01"),
            "NET-03": ("fail", net_down, "NET-01"),
            "NET-04": ("fail", net_down, "NET-01"),
        }),
        # Letter step 3: the Supreme Court's API answers 5xx.
        make_host("pn-denpasar", {
            "NET-04": ("fail", "HTTP 503 Service Unavailable from apis.mahkamahagung.go.id"),
        }),
        # Unreachable: timeout (slow far-east link, host down).
        make_host("pn-jayapura", address="10.77.9.31", status="unreachable",
                  reason="timeout", error="connect to 10.77.9.31 port 22: timed out after 10 s"),
        # Unreachable: no address in production.hosts.yaml.
        make_host("pn-merauke", address="", status="unreachable", reason="no_address",
                  error="no address in inventories/production.hosts.yaml"),
        # Letter step 1b: OS zone and time sync, database skipped (none installed).
        make_host("pn-makassar", {
            "OS-TZ-01": ("fail", "/etc/localtime -> /usr/share/zoneinfo/Asia/Jakarta, "
                                 "expected Asia/Makassar"),
            "OS-TZ-02": ("fail", "/etc/timezone: Asia/Jakarta, expected Asia/Makassar"),
            "NTP-01": ("fail", "chrony not installed; systemd-timesyncd inactive"),
            "NTP-02": ("fail", "NTP-01 failed: chrony not installed", "NTP-01"),
            "NTP-03": ("fail", "NTP-01 failed: chrony not installed", "NTP-01"),
            "CLK-01": ("fail", "offset +5412.3 s from controller (rtt 0.04 s), +5411.9 s from "
                               "API Date"),
            "DB-TZ-01": ("skip", "no MariaDB/MySQL server running"),
        }),
        # Unreachable: SSH authentication refused.
        make_host("pn-manado", status="unreachable", reason="auth",
                  error="Authentication failed for user tepat (publickey)"),
        # Letter step 2, TLS; the database check could not run.
        make_host("pn-sampit", {
            "NET-03": ("fail", "certificate verify failed: unable to get local issuer "
                               "certificate (system store and php curl)"),
            "NET-04": ("fail", "NET-03 failed: TLS handshake", "NET-03"),
            "DB-TZ-01": ("error", "mysql -e 'SELECT NOW()' timed out after 20 s"),
        }),
        # Compliant with skips: no Apache, no database.
        make_host("pn-pontianak", {
            "PHP-TZ-01": ("pass", "cli, fpm (pool www): Asia/Pontianak; apache2 not installed"),
            "DB-TZ-01": ("skip", "no MariaDB/MySQL server running"),
        }),
        # Unreachable: the host key changed.
        make_host("pn-medan", address="10.77.4.12", status="unreachable", reason="host_key",
                  error="host key for 10.77.4.12 does not match known_hosts "
                        "(SHA256:3b1Qk0mYQz8h2zCq0v1mX2Qe6m0X7bqg3o8c6yUe1tA)"),
        # Letter step 2, TCP 443 blocked.
        make_host("pn-bandung", {
            "NET-02": ("fail", "connect to 103.10.20.30:443: timed out after 5 s"),
            "NET-03": ("fail", "NET-02 failed: no TCP connection", "NET-02"),
            "NET-04": ("fail", "NET-02 failed: no TCP connection", "NET-02"),
        }),
    ]
    return RunResult(
        started_at="2026-12-04T17:30:00+00:00", finished_at="2026-12-04T17:31:12+00:00",
        inventory="inventories/production.py", complete=True, hosts=hosts,
    )
