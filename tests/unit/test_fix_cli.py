"""tepat/fix.py without hosts: waves, host data (host keys, sudo, secrets), errors, output.

Real courts from inventories/courts.csv; no command output involved.
"""
from __future__ import annotations

import argparse
import json
import os

import pytest

from tepat import fix
from tepat.courts import read_courts
from tepat.errors import InputError
from tepat.inventory import Target, host_data

COURTS = {c.court_id: c for c in read_courts()}


def target(court_id: str, address: str | None = "10.77.1.2", user: str | None = "tepat") -> Target:
    court = COURTS[court_id]
    t = Target(name=court_id, court=court, address=address, user=user,
               groups=[court.pt_group, court.tz_group])
    t.data = host_data(t)
    return t


def opts(**kw) -> argparse.Namespace:
    base = dict(ssh_key=None, known_hosts=None, host=None, restart_database=False, dry=False,
                diff=False, ntp_server=None)
    base.update(kw)
    return argparse.Namespace(**base)


FLEET = [target(c) for c in ("pn-sleman", "pn-yogyakarta", "pn-wates", "pn-ambon", "pn-jayapura")]


def test_waves_canary_pt_rest() -> None:
    waves = fix.plan_waves(FLEET, "canary,pt,rest")
    assert [w.name for w in waves] == ["canary", "pt", "rest"]
    assert [t.name for t in waves[0].targets] == ["pn-sleman"]
    assert {t.court.pt for t in waves[1].targets} == {COURTS["pn-sleman"].pt}
    assert "pn-sleman" not in [t.name for t in waves[1].targets]
    assert sorted(t.name for t in waves[2].targets) == ["pn-ambon", "pn-jayapura"]
    everyone = [t.name for w in waves for t in w.targets]
    assert sorted(everyone) == sorted(t.name for t in FLEET)  # each host exactly once


def test_waves_explicit_patterns_and_leftovers() -> None:
    waves = fix.plan_waves(FLEET, "pn-ambon;tz_*jayapura*")
    assert [(w.name, [t.name for t in w.targets]) for w in waves][:2] == [
        ("pn-ambon", ["pn-ambon"]), ("tz_*jayapura*", ["pn-jayapura"])]
    assert waves[-1].name == "rest" and len(waves[-1].targets) == 3


def test_waves_canary_skips_hosts_without_address() -> None:
    fleet = [target("pn-sleman", address=None)] + FLEET[1:]
    assert fix.plan_waves(fleet, "canary")[0].targets[0].name == "pn-yogyakarta"


@pytest.mark.parametrize("spec", ["pt,rest", "pn-nowhere", "canary,,rest"])
def test_bad_wave_specs(spec: str) -> None:
    with pytest.raises(InputError):
        fix.plan_waves(FLEET, spec)


def test_host_data_verifies_host_keys_and_uses_sudo() -> None:
    pinned = target(FLEET[0].name)
    pinned.data["ssh_known_hosts_file"] = "/tmp/kh"  # the inventory's, or --known-hosts
    data = fix._host_data(pinned, opts(), {"sudo_password": "s3cret"}, None)
    assert data["ssh_strict_host_key_checking"] == "yes"
    assert data["ssh_known_hosts_file"] == "/tmp/kh"
    assert data["_sudo"] is True and data["tepat_sudo_password"] == "s3cret"
    assert "_sudo_password" not in data  # pyinfra's would put it in `env ...` on the host
    root = fix._host_data(target("pn-ambon", user="root"), opts(), {}, None)
    assert root["_sudo"] is False and "tepat_sudo_password" not in root
    assert root["ssh_known_hosts_file"].endswith("/.ssh/known_hosts")


def test_host_data_passes_restart_database_and_bastion() -> None:
    t = target("pn-ambon")
    t.bastion = "jump@10.77.0.1:2200"
    data = fix._host_data(t, opts(restart_database=True), {}, "/tmp/ssh.conf")
    assert data["tepat_restart_database"] is True and data["ssh_config_file"] == "/tmp/ssh.conf"
    assert "bastion" not in data


def test_bastion_config_has_proxyjump(tmp_path) -> None:
    t = target("pn-ambon", address="10.20.30.40")
    t.bastion = "jump@gw.example:2200"
    path = fix._bastion_config([t, target("pn-sleman")])
    text = open(path).read()
    os.unlink(path)
    assert "Host 10.20.30.40\n    ProxyJump jump@gw.example:2200" in text
    assert "10.77.1.2" not in text


@pytest.mark.parametrize("error, reason", [
    ("Authentication error (username=tepat, key=k) (Authentication failed.)", "auth"),
    ("Could not connect ([Errno None] Unable to connect to port 22 on 10.77.2.22)", "refused"),
    ("Could not connect (timed out)", "timeout"),
    ("Host key for 10.77.1.4 does not match (known_hosts)", "host_key"),
    ("Could not connect ([Errno 113] No route to host)", "no_route"),
])
def test_unreachable_reasons(error: str, reason: str) -> None:
    assert fix.unreachable_reason(error) == reason


def test_json_shape(capsys) -> None:
    fixes = [
        fix.HostFix("pn-sleman", "pn-sleman", "10.77.1.2", "changed",
                    changes=[{"control": "OS-TZ-01", "target": "/etc/localtime",
                              "action": "x -> Asia/Jakarta", "done": True}]),
        fix.HostFix("pn-ambon", "pn-ambon", "10.77.1.3", "unreachable",
                    error="Authentication failed", reason="auth"),
        fix.HostFix("pn-wates", "pn-wates", "10.77.1.4", "unchanged"),
    ]
    waves = [fix.Wave("all", FLEET, "done")]
    data = json.loads(json.dumps(fix.as_json(fixes, waves, False, "R")))
    assert [h["status"] for h in data["hosts"]] == ["changed", "unreachable", "unchanged"]
    assert all({"court_id", "status", "changes", "error"} <= set(h) for h in data["hosts"])
    assert data["hosts"][1]["reason"] == "auth" and data["hosts"][2]["changes"] == []
    fix.render_terminal(fixes, waves, dry=False, diff=False)
    out = capsys.readouterr().out
    assert "1 changed, 1 already right, 0 failed, 1 unreachable" in out


def test_cli_rejects_bad_input_before_contacting_anything(capsys) -> None:
    from tepat.cli import main
    assert main(["fix", "--fail-percent", "150", "-y"]) == 2
    assert main(["fix", "--host", "10.1.2.3", "-y"]) == 2  # no court: no zone to apply
    assert main(["fix", "--court", "no such court anywhere", "-y"]) == 2
    assert main(["fix", "--court", "PN Sleman", "--ntp-server", "ntp.example;reboot", "-y"]) == 2
    err = capsys.readouterr().err
    assert "--fail-percent" in err and "--court" in err and "--ntp-server" in err
