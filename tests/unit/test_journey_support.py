"""What the journeys (docs/journeys/) need from check, ssh and fix, without a lab:

- ``tepat check --ask-pass``: the run's ssh_config allows one password attempt and an askpass
  helper hands ssh the password from tepat's own environment (never argv, no file holds it);
  without a password the config stays BatchMode. The helper is run for real here.
- ``--ask-pass`` / ``--ntp-server`` misuse is bad input (exit 2, nothing contacted).
- ``tepat fix`` through a bastion: pyinfra learns the bastion's known_hosts and key from the
  generated ssh_config (it would otherwise ask on the terminal, against ~/.ssh/known_hosts).
"""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tepat import fix, ssh
from tepat.cli import main
from tepat.inventory import Target


def test_password_run_gets_askpass_and_one_attempt(monkeypatch):
    monkeypatch.setenv(ssh.PASSWORD_ENV, "s3cret pass")
    monkeypatch.delenv("SSH_ASKPASS", raising=False)
    cfg = ssh.SshConfig([ssh.SshHost("pn-a", "10.0.0.1", user="budi")])
    try:
        text = Path(cfg.path).read_text()
        star = text.split("Host *\n", 1)[1]
        # ssh keeps the first value: the password options come before the batch defaults.
        assert star.index("BatchMode no") < star.index("BatchMode yes")
        assert "NumberOfPasswordPrompts 1" in star and "StrictHostKeyChecking yes" in star
        helper = os.environ["SSH_ASKPASS"]
        assert os.environ["SSH_ASKPASS_REQUIRE"] == "force"
        assert Path(helper).parent == Path(cfg.dir) and os.stat(helper).st_mode & 0o777 == 0o700
        out = subprocess.run([helper, "budi@10.0.0.1's password: "], capture_output=True, text=True)
        assert out.stdout == "s3cret pass\n"
        for f in Path(cfg.dir).iterdir():
            assert "s3cret" not in f.read_text(), f  # the password lives in memory only
    finally:
        cfg.cleanup()
    assert "SSH_ASKPASS" not in os.environ and "SSH_ASKPASS_REQUIRE" not in os.environ
    assert not os.path.exists(cfg.dir)


def test_no_password_stays_batch(monkeypatch):
    monkeypatch.delenv(ssh.PASSWORD_ENV, raising=False)
    cfg = ssh.SshConfig([ssh.SshHost("pn-a", "10.0.0.1")])
    try:
        text = Path(cfg.path).read_text()
        assert "BatchMode no" not in text and "PasswordAuthentication no" in text
        assert not (Path(cfg.dir) / "askpass").exists()
    finally:
        cfg.cleanup()


@pytest.mark.parametrize("argv, message", [
    (["check", "--court", "PN Sleman", "--ask-pass"], "--ask-pass is for servers reached by SSH"),
    (["check", "--court", "PN Sleman", "--known-hosts", "/nonexistent/kh"], "no such file"),
    (["check", "--court", "PN Sleman", "--host", "10.0.0.9", "--ntp-server", "ntp;rm -rf"],
     "is not a host name or address"),
])
def test_check_option_misuse_is_bad_input(argv, message, capsys, monkeypatch):
    monkeypatch.setenv(ssh.PASSWORD_ENV, "x")  # never prompted: the input is refused first
    assert main(argv + ["--no-history"]) == 2
    assert message in capsys.readouterr().err


def test_fix_bastion_block_pins_the_bastion_key():
    t = Target(name="pn-ambon", address="10.20.30.40", user="tepat", ssh_key="/k/id",
               known_hosts="/k/known_hosts", bastion="jump@10.0.0.5:2200")
    path = fix._bastion_config([t])
    try:
        text = Path(path).read_text()
    finally:
        os.unlink(path)
    assert "Host 10.0.0.5\n    StrictHostKeyChecking yes\n    UserKnownHostsFile /k/known_hosts\n" \
           "    IdentityFile /k/id\n" in text
    assert "Host 10.20.30.40\n    ProxyJump jump@10.0.0.5:2200" in text
