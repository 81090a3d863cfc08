"""facts/timezone.py, facts/chrony.py, facts/services.py, facts/clock.py, facts/snapshot.py
on recorded output.

Debian outputs were recorded from lab hosts (Debian 12 containers under systemd-nspawn) and
from this machine (Debian 12 without systemd as PID 1). RHEL/CentOS outputs are written in the
scripts' exact format for what RHEL 8/9 installs (``/etc/chrony.conf``, ``chronyd.service``,
``/etc/sysconfig/clock``), since no RPM distribution can be built here.
"""
from __future__ import annotations

import subprocess

import pytest

from facts import chrony, clock, services, snapshot, timezone

DEBIAN_TZ_WRONG = """\
os debian
systemd yes
timedatectl yes
link /usr/share/zoneinfo/Asia/Makassar
localtime yes
zonefile yes
timezone Asia/Makassar
adjtime LOCAL
mtime 1796404000.5 /etc/localtime
mtime 1796404000.5 /etc/timezone
""".splitlines()

RHEL_TZ_COPIED_RIGHT = """\
os rocky rhel centos fedora
systemd yes
timedatectl yes
localtime yes
zonefile yes
match yes
clockfile yes
clock ZONE="Asia/Jakarta"
clock UTC=true
adjtime UTC
""".splitlines()

DEBIAN_CHRONY = """\
chronyd yes
pm apt-get
conf /etc/chrony/chrony.conf
| # written by tepat lab: the lab NTP server is the approved source
| server 10.77.0.1 iburst
| confdir /etc/chrony/conf.d
| sourcedir /etc/chrony/sources.d
| makestep 1 3
extra /etc/chrony/sources.d/dhcp.sources:server 192.168.1.1 iburst
running yes
tracking 0A4D0001,10.77.0.1,9,1796405230.114,-0.000021455,0.000003,0.000042,-1.402,0.001,0.012,0.000512,0.000245,64.9,Normal
""".splitlines()

RHEL_CHRONY_MISSING = """\
pm dnf
pm yum
""".splitlines()

SERVICES = """\
now 1796405232.533365742 801.65
u Id=chrony.service
u LoadState=loaded
u ActiveState=active
u UnitFileState=enabled
u ActiveEnterTimestampMonotonic=12000000
u 
u Id=chrony.service
u LoadState=loaded
u ActiveState=active
u UnitFileState=enabled
u ActiveEnterTimestampMonotonic=12000000
u 
u Id=systemd-timesyncd.service
u LoadState=loaded
u ActiveState=active
u UnitFileState=enabled
u ActiveEnterTimestampMonotonic=11000000
u 
u Id=ntp.service
u LoadState=not-found
u ActiveState=inactive
u UnitFileState=
u ActiveEnterTimestampMonotonic=0
u 
u Id=php8.2-fpm.service
u LoadState=loaded
u ActiveState=active
u UnitFileState=enabled
u ActiveEnterTimestampMonotonic=755734197
""".splitlines()


def test_timezone_wrong_zone_local_rtc() -> None:
    state = timezone.parse(DEBIAN_TZ_WRONG)
    assert state.debian_like and not state.rhel_like
    assert state.systemd and state.timedatectl and not state.matches
    assert state.link == "/usr/share/zoneinfo/Asia/Makassar"
    assert state.timezone_file == "Asia/Makassar" and state.adjtime_mode == "LOCAL"
    assert state.mtimes["/etc/localtime"] == 1796404000.5


def test_timezone_copied_file_with_right_content_matches() -> None:
    state = timezone.parse(RHEL_TZ_COPIED_RIGHT)
    assert state.rhel_like and state.matches and state.link is None
    assert state.clock_exists and state.clock_zone() == "Asia/Jakarta"
    assert state.timezone_file is None


def test_timezone_script_compares_content(tmp_path) -> None:
    """The script's cmp: a copy of the zone's file matches, another zone does not."""
    for zone, expect in (("Etc/UTC", True), ("Asia/Jayapura", False)):
        script = timezone.script(zone)
        # Compare against a copy of this machine's UTC zone file placed as /etc/localtime.
        localtime = tmp_path / "localtime"
        localtime.write_bytes(open("/usr/share/zoneinfo/Etc/UTC", "rb").read())
        script = script.replace("/etc/localtime", str(localtime))
        out = subprocess.run(["sh", "-c", script], capture_output=True, text=True, check=True)
        state = timezone.parse(out.stdout.splitlines())
        assert state.matches is expect and state.link is None and state.zonefile_exists


def test_timezone_script_quotes_the_zone() -> None:
    assert "'/usr/share/zoneinfo/Asia/Jakarta; rm -rf /'" in timezone.script("Asia/Jakarta; rm -rf /")


def test_chrony_debian_sources_include_sourcedir() -> None:
    state = chrony.parse(DEBIAN_CHRONY)
    path = "/etc/chrony/chrony.conf"
    assert state.installed and state.running and state.package_managers == ["apt-get"]
    assert state.sources(path) == {"10.77.0.1", "192.168.1.1"}
    assert state.has_makestep(path)
    assert state.tracking and state.tracking.synced and state.tracking.source == "10.77.0.1"
    assert state.tracking.offset_s == pytest.approx(-0.000021455)


def test_chrony_missing_on_rhel() -> None:
    state = chrony.parse(RHEL_CHRONY_MISSING)
    assert not state.installed and state.package_managers == ["dnf", "yum"]
    assert state.configs == {} and state.tracking is None


@pytest.mark.parametrize("csv, synced", [
    ("00000000,,0,0.0,0.0,0,0,0,0,0,1,1,0,Not synchronised", False),
    ("7F7F0101,127.127.1.1,10,1.0,0.0,0,0,0,0,0,0,0,64,Normal", False),  # local reference
    ("0A4D0001,10.77.0.1,9,1.0,7205.1,0,0,0,0,0,0,0,64,Normal", True),
])
def test_tracking_sync(csv: str, synced: bool) -> None:
    t = chrony.parse_tracking(csv)
    assert t is not None and t.synced is synced


def test_services_start_times_and_aliases() -> None:
    state = services.parse(SERVICES)
    assert state.systemd
    assert list(state.units) == ["chrony.service", "systemd-timesyncd.service", "ntp.service",
                                 "php8.2-fpm.service"]
    fpm = state.get("php8.2-fpm.service")
    assert fpm.is_active and fpm.started_at == pytest.approx(1796405186.617, abs=0.01)
    assert state.get("ntp.service") is None  # not-found units are not "there"
    assert state.get("chronyd.service", "chrony.service").id == "chrony.service"


def test_services_without_systemd() -> None:
    state = services.parse([])
    assert not state.systemd and state.units == {}


def test_clock_faked_lines() -> None:
    state = clock.parse([
        "fake 3:LD_PRELOAD=/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1",
        'fake 4:FAKETIME="-2h"',
    ])
    assert state.faked and [n for n, _ in state.lines] == [3, 4]
    assert not clock.parse([]).faked


def test_snapshot_splits_parts() -> None:
    lines = (["##tepat-part php"] + ["I /etc/php.ini"] + ["##tepat-part timezone"]
             + DEBIAN_TZ_WRONG + ["##tepat-part chrony"] + DEBIAN_CHRONY
             + ["##tepat-part services"] + SERVICES + ["##tepat-part clock"])
    snap = snapshot.parse(lines)
    assert [r.ini for r in snap.php.runtimes] == ["/etc/php.ini"]
    assert snap.timezone.adjtime_mode == "LOCAL" and snap.chrony.running
    assert "php8.2-fpm.service" in snap.services.units and not snap.clock.faked


def test_snapshot_script_runs_here() -> None:
    """The whole one-command script runs in a plain sh and exits 0 on this machine."""
    out = subprocess.run(["sh", "-c", snapshot.script("Asia/Jakarta")], capture_output=True,
                         text=True)
    assert out.returncode == 0, out.stderr
    snap = snapshot.parse(out.stdout.splitlines())
    assert snap.timezone.os_id != "unknown"


# --- facts/unfixable.py: recorded from lab hosts with the api-* / ca-untrusted / db faults ---

@pytest.mark.parametrize("line, control", [
    ("api 6 000", "NET-01"),     # api-no-dns
    ("api 7 000", "NET-02"),     # api-dead-address (refused)
    ("api 28 000", "NET-02"),    # blocked egress (timeout)
    ("api 60 000", "NET-03"),    # ca-untrusted
    ("api 0 503", "NET-04"),     # api-5xx
])
def test_unfixable_first_failing_layer(line: str, control: str) -> None:
    from facts import unfixable
    problems = unfixable.parse([line]).problems("apis.mahkamahagung.go.id")
    assert [c for c, _ in problems] == [control]


def test_unfixable_nothing_when_the_api_answers_and_db_follows_the_os() -> None:
    from facts import unfixable
    assert unfixable.parse(["api 0 200"]).problems("apis.mahkamahagung.go.id") == []
    assert unfixable.parse([]).problems("x") == []  # no curl: nothing claimed


def test_unfixable_database_zone() -> None:
    from facts import unfixable
    state = unfixable.parse(["api 0 200",
                             "db /etc/mysql/mariadb.conf.d/95-sipp.cnf:default-time-zone = '+00:00'"])
    ((control, why),) = state.problems("apis.mahkamahagung.go.id")
    assert control == "DB-TZ-01" and "95-sipp.cnf" in why and "'+00:00'" in why


def test_unfixable_script_quotes_the_api_host() -> None:
    from facts import unfixable
    assert "'https://api.example;reboot/'" in unfixable.script("api.example;reboot")
