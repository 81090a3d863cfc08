"""Court list, validation, search and inventory loading. Pure unit tests: files only, no hosts."""
from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest

from tepat.cli import main
from tepat.courts import COURTS_CSV, read_courts, search
from tepat.errors import InputError
from tepat.inventory import load_courts, load_targets, parse_address, pyinfra_groups

HEADER = ["court_id", "name", "pt", "province", "city_or_regency", "timezone"]


def test_shipped_court_list_is_valid_and_complete():
    courts = load_courts()
    assert len(courts) == 382
    assert len({c.pt for c in courts}) == 34
    per_zone = {z: sum(c.timezone == z for c in courts) for z in
                ("Asia/Jakarta", "Asia/Makassar", "Asia/Jayapura", "Asia/Pontianak")}
    assert per_zone == {"Asia/Jakarta": 225, "Asia/Makassar": 111, "Asia/Jayapura": 25,
                        "Asia/Pontianak": 21}


def test_court_rows_know_their_line():
    courts = read_courts()
    assert courts[0].source == "inventories/courts.csv:2"
    assert courts[-1].source == "inventories/courts.csv:383"


@pytest.mark.parametrize("query", ["jakarta pusat", "PN Jakarta Pusat", "pn-jakarta-pusat",
                                   "JAKARTA   PUSAT", "Jakarta Pusát", "pn jakarta-pusat"])
def test_search_finds_a_court_the_way_people_type_it(query):
    assert [c.court_id for c in search(read_courts(), query)] == ["pn-jakarta-pusat"]


def test_search_ambiguous_lists_candidates_and_exact_name_wins():
    courts = read_courts()
    assert len(search(courts, "jakarta")) == 5
    # "PN Ambon" is a whole name: it wins over names that merely contain "ambon"
    assert [c.court_id for c in search(courts, "ambon")] == ["pn-ambon"]
    assert search(courts, "no such court") == []
    assert search(courts, "PN") == []


def _write_inventory(tmp_path: Path, edit) -> Path:
    rows = list(csv.DictReader(open(COURTS_CSV, newline="")))
    edit(rows)
    with open(tmp_path / "courts.csv", "w", newline="") as f:
        w = csv.DictWriter(f, HEADER, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    (tmp_path / "hosts.yaml").write_text("courts: {}\n")
    inv = tmp_path / "inv.py"
    inv.write_text("from tepat.inventory import pyinfra_groups\n"
                   "globals().update(pyinfra_groups('hosts.yaml', __file__, 'courts.csv'))\n")
    return inv


def _set(row_index: int, **changes):
    def edit(rows):
        rows[row_index].update(changes)
    return edit


BAD_INVENTORIES = {
    "bad zone": (_set(0, timezone="Asia/Ambon"), "not a valid IANA zone", "Asia/Ambon"),
    "zone of another country": (_set(0, timezone="Asia/Tokyo"), "not one of Indonesia's four",
                                "Asia/Tokyo"),
    "zone of another region": (_set(0, timezone="Asia/Jakarta"),
                               "does not match its province Maluku", "Asia/Jakarta"),
    "duplicate id": (_set(1, court_id="pn-ambon"), "duplicate court_id", "pn-ambon"),
    "unknown PT": (_set(0, pt="PT Atlantis"), "unknown high court", "PT Atlantis"),
    "shell metacharacter": (_set(0, name="PN Ambon; rm -rf /"), "shell metacharacter",
                            "PN Ambon; rm -rf /"),
}


@pytest.mark.parametrize("case", BAD_INVENTORIES)
def test_validate_rejects_bad_inventory_naming_file_line_court_value(tmp_path, capsys, case):
    edit, message, value = BAD_INVENTORIES[case]
    inv = _write_inventory(tmp_path, edit)
    assert main(["inventory", "validate", "-i", str(inv)]) == 2
    err = capsys.readouterr().err
    problem = next(line for line in err.splitlines() if message in line)
    assert "courts.csv:" in problem and "pn-ambon" in problem.replace("pn-dataran-hunimoa", "")
    assert repr(value) in problem


def test_validate_lists_every_problem_at_once(tmp_path, capsys):
    def edit(rows):
        rows[0]["timezone"] = "Asia/Tokyo"
        rows[5]["pt"] = "PT Nowhere"
        rows[9]["court_id"] = rows[8]["court_id"]
    assert main(["inventory", "validate", "-i", str(_write_inventory(tmp_path, edit))]) == 2
    err = capsys.readouterr().err
    assert "4 problem(s)" in err  # the duplicate id is reported on both lines
    assert "courts.csv:2:" in err and "courts.csv:7:" in err
    assert "courts.csv:10:" in err and "courts.csv:11:" in err


def test_shipped_inventory_validates(capsys):
    assert main(["inventory", "validate"]) == 0
    out = capsys.readouterr().out
    assert "382 courts, 34 high courts" in out
    assert "Asia/Jakarta 225, Asia/Makassar 111, Asia/Jayapura 25, Asia/Pontianak 21" in out


def _hosts_inventory(tmp_path: Path, hosts_yaml: str) -> Path:
    (tmp_path / "hosts.yaml").write_text(hosts_yaml)
    inv = tmp_path / "inv.py"
    inv.write_text("from tepat.inventory import pyinfra_groups\n"
                   "globals().update(pyinfra_groups('hosts.yaml', __file__))\n")
    return inv


def test_hosts_file_problems_name_file_line_court_and_value(tmp_path):
    inv = _hosts_inventory(tmp_path, (
        "defaults:\n  ssh_user: tepat\n"
        "courts:\n"
        "  pn-ambon: {address: 10.0.0.300}\n"
        "  pn-nowhere: {address: 10.0.0.1}\n"
        "  pn-sleman:\n    address: 10.0.0.2\n    ssh_port: 70000\n"
        "  pn-dobo: {address: 'x.example; reboot'}\n"))
    with pytest.raises(InputError) as exc:
        load_targets(str(inv))
    problems = exc.value.problems
    assert any("hosts.yaml:4: pn-ambon: address is not well-formed: '10.0.0.300'" in p
               for p in problems)
    assert any("hosts.yaml:5: pn-nowhere: not a court id" in p for p in problems)
    assert any("hosts.yaml:8: pn-sleman: ssh_port must be a number" in p and "70000" in p
               for p in problems)
    assert any("hosts.yaml:9: pn-dobo: address contains a shell metacharacter" in p
               for p in problems)


def test_inventory_groups_data_and_unaddressed_courts(tmp_path, capsys):
    hosts = ("defaults: {ssh_user: tepat, known_hosts: /etc/tepat/known_hosts}\n"
             "courts:\n  pn-ambon: {address: 10.0.0.1}\n  pn-sleman: {address: pn.example.id, ssh_port: 2222}\n")
    inv = _hosts_inventory(tmp_path, hosts)
    groups = pyinfra_groups("hosts.yaml", str(inv))
    hosts_data = dict(groups["all"][0])
    assert hosts_data["pn-ambon"]["timezone"] == "Asia/Jayapura"
    assert hosts_data["pn-ambon"]["ssh_strict_host_key_checking"] == "yes"
    assert hosts_data["pn-sleman"]["ssh_port"] == 2222
    assert groups["pt_ambon"] == ["pn-ambon"] and groups["tz_asia_jakarta"] == ["pn-sleman"]
    assert len(groups["_tepat_unaddressed"]) == 380
    assert "380 court(s) have no address" in capsys.readouterr().err

    targets = load_targets(str(inv))
    assert len(targets) == 382
    assert [t.court_id for t in targets if t.address] == ["pn-ambon", "pn-sleman"]
    assert [t.court_id for t in load_targets(str(inv), limit="tz_asia_jayapura") if t.address] == ["pn-ambon"]
    assert [t.court_id for t in load_targets(str(inv), court="sleman")] == ["pn-sleman"]
    with pytest.raises(InputError, match="matches no host"):
        load_targets(str(inv), limit="pt_atlantis")


def test_only_listed_hosts_file_has_no_unaddressed_courts(tmp_path):
    inv = _hosts_inventory(tmp_path, "only_listed: true\ncourts:\n  pn-ambon: {address: 10.0.0.1}\n")
    assert [t.court_id for t in load_targets(str(inv))] == ["pn-ambon"]


def test_plain_pyinfra_inventory_files_are_validated_too(tmp_path):
    inv = tmp_path / "hand.py"
    inv.write_text("web = [('pn-ambon', {'ssh_hostname': '10.0.0.1', 'timezone': 'Asia/Jakarta'})]\n")
    with pytest.raises(InputError) as exc:
        load_targets(str(inv))
    assert any("pn-ambon: timezone disagrees" in p for p in exc.value.problems)
    inv.write_text("web = [('pn-ambon', {'ssh_hostname': '10.0.0.1'})]\n")
    [target] = load_targets(str(inv))
    assert target.timezone == "Asia/Jayapura" and target.groups == ["web"]


@pytest.mark.parametrize("spec,expected", [
    ("10.20.30.40", (None, "10.20.30.40", 22)),
    ("admin@10.20.30.40:2222", ("admin", "10.20.30.40", 2222)),
    ("[fd00::5]:22", (None, "fd00::5", 22)),
    ("sipp.pn-sleman.go.id", (None, "sipp.pn-sleman.go.id", 22)),
])
def test_parse_address(spec, expected):
    assert parse_address(spec) == expected


@pytest.mark.parametrize("spec", ["10.0.0.1:99999", "host;reboot", "bad user@10.0.0.1", ""])
def test_parse_address_rejects(spec):
    with pytest.raises(InputError):
        parse_address(spec)


def test_unknown_and_ambiguous_court_are_input_errors():
    with pytest.raises(InputError, match="no court matches"):
        load_targets(court="atlantis")
    with pytest.raises(InputError, match="matches 5 courts"):
        load_targets(court="jakarta")


def test_show_prints_zone_offset_and_address(capsys):
    assert main(["inventory", "show", "sleman"]) == 0
    out = capsys.readouterr().out
    assert "PN Sleman (pn-sleman)" in out and "PT Yogyakarta" in out
    assert "Asia/Jakarta (WIB, UTC+07:00)" in out
    assert main(["inventory", "show", "jakarta"]) == 2
    assert "matches 5 courts" in capsys.readouterr().out


def test_missing_inventory_file_is_one_sentence(capsys):
    assert main(["inventory", "validate", "-i", "/nonexistent/inv.py"]) == 2
    assert capsys.readouterr().err.strip() == "tepat: inventory file /nonexistent/inv.py does not exist"


def test_command_line_overrides_reach_every_target(tmp_path):
    import argparse

    from tepat.inventory import add_target_arguments, targets_from_args

    parser = argparse.ArgumentParser()
    parser.add_argument("-i", "--inventory")
    add_target_arguments(parser)
    key, known = tmp_path / "key", tmp_path / "known_hosts"
    key.write_text("k")
    known.write_text("")
    inv = _hosts_inventory(tmp_path, "only_listed: true\ncourts:\n  pn-ambon: {address: 10.0.0.1}\n"
                                     "  pn-dobo: {address: 10.0.0.2}\n")
    args = parser.parse_args(["-i", str(inv), "--ssh-key", str(key), "--known-hosts", str(known),
                              "--ntp-server", "10.77.0.1,ntp.bsn.go.id"])
    for t in targets_from_args(args):
        assert t.ssh_key == t.data["ssh_key"] == str(key)
        assert t.known_hosts == t.data["ssh_known_hosts_file"] == str(known)
        assert t.data["ntp_servers"] == ["10.77.0.1", "ntp.bsn.go.id"]
    for bad, message in ((["--ntp-server", "ntp;reboot"], "not a host name"),
                         (["--known-hosts", str(tmp_path / "none")], "no such file")):
        with pytest.raises(InputError, match=message):
            targets_from_args(parser.parse_args(["-i", str(inv), *bad]))
