"""Run ``collect.sh`` once on every host, in parallel, and keep what each host said.

One round trip per host: the controls then judge the cached facts. Connections go through
testinfra's ssh backend with the run's generated ssh_config (``tepat.ssh``: host keys
verified, BatchMode, ProxyJump, ControlMaster), or its local backend for this machine.
"""
from __future__ import annotations

import json
import os
import shlex
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import testinfra

import hostfacts
from tepat import ssh
from tepat.inventory import API_HOST, Target

SCRIPT = (Path(__file__).parent / "collect.sh").read_text(encoding="utf-8")
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
    return testinfra.get_host(f"ssh://{ssh.host_alias(target.name)}", ssh_config=config.path,
                              controlpersist=0, timeout=ssh.CONNECT_TIMEOUT_S)


def collect_one(target: Target, config: ssh.SshConfig | None) -> Outcome:
    if not target.local and not target.address:
        return Unreachable("no_address", "no address for this court in the hosts file")
    host = testinfra_host(target, config)
    before = time.time()
    try:
        out = host.run(command(target))
    except RuntimeError as exc:  # the ssh backend: exit status 255, ssh itself failed
        result = exc.args[0] if exc.args else None
        stderr = getattr(result, "stderr", "") or str(exc)
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


def collect_all(targets: list[Target], workers: int = DEFAULT_WORKERS,
                on_done: Callable[[Target, Outcome], None] | None = None,
                replay: dict[str, dict[str, Any]] | None = None) -> dict[str, Outcome]:
    """Collect every target (``replay``: from recorded output instead of the hosts)."""
    results: dict[str, Outcome] = {}
    config = None if replay is not None else ssh.SshConfig(ssh_hosts(targets))

    def one(target: Target) -> Outcome:
        if replay is not None:
            rec = replay.get(target.name)
            if rec is None:
                outcome: Outcome = Unreachable("other", "no recorded output for this host")
            elif "unreachable" in rec:
                outcome = Unreachable(rec["unreachable"], rec.get("message", ""))
            else:
                outcome = hostfacts.parse(rec["output"], rec["before"], rec["after"])
        else:
            try:
                outcome = collect_one(target, config)
            except Exception as exc:  # one host's surprise must not stop the fleet
                outcome = Unreachable("other", f"{type(exc).__name__}: {exc}"[:300])
        results[target.name] = outcome
        if on_done:
            on_done(target, outcome)
        return outcome

    try:
        with ThreadPoolExecutor(max_workers=max(1, min(workers, len(targets)))) as pool:
            list(pool.map(one, targets))
    finally:
        if config is not None:
            # Masters time out on their own (ControlPersist); the sockets' directory goes now.
            config.cleanup()
    return results


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
