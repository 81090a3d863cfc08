"""Run ``collect.sh`` once on every host, in parallel, and keep what each host said.

One round trip per host: the controls then judge the cached facts. Connections go through
testinfra's ssh backend with the run's generated ssh_config (``tepat.ssh``: host keys
verified, BatchMode, ProxyJump, a master to each bastion), or its local backend for this machine.
"""
from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import testinfra

import hostfacts
from tepat import ssh
from tepat.inventory import API_HOST, Target

SCRIPT_PATH = Path(__file__).parent / "collect.sh"
# Sent without its comment lines: fewer bytes on slow links (the file keeps them).
SCRIPT = "\n".join(line for line in SCRIPT_PATH.read_text(encoding="utf-8").splitlines()
                   if line.strip() and not line.lstrip().startswith("#"))
# Enough to keep 2 cores busy with ssh clients while hosts answer; beyond ~64 the controller
# spends more on process starts than it gains on waiting.
DEFAULT_WORKERS = 48


@dataclass
class Unreachable:
    reason: str  # tepat.results.UnreachableReason
    message: str


Outcome = hostfacts.HostFacts | Unreachable


def command(target: Target) -> str:
    api = str(target.data.get("api_host") or API_HOST)
    # `env` so that any login shell (bash, dash, csh) runs it; sh -c so the script is POSIX sh.
    return f"env TEPAT_API={shlex.quote(api)} sh -c {shlex.quote(SCRIPT)}"


def ssh_hosts(targets: list[Target]) -> list[ssh.SshHost]:
    return [ssh.SshHost(t.name, t.address, t.port, t.user, t.ssh_key, t.known_hosts, t.bastion)
            for t in targets if t.address and not t.local]


def testinfra_host(target: Target, config: ssh.SshConfig | None) -> Any:
    if target.local:
        return testinfra.get_host("local://")
    assert config is not None
    # controlpersist=0: testinfra adds no ControlMaster options of its own, ours apply.
    host = testinfra.get_host(f"ssh://{ssh.host_alias(target.name)}", ssh_config=config.path,
                              controlpersist=0, timeout=ssh.CONNECT_TIMEOUT_S)
    host.backend.run_local = _run_local(host.backend)
    return host


def _run_local(backend: Any) -> Callable[..., Any]:
    """testinfra's ``run_local`` (how its ssh backend starts ``ssh``), with two changes for
    threads: the child gets its own copy of the environment, and a failed start is retried.

    A start failed once in ~5,000 on a loaded bench machine with EFAULT ("Bad address:
    '/bin/sh'"); an 8 s stress test did not reproduce it. The likely cause: pytest rewrites
    os.environ (PYTEST_CURRENT_TEST) on every test phase while these threads start ssh, and a
    child started by vfork that reads the live environment array can catch it mid-rewrite.
    An environment of its own never moves under it. The host was not contacted when the
    start failed, so starting again is safe.
    """
    def run_local(command: str, *args: str) -> Any:
        cmd = backend.encode(backend.quote(command, *args))
        for attempt in (1, 2):
            try:
                proc = subprocess.Popen(cmd, shell=True, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, env=dict(os.environ))
                break
            except OSError:
                if attempt == 2:
                    raise
        stdout, stderr = proc.communicate()
        return backend.result(proc.returncode, cmd, stdout, stderr)
    return run_local


def collect_one(target: Target, config: ssh.SshConfig | None) -> Outcome:
    if not target.local and not target.address:
        return Unreachable("no_address", "no address for this court in the hosts file")
    host = testinfra_host(target, config)
    before = time.time()
    try:
        out = host.run(command(target))
    except RuntimeError as exc:  # the ssh backend: exit status 255, ssh itself failed
        result = exc.args[0] if exc.args else None
        stderr = getattr(result, "stderr", None) if result is not None else str(exc)
        if not (stderr or "").strip():
            return Unreachable("other", "ssh exited 255 without a message (connection closed)")
        return Unreachable(ssh.classify(stderr), ssh.summary(stderr))
    after = time.time()
    facts = hostfacts.parse(out.stdout, before, after)
    if not facts.complete:
        return Unreachable("other", f"the collector stopped early (exit {out.rc}): "
                           f"{(out.stderr or '').strip()[-300:]}")
    return facts


def load_replay(path: str) -> dict[str, dict[str, Any]]:
    """Recorded collector output per host name: {"name": {"output", "before", "after"}}."""
    return json.loads(Path(path).read_text(encoding="utf-8"))


class Collection:
    """Every target's collection, running in the background from ``start()`` on.

    The suite judges a host as soon as its answer is in (``result(name)`` waits for that one
    host), so evaluating early hosts overlaps with waiting for slow ones. Hosts are submitted
    in the order the tests run them. ``replay``: recorded output instead of the hosts.
    """

    def __init__(self, targets: list[Target], workers: int = DEFAULT_WORKERS,
                 on_done: Callable[[Target, Outcome], None] | None = None,
                 replay: dict[str, dict[str, Any]] | None = None) -> None:
        self.targets = targets
        self.workers = max(1, min(workers, len(targets) or 1))
        self.on_done = on_done
        self.replay = replay
        self.config: ssh.SshConfig | None = None
        self.futures: dict[str, Future[Outcome]] = {}
        self.durations: dict[str, float] = {}  # seconds from first byte sent to answer
        self._pool: ThreadPoolExecutor | None = None

    def start(self) -> "Collection":
        if self.replay is None and any(not t.local for t in self.targets):
            self.config = ssh.SshConfig(ssh_hosts(self.targets))
        self._pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="tepat-collect")
        self.futures = {t.name: self._pool.submit(self._one, t) for t in self.targets}
        return self

    def _one(self, target: Target) -> Outcome:
        started = time.monotonic()
        if self.replay is not None:
            rec = self.replay.get(target.name)
            if rec is None:
                outcome: Outcome = Unreachable("other", "no recorded output for this host")
            elif "unreachable" in rec:
                outcome = Unreachable(rec["unreachable"], rec.get("message", ""))
            else:
                outcome = hostfacts.parse(rec["output"], rec["before"], rec["after"])
        else:
            try:
                outcome = collect_one(target, self.config)
            except Exception as exc:  # one host's surprise must not stop the fleet
                outcome = Unreachable("other", f"{type(exc).__name__}: {exc}"[:300])
        self.durations[target.name] = time.monotonic() - started
        if self.on_done:
            self.on_done(target, outcome)
        return outcome

    def result(self, name: str) -> Outcome:
        return self.futures[name].result()

    def results(self) -> dict[str, Outcome]:
        return {name: f.result() for name, f in self.futures.items()}

    def close(self) -> None:
        """Stop (hosts not yet started are dropped when interrupted) and clean up."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
        if self.config is not None:
            self.config.cleanup()


def collect_all(targets: list[Target], workers: int = DEFAULT_WORKERS,
                on_done: Callable[[Target, Outcome], None] | None = None,
                replay: dict[str, dict[str, Any]] | None = None) -> dict[str, Outcome]:
    """Collect every target and wait for all of them."""
    collection = Collection(targets, workers, on_done, replay).start()
    try:
        return collection.results()
    finally:
        collection.close()


def record(targets: list[Target], results: dict[str, Outcome], path: str) -> None:
    """Write a replay file (used to record unit-test fixtures from the lab)."""
    data = {}
    for t in targets:
        r = results[t.name]
        if isinstance(r, Unreachable):
            data[t.name] = {"unreachable": r.reason, "message": r.message}
        else:
            data[t.name] = {"output": r.output, "before": r.ctrl_before, "after": r.ctrl_after}
    Path(path).write_text(json.dumps(data, indent=1, sort_keys=True), encoding="utf-8")
    print(f"recorded {len(data)} host(s) to {path}", file=sys.stderr)


def env_workers() -> int:
    value = os.environ.get("TEPAT_WORKERS", "")
    return int(value) if value.isdigit() and int(value) > 0 else DEFAULT_WORKERS
