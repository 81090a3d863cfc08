"""operations/timezone.py, chrony.py, services.py, clock.py on recorded fact output.

The fact outputs are those of tests/unit/test_facts_timezone_chrony_services.py (Debian
recorded from lab hosts; RHEL in the scripts' format). Operations are called through
``._inner`` to get the exact commands they would run; the already-compliant state must give
none.
"""
from __future__ import annotations

import pytest

from facts import chrony as chrony_fact
from facts import clock as clock_fact
from facts import php as php_fact
from facts import services as services_fact
from facts import timezone as tz_fact
from operations import chrony, clock, services, timezone
from tests.unit.test_facts_timezone_chrony_services import (
    DEBIAN_CHRONY, DEBIAN_TZ_WRONG, RHEL_CHRONY_MISSING, RHEL_TZ_COPIED_RIGHT, SERVICES,
)


def cmds(op, **kwargs) -> list[str]:
    return [str(c) for c in op._inner(**kwargs)]


# --- OS-TZ-01..03 ------------------------------------------------------------------------

def test_zone_with_systemd_uses_timedatectl_after_a_backup() -> None:
    state = tz_fact.parse(DEBIAN_TZ_WRONG)
    out = cmds(timezone.zone, state=state, zone="Asia/Jakarta", run="R")
    assert "/var/backups/tepat/R" in out[0] and "/etc/localtime" in out[0]
    assert out[1] == "timedatectl set-timezone Asia/Jakarta"


def test_zone_without_systemd_swaps_the_link_atomically() -> None:
    state = tz_fact.parse([x for x in DEBIAN_TZ_WRONG if not x.startswith("systemd")])
    out = cmds(timezone.zone, state=state, zone="Asia/Jayapura", run="R")
    assert "ln -sfn /usr/share/zoneinfo/Asia/Jayapura /etc/.localtime.tepat" in out[1]
    assert "mv -Tf /etc/.localtime.tepat /etc/localtime" in out[1]


def test_copied_localtime_with_the_right_zone_is_left_alone() -> None:
    state = tz_fact.parse(RHEL_TZ_COPIED_RIGHT)
    assert not timezone.zone_change_needed(state)
    assert cmds(timezone.zone, state=state, zone="Asia/Jakarta", run="R") == []
    assert cmds(timezone.zone_files, state=state, zone="Asia/Jakarta", run="R") == []
    assert cmds(timezone.rtc_utc, state=state, run="R") == []


def test_missing_zone_file_fails_the_host_with_the_reason() -> None:
    state = tz_fact.parse([x for x in DEBIAN_TZ_WRONG if not x.startswith("zonefile")])
    (out,) = cmds(timezone.zone, state=state, zone="Asia/Jakarta", run="R")
    assert "install tzdata" in out and out.endswith("exit 1")


def test_timezone_file_and_sysconfig_clock() -> None:
    debian = tz_fact.parse(DEBIAN_TZ_WRONG)
    (out,) = cmds(timezone.zone_files, state=debian, zone="Asia/Jakarta", run="R")
    assert "/etc/timezone" in out and "base64 -d" in out
    rhel = tz_fact.parse(RHEL_TZ_COPIED_RIGHT)
    (out,) = cmds(timezone.zone_files, state=rhel, zone="Asia/Makassar", run="R")
    assert "/etc/sysconfig/clock" in out and 's|^[[:space:]]*ZONE=.*|ZONE="Asia/Makassar"|' in out


def test_rtc_local_is_set_to_utc() -> None:
    (out,) = cmds(timezone.rtc_utc, state=tz_fact.parse(DEBIAN_TZ_WRONG), run="R")
    assert "3s/.*/UTC/" in out and "/etc/adjtime" in out


# --- NTP-01..03, CLK-01 ------------------------------------------------------------------

def test_config_paths_per_distro() -> None:
    debian, rhel = tz_fact.parse(DEBIAN_TZ_WRONG), tz_fact.parse(RHEL_TZ_COPIED_RIGHT)
    empty = chrony_fact.Chrony()
    assert chrony.config_path(debian, empty) == "/etc/chrony/chrony.conf"
    assert chrony.config_path(rhel, empty) == "/etc/chrony.conf"
    assert chrony.unit_name(debian) == "chrony.service"
    assert chrony.unit_name(rhel) == "chronyd.service"


def test_render_has_approved_servers_iburst_and_makestep() -> None:
    servers = ["ntp.bsn.go.id", "ntp.bmkg.go.id", "0.id.pool.ntp.org"]
    text = chrony.render(servers, "/etc/chrony.conf")
    assert [line for line in text.splitlines() if line.startswith("server ")] == [
        f"server {s} iburst" for s in servers]
    assert "makestep 1 3" in text and "driftfile /var/lib/chrony/drift" in text
    assert "sourcedir" not in text and "confdir" not in text  # nothing outside the approved list
    assert "Managed by tepat" in text and "NTP-01" in text


def test_acceptable_config_is_kept_and_unapproved_is_not() -> None:
    state = chrony_fact.parse(DEBIAN_CHRONY)
    path = "/etc/chrony/chrony.conf"
    # The DHCP source in sources.d is not approved: not acceptable.
    assert not chrony.config_acceptable(state, path, ["10.77.0.1"])
    state.extra.clear()
    assert chrony.config_acceptable(state, path, ["10.77.0.1"])
    assert not chrony.config_acceptable(state, path, ["ntp.bsn.go.id"])
    assert cmds(chrony.config, path=path, content="x\n", current="x\n", run="R") == []


def test_install_with_each_package_manager() -> None:
    rhel = chrony_fact.parse(RHEL_CHRONY_MISSING)
    assert cmds(chrony.install, chrony=rhel) == ["dnf install -y -q chrony"]
    debian = chrony_fact.Chrony(package_managers=["apt-get"])
    (out,) = cmds(chrony.install, chrony=debian)
    assert "apt-get install -y" in out and "DEBIAN_FRONTEND=noninteractive" in out
    assert cmds(chrony.install, chrony=chrony_fact.parse(DEBIAN_CHRONY)) == []


def test_competitors_and_service() -> None:
    svc = services_fact.parse(SERVICES)
    assert chrony.competing_units(svc) == ["systemd-timesyncd.service"]
    assert cmds(chrony.stop_competitors, units=["systemd-timesyncd.service"], systemd=True) == [
        "if systemctl cat systemd-timesyncd.service >/dev/null 2>&1; then "
        "systemctl disable --now systemd-timesyncd.service; fi"]
    assert cmds(chrony.service, unit="chrony.service", systemd=True, enabled=True,
                active=True, restart=False) == []
    assert cmds(chrony.service, unit="chronyd.service", systemd=True, enabled=False,
                active=False, restart=False) == [
        "systemctl enable chronyd.service", "systemctl restart chronyd.service"]


def test_step_needed_only_when_far_off_and_synced() -> None:
    state = chrony_fact.parse(DEBIAN_CHRONY)
    assert not chrony.step_needed(state)
    state.tracking.offset_s = 7205.1
    assert chrony.step_needed(state)
    assert cmds(chrony.makestep) == ["chronyc makestep"]


def test_wait_sync_is_bounded_and_never_fails() -> None:
    (out,) = cmds(chrony.wait_sync)
    assert f"chronyc waitsync {chrony.WAIT_TRIES} 0 0 1" in out
    assert f"timeout {chrony.WAIT_TRIES + 10}" in out and "exit 1" not in out


# --- CLK-01: a faked clock -----------------------------------------------------------------

def test_unfake_comments_out_faketime_lines() -> None:
    state = clock_fact.parse(["fake 2:LD_PRELOAD=/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1",
                              'fake 3:FAKETIME="+90"'])
    (out,) = cmds(clock.unfake, state=state, run="R")
    assert "/etc/environment" in out and "2{/^[[:space:]]*#/!s/^/#tepat CLK-01: /;}" in out
    assert cmds(clock.unfake, state=clock_fact.FakedClock(), run="R") == []


# --- SVC-01 --------------------------------------------------------------------------------

FPM = php_fact.parse(["I /etc/php/8.2/fpm/php.ini", "D /etc/php/8.2/fpm/conf.d",
                      "M 1796405186.929200055 /etc/php/8.2/fpm/php.ini"])


def test_stale_php_fpm_is_restarted() -> None:
    svc = services_fact.parse(SERVICES)  # php8.2-fpm started at ~1796405186.62
    plan = services.plan(svc, FPM, tz_fact.OsTimezone(), set(), zone_changed=False)
    assert [r.unit for r in plan] == ["php8.2-fpm.service"]
    assert "started before /etc/php/8.2/fpm/php.ini last changed" in plan[0].reason


def test_fresh_services_are_not_restarted() -> None:
    svc = services_fact.parse(SERVICES)
    fresh = php_fact.parse(["I /etc/php/8.2/fpm/php.ini", "M 1796405100.0 /etc/php/8.2/fpm/php.ini"])
    assert services.plan(svc, fresh, tz_fact.OsTimezone(), set(), zone_changed=False) == []


def test_zone_change_restarts_cron_web_fpm_and_reports_the_database() -> None:
    lines = SERVICES + ["u ", "u Id=cron.service", "u LoadState=loaded", "u ActiveState=active",
                        "u ActiveEnterTimestampMonotonic=9000000", "u ",
                        "u Id=mariadb.service", "u LoadState=loaded", "u ActiveState=active",
                        "u ActiveEnterTimestampMonotonic=9000000", "u ",
                        "u Id=apache2.service", "u LoadState=loaded", "u ActiveState=inactive",
                        "u ActiveEnterTimestampMonotonic=0"]
    svc = services_fact.parse(lines)
    plan = services.plan(svc, FPM, tz_fact.OsTimezone(), set(), zone_changed=True)
    by_unit = {r.unit: r for r in plan}
    assert set(by_unit) == {"php8.2-fpm.service", "cron.service", "mariadb.service"}
    assert by_unit["mariadb.service"].database and not by_unit["cron.service"].database
    assert "apache2.service" not in by_unit  # stopped: stays stopped
    assert cmds(services.restart, unit="cron.service") == ["systemctl restart cron.service"]


def test_xampp_restart_uses_its_control_script() -> None:
    xampp = php_fact.parse(["I /opt/lampp/etc/php.ini"])
    plan = services.plan(services_fact.Services(), xampp, tz_fact.OsTimezone(), {"xampp"}, False)
    assert [r.unit for r in plan] == ["xampp"]
    assert cmds(services.restart, unit="xampp") == ["/opt/lampp/lampp reloadapache"]


@pytest.mark.parametrize("systemd, expected", [(True, "systemctl restart php-fpm.service"),
                                               (False, "service php-fpm restart")])
def test_restart_with_and_without_systemd(systemd: bool, expected: str) -> None:
    assert cmds(services.restart, unit="php-fpm.service", systemd=systemd) == [expected]
