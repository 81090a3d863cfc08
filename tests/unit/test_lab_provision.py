"""Writing a court's settings into a host's file tree (a temp dir standing in for an overlay;
the php.ini excerpt is Debian bookworm's stock text)."""
from __future__ import annotations

import os

import pytest

from tepat.lab import provision as p
from tepat.lab.cgroups import wrap

STOCK_INI = "[Date]\n; Defines the default timezone used by the date functions\n; https://php.net/date.timezone\n;date.timezone =\n\n; https://php.net/date.default-latitude\n"


@pytest.fixture
def files(tmp_path):
    root = tmp_path / "root"
    for sapi in p.PHP_SAPIS:
        ini = root / f"etc/php/8.2/{sapi}/php.ini"
        ini.parent.mkdir(parents=True)
        ini.write_text(STOCK_INI)
    return p.HostFiles(root)


def test_php_timezone_set_and_commented_back(files):
    p.set_php_timezone(files, "fpm", "Asia/Makassar")
    text = files.read("etc/php/8.2/fpm/php.ini")
    assert "\ndate.timezone = Asia/Makassar\n" in text and ";date.timezone" not in text
    p.set_php_timezone(files, "fpm", None)
    assert files.read("etc/php/8.2/fpm/php.ini") == STOCK_INI


def test_os_zone_is_a_link_and_never_written_through(files, tmp_path):
    outside = tmp_path / "machine-zone"
    outside.write_text("machine's own file")
    os.makedirs(files.root / "etc", exist_ok=True)
    os.symlink(str(outside), files.root / "etc/localtime")
    p.set_os_zone(files, "Asia/Jayapura")
    assert os.readlink(files.root / "etc/localtime") == "/usr/share/zoneinfo/Asia/Jayapura"
    assert outside.read_text() == "machine's own file"
    p.set_timezone_file(files, "Asia/Jayapura")
    p.set_hardware_clock(files, "UTC")
    assert files.read("etc/timezone") == "Asia/Jayapura\n"
    assert files.read("etc/adjtime").splitlines()[2] == "UTC"


def test_a_symlinked_directory_inside_the_host_is_refused(files, tmp_path):
    os.symlink(str(tmp_path), files.root / "etc/chrony")
    with pytest.raises(ValueError, match="symlink"):
        p.set_chrony_servers(files, ["10.77.0.1"])


def test_chrony_conf_names_only_the_given_servers(files):
    p.set_chrony_servers(files, ["10.77.0.1"])
    servers = [l for l in files.read("etc/chrony/chrony.conf").splitlines() if l.startswith(("server", "pool"))]
    assert servers == ["server 10.77.0.1 iburst"]


def test_ca_trusted_then_untrusted(files):
    secrets = p.LabSecrets("ssh-ed25519 AAAA x", "$6$x", "-----BEGIN CERTIFICATE-----\nX\n-----END CERTIFICATE-----\n", "abcd1234")
    p.trust_ca(files, secrets, "BASE\n")
    assert files.read("etc/ssl/certs/ca-certificates.crt") == "BASE\n" + secrets.ca_pem
    assert os.readlink(files.root / "etc/ssl/certs/abcd1234.0") == "tepat-lab-ca.pem"
    p.untrust_ca(files, secrets, "BASE\n")
    assert files.read("etc/ssl/certs/ca-certificates.crt") == "BASE\n"
    assert not files.exists("etc/ssl/certs/abcd1234.0")


def test_cgroup_wrapper_moves_itself_then_execs_the_same_pid(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    import subprocess
    out = subprocess.run(wrap(["sh", "-c", "echo $$"], [a, b]), capture_output=True, text=True).stdout.strip()
    assert (a / "cgroup.procs").read_text().strip() == out == (b / "cgroup.procs").read_text().strip()
