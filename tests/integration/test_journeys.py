"""The three ways people use tepat (docs/journeys/), run word for word against the lab.

Each journey page's ```sh commands are extracted (``doc_commands.commands``) and run exactly as
written, with ``bash -c``, in a working folder of the test's own, with the page's placeholders
($INVENTORY, $KNOWN_HOSTS, $COURT, $ADDRESS, ...) set from the lab's ground truth
(``tepat lab status --json``) the way a reader sets them in their shell. Prompts are answered
on a pseudo-terminal, as a person types them. The outcomes are then checked on the hosts
themselves, over the lab's own SSH (pinned keys, root), not through tepat.

- central rollout: 19 courts behind one clean lab host used as the jump host (ProxyJump),
  enrolled into a fresh known_hosts file, dry run, waves that stop on a failing canary, check,
  HTML report; sshd's log on every target shows the bastion as the client;
- periodic compliance: the job the timer starts (contrib/), run as the page says, records its
  runs and names a court that newly fails;
- laptop technician: one court by address, password login and a sudo that asks for the
  password, both typed at their prompts; the password is never on any command line.

Bad input in each journey (unknown or ambiguous court, unreachable address, wrong password,
changed host key) gets one message, the documented exit status, and leaves /etc unchanged.

Each lab test holds the lab's lock while it runs (other sessions' ``tepat lab reset`` waits)
and afterwards re-creates, with their faults, the hosts it changed, so every test (this
module's and the others') finds the lab as its ground truth says.
"""
from __future__ import annotations

import json
import re
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml

from doc_commands import DOCS, Terminal, blocks, commands, run
from tepat.controls import CONTROLS

ROOT = Path(__file__).resolve().parents[2]
JOURNEYS = ("central-rollout", "periodic-compliance", "laptop-technician")
FIXABLE = {cid for cid, c in CONTROLS.items() if c.fixable}
CHANGED: list[str] = []  # court ids this module changed: re-created at the end

# /etc as a fingerprint: every entry's type, mode, owner, size, mtime, and every file's content.
ETC_HASH = ("cd /etc && find . -xdev -printf '%p %y %l %m %U %G %s %T@\\n' | LC_ALL=C sort "
            "| sha256sum && find . -xdev -type f -print0 | LC_ALL=C sort -z "
            "| xargs -0 sha256sum | sha256sum")


def page(name: str, lang: str = "en") -> Path:
    return DOCS / f"{name}.{lang}.md"


# ---------------------------------------------------------------------------- docs only

@pytest.mark.parametrize("name", JOURNEYS)
def test_indonesian_page_carries_the_same_commands(name):
    en, id_ = page(name, "en"), page(name, "id")
    assert commands(en), f"{en} gives no ```sh commands"
    assert blocks(id_) == blocks(en), f"{id_} and {en} must give the same ```sh blocks"
    assert "```sh" in id_.read_text() and en.name in id_.read_text(), "the pages link each other"


def test_extractor_takes_sh_blocks_word_for_word(tmp_path):
    md = tmp_path / "page.md"
    md.write_text("text\n```sh\n# a comment\ntepat check -i \"$INVENTORY\" \\\n"
                  "    --format json\n\ntepat history\n```\n```yaml\nnot: a command\n```\n"
                  "```\nplain block\n```\n  ```sh\n  tepat fix --dry\n  ```\n")
    assert commands(md) == ['tepat check -i "$INVENTORY" --format json', "tepat history",
                            "tepat fix --dry"]
    assert len(blocks(md)) == 2


def _troubleshooting_keys() -> tuple[set[str], set[str], set[str]]:
    import typing

    from tepat.results import UnreachableReason
    source = (ROOT / "tepat" / "diagnosis.py").read_text()
    kinds = set(re.findall(r'Finding\(\s*"([a-z_]+)"', source))
    assert {"local_config", "network", "queue", "unreachable"} <= kinds, kinds
    return set(CONTROLS), kinds, set(typing.get_args(UnreachableReason))


@pytest.mark.parametrize("name", ["troubleshooting.md", "troubleshooting.id.md"])
def test_troubleshooting_maps_every_control_diagnosis_and_reason(name):
    """A heading per control id, per diagnosis kind and per unreachable reason."""
    text = (ROOT / "docs" / name).read_text()
    headings = {m.strip() for m in re.findall(r"^###\s+(.+)$", text, re.M)}
    controls, kinds, reasons = _troubleshooting_keys()
    for cid in controls:
        assert any(h.startswith(f"{cid}:") for h in headings), f"{name}: no heading for {cid}"
    for key in kinds | reasons:
        assert any(h.startswith(f"`{key}`") for h in headings), f"{name}: no heading for `{key}`"


# ---------------------------------------------------------------------------- lab helpers

@pytest.fixture
def jlab(lab):
    """The session's lab, locked for this test, every reachable host answering; afterwards
    the hosts the test changed are re-created with their faults (after the lock is released:
    `tepat lab reset` takes it), so the next test finds the ground truth."""
    with lab.exclusive(CHANGED):
        yield lab


def on_hosts(lab, hosts: list[dict], command: str) -> dict[str, str]:
    """``command`` as root on each host (in parallel); court id -> stdout."""
    def one(h):
        out = lab.ssh(h["court_id"], command, timeout=120)
        assert out.returncode == 0, (h["court_id"], out.stderr)
        return h["court_id"], out.stdout
    with ThreadPoolExecutor(max_workers=16) as pool:
        return dict(pool.map(one, hosts))


def fingerprint(known_hosts: str, address: str, port: int) -> str:
    pattern = address if port == 22 else f"[{address}]:{port}"
    out = subprocess.run(["ssh-keygen", "-l", "-F", pattern, "-f", known_hosts],
                         capture_output=True, text=True, check=True).stdout
    return next(line.split()[2] for line in out.splitlines() if line and not line.startswith("#"))


def timed(label: str, command: str, values: dict, **kw) -> subprocess.CompletedProcess:
    start = time.monotonic()
    out = run(command, values, **kw)
    print(f"\n[{time.monotonic() - start:5.1f} s] exit {out.returncode}  {command}  ({label})")
    return out


def one_message(out: subprocess.CompletedProcess) -> str:
    """Bad input: one clear message, no traceback."""
    text = out.stdout + out.stderr
    assert "Traceback" not in text, text
    assert text.strip(), "no message at all"
    return text


# ---------------------------------------------------------------------------- central rollout

@pytest.mark.lab
def test_central_rollout_through_a_jump_host(jlab, tmp_path):
    lab = jlab
    cmds = commands(page("central-rollout"))
    assert [" ".join(c.split()[:3]) for c in cmds] == [
        "tepat inventory validate", "tepat enrol --host", "tepat enrol -i", "tepat fix -i",
        "tepat fix -i", "tepat fix -i", "tepat check -i", "tepat history export", "tepat history"], cmds
    validate, enrol_bastion, enrol_fleet, dry, dry_pt, waves, check, export, history = cmds

    # The bastion: a clean host reached directly. The fleet: every other host, behind it.
    # The canary (first court listed) is a host with a fault the fix remedies.
    clean = [h for h in lab.clean() if h["reachable"] and h["ssh_port"] == 22]
    bastion = clean[0]
    fleet = [h for h in lab.hosts if h["court_id"] != bastion["court_id"]]
    canary = next(h for h in fleet if h["reachable"] and h["ssh_port"] == 22
                  and set(h["expected_failures"]) & FIXABLE)
    fleet.remove(canary)
    fleet.insert(0, canary)
    reachable = [h for h in fleet if h["reachable"]]
    relayed = {h["court_id"] for h in fleet if h["address"] != h["direct_address"]}

    known_hosts = tmp_path / "known_hosts"  # fresh: not the lab's pre-pinned file
    hosts_yaml = tmp_path / "production.hosts.yaml"
    hosts_yaml.write_text(yaml.safe_dump({
        "defaults": {"ssh_user": bastion["ssh_user"], "ssh_key": bastion["ssh_key"],
                     "known_hosts": str(known_hosts),
                     "bastion": f"{bastion['ssh_user']}@{bastion['address']}",
                     "ntp_servers": lab.info["ntp_servers"]},
        "only_listed": True,
        "courts": {h["court_id"]: {"address": h["address"],
                                   **({"ssh_port": h["ssh_port"]} if h["ssh_port"] != 22 else {})}
                   for h in fleet},
    }, sort_keys=False))
    inventory = tmp_path / "production.py"
    inventory.write_text("from tepat.inventory import pyinfra_groups\n"
                         f"globals().update(pyinfra_groups({str(hosts_yaml)!r}))\n")
    # The fingerprints "the courts sent": the lab's ground truth of each host's key.
    truth = {h["court_id"]: fingerprint(h["known_hosts"], h["address"], h["ssh_port"])
             for h in fleet}
    fingerprints = tmp_path / "fingerprints.txt"
    fingerprints.write_text("".join(f"{c} {fp}\n" for c, fp in truth.items()))
    from tepat.courts import read_courts
    pts = {c.court_id: c.pt_group for c in read_courts()}
    work = tmp_path / "work"
    work.mkdir()
    report_dir = tmp_path / "public"
    report_dir.mkdir()
    values = {"INVENTORY": str(inventory), "KNOWN_HOSTS": str(known_hosts),
              "BASTION": f"{bastion['ssh_user']}@{bastion['address']}",
              "FINGERPRINTS": str(fingerprints), "PT": pts[canary["court_id"]],
              "REPORT_DIR": str(report_dir), "TEPAT_HISTORY": str(tmp_path / "history.sqlite")}
    kw = {"cwd": work}
    started = time.time()

    out = timed("validate", validate, values, **kw)
    assert out.returncode == 0 and "no problems" in out.stdout, out.stdout + out.stderr

    # 1. Enrol: the bastion, its fingerprint shown and confirmed at the prompt.
    assert not known_hosts.exists()
    bastion_fp = fingerprint(bastion["known_hosts"], bastion["address"], 22)
    term = Terminal(enrol_bastion, values, cwd=work)
    term.expect(r"\[y/N\]")
    assert f"new: {bastion_fp}" in term.output, term.output
    term.send("y\n")
    assert term.wait() == 0, term.output
    assert known_hosts.read_text().split()[0] == bastion["address"]

    # A fingerprint list with one wrong line: that court is not trusted, the others are.
    tampered = tmp_path / "tampered.txt"
    victim = reachable[1]["court_id"]
    tampered.write_text(fingerprints.read_text().replace(truth[victim], truth[canary["court_id"]]))
    out = timed("enrol, one fingerprint wrong", enrol_fleet, {**values, "FINGERPRINTS": str(tampered)}, **kw)
    assert out.returncode == 1
    assert re.search(rf"{victim} .* fingerprint does not match .* not trusted", out.stdout), out.stdout
    pinned = known_hosts.read_text()
    victim_host = next(h for h in fleet if h["court_id"] == victim)
    assert f"{victim_host['address']} " not in pinned

    out = timed("enrol", enrol_fleet, values, **kw)
    assert out.returncode == 1, out.stdout  # the host that is down has no key yet
    for h in fleet:
        line = next(ln for ln in out.stdout.splitlines() if ln.split()[:1] == [h["court_id"]])
        if h["running"]:
            assert ("new: " + truth[h["court_id"]] in line) or "already pinned" in line, line
            assert fingerprint(str(known_hosts), h["address"], h["ssh_port"]) == truth[h["court_id"]]
        else:
            assert "no key" in line, line

    # 2. Dry run: plans, changes nothing.
    before = on_hosts(lab, reachable, ETC_HASH)
    out = timed("dry run", dry, values, **kw)
    assert out.returncode == 1, out.stdout + out.stderr  # unreachable hosts
    lines = {ln.split()[0]: ln for ln in out.stdout.splitlines() if ln[:3] == "pn-"}
    for h in fleet:
        if not h["reachable"]:
            assert "unreachable" in lines[h["court_id"]], lines[h["court_id"]]
        elif set(h["expected_failures"]) & FIXABLE:
            assert "would change" in lines[h["court_id"]], (h, lines[h["court_id"]])
    assert "(auth)" in lines[next(h["court_id"] for h in fleet if "ssh-auth-broken" in h["faults"])]
    out = timed("dry run, one PT", dry_pt, values, **kw)
    assert out.returncode == 0, out.stdout + out.stderr
    shown = {ln.split()[0] for ln in out.stdout.splitlines() if ln[:3] == "pn-"}
    assert shown == {h["court_id"] for h in fleet if pts[h["court_id"]] == values["PT"]}
    assert "---" in out.stdout or "+++" in out.stdout or "@@" in out.stdout, out.stdout  # --diff
    assert on_hosts(lab, reachable, ETC_HASH) == before, "a dry run changed /etc"

    # 3. Waves. First with the canary failing (another run's lock held there): the rollout
    # stops after wave 1 and touches nothing else.
    assert lab.ssh(canary["court_id"], "mkdir /run/lock/tepat.lock && "
                   "echo OTHER-RUN > /run/lock/tepat.lock/owner").returncode == 0
    try:
        out = timed("waves, canary failing", waves, values, **kw)
    finally:
        lab.ssh(canary["court_id"], "rm -rf /run/lock/tepat.lock")
    assert out.returncode == 1
    text = out.stdout + out.stderr
    assert re.search(r"wave canary: stopped \(1 host", text), text
    assert "not touched (rollout stopped)" in text, text
    after = on_hosts(lab, reachable, ETC_HASH)
    assert {c: v for c, v in after.items() if c != canary["court_id"]} == \
        {c: v for c, v in before.items() if c != canary["court_id"]}, "a stopped rollout touched other hosts"

    CHANGED.extend(h["court_id"] for h in reachable)  # until the output says which changed
    out = timed("waves", waves, values, **kw)
    text = out.stdout + out.stderr
    fixed = set(re.findall(r"^(pn-[a-z0-9-]+)\s+changed\b", out.stdout, re.M))
    assert fixed, out.stdout
    for court_id in {h["court_id"] for h in reachable} - fixed:
        CHANGED.remove(court_id)
    assert out.returncode == 1, text  # only because some hosts are unreachable
    assert "wave canary: done" in text and "0 failed" in text, text
    assert "not touched" not in text, text

    # 4. Check and publish.
    out = timed("check", check, values, **kw)
    assert out.returncode == 1, out.stderr
    report = {h["court_id"]: h for h in json.loads((work / "report.json").read_text())["hosts"]}
    assert set(report) == {h["court_id"] for h in fleet}
    for h in fleet:
        got = report[h["court_id"]]
        if not h["reachable"]:
            assert got["status"] == "unreachable", got
            if "ssh-auth-broken" in h["faults"]:
                assert got["reason"] == "auth", got
            continue
        failing = {c["id"]: c for c in got["controls"] if c["status"] in ("fail", "error")}
        # What is left is what the fix does not do: network, the database's zone and, without
        # --restart-database, the database started before the zone changed (SVC-01 says so).
        if "SVC-01" in failing:
            assert "mariadb" in failing.pop("SVC-01")["detail"], (h["court_id"], got)
        assert set(failing) <= set(h["expected_failures"]), (h["court_id"], failing, h["faults"])
        left = set(failing) & FIXABLE
        # CLK-01 also compares with the API's Date header: it follows the API's faults.
        assert not left or (left == {"CLK-01"} and set(failing) & {"NET-01", "NET-02", "NET-03", "NET-04"}), \
            (h["court_id"], got)
        if not h["faults"]:
            assert got["status"] == "compliant", got
    out = timed("publish", export, values, **kw)
    assert out.returncode == 0, out.stderr
    html = (report_dir / "index.html").read_text()
    assert all(f'data-court="{c}"' in html for c in report)
    out = timed("history", history, values, **kw)
    assert out.returncode == 0 and "complete" in out.stdout.lower(), out.stdout + out.stderr

    # Bad input. An unknown group: one message, exit 2, nothing contacted.
    etc_before = on_hosts(lab, reachable, ETC_HASH)
    out = timed("unknown PT", dry_pt, {**values, "PT": "pt_atlantis"}, **kw)
    assert out.returncode == 2 and "matches no host or group" in one_message(out), out.stderr
    # A hosts file with a bad address: every problem named with file and line, exit 2.
    broken = tmp_path / "broken.hosts.yaml"
    broken.write_text(hosts_yaml.read_text().replace(f"address: {canary['address']}",
                                                     "address: 10.77.1.999"))
    broken_inv = tmp_path / "broken.py"
    broken_inv.write_text(inventory.read_text().replace(str(hosts_yaml), str(broken)))
    for command in (validate, dry):
        out = timed("bad hosts file", command, {**values, "INVENTORY": str(broken_inv)}, **kw)
        text = one_message(out)
        assert out.returncode == 2 and "broken.hosts.yaml:" in text and "10.77.1.999" in text, text
    # A court whose host key changed (its pinned line now holds another server's key): it is
    # refused, reported with the reason, and the file is not rewritten.
    changed_kh = tmp_path / "changed_known_hosts"
    victim = reachable[-1]
    key_of = {ln.split()[0]: " ".join(ln.split()[1:]) for ln in known_hosts.read_text().splitlines()}
    pattern = victim["address"] if victim["ssh_port"] == 22 else f"[{victim['address']}]:{victim['ssh_port']}"
    changed_kh.write_text("".join(f"{host} {key_of[canary['address']] if host == pattern else key}\n"
                                  for host, key in key_of.items()))
    pinned_before = changed_kh.read_text()
    changed_yaml = tmp_path / "changed.hosts.yaml"
    changed_yaml.write_text(hosts_yaml.read_text().replace(str(known_hosts), str(changed_kh)))
    changed_inv = tmp_path / "changed.py"
    changed_inv.write_text(inventory.read_text().replace(str(hosts_yaml), str(changed_yaml)))
    out = timed("changed host key", dry_pt, {**values, "INVENTORY": str(changed_inv),
                                             "PT": pts[victim["court_id"]]}, **kw)
    assert out.returncode == 1 and re.search(rf"{victim['court_id']}\s+unreachable \(host_key\)",
                                             one_message(out)), out.stdout
    assert changed_kh.read_text() == pinned_before
    assert on_hosts(lab, reachable, ETC_HASH) == etc_before, "bad input changed /etc on a host"

    # Through the jump host: every target's sshd saw logins of tepat's user from the bastion
    # (the dry runs, the waves and the check each log in once). Other test sessions may log in
    # directly at the same time, so direct logins are not counted against it. A relayed host's
    # sshd sees its relay as the client, so it is left out.
    logs = on_hosts(lab, [h for h in reachable if h["court_id"] not in relayed],
                    f"journalctl -u ssh --no-pager -o short-unix --since @{int(started)} "
                    f"| grep 'Accepted publickey for {bastion['ssh_user']} ' || true")
    for court_id, log in logs.items():
        via_bastion = re.findall(rf" from {re.escape(bastion['direct_address'])} port ", log)
        assert len(via_bastion) >= 3, (court_id, log)


# ---------------------------------------------------------------------------- laptop technician

class ArgvWatch:
    """Polls every process's command line while a journey runs: the password must never be
    in one (sshpass -p, a command-line option, an echo to a pipe)."""

    def __init__(self, secret: str) -> None:
        import threading
        self.secret, self.hits, self.scans = secret.encode(), [], 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def _watch(self) -> None:
        while not self._stop.is_set():
            for proc in Path("/proc").iterdir():
                if proc.name.isdigit():
                    try:
                        argv = (proc / "cmdline").read_bytes()
                    except OSError:
                        continue
                    if self.secret in argv:
                        self.hits.append(argv.replace(b"\0", b" ").decode(errors="replace"))
            self.scans += 1
            time.sleep(0.02)

    def __enter__(self) -> "ArgvWatch":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def typed(command: str, values: dict, answers: list[tuple[str, str]], cwd: Path,
          label: str) -> Terminal:
    """Run a documented command on a terminal, answering its prompts in order."""
    start = time.monotonic()
    term = Terminal(command, values, cwd=cwd)
    for prompt, answer in answers:
        term.expect(prompt)
        term.send(answer)
    term.status = term.wait()
    print(f"\n[{time.monotonic() - start:5.1f} s] exit {term.status}  {command}  ({label})")
    return term


# Faults a technician's fix puts right without a package mirror (the lab has none).
LAPTOP_FAULTS = {"php-ini-wrong-zone", "php-no-timezone", "php-confd-override",
                 "php-fpm-pool-override", "os-zone-wrong", "os-timezone-file-mismatch",
                 "hwclock-local", "chrony-stopped", "php-fpm-stale"}


@pytest.mark.lab
def test_laptop_technician_by_address_with_password_and_sudo(jlab, tmp_path):
    lab = jlab
    cmds = commands(page("laptop-technician"))
    assert [" ".join(c.split()[:3]) for c in cmds] == [
        "tepat inventory show", "tepat enrol --host", "tepat check --court", "tepat fix --court",
        "tepat fix --court", "tepat check --court"], cmds
    show, enrol, check, dry, fix, local = cmds
    accounts = lab.info["accounts"]
    password = Path(accounts["password_file"]).read_text().strip()
    user = accounts["sudo_asks_password"][0]
    host = next(h for h in lab.reachable() if h["ssh_port"] == 22 and h["faults"]
                and set(h["faults"]) <= LAPTOP_FAULTS and "DB-TZ-01" not in h["expected_failures"])
    from tepat.courts import read_courts
    court = next(c for c in read_courts() if c.court_id == host["court_id"])
    known_hosts = tmp_path / "known_hosts"
    values = {"COURT": court.name, "ADDRESS": host["address"], "SSH_USER": user,
              "KNOWN_HOSTS": str(known_hosts), "NTP_SERVER": lab.info["ntp_servers"][0],
              "TEPAT_HISTORY": str(tmp_path / "history.sqlite")}
    expected = set(host["expected_failures"])
    etc = lambda: on_hosts(lab, [host], ETC_HASH)[host["court_id"]]  # noqa: E731

    out = timed("show", show, values, cwd=tmp_path)
    assert out.returncode == 0 and court.pt in out.stdout and court.timezone in out.stdout, out.stdout

    term = typed(enrol, values, [(r"\[y/N\]", "y\n")], tmp_path, "enrol")
    assert term.status == 0
    assert "new: " + fingerprint(host["known_hosts"], host["address"], 22) in term.output

    pw = [("SSH password: ", password + "\n")]
    with ArgvWatch(password) as watch:
        term = typed(check, values, pw, tmp_path, "check before")
        assert term.status == 1, term.output
        assert "tidak sesuai" in term.output  # Bahasa Indonesia by default in this mode
        for cid in expected:
            assert cid in term.output, (cid, term.output)
        before = etc()
        term = typed(dry, values, pw, tmp_path, "fix --dry")
        assert term.status == 0 and "would change" in term.output, term.output
        assert etc() == before, "the dry run changed /etc"
        CHANGED.append(host["court_id"])
        term = typed(fix, values, [(r"Continue\? \[y/N\] ", "y\n"), *pw], tmp_path, "fix")
        assert term.status == 0, term.output
        assert re.search(rf"{host['court_id']}\s+changed", term.output), term.output
        term = typed(check, values, pw, tmp_path, "check after")
    assert watch.scans > 10 and watch.hits == [], watch.hits
    assert password not in term.output  # typed with echo off
    # Only DB-TZ-01 is left: it needs sudo without a password (the page says so).
    failing = set(re.findall(r"- ([A-Z]+-[A-Z0-9]+(?:-[0-9]+)?): ", term.output))
    assert failing == {"DB-TZ-01"}, term.output
    direct = lab.ssh(host["court_id"], "php -r 'echo date_default_timezone_get();'; echo; "
                     "cat /etc/timezone; systemctl is-active chrony")
    assert direct.stdout.split() == [court.timezone, court.timezone, "active"], direct.stdout

    # On the server itself (here: this machine), no SSH: the same code path, local backend.
    out = timed("local", local, values, cwd=tmp_path)
    assert out.returncode in (0, 1) and "Traceback" not in out.stderr, out.stderr
    assert court.name in out.stdout and "localhost" in out.stdout, out.stdout
    assert "sesuai" in out.stdout


@pytest.mark.lab
def test_laptop_bad_input_touches_nothing(jlab, tmp_path):
    """Unknown or ambiguous court, unreachable address, wrong password, changed host key."""
    lab = jlab
    _, _, check, _, fix, _ = commands(page("laptop-technician"))
    accounts = lab.info["accounts"]
    password = Path(accounts["password_file"]).read_text().strip()
    host, other = [h for h in lab.reachable() if h["ssh_port"] == 22][:2]
    from tepat.courts import read_courts
    court = next(c for c in read_courts() if c.court_id == host["court_id"])
    pinned = subprocess.run(["ssh-keygen", "-F", host["address"], "-f", host["known_hosts"]],
                            capture_output=True, text=True, check=True).stdout
    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_text(pinned)
    values = {"COURT": court.name, "ADDRESS": host["address"],
              "SSH_USER": accounts["sudo_asks_password"][0], "KNOWN_HOSTS": str(known_hosts),
              "NTP_SERVER": lab.info["ntp_servers"][0], "TEPAT_HISTORY": str(tmp_path / "h.sqlite")}
    before = on_hosts(lab, [host], ETC_HASH)
    pw = [("SSH password: ", password + "\n")]
    yes = [(r"Continue\? \[y/N\] ", "y\n")]

    for command in (check, fix):
        out = run(command, {**values, "COURT": "PN Atlantis"}, cwd=tmp_path)
        assert out.returncode == 2 and "no court matches 'PN Atlantis'" in one_message(out), out
        out = run(command, {**values, "COURT": "jakarta"}, cwd=tmp_path)
        text = one_message(out)
        assert out.returncode == 2 and "matches 5 courts" in text and "pn-jakarta-pusat" in text, text

    dead = {**values, "ADDRESS": lab.info["dead_address"]}
    term = typed(check, dead, pw, tmp_path, "check, unreachable address")
    assert term.status == 1 and "tidak dapat dihubungi" in term.output, term.output
    term = typed(fix, dead, yes + pw, tmp_path, "fix, unreachable address")
    assert term.status == 1 and "unreachable" in term.output, term.output

    wrong = [("SSH password: ", "not-the-password\n")]
    term = typed(check, values, wrong, tmp_path, "check, wrong password")
    assert term.status == 1 and "autentikasi gagal" in term.output, term.output
    term = typed(fix, values, yes + wrong, tmp_path, "fix, wrong password")
    assert term.status == 1 and "unreachable (auth)" in term.output, term.output

    # The host key changed: the pinned line now holds another server's key.
    other_key = subprocess.run(["ssh-keygen", "-F", other["address"], "-f", other["known_hosts"]],
                               capture_output=True, text=True, check=True).stdout
    key = next(ln for ln in other_key.splitlines() if ln and not ln.startswith("#")).split()[1:]
    known_hosts.write_text(f"{host['address']} {' '.join(key)}\n")
    term = typed(check, values, pw, tmp_path, "check, changed host key")
    assert term.status == 1 and "kunci host berubah" in term.output, term.output
    term = typed(fix, values, yes + pw, tmp_path, "fix, changed host key")
    assert term.status == 1 and "unreachable (host_key)" in term.output, term.output
    assert known_hosts.read_text() == f"{host['address']} {' '.join(key)}\n", "known_hosts was rewritten"
    for t in [term]:
        assert "Traceback" not in t.output
    assert on_hosts(lab, [host], ETC_HASH) == before, "bad input changed /etc"


# ---------------------------------------------------------------------------- periodic compliance

@pytest.mark.lab
def test_periodic_run_records_history_and_reports_a_newly_failing_court(jlab, tmp_path):
    lab = jlab
    cmds = commands(page("periodic-compliance"))
    assert [" ".join(c.split()[:3]) for c in cmds] == [
        'TEPAT_CONFIG="$TEPAT_CONFIG" "$TEPAT_HOME/contrib/tepat-check-periodic"',
        "tepat history --db", "tepat history changes"], cmds
    job, runs, changes = cmds
    out_dir, textfile = tmp_path / "report", tmp_path / "textfile"
    textfile.mkdir()
    inventory = lab.info["inventory"]
    config = tmp_path / "tepat-check"

    def settings(inv: str) -> dict:
        config.write_text(f"TEPAT_HOME={ROOT}\nTEPAT_BIN={ROOT / '.venv' / 'bin' / 'tepat'}\n"
                          f"TEPAT_INVENTORY={inv}\nTEPAT_OUTPUT_DIR={out_dir}\n"
                          f"TEPAT_HISTORY={tmp_path / 'history.sqlite'}\n"
                          f"TEPAT_TEXTFILE_DIR={textfile}\nTEPAT_LANG=en\n")
        return {"TEPAT_HOME": str(ROOT), "TEPAT_CONFIG": str(config), "INVENTORY": inv,
                "HISTORY_DB": str(tmp_path / "history.sqlite")}

    # Bad input first: an inventory that does not exist. One message, exit 2, no run recorded.
    values = settings(str(tmp_path / "no-such-inventory.py"))
    out = timed("job, bad inventory", job, values, cwd=tmp_path)
    assert out.returncode == 2 and "could not run" in one_message(out), out.stdout + out.stderr
    assert "no-such-inventory.py" in out.stdout, out.stdout

    values = settings(inventory)
    out = timed("job, first run", job, values, cwd=tmp_path)
    report = json.loads((out_dir / "tepat.json").read_text())
    failing = [h for h in report["hosts"] if h["status"] != "compliant"]
    assert len(report["hosts"]) == len(lab.hosts) and failing
    assert out.returncode == 1 and out.stdout.startswith(f"tepat: {len(failing)} court"), out.stdout
    assert (out_dir / "index.html").is_file() and (textfile / "tepat.prom").is_file()

    # A clean court drifts between two runs: /etc/timezone names another zone (OS-TZ-02).
    court = next(h for h in lab.clean() if h["reachable"])
    other = "Asia/Jayapura" if court["timezone"] != "Asia/Jayapura" else "Asia/Makassar"
    CHANGED.append(court["court_id"])
    assert lab.ssh(court["court_id"], f"echo {other} > /etc/timezone").returncode == 0
    out = timed("job, a court drifted", job, values, cwd=tmp_path)
    lines = out.stdout.splitlines()
    assert out.returncode == 1, out.stdout
    assert lines[0].startswith("tepat: 1 court newly failing since run "), out.stdout
    assert f"({court['court_id']}, " in lines[1] and lines[1].endswith(": non-compliant: OS-TZ-02"), out.stdout
    print("\n" + out.stdout)

    out = timed("history", runs, values, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert len(re.findall(r"complete", out.stdout)) >= 2, out.stdout
    out = timed("changes", changes, values, cwd=tmp_path)
    assert out.returncode == 1 and f"({court['court_id']}, " in out.stdout, out.stdout
    assert "OS-TZ-02" in out.stdout
