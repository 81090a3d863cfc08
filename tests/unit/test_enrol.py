"""Host key pinning decisions, on keys generated here with ssh-keygen (no hosts contacted)."""
import subprocess
from pathlib import Path

import pytest

from tepat.enrol import Scan, _append, _classify, _read_expected, host_pattern
from tepat.errors import InputError
from tepat.inventory import Target


def _key(tmp_path: Path, name: str) -> str:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / name)],
                   check=True)
    return (tmp_path / f"{name}.pub").read_text().split()[0:2]


def _scan(address: str, port: int, key: list[str]) -> Scan:
    line = f"{host_pattern(address, port)} {key[0]} {key[1]}"
    return Scan(Target(name="pn-ambon", address=address, port=port), [line], ["SHA256:x"])


def test_host_pattern_follows_openssh():
    assert host_pattern("10.0.0.1", 22) == "10.0.0.1"
    assert host_pattern("10.0.0.1", 2222) == "[10.0.0.1]:2222"


def test_new_known_and_changed_keys(tmp_path):
    known = tmp_path / "known_hosts"
    first, second = _key(tmp_path, "a"), _key(tmp_path, "b")
    scan = _scan("10.0.0.1", 2222, first)
    _classify(scan, known)
    assert scan.state == "new"
    _append(known, scan.lines)
    again = _scan("10.0.0.1", 2222, first)
    _classify(again, known)
    assert again.state == "known"
    impostor = _scan("10.0.0.1", 2222, second)
    _classify(impostor, known)
    assert impostor.state == "changed"
    other_port = _scan("10.0.0.1", 22, second)
    _classify(other_port, known)
    assert other_port.state == "new"


def test_expected_fingerprints_file(tmp_path):
    f = tmp_path / "fp.txt"
    f.write_text("# from the courts\npn-ambon SHA256:abc\n")
    assert _read_expected(str(f)) == {"pn-ambon": {"SHA256:abc"}}
    f.write_text("pn-ambon abc\n")
    with pytest.raises(InputError, match="fp.txt:1"):
        _read_expected(str(f))
