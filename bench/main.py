"""bench/run: time tepat against the SSH floor and against Ansible on the lab (issue 7).

    sudo bench/run --courts 50,100,382 --json results.json
    sudo bench/run --courts 20 --repeat 1 --skip-ansible --latency 0      # a quick look
    sudo bench/run --use-running-lab --skip-fix --repeat 1                # read-only, shared lab

For each N: the lab comes up clean (``tepat lab up --courts N``), then with the fault mix
(``--faults mix --seed S``); each figure is measured ``--repeat`` times and its median kept.
Clean fleet: floor (one ssh + true per host at tepat check's parallelism, and at tepat fix's),
``tepat check``, ``tepat fix`` once (warm-up, must change nothing), then the no-op fix, then
Ansible's check; then every host behind a 150 ms relay: floor, check, no-op fix again.
Faulty fleet: floor, ``tepat check``, then ``tepat fix`` on the drifted fleet (the drifted hosts
are re-created with ``tepat lab reset`` before each repeat) and Ansible's fix the same way.
Ratios are taken within the run. Results: a table, results.json, a PNG chart, logs in
bench/logs/<time>/. Run as root from the project root.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import yaml

from bench import floor, inventories, measure, stats
from tepat import PROJECT_ROOT

BENCH = PROJECT_ROOT / "bench"
TEPAT = [str(PROJECT_ROOT / ".venv" / "bin" / "tepat")]
PYTHON = str(PROJECT_ROOT / ".venv" / "bin" / "python")
BENCH_VENV = BENCH / ".venv"
ANSIBLE_PLAYBOOK = BENCH_VENV / "bin" / "ansible-playbook"
LAB_INVENTORY = str(PROJECT_ROOT / "inventories" / "lab.py")
# Faults tepat fix cannot (and must not) repair: hosts with only these stay as they were,
# so they need no re-creation between fix repeats.
UNFIXABLE = {"api-5xx", "host-down", "ssh-auth-broken", "api-no-dns", "api-dead-address",
             "ca-untrusted", "slow-link", "db-wrong-timezone"}
CHECK_WORKERS = 48  # tepat check --workers default (tepat/check.py)
FIX_PARALLEL_PER_CPU = 20  # pyinfra's default, which tepat fix keeps (tepat/fix.py --parallel 0)


def log(msg: str) -> None:
    print(f"[{datetime.now(timezone.utc):%H:%M:%S}] {msg}", flush=True)


def tepat_check_workers() -> int:
    """The parallelism ``tepat check`` uses by default, read from its own parser."""
    from tepat import check
    root = argparse.ArgumentParser()
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-i", "--inventory")
    check.add_parser(root.add_subparsers(dest="cmd"), common)
    return root.parse_args(["check"]).workers or CHECK_WORKERS


def tepat_fix_parallel(hosts: int) -> int:
    """pyinfra's default parallelism, which ``tepat fix`` keeps: 20 per CPU, at most the hosts."""
    return max(1, min((os.cpu_count() or 1) * FIX_PARALLEL_PER_CPU, hosts))


class Deadline(Exception):
    pass


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        self.logdir = Path(args.log_dir or BENCH / "logs" / stamp)
        self.logdir.mkdir(parents=True, exist_ok=True)
        self.work = Path(tempfile.mkdtemp(prefix="tepat-bench-"))
        self.runs: list[dict[str, Any]] = []
        self.notes: list[str] = []
        self.relays: list[subprocess.Popen] = []
        self.deadline = None
        if args.deadline:
            hh, mm = (int(x) for x in args.deadline.split(":"))
            now = datetime.now(timezone.utc)
            self.deadline = now.replace(hour=hh, minute=mm, second=0, microsecond=0)
        self.check_workers = tepat_check_workers()
        self.lab_group: str | None = None  # the lab's cgroup: its hosts' CPU
        self.counter = 0
        self.inventory = args.lab_inventory or (
            str(Path(args.lab_dir) / "lab.py") if args.lab_dir else LAB_INVENTORY)

    # --- plumbing --------------------------------------------------------------------------

    def note(self, text: str) -> None:
        log("note: " + text)
        self.notes.append(text)

    def guard(self, what: str) -> None:
        if self.deadline and datetime.now(timezone.utc) >= self.deadline:
            raise Deadline(f"deadline {self.args.deadline} UTC reached before {what}")

    def logfile(self, name: str) -> str:
        self.counter += 1
        return str(self.logdir / f"{self.counter:03d}-{name}.log")

    def lab(self, name: str):
        """The lab (tepat.lab.lab.Lab: what `tepat lab` runs), its messages to a log file.

        Through the API rather than `tepat lab` so that a private lab (``--lab-dir``, in its
        own network namespace) can write its inventory elsewhere than inventories/lab.py."""
        from tepat.lab.lab import Lab
        path = self.logfile(name)

        def write(msg: str) -> None:
            with open(path, "a") as out:
                out.write(f"{datetime.now(timezone.utc):%H:%M:%S} {msg}\n")

        return Lab(self.args.lab_dir, log=write, inventory=Path(self.inventory))

    def lab_status(self) -> dict[str, Any]:
        from tepat.lab.lab import Lab
        return Lab(self.args.lab_dir, log=lambda m: None, inventory=Path(self.inventory)).status()

    def lab_up(self, courts: int, faults: str) -> dict[str, Any]:
        self.guard(f"lab up {courts} {faults}")
        log(f"lab up --courts {courts} --faults {faults} --seed {self.args.seed}")
        started = time.monotonic()
        try:
            self.lab(f"lab-up-{courts}-{faults}").up(courts, self.args.seed, faults)
        except Exception as exc:  # noqa: BLE001 - a boot can fail under load: reconcile once more
            self.note(f"lab up {courts} {faults} failed ({str(exc)[:200]}); retrying once")
            time.sleep(10)
            self.lab(f"lab-up-{courts}-{faults}-retry").up(courts, self.args.seed, faults)
        log(f"  lab up took {time.monotonic() - started:.0f} s")
        status = self.lab_status()
        if len(status["hosts"]) != courts:
            raise RuntimeError(f"lab has {len(status['hosts'])} hosts, wanted {courts}")
        return status

    def redrift(self, status: dict[str, Any]) -> None:
        """Re-create the hosts a fix changed, with their faults (``tepat lab reset``)."""
        hosts = [h["court_id"] for h in status["hosts"] if set(h["faults"]) - UNFIXABLE]
        self.guard("lab reset")
        started = time.monotonic()
        self.lab("lab-reset").reset(hosts)
        log(f"  re-created {len(hosts)} drifted host(s) in {time.monotonic() - started:.0f} s")

    def wait_idle(self) -> None:
        """Wait while another helper's pytest runs (the lab is shared)."""
        me = os.getpid()
        while True:
            out = subprocess.run(["pgrep", "-f", "pytest"], capture_output=True, text=True).stdout.split()
            others = [p for p in out if int(p) != me]
            if not others:
                return
            log(f"waiting: pytest running (pids {' '.join(others)})")
            time.sleep(30)

    # --- measured commands -----------------------------------------------------------------

    @staticmethod
    def cpu(into: tuple[dict, str] | None, controller: float, hosts: float | None) -> None:
        """File one run's CPU split: ``<figure>_cpu_s`` (the controller: tepat and its ssh
        clients) and ``<figure>_hosts_cpu_s`` (every lab host together)."""
        if into is None:
            return
        samples, figure = into
        samples.setdefault(f"{figure}_cpu_s", []).append(controller)
        if hosts is not None:
            samples.setdefault(f"{figure}_hosts_cpu_s", []).append(hosts)

    def timed(self, argv: list[str], name: str, env: dict[str, str] | None = None,
              ok_codes: tuple[int, ...] = (0,), stdout_json: bool = False,
              cpu: tuple[dict, str] | None = None) -> tuple[measure.Measurement, Any]:
        path = self.logfile(name)
        out_path = path[:-4] + ".json" if stdout_json else None
        m = measure.run(argv, path, env=env, stdout_path=out_path, cpu_group=self.lab_group)
        self.cpu(cpu, m.cpu_s, m.group_cpu_s)
        parsed = None
        if out_path:
            try:
                parsed = json.loads(Path(out_path).read_text())
            except (OSError, ValueError):
                parsed = None
        cg = "-" if m.cgroup_peak_mb is None else f"{m.cgroup_peak_mb:.0f}"
        hosts = "-" if m.group_cpu_s is None else f"{m.group_cpu_s:.1f}"
        log(f"  {name}: {m.seconds:.2f} s (exit {m.returncode}, memory peak {cg} MB, "
            f"tree RSS sum {m.tree_rss_mb:.0f} MB, largest process {m.max_rss_mb:.0f} MB, "
            f"CPU {m.cpu_s:.1f} s here + {hosts} s on the hosts)")
        if m.returncode not in ok_codes:
            self.note(f"{name}: exit {m.returncode}, expected {ok_codes}; see {path}")
        return m, parsed

    def check(self, inventory: str, name: str, expect: int,
              cpu: tuple[dict, str] | None = None) -> measure.Measurement:
        out = Path(self.logdir / f"{self.counter + 1:03d}-{name}.report.json")
        m, _ = self.timed(TEPAT + ["check", "-i", inventory, "--no-progress", "--format", "json",
                                   "-o", str(out), "--history", str(self.work / "history.sqlite")],
                          name, ok_codes=(expect,), cpu=cpu)
        try:
            hosts = json.loads(out.read_text())["hosts"]
            counts: dict[str, int] = {}
            for h in hosts:
                counts[h["status"]] = counts.get(h["status"], 0) + 1
            log(f"    check found: {counts}")
        except (OSError, ValueError, KeyError):
            self.note(f"{name}: no JSON report")
        return m

    def fix(self, inventory: str, name: str, expect_changes: bool | None,
            cpu: tuple[dict, str] | None = None) -> measure.Measurement:
        m, report = self.timed(TEPAT + ["fix", "-i", inventory, "-y", "--format", "json"], name,
                               ok_codes=(0, 1), stdout_json=True, cpu=cpu)
        if report:
            counts: dict[str, int] = {}
            for h in report.get("hosts", []):
                counts[h.get("status", "?")] = counts.get(h.get("status", "?"), 0) + 1
            log(f"    fix result: {counts}")
            if expect_changes is False and counts.get("changed"):
                self.note(f"{name}: a no-op fix changed {counts['changed']} host(s)")
            if expect_changes and not counts.get("changed"):
                self.note(f"{name}: the fix of a drifted fleet changed nothing")
        else:
            self.note(f"{name}: no JSON report from tepat fix")
        return m

    def ansible(self, playbook: str, inventory_doc: dict[str, Any], name: str,
                cpu: tuple[dict, str] | None = None) -> measure.Measurement:
        inv = self.work / "ansible-inventory.yml"
        inv.write_text(yaml.safe_dump(inventory_doc, sort_keys=False))
        # A fresh control-socket directory per run: no connection survives from a previous run.
        env = {**os.environ,
               "ANSIBLE_CONFIG": str(BENCH / "ansible" / "ansible.cfg"),
               "ANSIBLE_SSH_CONTROL_PATH_DIR": tempfile.mkdtemp(prefix="cp-", dir=self.work),
               "ANSIBLE_LOCAL_TEMP": tempfile.mkdtemp(prefix="tmp-", dir=self.work),
               "ANSIBLE_HOME": str(self.work / "ansible-home"),
               "ANSIBLE_FORKS": str(self.args.ansible_forks)}
        m, _ = self.timed([str(ANSIBLE_PLAYBOOK), "-i", str(inv), str(BENCH / "ansible" / playbook)],
                          name, env=env, ok_codes=(0, 2, 4), cpu=cpu)
        log(f"    ansible recap: {recap_counts(Path(self.logdir / f'{self.counter:03d}-{name}.log').read_text())}")
        return m

    def floor(self, inventory: str, workers: int, name: str,
              cpu: tuple[dict, str] | None = None) -> float:
        before = measure.cgroup_cpu_s(self.lab_group)
        result = floor.measure(inventory, workers)
        hosts = measure.cgroup_cpu_since(self.lab_group, before)
        self.cpu(cpu, result.cpu_s, hosts)
        log(f"  {name}: {result.seconds:.2f} s ({result.hosts} hosts, {result.failed} failed, "
            f"{workers} at a time, CPU {result.cpu_s:.1f} s here + "
            f"{'-' if hosts is None else f'{hosts:.1f}'} s on the hosts)")
        return result.seconds

    @staticmethod
    def memory(run: dict, ms: list[measure.Measurement]) -> None:
        """File the memory of tepat runs: the tree's RSS sum (peak_rss_mb, an upper bound: shared
        pages count once per process) and the memory charged to its cgroup (memory_peak_mb)."""
        run["rss"] += [m.tree_rss_mb for m in ms]
        run["cg"] += [m.cgroup_peak_mb for m in ms if m.cgroup_peak_mb is not None]
        run["max_single_rss_mb"] = max([m.max_rss_mb for m in ms] + [run.get("max_single_rss_mb") or 0])

    def repeat(self, n: int, name: str, fn) -> list[Any]:
        """``fn(name-i)`` n times, a cooldown after each (masters of the last run idle out)."""
        out = []
        for i in range(n):
            self.guard(name)
            out.append(fn(f"{name}-{i + 1}"))
            time.sleep(self.args.cooldown)
        return out

    # --- relays (150 ms) -------------------------------------------------------------------

    def start_relays(self, status: dict[str, Any], latency_ms: int) -> str:
        plan = inventories.relay_plan(status)
        plan_path = self.work / "relay-plan.json"
        plan_path.write_text(json.dumps(plan))
        kh = self.work / "known_hosts-relayed"
        kh.write_text(inventories.relayed_known_hosts(
            Path(status["lab"]["known_hosts"]).read_text(), status, plan))
        hosts_yaml = self.work / "hosts-relayed.yaml"
        hosts_yaml.write_text(yaml.safe_dump(inventories.relayed_hosts_yaml(status, plan, str(kh)),
                                             sort_keys=False))
        inventory = self.work / "lab_relayed.py"
        inventory.write_text(inventories.pyinfra_inventory_source(str(hosts_yaml)))
        parts = max(1, min(self.args.relay_procs, len(plan)))
        env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
        for i in range(parts):
            logf = open(self.logdir / f"relay-{i}.log", "w")
            self.relays.append(subprocess.Popen(
                [PYTHON, "-m", "bench.relays", str(plan_path), "--delay-ms", str(latency_ms / 2),
                 "--part", f"{i}/{parts}"], stdout=logf, stderr=subprocess.STDOUT, env=env,
                stdin=subprocess.DEVNULL))
        deadline = time.monotonic() + 60
        pending = [port for _, port, _, _ in plan]
        while pending and time.monotonic() < deadline:
            pending = [p for p in pending if not _listening(p)]
            time.sleep(0.2)
        if pending:
            raise RuntimeError(f"{len(pending)} relay port(s) not listening after 60 s")
        log(f"  {len(plan)} relays up ({latency_ms} ms round trip, {parts} process(es))")
        return str(inventory)

    def stop_relays(self) -> None:
        for proc in self.relays:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.relays:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.relays = []

    # --- phases ----------------------------------------------------------------------------

    def clean_phase(self, courts: int, status: dict[str, Any], run0: dict, read_only: bool) -> None:
        a, r = self.args, self.args.repeat
        s0 = run0["samples"]
        inv = self.inventory
        fix_par = tepat_fix_parallel(courts)
        expect = 1 if read_only else 0  # the running lab has its faults; a clean one has none
        if a.warmup:
            log("warm-up (not counted)")
            run0["warmup"]["floor_s"] = self.floor(inv, self.check_workers, "warmup-floor")
            run0["warmup"]["check_s"] = self.check(inv, "warmup-check", expect).seconds
        s0["floor_s"] = self.repeat(r, "floor", lambda nm: self.floor(inv, self.check_workers, nm, (s0, "floor")))
        if fix_par != min(self.check_workers, courts) and not a.skip_fix:
            s0["floor_fix_s"] = self.repeat(r, "floor-fix-parallel",
                                            lambda nm: self.floor(inv, fix_par, nm))
        ms = self.repeat(r, "check", lambda nm: self.check(inv, nm, expect, (s0, "check")))
        s0["check_s"] = [m.seconds for m in ms]
        self.memory(run0, ms)
        if not a.skip_fix and not read_only:
            log("first fix of the clean fleet (warm-up; must change nothing)")
            m = self.fix(inv, "fix-clean-first", expect_changes=False)
            run0["warmup"]["fix_clean_s"] = m.seconds
            ms = self.repeat(r, "noop-fix", lambda nm: self.fix(inv, nm, False, (s0, "noop_fix")))
            s0["noop_fix_s"] = [m.seconds for m in ms]
            self.memory(run0, ms)
        if not a.skip_ansible and courts <= a.ansible_max_courts:
            doc = inventories.ansible_inventory(status)
            ms = self.repeat(a.ansible_repeat, "ansible-check",
                             lambda nm: self.ansible("check.yml", doc, nm, (s0, "ansible_check")))
            s0["ansible_check_s"] = [m.seconds for m in ms]
            run0["ansible_peak_rss_mb"] = max(m.tree_rss_mb for m in ms)
            run0["ansible_memory_peak_mb"] = max((m.cgroup_peak_mb or 0) for m in ms) or None

    def slow_phase(self, courts: int, status: dict[str, Any], latency: int, run: dict,
                   read_only: bool) -> None:
        a, r = self.args, self.args.repeat
        s = run["samples"]
        inv = self.start_relays(status, latency)
        expect = 1 if read_only else 0
        try:
            if a.warmup:
                run["warmup"]["check_s"] = self.check(inv, f"warmup-check-{latency}ms", expect).seconds
            s["floor_s"] = self.repeat(r, f"floor-{latency}ms",
                                       lambda nm: self.floor(inv, self.check_workers, nm, (s, "floor")))
            fix_par = tepat_fix_parallel(courts)
            if fix_par != min(self.check_workers, courts) and not a.skip_fix:
                s["floor_fix_s"] = self.repeat(r, f"floor-fix-parallel-{latency}ms",
                                               lambda nm: self.floor(inv, fix_par, nm))
            ms = self.repeat(r, f"check-{latency}ms", lambda nm: self.check(inv, nm, expect, (s, "check")))
            s["check_s"] = [m.seconds for m in ms]
            self.memory(run, ms)
            if not a.skip_fix and not read_only:
                ms = self.repeat(r, f"noop-fix-{latency}ms", lambda nm: self.fix(inv, nm, False, (s, "noop_fix")))
                s["noop_fix_s"] = [m.seconds for m in ms]
                self.memory(run, ms)
            if a.ansible_slow and not a.skip_ansible and courts <= a.ansible_max_courts:
                kh = str(self.work / "known_hosts-relayed")
                plan = inventories.relay_plan(status)
                endpoints = {c: (inventories.RELAY_ADDRESS, p) for c, p, _, _ in plan}
                doc = inventories.ansible_inventory(status, endpoints, kh)
                ms = self.repeat(a.ansible_repeat, f"ansible-check-{latency}ms",
                                 lambda nm: self.ansible("check.yml", doc, nm))
                s["ansible_check_s"] = [m.seconds for m in ms]
        finally:
            self.stop_relays()

    def faulty_phase(self, courts: int, run0: dict) -> None:
        a, r = self.args, self.args.repeat
        s0 = run0["samples"]
        status = self.lab_up(courts, "mix")
        inv = self.inventory
        s0["floor_faulty_s"] = self.repeat(r, "floor-faulty",
                                           lambda nm: self.floor(inv, self.check_workers, nm, (s0, "floor_faulty")))
        ms = self.repeat(r, "check-faulty", lambda nm: self.check(inv, nm, 1, (s0, "check_faulty")))
        s0["check_faulty_s"] = [m.seconds for m in ms]
        self.memory(run0, ms)
        if a.skip_fix:
            return
        s0["fix_s"], s0["noop_fix_after_fix_s"] = [], []
        for i in range(a.fix_repeat):
            if i:
                self.redrift(status)
            self.guard("fix")
            m = self.fix(inv, f"fix-{i + 1}", expect_changes=True, cpu=(s0, "fix"))
            s0["fix_s"].append(m.seconds)
            self.memory(run0, [m])
            time.sleep(a.cooldown)
            if i == 0:  # what the fix left (not timed), to compare with Ansible's fix below
                self.check(inv, "check-after-fix", expect=1)
            m = self.fix(inv, f"noop-fix-after-fix-{i + 1}", expect_changes=False)
            s0["noop_fix_after_fix_s"].append(m.seconds)
            time.sleep(a.cooldown)
        if not a.skip_ansible and courts <= a.ansible_max_courts:
            s0["ansible_fix_s"] = []
            doc = inventories.ansible_inventory(status)
            for i in range(a.ansible_repeat):
                self.redrift(status)
                self.guard("ansible fix")
                m = self.ansible("fix.yml", doc, f"ansible-fix-{i + 1}", (s0, "ansible_fix"))
                s0["ansible_fix_s"].append(m.seconds)
                time.sleep(a.cooldown)
            # Ansible's fix, judged by tepat's own check (not timed): did it fix as much?
            self.check(inv, "check-after-ansible-fix", expect=1)

    def one_size(self, courts: int | None) -> None:
        a = self.args
        read_only = a.use_running_lab
        if read_only:
            status = self.lab_status()
            courts = len(status["hosts"])
            self.note(f"read-only run on the running lab ({courts} hosts, its own faults): "
                      "no lab changes, no fix; check_s is on that lab as it is")
        else:
            status = self.lab_up(courts, "none")
        self.lab_group = status["lab"].get("cgroup")
        log(f"=== {courts} courts")
        run0 = {"courts": courts, "latency_ms": 0, "samples": {}, "rss": [], "cg": [], "warmup": {}}
        self.partial = [run0]
        try:
            self.clean_phase(courts, status, run0, read_only)
            slow = [x for x in a.latency if x] if a.latency_courts is None or courts in a.latency_courts else []
            for latency in slow:
                run = {"courts": courts, "latency_ms": latency, "samples": {}, "rss": [], "cg": [], "warmup": {}}
                self.partial.append(run)
                log(f"--- {courts} courts, {latency} ms round trip on every host")
                self.slow_phase(courts, status, latency, run, read_only)
            if not read_only and not a.skip_faulty and (a.faulty_courts is None or courts in a.faulty_courts):
                log(f"--- {courts} courts, fault mix (seed {a.seed})")
                self.faulty_phase(courts, run0)
        finally:
            for run in self.partial:
                self.finish(run)

    def finish(self, run: dict) -> None:
        extra = {"peak_rss_mb": max(run["rss"]) if run["rss"] else None,
                 "memory_peak_mb": max(run["cg"]) if run["cg"] else None,
                 "warmup_s": {k: round(v, 3) for k, v in run["warmup"].items()}}
        for key in ("max_single_rss_mb", "ansible_peak_rss_mb", "ansible_memory_peak_mb"):
            if key in run:
                extra[key] = run[key]
        entry = stats.make_run(run["courts"], run["latency_ms"], run["samples"], extra)
        self.runs = [r for r in self.runs
                     if (r["courts"], r["latency_ms"]) != (entry["courts"], entry["latency_ms"])]
        self.runs.append(entry)
        self.write()

    def meta(self) -> dict[str, Any]:
        def version(argv: list[str]) -> str:
            try:
                return subprocess.run(argv, capture_output=True, text=True, timeout=60).stdout.splitlines()[0]
            except (OSError, IndexError, subprocess.SubprocessError):
                return "?"
        return {
            "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "machine": {"cpus": os.cpu_count(), "mem_gib": round(os.sysconf("SC_PAGE_SIZE")
                                                                  * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)},
            "git": version(["git", "-C", str(PROJECT_ROOT), "rev-parse", "--short", "HEAD"]),
            "ansible": version([str(ANSIBLE_PLAYBOOK), "--version"]) if ANSIBLE_PLAYBOOK.exists() else None,
            "options": {k: v for k, v in vars(self.args).items() if k != "func"},
            "parallelism": {"check_workers": self.check_workers,
                            "fix_parallel": f"min({(os.cpu_count() or 1) * FIX_PARALLEL_PER_CPU}, N)",
                            "ansible_forks": self.args.ansible_forks},
            "notes": self.notes,
            "logs": str(self.logdir),
        }

    def write(self) -> None:
        doc = stats.results_document(self.runs, self.meta())
        Path(self.args.json).write_text(json.dumps(doc, indent=2) + "\n")

    def chart(self) -> None:
        png = self.args.chart or str(Path(self.args.json).with_suffix(".png"))
        py = BENCH_VENV / "bin" / "python"
        if not py.exists():
            self.note("no bench/.venv (bench/setup): chart not drawn")
            return
        result = subprocess.run([str(py), str(BENCH / "chart.py"), self.args.json, png],
                                capture_output=True, text=True)
        if result.returncode != 0:
            self.note(f"chart failed: {result.stderr.strip()[-300:]}")
        else:
            log(f"chart: {png}")

    def report(self) -> None:
        print()
        print(stats.table(self.runs))
        print()
        print(stats.ratio_table(self.runs))
        print()
        print(stats.cpu_table(self.runs))
        print()
        for v in stats.targets(self.runs):
            print(v.line())
        if self.notes:
            print("\nnotes:\n  " + "\n  ".join(self.notes))

    def main(self) -> int:
        a = self.args
        if not a.use_running_lab and os.geteuid() != 0:
            print("bench/run: the lab needs root (run it with sudo)", file=sys.stderr)
            return 2
        if not a.skip_ansible and not ANSIBLE_PLAYBOOK.exists():
            print("bench/run: Ansible is not installed: run bench/setup (or pass --skip-ansible)",
                  file=sys.stderr)
            return 2
        if a.wait_idle:
            self.wait_idle()
        log(f"logs in {self.logdir}; check workers {self.check_workers}")
        try:
            for courts in (a.courts if not a.use_running_lab else [None]):
                self.one_size(courts)
        except Deadline as exc:
            self.note(str(exc) + ": the remaining figures were not measured")
        except KeyboardInterrupt:
            self.note("interrupted: the remaining figures were not measured")
        finally:
            self.stop_relays()
            self.write()
            if not a.use_running_lab and not a.keep_lab:
                try:
                    self.lab("lab-down").down()
                    log("lab down")
                except Exception as exc:  # noqa: BLE001 - report, results are written already
                    self.note(f"tepat lab down failed: {exc}")
        self.write()
        self.chart()
        self.report()
        return 0


def recap_counts(text: str) -> dict[str, int]:
    """Hosts per outcome from an ansible-playbook PLAY RECAP: ok, changed, failed, unreachable."""
    counts = {"ok": 0, "changed": 0, "failed": 0, "unreachable": 0}
    for line in text.split("PLAY RECAP")[-1].splitlines():
        if " : ok=" not in line:
            continue
        fields = dict(f.split("=") for f in line.split(" : ", 1)[1].split())
        if int(fields.get("unreachable", 0)):
            counts["unreachable"] += 1
        elif int(fields.get("failed", 0)):
            counts["failed"] += 1
        elif int(fields.get("changed", 0)):
            counts["changed"] += 1
        else:
            counts["ok"] += 1
    return counts


def _listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        # Connecting opens a connection through to the host's sshd, which the relay then
        # closes when we do: harmless, and proves the whole path.
        return s.connect_ex((inventories.RELAY_ADDRESS, port)) == 0


def _courts(text: str) -> list[int]:
    out = []
    for part in text.split(","):
        part = part.strip()
        out.append(382 if part == "all" else int(part))
    return out


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="bench/run", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--courts", type=_courts, default=[50, 100, 382], help="N,N,... or all (default 50,100,382)")
    p.add_argument("--json", default="results.json", help="results file (default results.json)")
    p.add_argument("--chart", help="PNG chart (default: the JSON's name with .png)")
    p.add_argument("--repeat", type=int, default=3, help="repeats of each figure (default 3)")
    p.add_argument("--fix-repeat", type=int, help="repeats of the drifted-fleet fix (default --repeat)")
    p.add_argument("--ansible-repeat", type=int, help="repeats of each Ansible figure (default --repeat)")
    p.add_argument("--ansible-max-courts", type=int, default=10**6,
                   help="run Ansible only up to this N (it is slow)")
    p.add_argument("--ansible-forks", type=int, default=50, help="Ansible --forks (default 50)")
    p.add_argument("--ansible-slow", action="store_true", help="also run Ansible's check with slow links")
    p.add_argument("--latency", type=lambda t: [int(x) for x in t.split(",")], default=[0, 150],
                   help="round trips in ms (default 0,150; 0 = the lab's own links)")
    p.add_argument("--latency-courts", type=_courts, metavar="N,N",
                   help="run the slow-link figures only at these N (default: every N)")
    p.add_argument("--faulty-courts", type=_courts, metavar="N,N",
                   help="run the fault-mix phase (check, fix, Ansible fix) only at these N "
                   "(default: every N)")
    p.add_argument("--seed", type=int, default=7, help="lab sample and fault mix seed (default 7)")
    p.add_argument("--skip-ansible", action="store_true")
    p.add_argument("--skip-fix", action="store_true", help="no tepat fix (read-only figures only)")
    p.add_argument("--skip-faulty", action="store_true", help="no fault-mix phase")
    p.add_argument("--no-warmup", dest="warmup", action="store_false",
                   help="count the first run too (default: one warm-up run, reported apart)")
    p.add_argument("--cooldown", type=float, default=2.0, help="seconds between measurements (default 2)")
    p.add_argument("--relay-procs", type=int, default=2, help="processes serving the relays (default 2)")
    p.add_argument("--use-running-lab", action="store_true",
                   help="measure the lab as it runs (read-only: no lab up/down, no fix)")
    p.add_argument("--keep-lab", action="store_true", help="leave the lab up at the end")
    p.add_argument("--wait-idle", action="store_true", help="wait until no other pytest runs first")
    p.add_argument("--deadline", metavar="HH:MM", help="UTC time after which nothing new is started")
    p.add_argument("--log-dir", help="logs (default bench/logs/<time>)")
    p.add_argument("--lab-dir", help="lab state directory (default: the shared lab's, "
                   "$TEPAT_LAB_DIR or /var/lib/tepat/lab); run a private one in its own network "
                   "namespace: ip netns exec NS bench/run --lab-dir DIR")
    p.add_argument("--lab-inventory", help="where the lab writes its inventory (default "
                   "inventories/lab.py, or DIR/lab.py with --lab-dir)")
    args = p.parse_args(argv)
    args.fix_repeat = args.fix_repeat or args.repeat
    args.ansible_repeat = args.ansible_repeat or args.repeat
    if args.use_running_lab:
        args.skip_fix = True
    return args


def main(argv: list[str] | None = None) -> int:
    return Bench(parse_args(argv)).main()


if __name__ == "__main__":
    sys.exit(main())
