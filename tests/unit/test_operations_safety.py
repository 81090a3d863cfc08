"""operations/safety.py: the shell it generates, run for real on files under tmp_path.

No recorded output here: backups, atomic writes, edits and the lock are plain POSIX shell and
GNU coreutils, so the commands themselves run (as the test user) against a temp tree.
"""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from operations import php, safety
from facts.php import Setting


@pytest.fixture
def roots(tmp_path, monkeypatch):
    backups = tmp_path / "backups"
    monkeypatch.setattr(safety, "BACKUP_ROOT", str(backups))
    monkeypatch.setattr(safety, "LOCK_DIR", str(tmp_path / "tepat.lock"))
    return tmp_path, backups


def sh(command: str) -> subprocess.CompletedProcess:
    return subprocess.run(["sh", "-c", command], capture_output=True, text=True)


def test_write_new_file(roots) -> None:
    tmp, backups = roots
    target = tmp / "etc" / "timezone"
    target.parent.mkdir()
    assert sh(safety.write_command(str(target), "Asia/Jayapura\n", "RUN1")).returncode == 0
    assert target.read_text() == "Asia/Jayapura\n"
    assert oct(target.stat().st_mode & 0o777) == "0o644"
    assert not backups.exists()  # nothing to back up
    assert [p.name for p in target.parent.iterdir()] == ["timezone"]  # no temp file left


def test_write_backs_up_and_keeps_mode(roots) -> None:
    tmp, backups = roots
    target = tmp / "chrony.conf"
    target.write_text("server pool.example iburst\n")
    target.chmod(0o600)
    inode = target.stat().st_ino
    result = sh(safety.write_command(str(target), "server 10.77.0.1 iburst\n", "RUN1"))
    assert result.returncode == 0, result.stderr
    assert target.read_text() == "server 10.77.0.1 iburst\n"
    assert oct(target.stat().st_mode & 0o777) == "0o600"
    assert target.stat().st_ino != inode  # renamed into place, not rewritten in place
    backup = backups / "RUN1" / str(target).lstrip("/")
    assert backup.read_text() == "server pool.example iburst\n"
    # A second change in the same run keeps the first backup (the original).
    sh(safety.write_command(str(target), "server 10.77.0.2 iburst\n", "RUN1"))
    assert backup.read_text() == "server pool.example iburst\n"


def test_write_same_content_changes_nothing(roots) -> None:
    tmp, backups = roots
    target = tmp / "same"
    target.write_text("x\n")
    before = target.stat()
    assert sh(safety.write_command(str(target), "x\n", "RUN1")).returncode == 0
    assert target.stat().st_ino == before.st_ino and not backups.exists()


def test_edit_comments_out_through_a_symlink(roots) -> None:
    tmp, backups = roots
    real = tmp / "mods-available" / "sipp.ini"
    real.parent.mkdir()
    real.write_text("; sipp\nextension=x\ndate.timezone = UTC\n")
    link = tmp / "conf.d" / "30-sipp.ini"
    link.parent.mkdir()
    link.symlink_to(real)
    setting = Setting(str(link), 3, "date.timezone = UTC", "UTC", "ini")
    command = safety.edit_command(str(link), php.sed_script([setting]), "RUN2")
    assert sh(command).returncode == 0
    assert real.read_text() == "; sipp\nextension=x\n;tepat PHP-TZ-01: date.timezone = UTC\n"
    assert link.is_symlink()
    assert (backups / "RUN2" / str(real).lstrip("/")).read_text().endswith("date.timezone = UTC\n")
    # Re-running the same edit (stale line numbers from an earlier fact) changes nothing more.
    assert sh(command).returncode == 0
    assert real.read_text().count(";tepat PHP-TZ-01: ") == 1


def test_edit_guard_skips_a_line_that_moved(roots) -> None:
    tmp, _ = roots
    target = tmp / "php.ini"
    target.write_text("[PHP]\nmemory_limit = 128M\n")
    setting = Setting(str(target), 2, "date.timezone = UTC", "UTC", "ini")
    assert sh(safety.edit_command(str(target), php.sed_script([setting]), "R")).returncode == 0
    assert target.read_text() == "[PHP]\nmemory_limit = 128M\n"


def test_edit_appends_a_block(roots) -> None:
    tmp, _ = roots
    target = tmp / "php.ini"
    target.write_text("date.timezone = Europe/Berlin\n")
    setting = Setting(str(target), 1, "date.timezone = Europe/Berlin", "Europe/Berlin", "ini")
    cmd = safety.edit_command(str(target), php.sed_script([setting]), "R",
                              append=php.managed_block("Asia/Jayapura"))
    assert sh(cmd).returncode == 0
    text = target.read_text()
    assert text.startswith(";tepat PHP-TZ-01: date.timezone = Europe/Berlin\n")
    assert text.endswith('[PHP]\n; Managed by tepat (PHP-TZ-01: PHP\'s date.timezone is the court\'s zone).\ndate.timezone = "Asia/Jayapura"\n')


def test_backup_keeps_a_symlink_as_a_link(roots) -> None:
    tmp, backups = roots
    link = tmp / "localtime"
    link.symlink_to("/usr/share/zoneinfo/Asia/Makassar")
    assert sh(safety.backup_command(str(link), "R")).returncode == 0
    saved = backups / "R" / str(link).lstrip("/")
    assert saved.is_symlink() and os.readlink(saved) == "/usr/share/zoneinfo/Asia/Makassar"


def test_lock_excludes_a_second_run_and_breaks_stale_locks(roots) -> None:
    tmp, _ = roots
    lock = Path(safety.LOCK_DIR)
    assert sh(safety.lock_command("RUN-A")).returncode == 0
    second = sh(safety.lock_command("RUN-B"))
    assert second.returncode == 1 and "another tepat run holds" in second.stderr
    assert "RUN-A" in second.stderr
    assert sh(safety.unlock_command("RUN-B")).returncode == 0 and lock.exists()  # not B's
    assert sh(safety.unlock_command("RUN-A")).returncode == 0 and not lock.exists()
    # A lock left by a run that died long ago is taken over.
    assert sh(safety.lock_command("RUN-OLD")).returncode == 0
    old = lock.stat().st_mtime - safety.STALE_AFTER_S - 60
    os.utime(lock, (old, old))
    taken = sh(safety.lock_command("RUN-C"))
    assert taken.returncode == 0 and "stale lock" in taken.stderr
    assert (lock / "owner").read_text().strip() == "RUN-C"


def test_run_id_is_stable_and_overridable(monkeypatch) -> None:
    monkeypatch.delenv("TEPAT_RUN_ID", raising=False)
    first = safety.run_id()
    assert safety.run_id() == first and first.endswith("Z")
    monkeypatch.setenv("TEPAT_RUN_ID", "20261204T000000Z")
    assert safety.run_id() == "20261204T000000Z"
