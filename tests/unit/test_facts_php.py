"""facts/php.py on recorded output of its script.

The Debian outputs were recorded from lab hosts (Debian 12, PHP 8.2 cli/fpm/apache2) with
the lab's faults in place, trimmed of mtime lines that do not matter to the test. RHEL/CentOS,
remi, Software Collections and XAMPP cannot be built on this machine (no RPM mirror): their
outputs are written in the script's exact format for the paths those packages install, and
the script's globs and greps are exercised on a real file tree in
``test_php_script_reads_a_real_tree``.
"""
from __future__ import annotations

import subprocess

import pytest

from facts import php

DEBIAN_FPM_POOL_OVERRIDE = """\
I /etc/php/8.2/apache2/php.ini
I /etc/php/8.2/cli/php.ini
I /etc/php/8.2/fpm/php.ini
D /etc/php/8.2/apache2/conf.d
D /etc/php/8.2/cli/conf.d
D /etc/php/8.2/fpm/conf.d
S /etc/php/8.2/apache2/php.ini:979:date.timezone = Asia/Pontianak
S /etc/php/8.2/cli/php.ini:979:date.timezone = Asia/Pontianak
S /etc/php/8.2/fpm/php.ini:979:date.timezone = Asia/Pontianak
P /etc/php/8.2/fpm/pool.d/www.conf:486:php_admin_value[date.timezone] = Asia/Makassar
M 1796405186.929200055 /etc/php/8.2/fpm/php.ini
M 1796405100.000000000 /etc/php/8.2/fpm/pool.d/www.conf
""".splitlines()

DEBIAN_PHP56_SYMLINKED_CONFD = """\
I /etc/php/5.6/cli/php.ini
I /etc/php/5.6/fpm/php.ini
D /etc/php/5.6/cli/conf.d
D /etc/php/5.6/fpm/conf.d
S /etc/php/5.6/cli/php.ini:936:date.timezone = "Asia/Jakarta"
S /etc/php/5.6/cli/conf.d/30-sipp.ini:3:date.timezone=UTC ; set by the installer
S /etc/php/5.6/fpm/conf.d/30-sipp.ini:3:date.timezone=UTC ; set by the installer
R /etc/php/5.6/cli/conf.d/30-sipp.ini /etc/php/5.6/mods-available/sipp.ini
R /etc/php/5.6/fpm/conf.d/30-sipp.ini /etc/php/5.6/mods-available/sipp.ini
""".splitlines()

RHEL_REMI_SCL = """\
I /etc/php.ini
I /etc/opt/remi/php74/php.ini
I /opt/rh/rh-php73/root/etc/php.ini
D /etc/php.d
D /etc/opt/remi/php74/php.d
S /etc/php.ini:878:date.timezone = 'Asia/Makassar'
S /etc/opt/remi/php74/php.ini:905:date.timezone = UTC
P /etc/php-fpm.d/www.conf:412:php_value[date.timezone] = Asia/Makassar
P /etc/opt/remi/php74/php-fpm.d/www.conf:420:php_admin_value[date.timezone] = UTC
A /etc/httpd/conf.d/sipp.conf:7:    php_value date.timezone "Asia/Jakarta"
""".splitlines()

XAMPP = """\
I /opt/lampp/etc/php.ini
S /opt/lampp/etc/php.ini:1012:date.timezone=Europe/Berlin
A /opt/lampp/etc/extra/httpd-xampp.conf:22:php_admin_value date.timezone Europe/Berlin
""".splitlines()

MANAGED = """\
I /etc/php/8.1/cli/php.ini
D /etc/php/8.1/cli/conf.d
S /etc/php/8.1/cli/conf.d/zz-tepat-timezone.ini:4:date.timezone = "Asia/Jayapura"
C /etc/php/8.1/cli/conf.d/zz-tepat-timezone.ini
| ; Managed by tepat (PHP-TZ-01: PHP's date.timezone is the court's zone).
| date.timezone = "Asia/Jayapura"
""".splitlines()


@pytest.mark.parametrize("grep_line, kind, value", [
    ("/etc/php.ini:1:date.timezone = Asia/Jakarta", "ini", "Asia/Jakarta"),
    ('/etc/php.ini:1:date.timezone = "Asia/Jakarta" ; comment', "ini", "Asia/Jakarta"),
    ("/etc/php.ini:1:date.timezone='Asia/Makassar'", "ini", "Asia/Makassar"),
    ("/etc/php.ini:1:date.timezone=UTC ; set by the installer", "ini", "UTC"),
    ("/etc/php.ini:1:date.timezone =", "ini", ""),
    ("/x/www.conf:9:php_admin_value[date.timezone] = Asia/Jayapura", "pool", "Asia/Jayapura"),
    ('/x/a.conf:7:    php_value date.timezone "Asia/Jakarta"', "apache", "Asia/Jakarta"),
    ("/x/a.conf:7:php_admin_value date.timezone UTC", "apache", "UTC"),
])
def test_setting_values(grep_line: str, kind: str, value: str) -> None:
    setting = php.parse_setting(kind, grep_line)
    assert setting is not None and setting.value == value and setting.kind == kind


def test_debian_runtimes_units_and_pool_override() -> None:
    layout = php.parse(DEBIAN_FPM_POOL_OVERRIDE)
    by_name = {r.name: r for r in layout.runtimes}
    assert set(by_name) == {"php8.2-apache2", "php8.2-cli", "php8.2-fpm"}
    fpm = by_name["php8.2-fpm"]
    assert fpm.scan_dir == "/etc/php/8.2/fpm/conf.d"
    assert fpm.units == ("php8.2-fpm.service",)
    assert by_name["php8.2-apache2"].units == ("apache2.service",)
    assert layout.effective(fpm) == "Asia/Pontianak"
    assert [s.value for s in layout.overrides(fpm)] == ["Asia/Makassar"]
    assert layout.overrides(by_name["php8.2-cli"]) == []
    assert layout.mtimes["/etc/php/8.2/fpm/php.ini"] == pytest.approx(1796405186.9292)


def test_php56_scan_dir_wins_and_links_resolve() -> None:
    layout = php.parse(DEBIAN_PHP56_SYMLINKED_CONFD)
    cli = next(r for r in layout.runtimes if r.name == "php5.6-cli")
    # php.ini says Jakarta, the conf.d file loaded after it says UTC: UTC is effective.
    assert layout.effective(cli) == "UTC"
    assert layout.real("/etc/php/5.6/cli/conf.d/30-sipp.ini") == "/etc/php/5.6/mods-available/sipp.ini"


def test_rhel_remi_scl_layouts() -> None:
    layout = php.parse(RHEL_REMI_SCL)
    by_name = {r.name: r for r in layout.runtimes}
    rhel, remi, scl = by_name["php (RHEL)"], by_name["php74"], by_name["rh-php73"]
    assert rhel.scan_dir == "/etc/php.d" and rhel.units == ("php-fpm.service", "httpd.service")
    assert remi.scan_dir == "/etc/opt/remi/php74/php.d"
    assert remi.units == ("php74-php-fpm.service",)
    assert scl.scan_dir is None  # its php.d does not exist on this host
    assert scl.managed_path == "/opt/rh/rh-php73/root/etc/php.ini"
    assert layout.effective(rhel) == "Asia/Makassar"
    assert sorted(s.kind for s in layout.overrides(rhel)) == ["apache", "pool"]
    assert [s.value for s in layout.overrides(remi)] == ["UTC"]


def test_xampp_has_no_scan_dir() -> None:
    layout = php.parse(XAMPP)
    (xampp,) = layout.runtimes
    assert xampp.scan_dir is None and xampp.managed_path == "/opt/lampp/etc/php.ini"
    assert layout.effective(xampp) == "Europe/Berlin"
    assert [s.kind for s in layout.overrides(xampp)] == ["apache"]


def test_managed_file_content_is_read() -> None:
    layout = php.parse(MANAGED)
    path = "/etc/php/8.1/cli/conf.d/zz-tepat-timezone.ini"
    assert layout.managed[path].endswith('date.timezone = "Asia/Jayapura"\n')
    assert layout.effective(layout.runtimes[0]) == "Asia/Jayapura"


def test_scan_dir_load_order_is_by_file_name() -> None:
    lines = [
        "I /etc/php/7.4/cli/php.ini", "D /etc/php/7.4/cli/conf.d",
        "S /etc/php/7.4/cli/conf.d/99-late.ini:1:date.timezone = Asia/Jakarta",
        "S /etc/php/7.4/cli/conf.d/10-early.ini:1:date.timezone = UTC",
    ]
    layout = php.parse(lines)
    assert layout.effective(layout.runtimes[0]) == "Asia/Jakarta"


def test_php_script_reads_a_real_tree(tmp_path) -> None:
    """The fact's own shell, run on a Debian-like tree under tmp_path (paths rewritten)."""
    root = tmp_path
    (root / "etc/php/8.2/cli/conf.d").mkdir(parents=True)
    (root / "etc/php/8.2/fpm/pool.d").mkdir(parents=True)
    (root / "etc/php/8.2/fpm/conf.d").mkdir(parents=True)
    (root / "etc/php/8.2/mods-available").mkdir(parents=True)
    (root / "etc/apache2/sites-available").mkdir(parents=True)
    (root / "etc/php/8.2/cli/php.ini").write_text("[Date]\n;date.timezone =\ndate.timezone = UTC\n")
    (root / "etc/php/8.2/fpm/php.ini").write_text("date.timezone = Asia/Jakarta\n")
    (root / "etc/php/8.2/mods-available/sipp.ini").write_text("date.timezone = Asia/Makassar\n")
    (root / "etc/php/8.2/cli/conf.d/30-sipp.ini").symlink_to(root / "etc/php/8.2/mods-available/sipp.ini")
    (root / "etc/php/8.2/fpm/pool.d/www.conf").write_text("[www]\nphp_admin_value[date.timezone] = UTC\n")
    (root / "etc/apache2/sites-available/sipp.conf").write_text("<VirtualHost>\n  php_value date.timezone UTC\n</VirtualHost>\n")
    script = php.SCRIPT.replace(" /etc/", f" {root}/etc/").replace(" /opt/", f" {root}/opt/")
    out = subprocess.run(["sh", "-c", script], capture_output=True, text=True, check=True)
    layout = php.parse(out.stdout.splitlines())
    assert sorted(r.ini for r in layout.runtimes) == [
        f"{root}/etc/php/8.2/cli/php.ini", f"{root}/etc/php/8.2/fpm/php.ini"]
    settings = {(s.kind, s.value) for s in layout.settings}
    assert settings == {("ini", "UTC"), ("ini", "Asia/Jakarta"), ("ini", "Asia/Makassar"),
                        ("pool", "UTC"), ("apache", "UTC")}
    link = f"{root}/etc/php/8.2/cli/conf.d/30-sipp.ini"
    assert layout.real(link) == f"{root}/etc/php/8.2/mods-available/sipp.ini"
    assert all(isinstance(v, float) for v in layout.mtimes.values()) and layout.mtimes
