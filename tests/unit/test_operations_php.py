"""operations/php.py: the PHP-TZ-01 plan and commands, on recorded fact output.

The layouts are the recorded/format-exact fact outputs of tests/unit/test_facts_php.py (Debian
8.2 recorded from lab hosts; PHP 5.6 on Debian, RHEL, remi, SCL and XAMPP in the script's
format). Operations are called through ``._inner`` (the plain generator) to get their commands.
"""
from __future__ import annotations

import pytest

from facts import php as php_fact
from operations import php
from tests.unit.test_facts_php import (
    DEBIAN_FPM_POOL_OVERRIDE, DEBIAN_PHP56_SYMLINKED_CONFD, MANAGED, RHEL_REMI_SCL, XAMPP,
)

COMPLIANT_74 = """\
I /etc/php/7.4/cli/php.ini
I /etc/php/7.4/fpm/php.ini
D /etc/php/7.4/cli/conf.d
D /etc/php/7.4/fpm/conf.d
S /etc/php/7.4/cli/php.ini:962:date.timezone = Asia/Jakarta
S /etc/php/7.4/fpm/php.ini:962:date.timezone = "Asia/Jakarta"
P /etc/php/7.4/fpm/pool.d/www.conf:412:php_admin_value[date.timezone] = Asia/Jakarta
""".splitlines()


def layout(lines):
    return php_fact.parse(lines)


def test_already_compliant_is_a_no_op() -> None:
    plan = php.plan(layout(COMPLIANT_74), "Asia/Jakarta")
    assert plan.empty and plan.changed_runtimes == set() and plan.report == []


def test_managed_file_with_right_content_is_a_no_op() -> None:
    lay = layout(MANAGED)
    path = "/etc/php/8.1/cli/conf.d/zz-tepat-timezone.ini"
    lay.managed[path] = php.managed_ini("Asia/Jayapura")
    assert php.plan(lay, "Asia/Jayapura").empty


def test_managed_file_rewritten_when_the_zone_changes() -> None:
    lay = layout(MANAGED)
    path = "/etc/php/8.1/cli/conf.d/zz-tepat-timezone.ini"
    lay.managed[path] = php.managed_ini("Asia/Jayapura")
    plan = php.plan(lay, "Asia/Makassar")
    assert [w.path for w in plan.writes] == [path] and plan.edits == []
    assert 'date.timezone = "Asia/Makassar"' in plan.writes[0].content


def test_debian_pool_override_and_wrong_ini_zone() -> None:
    # Court zone Pontianak: the three php.ini are right; the fpm pool forces Makassar.
    plan = php.plan(layout(DEBIAN_FPM_POOL_OVERRIDE), "Asia/Pontianak")
    assert [e.path for e in plan.edits] == ["/etc/php/8.2/fpm/pool.d/www.conf"]
    assert [s.line for s in plan.edits[0].comment] == [486]
    assert plan.writes == []  # php.ini still sets the right zone: no managed file needed
    assert plan.changed_runtimes == {"php8.2-fpm"}


def test_debian_every_runtime_wrong() -> None:
    plan = php.plan(layout(DEBIAN_FPM_POOL_OVERRIDE), "Asia/Jayapura")
    assert {e.path for e in plan.edits} == {
        "/etc/php/8.2/apache2/php.ini", "/etc/php/8.2/cli/php.ini", "/etc/php/8.2/fpm/php.ini",
        "/etc/php/8.2/fpm/pool.d/www.conf"}
    assert sorted(w.path for w in plan.writes) == [
        "/etc/php/8.2/apache2/conf.d/zz-tepat-timezone.ini",
        "/etc/php/8.2/cli/conf.d/zz-tepat-timezone.ini",
        "/etc/php/8.2/fpm/conf.d/zz-tepat-timezone.ini"]
    assert all(w.current is None for w in plan.writes)


def test_php56_shared_conf_file_is_edited_once_at_its_real_path() -> None:
    plan = php.plan(layout(DEBIAN_PHP56_SYMLINKED_CONFD), "Asia/Jakarta")
    assert [e.path for e in plan.edits] == ["/etc/php/5.6/mods-available/sipp.ini"]
    edit = plan.edits[0]
    assert edit.runtimes == {"php5.6-cli", "php5.6-fpm"}
    # cli keeps php.ini's right value; fpm has none left, so it gets the managed file.
    assert [w.path for w in plan.writes] == ["/etc/php/5.6/fpm/conf.d/zz-tepat-timezone.ini"]


def test_rhel_remi_scl() -> None:
    plan = php.plan(layout(RHEL_REMI_SCL), "Asia/Makassar")
    edited = {e.path: ([s.kind for s in e.comment], bool(e.append)) for e in plan.edits}
    assert edited == {
        "/etc/httpd/conf.d/sipp.conf": (["apache"], False),
        "/etc/opt/remi/php74/php.ini": (["ini"], False),
        "/etc/opt/remi/php74/php-fpm.d/www.conf": (["pool"], False),
        # rh-php73: no date.timezone and no scan dir, so a managed block at the end of php.ini.
        "/opt/rh/rh-php73/root/etc/php.ini": ([], True),
    }
    # RHEL's own /etc/php.ini says Makassar already and stays; remi's php.d gets the file.
    assert [w.path for w in plan.writes] == ["/etc/opt/remi/php74/php.d/zz-tepat-timezone.ini"]
    assert plan.changed_runtimes == {"php (RHEL)", "php74", "rh-php73"}


def test_scl_without_setting_gets_a_block() -> None:
    lay = layout(["I /opt/rh/rh-php73/root/etc/php.ini"])
    plan = php.plan(lay, "Asia/Jakarta")
    assert [(e.path, bool(e.append), e.comment) for e in plan.edits] == [
        ("/opt/rh/rh-php73/root/etc/php.ini", True, [])]


def test_xampp_comment_and_append_in_one_edit() -> None:
    plan = php.plan(layout(XAMPP), "Asia/Jayapura")
    by_path = {e.path: e for e in plan.edits}
    ini = by_path["/opt/lampp/etc/php.ini"]
    assert [s.line for s in ini.comment] == [1012] and 'date.timezone = "Asia/Jayapura"' in ini.append
    apache = by_path["/opt/lampp/etc/extra/httpd-xampp.conf"]
    assert apache.apache and php.mark(apache.comment[0]).startswith("#tepat PHP-TZ-01")


def test_sed_script_marks_and_guards() -> None:
    s = php_fact.Setting("/etc/php.ini", 878, "date.timezone = UTC", "UTC", "ini")
    a = php_fact.Setting("/etc/httpd/x.conf", 7, "php_value date.timezone UTC", "UTC", "apache")
    script = php.sed_script([s, a])
    assert "878{/date\\.timezone/{/^[[:space:]]*[;#]/!s/^/;tepat PHP-TZ-01: /;};}" in script
    assert "7{/date\\.timezone/{/^[[:space:]]*[;#]/!s/^/#tepat PHP-TZ-01: /;};}" in script


def test_operations_yield_commands_only_when_needed() -> None:
    plan = php.plan(layout(DEBIAN_FPM_POOL_OVERRIDE), "Asia/Jayapura")
    (command,) = list(php.comment_out._inner(edit=plan.edits[0], run="R"))
    assert "sed -e" in command and "/var/backups/tepat/R" in command and "mv -f" in command
    write = plan.writes[0]
    (command,) = list(php.managed_file._inner(write=write, run="R"))
    assert "base64 -d" in command
    write.current = write.content
    assert list(php.managed_file._inner(write=write, run="R")) == []


@pytest.mark.parametrize("zone", ["Asia/Jakarta", "Asia/Makassar", "Asia/Jayapura", "Asia/Pontianak"])
def test_managed_ini_names_control_and_zone(zone: str) -> None:
    text = php.managed_ini(zone)
    assert "Managed by tepat" in text and "PHP-TZ-01" in text
    assert text.strip().endswith(f'date.timezone = "{zone}"')
