"""``tepat enrol``: collect and pin the host keys of the inventory's servers.

This is the one place where trust on first use is allowed, and only with a person's (or an
out-of-band fingerprint list's) confirmation: every other command verifies host keys against
the known_hosts file this writes, and refuses a host whose key changed.
"""
from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from tepat.errors import InputError
from tepat.inventory import Target, load_targets

KEY_TYPES = "ed25519,ecdsa,rsa"


@dataclass
class Scan:
    target: Target
    lines: list[str]  # known_hosts lines as ssh-keyscan printed them
    fingerprints: list[str]  # "SHA256:... (ED25519)"
    error: str = ""
    state: str = ""  # new | known | changed | failed


def host_pattern(address: str, port: int) -> str:
    """How OpenSSH names a host in known_hosts."""
    return address if port == 22 else f"[{address}]:{port}"


def _keyscan(target: Target, timeout: int) -> Scan:
    assert target.address
    scan_cmd = ["ssh-keyscan", "-T", str(timeout), "-t", KEY_TYPES, "-p", str(target.port),
                target.address]
    if target.bastion:
        # Scan from the bastion (its own key must already be pinned: StrictHostKeyChecking=yes).
        bastion = target.bastion
        user, _, hostport = bastion.rpartition("@")
        host, _, port = hostport.partition(":")
        ssh = ["ssh", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes",
               "-p", port or "22"]
        if target.known_hosts:
            ssh += ["-o", f"UserKnownHostsFile={target.known_hosts}"]
        if target.ssh_key:
            ssh += ["-i", target.ssh_key]
        scan_cmd = ssh + [f"{user}@{host}" if user else host, shlex.join(scan_cmd)]
    proc = subprocess.run(scan_cmd, capture_output=True, text=True, timeout=timeout * 4 + 10)
    lines = [ln for ln in proc.stdout.splitlines() if ln and not ln.startswith("#")]
    if not lines:
        reason = proc.stderr.strip().splitlines()[-1:] or ["no answer"]
        return Scan(target, [], [], error=reason[0], state="failed")
    fingerprints = []
    for line in lines:
        fp = subprocess.run(["ssh-keygen", "-lf", "-"], input=line, capture_output=True,
                            text=True).stdout.split()
        if len(fp) >= 2:
            fingerprints.append(f"{fp[1]} {fp[-1]}")
    return Scan(target, lines, fingerprints)


def _known_keys(known_hosts: Path, pattern: str) -> set[str]:
    """The keys (type + base64) known_hosts already holds for ``pattern``."""
    if not known_hosts.exists():
        return set()
    found = subprocess.run(["ssh-keygen", "-F", pattern, "-f", str(known_hosts)],
                           capture_output=True, text=True).stdout
    return {" ".join(ln.split()[1:3]) for ln in found.splitlines()
            if ln and not ln.startswith("#")}


def _classify(scan: Scan, known_hosts: Path) -> None:
    if scan.state == "failed":
        return
    target = scan.target
    assert target.address
    known = _known_keys(known_hosts, host_pattern(target.address, target.port))
    offered = {" ".join(ln.split()[1:3]) for ln in scan.lines}
    if not known:
        scan.state = "new"
    elif offered & known:
        scan.state = "known"
    else:
        scan.state = "changed"


def _read_expected(path: str) -> dict[str, set[str]]:
    """Out-of-band fingerprints: lines of ``court_id SHA256:...``."""
    expected: dict[str, set[str]] = {}
    for number, line in enumerate(Path(path).read_text().splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split()
        if len(parts) < 2 or not parts[1].startswith("SHA256:"):
            raise InputError(f"{path}:{number}: expected 'court_id SHA256:...', got {line!r}")
        expected.setdefault(parts[0], set()).add(parts[1])
    return expected


def _append(known_hosts: Path, lines: list[str]) -> None:
    """Add lines to known_hosts atomically (write a copy, then rename over)."""
    known_hosts.parent.mkdir(parents=True, exist_ok=True)
    old = known_hosts.read_text() if known_hosts.exists() else ""
    if old and not old.endswith("\n"):
        old += "\n"
    fd, tmp = tempfile.mkstemp(dir=known_hosts.parent, prefix=".known_hosts.")
    with os.fdopen(fd, "w") as handle:
        handle.write(old + "".join(line + "\n" for line in lines))
    os.chmod(tmp, 0o644)
    os.replace(tmp, known_hosts)


def enrol(args: argparse.Namespace) -> int:
    targets = [t for t in load_targets(args.inventory, args.limit, args.court, args.host)
               if not t.local]
    if not targets:
        raise InputError("nothing to enrol: give -i INVENTORY or --host ADDRESS")
    unaddressed = [t for t in targets if not t.address]
    targets = [t for t in targets if t.address]
    expected = _read_expected(args.expect) if args.expect else None
    by_file: dict[Path, list[Scan]] = {}
    with ThreadPoolExecutor(max_workers=min(32, len(targets) or 1)) as pool:
        scans = list(pool.map(lambda t: _keyscan(t, args.timeout), targets))
    for scan in scans:
        path = Path(args.known_hosts or scan.target.known_hosts
                    or Path.home() / ".ssh" / "known_hosts")
        _classify(scan, path)
        by_file.setdefault(path, []).append(scan)

    to_write: dict[Path, list[str]] = {}
    for path, file_scans in by_file.items():
        print(f"{path}:")
        for scan in file_scans:
            t = scan.target
            label = f"{t.court_id:28} {host_pattern(t.address or '', t.port):24}"
            if scan.state == "failed":
                print(f"  {label} no key: {scan.error}")
                continue
            if scan.state == "changed":
                print(f"  {label} HOST KEY CHANGED — not trusted; verify with the court, then "
                      f"remove the old entry (ssh-keygen -R '{host_pattern(t.address or '', t.port)}' "
                      f"-f {path}) and enrol again")
                continue
            if scan.state == "known":
                print(f"  {label} already pinned")
                continue
            if expected is not None:
                wanted = expected.get(t.court_id, set())
                offered = {fp.split()[0] for fp in scan.fingerprints}
                if not wanted & offered:
                    scan.state = "failed"
                    print(f"  {label} fingerprint does not match {args.expect}: "
                          f"{', '.join(scan.fingerprints)} — not trusted")
                    continue
            print(f"  {label} new: {', '.join(scan.fingerprints)}")
            to_write.setdefault(path, []).extend(scan.lines)

    for t in unaddressed:
        print(f"  {t.court_id:28} no address in the hosts file")
    new = sum(len(v) for v in to_write.values())
    if new and expected is None and not args.yes:
        if not sys.stdin.isatty():
            print("tepat: not writing: confirm the fingerprints above with the court "
                  "(or pass --expect FILE), then run again with --yes", file=sys.stderr)
            return 1
        answer = input(f"Pin {new} key(s) for the hosts marked new? Compare the fingerprints "
                       "with the ones the courts gave you. [y/N] ")
        if answer.strip().lower() not in ("y", "yes", "ya"):
            print("nothing written")
            return 1
    for path, lines in to_write.items():
        _append(path, lines)
    if new:
        print(f"pinned {new} key(s)")
    problems = [s for s in scans if s.state in ("failed", "changed")] + unaddressed
    return 1 if problems else 0


def add_parser(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    parser = sub.add_parser(
        "enrol", parents=[common], help="collect and pin host keys (trust on first use, confirmed)",
        description="Scan the SSH host keys of the inventory's servers, show their fingerprints "
        "and, once confirmed, pin them in the known_hosts file every other command verifies "
        "against. A key that changed is never replaced.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n  tepat enrol -i inventories/production.py --limit pt_ambon\n"
               "  tepat enrol -i inventories/production.py --expect fingerprints.txt\n"
               "  tepat enrol --host 10.20.30.40 --known-hosts ~/.ssh/known_hosts",
    )
    parser.add_argument("--limit", help="host or group names, comma-separated, globs allowed")
    parser.add_argument("--court", help="one court, by name or id")
    parser.add_argument("--host", help="one server by [user@]address[:port], outside the inventory")
    parser.add_argument("--known-hosts", help="known_hosts file to write (default: the inventory's)")
    parser.add_argument("--expect", metavar="FILE",
                        help="fingerprints obtained out of band, lines of 'court_id SHA256:...'")
    parser.add_argument("--yes", action="store_true",
                        help="pin without asking (after checking the fingerprints shown)")
    parser.add_argument("--timeout", type=int, default=5, help="seconds per host (default 5)")
    parser.set_defaults(func=enrol)
