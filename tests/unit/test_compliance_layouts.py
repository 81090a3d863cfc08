"""The compliance suite's parsing and controls on RHEL/remi/SCL and XAMPP layouts.

No RPM-based distribution can be fetched on the lab machine, so these samples are
HAND-WRITTEN from the documented layouts (each sample's header says which), in the exact
format collect.sh prints (checked against the recorded Debian output in
lab_debian12.json, which test_compliance_replay.py covers). The controls are the real test
functions of tests/compliance, called directly on the parsed facts.
"""
from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

ROOT = Path(__file__).resolve().parents[2]
SUITE = ROOT / "tests" / "compliance"
DATA = Path(__file__).parent / "data" / "compliance"
sys.path.insert(0, str(SUITE))  # the suite's own modules (hostfacts, verdict), as its conftest has them

import hostfacts  # noqa: E402
from verdict import CannotCheck  # noqa: E402

from tepat.inventory import DEFAULT_NTP_SERVERS  # noqa: E402


def suite_module(name: str):
    spec = importlib.util.spec_from_file_location(f"compliance_{name}", SUITE / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Verdict:
    """Records what a control decided (the suite's Verdict raises the same exceptions)."""

    def __init__(self):
        self.detail = None

    def ok(self, detail):
        self.detail = detail

    def fail(self, detail):
        pytest.fail(detail, pytrace=False)

    def skip(self, reason):
        pytest.skip(reason)

    def cannot(self, reason):
        raise CannotCheck(reason)


def judge(func, **kwargs) -> tuple[str, str]:
    v = Verdict()
    try:
        func(verdict=v, **kwargs)
    except pytest.fail.Exception as exc:
        return "fail", str(exc.msg)
    except pytest.skip.Exception as exc:
        return "skip", str(exc.msg)
    except CannotCheck as exc:
        return "error", str(exc)
    return "pass", v.detail


def load(name: str, before: float = 1796400000.0, after: float = 1796400001.0) -> hostfacts.HostFacts:
    return hostfacts.parse((DATA / name).read_text(), before, after)


def target(zone: str, ntp=None):
    return SimpleNamespace(timezone=zone, ntp_servers=list(ntp or DEFAULT_NTP_SERVERS),
                           data={"api_host": "apis.mahkamahagung.go.id", "pt": "PT Makassar"})


MODULES = {m: suite_module(m) for m in ("test_php", "test_os", "test_ntp", "test_clock", "test_net",
                                         "test_db", "test_services")}


def all_controls(facts, zone, ntp=None) -> dict[str, tuple[str, str]]:
    t = target(zone, ntp)
    args = {"facts": facts, "zone": zone, "target": t}
    out = {}
    for module in MODULES.values():
        for name in dir(module):
            if name.startswith("test_"):
                func = getattr(module, name)
                wanted = {k: v for k, v in args.items() if k in func.__code__.co_varnames[:func.__code__.co_argcount]}
                out[name[5:].replace("_", "-")] = judge(func, **wanted)
    return out


# ---------------------------------------------------------------- CentOS 7 + remi + httpd

@pytest.fixture(scope="module")
def centos():
    return load("centos7_remi.out")


def test_rhel_runtimes_and_effective_zones(centos):
    zones = {z.name: (z.effective, z.source) for z in centos.php.zones}
    assert zones == {
        # php.d/timezone.ini loads after php.ini and wins; PHP itself agrees (php -r).
        "system/cli": ("Asia/Jakarta", "/etc/php.d/timezone.ini:2"),
        "system/apache2": ("Asia/Jakarta", "/etc/php.d/timezone.ini:2"),
        "system/apache2 vhost old.conf:1": ("Asia/Jayapura", "/etc/httpd/conf.d/old.conf:3"),
        "system/apache2 vhost sipp.conf:1": ("Asia/Makassar", "/etc/httpd/conf.d/sipp.conf:5"),
        # the old alias Asia/Ujung_Pandang is Asia/Makassar
        "php74/cli": ("Asia/Makassar", "/etc/opt/remi/php74/php.d/50-sipp.ini:1"),
        # php_admin_value wins over php_value in the same pool
        "php74/fpm pool sipp": ("Asia/Makassar", "/etc/opt/remi/php74/php.d/50-sipp.ini:1"),
        "php74/fpm pool www": ("Asia/Makassar", "/etc/opt/remi/php74/php-fpm.d/www.conf:403"),
    }


def test_rhel_controls(centos):
    results = all_controls(centos, "Asia/Makassar")
    failing = {k: v for k, v in results.items() if v[0] != "pass"}
    assert set(failing) == {"PHP-TZ-01", "NET-04", "SVC-01"}, failing
    php = failing["PHP-TZ-01"][1]
    assert "system/cli: Asia/Jakarta (/etc/php.d/timezone.ini:2)" in php
    assert "vhost old.conf:1: Asia/Jayapura" in php and "sipp.conf" not in php and "php74" not in php
    assert "HTTP 503" in failing["NET-04"][1] and "Satgas SIPP at PT Makassar" in failing["NET-04"][1]
    svc = failing["SVC-01"][1]
    assert "php-fpm (pid 900)" in svc and "www.conf" in svc and "httpd" not in svc
    # RHEL's zone file is /etc/sysconfig/clock; chrony 3.4 cannot name its sources, so the
    # configured ones are judged.
    assert results["OS-TZ-02"] == ("pass", '/etc/sysconfig/clock ZONE: Asia/Makassar')
    assert results["NTP-02"][1] == "sources configured: ntp.bsn.go.id, ntp.bmkg.go.id"
    assert "Asia/Makassar" in results["OS-TZ-01"][1]
    assert results["DB-TZ-01"][0] == "pass" and "UTC+08:00" in results["DB-TZ-01"][1]


def test_rhel_is_wrong_for_another_zone(centos):
    results = all_controls(centos, "Asia/Jayapura")
    assert results["OS-TZ-01"][0] == results["OS-TZ-02"][0] == results["DB-TZ-01"][0] == "fail"
    assert "vhost old.conf:1" not in results["PHP-TZ-01"][1]  # right for Jayapura


def test_rhel_unapproved_sources(centos):
    results = all_controls(centos, "Asia/Makassar", ntp=["10.77.0.1"])
    assert results["NTP-02"][0] == "fail" and "ntp.bsn.go.id" in results["NTP-02"][1]


def test_service_starts_use_oldest_worker(centos):
    starts = {s.name: s for s in hostfacts.service_starts(centos)}
    assert set(starts) == {"crond", "httpd", "php-fpm", "mysqld"}
    # boot = now_real - uptime = 1796300000.0; httpd's workers were replaced by a reload at
    # tick 80000, so its settings (timezone.ini at 1796300500) are older than its workers.
    assert starts["httpd"].start == pytest.approx(1796300800.0)
    assert starts["httpd"].stale_by == 0
    assert starts["php-fpm"].stale_by == pytest.approx(1796350000.25 - 1796300009.0)
    assert "/etc/localtime" in starts["mysqld"].files and "/etc/my.cnf" in starts["mysqld"].files


# ---------------------------------------------------------------- XAMPP on Ubuntu 18.04

@pytest.fixture(scope="module")
def xampp():
    return load("ubuntu1804_xampp.out")


def test_xampp_controls(xampp):
    results = all_controls(xampp, "Asia/Jayapura")
    assert results["PHP-TZ-01"][0] == "fail"
    assert "xampp/cli: Europe/Berlin" in results["PHP-TZ-01"][1]
    assert "xampp/apache2: Europe/Berlin" in results["PHP-TZ-01"][1]
    # A copied /etc/localtime identical to the zone's file is correct.
    assert results["OS-TZ-01"] == ("pass", "/etc/localtime is a copy of Asia/Jayapura")
    assert results["OS-TZ-03"][0] == "fail" and "LOCAL" in results["OS-TZ-03"][1]
    ntp = results["NTP-01"]
    assert ntp[0] == "fail" and "chrony is not installed" in ntp[1] and "ntpd" in ntp[1]
    assert results["NET-01"][0] == "fail" and "name not found" in results["NET-01"][1]
    assert results["DB-TZ-01"][0] == "skip"
    # httpd started (tick 501, btime-based) long before php.ini changed.
    assert results["SVC-01"][0] == "fail" and "httpd" in results["SVC-01"][1]


# ---------------------------------------------------------------- parsers, piece by piece

def test_ini_value_syntax():
    lines = hostfacts.parse_grep(
        "/x/php.ini:1:date.timezone = \"Asia/Jakarta\" ; quoted\n"
        "/x/php.ini:2:;date.timezone = Asia/Makassar\n"
        "/x/php.ini:3:[PATH=/var/www/other]\n"
        "/x/php.ini:4:date.timezone = UTC\n"
        "/x/php.ini:5:[Date]\n"
        "/x/php.ini:6:  date.timezone=Asia/Jayapura # trailing\n")
    assert [(s.value, s.where) for s in hostfacts.ini_settings(lines, "/x/php.ini")] == [
        ("Asia/Jakarta", "/x/php.ini:1"), ("Asia/Jayapura", "/x/php.ini:6")]


def test_scan_dir_order_last_wins():
    rt = hostfacts.Runtime("8.2/cli", "/e/php.ini", "/e/conf.d", True)
    mtimes = {"/e/conf.d/20-a.ini": 1.0, "/e/conf.d/99-z.ini": 1.0, "/e/conf.d/sub/x.ini": 1.0}
    grep = hostfacts.parse_grep("/e/php.ini:9:date.timezone = Asia/Jakarta\n"
                                "/e/conf.d/99-z.ini:1:date.timezone = UTC\n"
                                "/e/conf.d/20-a.ini:1:date.timezone = Asia/Makassar\n")
    assert hostfacts.ini_files(rt, mtimes, grep) == ["/e/php.ini", "/e/conf.d/20-a.ini", "/e/conf.d/99-z.ini"]
    z = hostfacts.ini_zone(rt, mtimes, grep)
    assert (z.zone, z.source, z.effective) == ("UTC", "/e/conf.d/99-z.ini:1", "UTC")


def test_no_setting_means_php_default_utc():
    rt = hostfacts.Runtime("8.2/fpm", "/e/php.ini", None, True)
    z = hostfacts.ini_zone(rt, {}, [])
    assert z.zone is None and z.effective == "UTC" and z.source == "date.timezone not set"


def test_debian_php82_cli_reports_utc_default_as_unset():
    # PHP 8.2 reports ini 'UTC' for an unset date.timezone (its new default).
    s = {"php_runtimes": "runtime 8.2/cli /etc/php/8.2/cli/php.ini /etc/php/8.2/cli/conf.d yes",
         "php_cli": "binary=/usr/bin/php8.2\nversion=8.2.29\nini='UTC'\neffective=UTC\nloaded=/etc/php/8.2/cli/php.ini",
         "php_grep": "/etc/php/8.2/cli/php.ini:979:;date.timezone =", "mtimes": "", "apache_php": ""}
    php = hostfacts.parse_php(s)
    assert [(z.name, z.zone, z.effective) for z in php.zones] == [("8.2/cli", None, "UTC")]


def test_uninstalled_runtime_is_ignored_and_said():
    s = {"php_runtimes": "runtime 7.4/fpm /etc/php/7.4/fpm/php.ini /etc/php/7.4/fpm/conf.d no\n"
                         "runtime 8.2/apache2 /etc/php/8.2/apache2/php.ini /etc/php/8.2/apache2/conf.d yes",
         "php_grep": "", "mtimes": "", "apache_php": "", "php_cli": ""}
    php = hostfacts.parse_php(s)
    assert php.zones == [] and php.ignored == ["7.4/fpm", "8.2/apache2 (mod_php not enabled)"]


def test_chrony_csv():
    s = {"chrony_bin": "/usr/sbin/chronyd",
         "chrony_tracking": "0A4D0001,10.77.0.1,9,1796405300.1,-0.000000123,0.000001000,0.0,0.0,0.0,0.0,0.0,0.0,64.0,Normal",
         "chrony_sources": "^,*,10.77.0.1,8,6,377,20,0.0,0.0,0.0\nnames=yes",
         "chrony_conf": "/etc/chrony/sources.d/tepat.sources:1:server 10.77.0.1 iburst"}
    c = hostfacts.parse_chrony(s)
    assert c.installed and c.source_names and c.tracking.leap == "Normal"
    assert c.tracking.system_offset == pytest.approx(-1.23e-7)
    assert [(x.state, x.name) for x in c.sources] == [("*", "10.77.0.1")]
    assert c.config_sources == [("/etc/chrony/sources.d/tepat.sources:1", "server", "10.77.0.1")]


def test_chrony_not_running():
    c = hostfacts.parse_chrony({"chrony_bin": "/usr/sbin/chronyd",
                                "chrony_tracking": "506 Cannot talk to daemon",
                                "chrony_sources": "506 Cannot talk to daemon"})
    assert c.tracking is None and c.tracking_error == "506 Cannot talk to daemon" and c.sources == []


def test_os_zone_variants():
    z = hostfacts.parse_os_zone({"localtime": "link=/usr/share/zoneinfo/posix/Asia/Ujung_Pandang"})
    assert z.zone == "Asia/Makassar"
    z = hostfacts.parse_os_zone({"localtime": "copy=yes\ntzstring=CET-1CEST,M3.5.0,M10.5.0/3"})
    assert z.zone is None and "unknown zone" in z.how and "CET-1CEST" in z.how
    z = hostfacts.parse_os_zone({"localtime": "missing=yes"})
    assert z.zone == "UTC"
    z = hostfacts.parse_os_zone({"localtime": "link=x", "sysconfig_clock": 'ZONE="Asia/Jakarta"\nUTC=false'})
    assert z.rtc_local and z.sysconfig_zone == "Asia/Jakarta"


def test_db_answers():
    ok = hostfacts.parse_db("running=yes\n2026-12-04 23:00:00\t2026-12-04 16:00:00\tSYSTEM\tWIB\t10.11\nrc=0")
    assert ok.ok and ok.offset_minutes == 420 and ok.system_time_zone == "WIB"
    denied = hostfacts.parse_db("running=yes\nsudo: a password is required\nrc=1")
    assert not denied.ok and "password is required" in denied.error
    assert not hostfacts.parse_db("running=no").running


def test_curl_tls_failure_still_proves_tcp():
    net = hostfacts.parse_net({"dns": "10.77.0.1 STREAM apis\nrc=0", "curl": (
        "before=1.0\ncurl: (60) SSL certificate problem: unable to get local issuer certificate\n"
        "tepat_curl code=000 connect=0.000000 verify=20 ip=10.77.0.1\nrc=60\nafter=2.0")})
    assert net.http.connected and net.http.rc == 60 and net.http.code == 0
    refused = hostfacts.parse_net({"dns": "10.77.0.3 STREAM apis\nrc=0", "curl": (
        "before=1.0\ncurl: (7) Failed to connect to apis port 443 after 0 ms: Couldn't connect to server\n"
        "tepat_curl code=000 connect=0.000000 verify=0 ip=10.77.0.3\nrc=7\nafter=2.0")})
    assert not refused.http.connected and "Couldn't connect" in refused.http.error


def test_clock_bracket():
    clock = MODULES["test_clock"]
    assert clock.bracket_offset(10.0, 9.0, 11.0) == 0.0
    assert clock.bracket_offset(100.0, 9.0, 11.0) == 89.0
    assert clock.bracket_offset(1.0, 9.0, 11.0) == -8.0


def test_clock_skew_of_90_seconds_fails_and_rtt_does_not():
    text = (DATA / "centos7_remi.out").read_text()
    # host clock 1796400000.1 taken inside a slow 3 s round trip: fine
    assert judge(MODULES["test_clock"].test_CLK_01, facts=hostfacts.parse(text, 1796399998.0, 1796400001.0))[0] == "pass"
    # the controller saw the host 90 s behind
    status, detail = judge(MODULES["test_clock"].test_CLK_01, facts=hostfacts.parse(text, 1796400090.0, 1796400091.0))
    assert status == "fail" and "-89.9 s from the controller" in detail


def test_recorded_debian_output_has_every_section():
    rec = json.loads((DATA / "lab_debian12.json").read_text())
    some = next(v for v in rec.values() if "output" in v)
    names = set(hostfacts.sections(some["output"]))
    assert {"meta", "localtime", "ps", "procstat", "units", "chrony_tracking", "php_runtimes",
            "php_grep", "mtimes", "dns", "curl", "php_tls", "db", "end"} <= names


def test_scl_pools_commented_and_quoted():
    php = hostfacts.parse_php(hostfacts.sections((DATA / "rhel7_scl_php_only.out").read_text()))
    assert {z.name: (z.zone, z.source) for z in php.zones} == {
        "rh-php73/cli": ("Asia/Jayapura", "/etc/opt/rh/rh-php73/php.ini:925"),
        "rh-php73/fpm pool sipp": ("UTC", "/etc/opt/rh/rh-php73/php-fpm.d/sipp.conf:12"),
        # a commented-out override is no override: the pool inherits php.ini
        "rh-php73/fpm pool www": ("Asia/Jayapura", "/etc/opt/rh/rh-php73/php.ini:925"),
    }
    assert not php.apache_php_enabled
