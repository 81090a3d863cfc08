"""The lab's life cycle: up (and reconcile), down, status (ground truth), fault, reset.

A second, private lab can run beside the shared one in its own network namespace
(``nsenter --net=/run/netns/NAME`` or ``unshare --net``, never ``ip netns exec``) with
``TEPAT_LAB_DIR`` and ``TEPAT_LAB_INVENTORY`` set elsewhere.

State lives in one directory (default ``/var/lib/tepat/lab``, ``TEPAT_LAB_DIR`` overrides):
``state.json`` records every process the lab started (pid and start time), each host's
court, address, faults and overlay; beside it the lab's SSH key pair, the pinned
``known_hosts``, the accounts' password (0600), the CA, ``hosts.yaml`` and logs.
"""
from __future__ import annotations

import fcntl
import functools
import json
import os
import secrets as pysecrets
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import yaml

from tepat import PROJECT_ROOT
from tepat.courts import read_courts
from tepat.lab import faults as faultlib
from tepat.lab import cgroups, image, network, procs, provision
from tepat.lab.pki import ensure_pki, subject_hash
from tepat.lab.remote import nsenter, ssh_argv, wait_for_ssh_banner
from tepat.lab.sampler import (
    BRIDGE, DEAD_ADDRESS, MACHINE_ADDRESS, UNAPPROVED_NTP_ADDRESS, LabHost, parse_count, sample,
)

DEFAULT_STATE_DIR = Path("/var/lib/tepat/lab")
LAB_INVENTORY = PROJECT_ROOT / "inventories" / "lab.py"
SSH_USER = "tepat"
TECHNICIAN = "technician"
NTP_SERVERS = [MACHINE_ADDRESS]
RELAY_DELAY_MS = 75
# MariaDB is the heaviest service of a host: beyond this many hosts only every
# DATABASE_EVERY-th court (by its row in courts.csv) runs one (see docs/lab.md, memory).
DATABASE_ALL_UP_TO = 100
DATABASE_EVERY = 3

Log = Callable[[str], None]


def state_dir_from_env() -> Path:
    return Path(os.environ.get("TEPAT_LAB_DIR") or DEFAULT_STATE_DIR)


class LabError(RuntimeError):
    """The lab failed doing what was asked (a host did not boot ...): exit status 1."""


class LabInputError(LabError):
    """The request cannot start (not root, unknown host or fault ...): exit status 2."""


@contextmanager
def hold_lock(path: Path, wait_s: float):
    """Hold the lab's lock (flock on ``path``), waiting up to ``wait_s`` for another holder.

    Every `tepat lab` command takes it; tests that change hosts hold it too, so a reset from
    another session waits instead of re-creating hosts under them.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as handle:  # closing the file releases the lock
        deadline = time.monotonic() + wait_s
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise LabError(f"another `tepat lab` command is still working on "
                                   f"{path.parent}") from None
                time.sleep(0.5)
        yield


def database_courts(hosts: list[LabHost]) -> set[str]:
    if len(hosts) <= DATABASE_ALL_UP_TO:
        return {h.court_id for h in hosts}
    return {h.court_id for h in hosts if h.index % DATABASE_EVERY == 0}


def plan(count: int, seed: int, faults_mode: str) -> tuple[list[LabHost], dict[str, list[str]], set[str]]:
    """Hosts, faults per host and the hosts that run MariaDB for these parameters."""
    hosts = sample(count, seed)
    databases = database_courts(hosts)
    if faults_mode == "mix":
        mix = faultlib.plan_mix(hosts, seed, databases)
    else:
        mix = {h.court_id: [] for h in hosts}
    return hosts, mix, databases


def ground_truth_entry(record: dict, paths: "LabPaths") -> dict:
    """One host of ``tepat lab status --json`` (issue 3 §6), from its state record."""
    names = record["faults"]
    slow = any(faultlib.FAULTS[n].slow_link for n in names)
    return {
        "court_id": record["court_id"],
        "address": MACHINE_ADDRESS if slow else record["address"],
        "ssh_port": record["relay_port"] if slow else 22,
        "ssh_user": SSH_USER,
        "ssh_key": str(paths.key),
        "known_hosts": str(paths.known_hosts),
        "timezone": record["timezone"],
        "faults": list(names),
        "expected_failures": faultlib.expected_failures(names, record["database"]),
        "reachable": faultlib.reachable(names),
        "unreachable_reason": faultlib.unreachable_reason(names),
        # Beyond §6: what else a test needs to know about the host.
        "direct_address": record["address"],
        "machine": record["machine"],
        "database": record["database"],
        "not_applicable": [] if record["database"] else ["DB-TZ-01"],
    }


class LabPaths:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.state = root / "state.json"
        self.lock = root / "lock"
        self.key = root / "id_ed25519"
        self.known_hosts = root / "known_hosts"
        self.hosts_yaml = root / "hosts.yaml"
        self.password = root / "password"
        self.pki = root / "pki"
        self.hosts = root / "hosts"
        self.logs = root / "logs"
        self.ntp = root / "ntp"
        self.api_fail = root / "api-5xx"

    def host(self, court_id: str) -> Path:
        return self.hosts / court_id


class Lab:
    def __init__(self, state_dir: Path | None = None, log: Log | None = None,
                 inventory: Path | None = None) -> None:
        self.paths = LabPaths(Path(state_dir or state_dir_from_env()).resolve())
        self.inventory = inventory or Path(os.environ.get("TEPAT_LAB_INVENTORY") or LAB_INVENTORY)
        self.cgroup = cgroups.group_for(self.paths.root, DEFAULT_STATE_DIR)
        self.log = log or (lambda msg: print(msg, file=sys.stderr, flush=True))
        self.state: dict = self._load()

    # --- state ---------------------------------------------------------------------------

    def _load(self) -> dict:
        try:
            return json.loads(self.paths.state.read_text())
        except FileNotFoundError:
            return {"params": None, "hosts": {}, "services": {}}
        except PermissionError:
            raise LabInputError(f"cannot read {self.paths.state}: the lab's state is root's "
                                "(run with sudo)") from None

    def _save(self) -> None:
        self.paths.root.mkdir(parents=True, exist_ok=True)
        tmp = self.paths.state.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.state, indent=1, sort_keys=True))
        tmp.replace(self.paths.state)

    @contextmanager
    def _locked(self):
        # Several test sessions may share one lab: wait for the other command to finish.
        with hold_lock(self.paths.lock, float(os.environ.get("TEPAT_LAB_LOCK_WAIT", "900"))):
            self.state = self._load()
            try:
                yield
            finally:
                self._save()

    @staticmethod
    def _require_root() -> None:
        if os.geteuid() != 0:
            raise LabInputError("the lab needs root (containers, overlays, a bridge): run it with sudo")
        if not cgroups.hierarchies():
            # `ip netns exec` mounts a fresh /sys, hiding the cgroup file systems nspawn needs
            # (and its overlays would be invisible to the next command): enter only the netns.
            raise LabInputError("no cgroup file system under /sys/fs/cgroup (inside `ip netns exec`?); "
                                "enter a private lab's namespace with `nsenter --net=/run/netns/NAME` "
                                "instead (see docs/lab.md)")

    # --- shared material -----------------------------------------------------------------

    def _ensure_material(self) -> provision.LabSecrets:
        p = self.paths
        for d in (p.root, p.hosts, p.logs, p.ntp):
            d.mkdir(parents=True, exist_ok=True)
        p.root.chmod(0o700)
        if not p.key.exists():
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "tepat-lab",
                            "-f", str(p.key)], check=True)
        if not p.password.exists():
            fd = os.open(p.password, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as out:
                out.write(pysecrets.token_urlsafe(15) + "\n")
        password = p.password.read_text().strip()
        hashed = subprocess.run(["openssl", "passwd", "-6", "-stdin"], input=password,
                                capture_output=True, text=True, check=True).stdout.strip()
        pki = ensure_pki(p.pki)
        return provision.LabSecrets(
            ssh_public_key=p.key.with_suffix(".pub").read_text().strip(),
            password_hash=hashed,
            ca_pem=pki["ca_cert"].read_text(),
            ca_hash=subject_hash(pki["ca_cert"]),
        )

    def _ensure_services(self) -> None:
        """The lab NTP servers and the API stand-in, started unless still running."""
        services = self.state.setdefault("services", {})
        for name, address in (("ntp", MACHINE_ADDRESS), ("ntp-unapproved", UNAPPROVED_NTP_ADDRESS)):
            if procs.alive(services.get(name)):
                continue
            conf = self.paths.ntp / f"{name}.conf"
            conf.write_text(
                "# tepat lab NTP server: serves the machine's clock, never sets it (-x)\n"
                f"bindaddress {address}\nallow 10.77.0.0/16\nlocal stratum 8\ncmdport 0\n"
                f"pidfile {self.paths.ntp / (name + '.pid')}\n"
            )
            services[name] = procs.spawn(["chronyd", "-x", "-d", "-u", "root", "-f", str(conf)],
                                         self.paths.logs / f"{name}.log")
        if not procs.alive(services.get("api")):
            pki = ensure_pki(self.paths.pki)
            self.paths.api_fail.touch()
            services["api"] = procs.spawn(
                [sys.executable, "-m", "tepat.lab.api", "--bind", MACHINE_ADDRESS, "--port", "443",
                 "--cert", str(pki["cert"]), "--key", str(pki["key"]),
                 "--fail-file", str(self.paths.api_fail)],
                self.paths.logs / "api.log", env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
            )
        self._save()

    # --- one host ------------------------------------------------------------------------

    def _mount(self, court_id: str) -> Path:
        hostdir = self.paths.host(court_id)
        upper, work, merged = hostdir / "upper", hostdir / "work", hostdir / "root"
        for d in (upper, work, merged):
            d.mkdir(parents=True, exist_ok=True)
        if not os.path.ismount(merged):
            subprocess.run(["mount", "-t", "overlay", "overlay", "-o",
                            f"lowerdir={image.rootfs()},upperdir={upper},workdir={work}", str(merged)],
                           check=True, capture_output=True, text=True)
        return merged

    def _create(self, host: LabHost, names: list[str], database: bool,
                secrets: provision.LabSecrets, base_bundle: str) -> dict:
        """Provision one host's overlay (not yet booted); its state record."""
        merged = self._mount(host.court_id)
        files = provision.HostFiles(merged)
        host_key = provision.provision(files, host, secrets, base_bundle, NTP_SERVERS,
                                       MACHINE_ADDRESS, database)
        ctx = faultlib.FaultContext(host, files, secrets, base_bundle, database)
        for name in names:
            fault = faultlib.FAULTS[name]
            if fault.prepare:
                fault.prepare(ctx)
        return {
            "court_id": host.court_id, "index": host.index, "machine": host.machine,
            "address": host.address, "timezone": host.court.timezone, "faults": list(names),
            "database": database, "image": image.image_key(), "host_key": host_key,
            "relay_port": host.relay_port, "nspawn": None, "leader": None, "relay": None,
        }

    def _boot(self, record: dict) -> None:
        """Start the container; fills in the nspawn and leader pid records."""
        merged = self.paths.host(record["court_id"]) / "root"
        cmd = [
            "systemd-nspawn", "--quiet", "-D", str(merged), "-M", record["machine"],
            f"--hostname={record['court_id']}", "--boot", "--register=no", "--keep-unit",
            f"--network-bridge={BRIDGE}", "--timezone=off", "--resolv-conf=off",
            "--link-journal=no", "--console=read-only",
        ]
        network.remove_veth(record["machine"])
        cmd = cgroups.wrap(cmd, cgroups.create(self.cgroup, record["machine"]))
        record["nspawn"] = procs.spawn(cmd, self.paths.host(record["court_id"]) / "console.log")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            for child in procs.children(record["nspawn"]["pid"]):
                if procs.is_namespace_init(child):
                    record["leader"] = procs.ref(child)
                    return
            if not procs.alive(record["nspawn"]):
                break
            time.sleep(0.05)
        raise LabError(f"{record['court_id']}: systemd-nspawn did not start a container "
                       f"(see {self.paths.host(record['court_id']) / 'console.log'})")

    def _bring_up(self, record: dict) -> None:
        """Boot (unless the host is down on purpose), wait for SSH, then after-boot faults."""
        names = record["faults"]
        if not faultlib.boots(names):
            return
        self._boot(record)
        if not wait_for_ssh_banner(record["address"], 22, timeout=180):
            raise LabError(f"{record['court_id']}: no SSH on {record['address']} after 180 s "
                           f"(see {self.paths.host(record['court_id']) / 'console.log'})")
        files = provision.HostFiles(self.paths.host(record["court_id"]) / "root")
        host = LabHost(_courts()[record["court_id"]], record["index"])
        ctx = faultlib.FaultContext(host, files, None, "", record["database"],  # type: ignore[arg-type]
                                    run=lambda cmd: nsenter(record["leader"]["pid"], cmd))
        for name in names:
            fault = faultlib.FAULTS[name]
            if fault.after_boot:
                fault.after_boot(ctx)
        if any(faultlib.FAULTS[n].slow_link for n in names):
            record["relay"] = procs.spawn(
                [sys.executable, "-m", "tepat.lab.relay",
                 "--listen", f"{MACHINE_ADDRESS}:{record['relay_port']}",
                 "--target", f"{record['address']}:22", "--delay-ms", str(RELAY_DELAY_MS)],
                self.paths.logs / f"relay-{record['court_id']}.log",
                env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
            )

    def _destroy_many(self, court_ids: list[str]) -> None:
        """Stop hosts' processes, unmount and delete their overlays (safe if half there).

        All hosts at once: every signal first, then one wait, so 382 hosts take seconds.
        """
        records = [self.state["hosts"].pop(c, None) or {"court_id": c} for c in court_ids]
        for record in records:
            # Ending the container's PID 1 ends every process in it; nspawn then exits.
            for key in ("relay", "leader", "nspawn"):
                if procs.alive(record.get(key)):
                    os.kill(record[key]["pid"], signal.SIGKILL)
            for pid in cgroups.pids(self.cgroup, record["machine"]) if record.get("machine") else ():
                _kill(pid)
        for record in records:
            for key in ("relay", "leader", "nspawn"):
                procs.stop(record.get(key), timeout=0, sig=signal.SIGKILL)  # waits until gone
            if record.get("machine"):
                _kill_strays(self.paths.host(record["court_id"]), self.cgroup, record["machine"],
                             scan_proc=False)
        for record in records:
            hostdir = self.paths.host(record["court_id"])
            _unmount_under(hostdir)
            if record.get("machine"):
                cgroups.remove(self.cgroup, record["machine"])
            shutil.rmtree(hostdir, ignore_errors=True)

    def _healthy(self, record: dict) -> bool:
        if record.get("image") != image.image_key():
            return False
        if not os.path.ismount(self.paths.host(record["court_id"]) / "root"):
            return False
        if not faultlib.boots(record["faults"]):
            return True
        if not (procs.alive(record.get("nspawn")) and procs.alive(record.get("leader"))):
            return False
        if any(faultlib.FAULTS[n].slow_link for n in record["faults"]):
            return procs.alive(record.get("relay"))
        return True

    # --- commands ------------------------------------------------------------------------

    def up(self, courts: str | int, seed: int, faults_mode: str, wait: bool = True) -> int:
        self._require_root()
        count = parse_count(courts, len(read_courts()))
        with self._locked():
            started = time.monotonic()
            rootfs = image.ensure_image(self.log)
            secrets = self._ensure_material()
            network.raise_limits()
            network.ensure_bridge()
            self._ensure_services()
            hosts, mix, databases = plan(count, seed, faults_mode)
            self.state["params"] = {"courts": count, "seed": seed, "faults": faults_mode}
            wanted = {h.court_id: h for h in hosts}
            keep, stale = [], []
            for court_id, record in list(self.state["hosts"].items()):
                same = (court_id in wanted and record["faults"] == mix[court_id]
                        and record["database"] == (court_id in databases))
                (keep if same and self._healthy(record) else stale).append(court_id)
            self._destroy_many(stale)
            self._save()
            todo = [h for h in hosts if h.court_id not in keep]
            if keep:
                self.log(f"lab: {len(keep)} host(s) already up as planned, kept")
            self._create_and_boot(todo, mix, databases, secrets, rootfs)
            self._write_outputs()
            if wait:
                self._wait_ready([self.state["hosts"][h.court_id] for h in todo])
            used = {r.get("image") for r in self.state["hosts"].values()}
            for stale in image.stale_images():
                if stale.name.removeprefix("base-") not in used:
                    shutil.rmtree(stale, ignore_errors=True)
            self.log(f"lab: {len(hosts)} host(s) up in {time.monotonic() - started:.0f} s; "
                     f"inventory {self.inventory}")
        return 0

    def _create_and_boot(self, todo: list[LabHost], mix: dict[str, list[str]], databases: set[str],
                         secrets: provision.LabSecrets, rootfs: Path) -> None:
        if not todo:
            return
        base_bundle = (rootfs / "etc/ssl/certs/ca-certificates.crt").read_text()
        self.log(f"lab: provisioning {len(todo)} host(s)")
        records = {}
        try:
            with ThreadPoolExecutor(max_workers=8) as pool:
                futures = {h.court_id: pool.submit(self._create, h, mix[h.court_id],
                                                   h.court_id in databases, secrets, base_bundle)
                           for h in todo}
                for court_id, future in futures.items():
                    records[court_id] = future.result()
                    self.state["hosts"][court_id] = records[court_id]
        finally:
            self._save()
        self.log(f"lab: booting {len(todo)} host(s)")
        window = max(16, 12 * (os.cpu_count() or 2))
        errors = []
        try:
            with ThreadPoolExecutor(max_workers=window) as pool:
                futures = [pool.submit(self._bring_up, records[h.court_id]) for h in todo]
                for future in futures:
                    try:
                        future.result()
                    except Exception as exc:  # noqa: BLE001 - report every host, then fail
                        errors.append(str(exc))
        finally:
            self._save()
        if errors:
            raise LabError("; ".join(errors))

    def _wait_ready(self, records: list[dict]) -> None:
        """Wait until each started host's systemd is up and, where chrony should be synced, it is."""
        targets = [r for r in records if faultlib.boots(r["faults"]) and faultlib.reachable(r["faults"])]
        if not targets:
            return
        self.log(f"lab: waiting for {len(targets)} host(s) to finish booting and sync")
        ntp_faulty = {"chrony-missing", "chrony-stopped", "ntp-unreachable"}

        def ready(record: dict) -> str | None:
            script = "systemctl is-system-running --wait >/dev/null 2>&1; "
            if not ntp_faulty & set(record["faults"]):
                script += "chronyc -n waitsync 60 0 0 1 >/dev/null || echo chrony-not-synced; "
            script += "systemctl --failed --plain --no-legend | awk '{print $1}'"
            result = subprocess.run(
                ssh_argv(record["address"], 22, "root", str(self.paths.key),
                         str(self.paths.known_hosts), script),
                capture_output=True, text=True, timeout=240,
            )
            problems = result.stdout.split()
            if result.returncode != 0 and not problems:
                problems = [f"ssh status {result.returncode}: {result.stderr.strip()}"]
            return f"{record['court_id']}: {' '.join(problems)}" if problems else None

        with ThreadPoolExecutor(max_workers=16) as pool:
            for problem in pool.map(ready, targets):
                if problem:
                    self.log(f"lab: warning: {problem}")

    def _write_outputs(self) -> None:
        """known_hosts, hosts.yaml, inventories/lab.py and the API's fail file."""
        records = sorted(self.state["hosts"].values(), key=lambda r: r["index"])
        lines = []
        for r in records:
            key = " ".join(r["host_key"].split()[:2])
            lines.append(f"{r['address']} {key}")
            if any(faultlib.FAULTS[n].slow_link for n in r["faults"]):
                lines.append(f"[{MACHINE_ADDRESS}]:{r['relay_port']} {key}")
        self.paths.known_hosts.write_text("\n".join(lines) + "\n")
        courts = {}
        for r in records:
            entry = ground_truth_entry(r, self.paths)
            courts[r["court_id"]] = {"address": entry["address"]}
            if entry["ssh_port"] != 22:
                courts[r["court_id"]]["ssh_port"] = entry["ssh_port"]
        hosts_yaml = {
            "defaults": {"ssh_user": SSH_USER, "ssh_port": 22, "ssh_key": str(self.paths.key),
                         "known_hosts": str(self.paths.known_hosts), "ntp_servers": NTP_SERVERS},
            "only_listed": True,
            "courts": courts,
        }
        self.paths.hosts_yaml.write_text(
            "# written by `tepat lab up`: the lab's courts and how to reach them\n"
            + yaml.safe_dump(hosts_yaml, sort_keys=False))
        self.inventory.write_text(
            '"""pyinfra inventory of the lab (written by `tepat lab up`; not in git)."""\n'
            "from tepat.inventory import pyinfra_groups\n\n"
            f"globals().update(pyinfra_groups({str(self.paths.hosts_yaml)!r}))\n")
        fail = [r["address"] for r in records if "api-5xx" in r["faults"]]
        self.paths.api_fail.write_text("".join(a + "\n" for a in fail))

    def down(self) -> int:
        self._require_root()
        with self._locked():
            hosts = list(self.state.get("hosts", {}))
            # What a crash left unrecorded first (the lab's cgroups, inits rooted in our
            # overlays, nspawns on them), then every recorded host.
            _kill_strays(self.paths.hosts, self.cgroup, None, scan_proc=True)
            self._destroy_many(hosts)
            for name, record in list(self.state.get("services", {}).items()):
                procs.stop(record, timeout=5)
                self.state["services"].pop(name)
            _kill_strays(self.paths.hosts, self.cgroup, None, scan_proc=False)
            _unmount_under(self.paths.hosts)
            cgroups.remove(self.cgroup)
            shutil.rmtree(self.paths.hosts, ignore_errors=True)
            network.remove_bridge()
            for path in (self.paths.hosts_yaml, self.paths.known_hosts, self.paths.api_fail, self.inventory):
                path.unlink(missing_ok=True)
            self.state["params"] = None
            self.log(f"lab: down ({len(hosts)} host(s) removed)")
        return 0

    def status(self) -> dict:
        """Ground truth (issue 3 §6), plus what the lab is and whether it runs."""
        records = sorted(self.state.get("hosts", {}).values(), key=lambda r: r["index"])
        hosts = []
        for r in records:
            entry = ground_truth_entry(r, self.paths)
            entry["running"] = procs.alive(r.get("leader"))
            hosts.append(entry)
        services = {n: procs.alive(rec) for n, rec in self.state.get("services", {}).items()}
        return {
            "hosts": hosts,
            "lab": {
                "state_dir": str(self.paths.root),
                "params": self.state.get("params"),
                "inventory": str(self.inventory),
                "hosts_yaml": str(self.paths.hosts_yaml),
                "ssh_key": str(self.paths.key),
                "known_hosts": str(self.paths.known_hosts),
                "ntp_servers": NTP_SERVERS,
                "api": {"host": "apis.mahkamahagung.go.id", "address": MACHINE_ADDRESS,
                        "ca_cert": str(self.paths.pki / "ca.pem")},
                "dead_address": DEAD_ADDRESS,
                "unapproved_ntp_address": UNAPPROVED_NTP_ADDRESS,
                "accounts": {
                    "key_user": SSH_USER, "password_users": [SSH_USER, TECHNICIAN],
                    "password_file": str(self.paths.password),
                    "password": self.paths.password.read_text().strip()
                    if self.paths.password.exists() else None,
                    "sudo_asks_password": [TECHNICIAN],
                },
                "services": services,
                "bridge": BRIDGE if network.bridge_exists() else None,
                "cgroup": self.cgroup,
            },
        }

    def set_faults(self, court_id: str, names: list[str], add: bool = True) -> int:
        """Re-create one host with these faults (added to its own, or replacing them)."""
        self._require_root()
        bad = faultlib.unknown(names)
        if bad:
            raise LabInputError(f"unknown fault {bad[0]!r}; `tepat lab fault --list` lists them")
        with self._locked():
            record = self.state["hosts"].get(court_id)
            if record is None:
                raise LabInputError(f"{court_id} is not a lab host; `tepat lab status` lists them")
            wanted = sorted(set(record["faults"]) | set(names)) if add else sorted(set(names))
            why = faultlib.compatible(wanted)
            if not why and not record["database"] and any(faultlib.FAULTS[n].needs_database for n in wanted):
                why = "this host runs no MariaDB"
            if why:
                raise LabInputError(f"{court_id}: cannot combine {', '.join(wanted)}: {why}")
            self._recreate([court_id], {court_id: wanted})
        return 0

    def reset(self, court_ids: list[str] | None = None, clean: bool = False) -> int:
        """Re-create hosts from a fresh overlay, with their faults (or none if ``clean``)."""
        self._require_root()
        with self._locked():
            ids = court_ids or list(self.state["hosts"])
            missing = [c for c in ids if c not in self.state["hosts"]]
            if missing:
                raise LabInputError(f"{missing[0]} is not a lab host; `tepat lab status` lists them")
            self._recreate(ids, {c: [] if clean else self.state["hosts"][c]["faults"] for c in ids})
        return 0

    def _recreate(self, court_ids: list[str], faults: dict[str, list[str]]) -> None:
        if not self.state.get("params"):
            raise LabInputError("the lab is not up: run `tepat lab up` first")
        rootfs = image.ensure_image(self.log)
        secrets = self._ensure_material()
        network.ensure_bridge()
        self._ensure_services()
        courts = _courts()
        hosts, databases = [], set()
        for court_id in court_ids:
            record = self.state["hosts"][court_id]
            hosts.append(LabHost(courts[court_id], record["index"]))
            if record["database"]:
                databases.add(court_id)
        self._destroy_many(court_ids)
        self._create_and_boot(hosts, faults, databases, secrets, rootfs)
        self._write_outputs()
        self._wait_ready([self.state["hosts"][c] for c in court_ids])


@functools.lru_cache(maxsize=1)
def _courts() -> dict:
    return {c.court_id: c for c in read_courts()}


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _kill_strays(under: Path, group: str, machine: str | None, scan_proc: bool) -> None:
    """SIGKILL what a crash may have left of *our* containers under ``under``.

    Only processes in the lab's cgroups (one container's if ``machine``), container inits
    whose root directory is one of our overlays, and a systemd-nspawn started on one of them
    qualify (the last two only with ``scan_proc``: a walk of /proc). Nothing is matched by name.
    """
    for pid in cgroups.pids(group, machine):
        _kill(pid)
    if scan_proc:
        _kill_by_root(under)
    # Killed processes leave their cgroup asynchronously; the cgroup can only go once empty.
    deadline = time.monotonic() + 10
    while cgroups.pids(group, machine) and time.monotonic() < deadline:
        procs.reap()
        time.sleep(0.05)


def _kill_by_root(under: Path) -> None:
    prefix = str(under.resolve())
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        pid = int(entry.name)
        try:
            root = os.readlink(entry / "root")
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except (FileNotFoundError, PermissionError, ProcessLookupError):
            continue
        ours = (root.startswith(prefix + "/") and procs.is_namespace_init(pid)) or (
            argv and argv[0].endswith(b"systemd-nspawn")
            and any(a.decode(errors="replace").startswith(prefix + "/") for a in argv))
        if ours:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    time.sleep(0.2)


def _unmount_under(under: Path) -> None:
    prefix = str(under.resolve())
    mounts = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        point = line.split()[4].replace("\\040", " ")
        if point == prefix or point.startswith(prefix + "/"):
            mounts.append(point)
    for point in sorted(mounts, key=len, reverse=True):
        if subprocess.run(["umount", point], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", point], capture_output=True)


def mounts_under(under: Path) -> list[str]:
    prefix = str(under.resolve())
    return [line.split()[4] for line in Path("/proc/self/mountinfo").read_text().splitlines()
            if line.split()[4].startswith(prefix + "/")]
