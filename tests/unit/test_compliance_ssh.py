"""tepat.ssh: the ssh_config a check run uses, and why a host was unreachable (ssh's own
messages, as OpenSSH 9.2 prints them; recorded from the lab and from ssh's source)."""
from __future__ import annotations

import pytest

from tepat.ssh import SshConfig, SshHost, classify, host_alias, render_config, summary


def blocks(text: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    current = None
    for line in text.splitlines():
        if line.startswith("Host "):
            current = out.setdefault(line[5:], [])
        elif line.strip() and current is not None:
            current.append(line.strip())
    return out


def test_every_host_pinned_and_batch():
    text = render_config([
        SshHost("pn-ambon", "10.1.2.3", 2222, "tepat", "/keys/id", "/kh/known_hosts"),
        SshHost("10.9.9.9", "10.9.9.9"),
    ], "/tmp/tepat-ssh-x")
    b = blocks(text)
    assert b["tepat-pn-ambon"] == ["HostName 10.1.2.3", "Port 2222", "User tepat", "IdentityFile /keys/id",
                                   "IdentitiesOnly yes", "UserKnownHostsFile /kh/known_hosts"]
    assert b["tepat-10.9.9.9"] == ["HostName 10.9.9.9", "Port 22"]  # defaults: own key, own known_hosts
    star = b["*"]
    for line in ("StrictHostKeyChecking yes", "BatchMode yes", "ControlMaster no", "UpdateHostKeys no"):
        assert line in star
    assert not any("accept-new" in l or "StrictHostKeyChecking no" in l for l in text.splitlines())
    # ssh takes the first value it finds: the catch-all block must come last.
    assert list(b)[-1] == "*"


def test_bastion_is_a_proxyjump_with_its_own_pinned_block():
    text = render_config([
        SshHost("pn-a", "10.1.0.1", bastion="jump@gw.example:2200", known_hosts="/kh"),
        SshHost("pn-b", "10.1.0.2", bastion="jump@gw.example:2200", known_hosts="/kh"),
    ], "/tmp/x")
    b = blocks(text)
    jump = [name for name in b if name.startswith("tepat-bastion")]
    assert len(jump) == 1
    # One master to the bastion carries every target's jump; the targets get none.
    assert b[jump[0]] == ["HostName gw.example", "Port 2200", "User jump", "UserKnownHostsFile /kh",
                          "ControlMaster auto", "ControlPath /tmp/x/%C", "ControlPersist 30s"]
    assert f"ProxyJump {jump[0]}" in b["tepat-pn-a"] and f"ProxyJump {jump[0]}" in b["tepat-pn-b"]


def test_alias_is_safe_for_ssh_config():
    assert host_alias("pn-ambon") == "tepat-pn-ambon"
    assert host_alias("fe80::1") == "tepat-fe80__1"


def test_config_dir_is_private_and_cleaned(tmp_path):
    cfg = SshConfig([SshHost("pn-a", "10.0.0.1")])
    import os
    assert oct(os.stat(cfg.dir).st_mode & 0o777) == "0o700"
    assert "tepat-pn-a" in open(cfg.path).read()
    cfg.cleanup()
    assert not os.path.exists(cfg.dir)


@pytest.mark.parametrize("stderr, reason", [
    ("tepat@10.77.1.80: Permission denied (publickey,password).\r\n", "auth"),
    ("ssh: connect to host 10.77.2.22 port 22: No route to host\r\n", "no_route"),
    ("ssh: connect to host 10.20.30.40 port 22: Connection timed out\r\n", "timeout"),
    ("Connection timed out during banner exchange\r\nConnection to 10.77.0.1 port 22026 timed out\r\n", "timeout"),
    ("ssh: connect to host 10.77.1.4 port 22: Connection refused\r\n", "refused"),
    ("No ED25519 host key is known for 10.77.1.4 and you have requested strict checking.\r\n"
     "Host key verification failed.\r\n", "host_key"),
    ("@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@\r\n"
     "@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @\r\n"
     "@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@\r\n"
     "Host key for 10.77.1.4 has changed and you have requested strict checking.\r\n"
     "Host key verification failed.\r\n", "host_key"),
    ("ssh: connect to host 10.0.0.9 port 22: Network is unreachable\r\n", "no_route"),
    ("ssh: Could not resolve hostname pn-x.example: Name or service not known\r\n", "no_route"),
    ("kex_exchange_identification: Connection closed by remote host\r\n", "other"),
])
def test_classify(stderr, reason):
    assert classify(stderr) == reason
    assert summary(stderr) and "@@@" not in summary(stderr)
