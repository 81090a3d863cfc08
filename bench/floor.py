"""The floor: one SSH connection and ``true`` per host, as tepat would open it.

Same hosts (tepat's own inventory loader on the same inventory file), same ssh_config
(``tepat.ssh.render_config``: pinned known_hosts, BatchMode, no master connection per host),
same parallelism (a thread pool of ``workers`` ssh clients, as the compliance collector).
The time covers the parallel connections only: no interpreter start, no inventory loading.
That is the least any fleet tool can take, so a ratio against it is conservative.
``cpu_s`` is the controller's CPU over the same span (this process and its ssh clients).
"""
from __future__ import annotations

import resource
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from tepat import ssh
from tepat.inventory import load_targets


@dataclass
class FloorResult:
    seconds: float
    hosts: int
    failed: int  # ssh exit status not 0 (unreachable hosts in a faulty lab)
    cpu_s: float = 0.0  # controller CPU: this process's threads and the ssh clients


def _cpu() -> float:
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def measure(inventory: str, workers: int, timeout: float = 60) -> FloorResult:
    targets = [t for t in load_targets(inventory) if t.address and not t.local]
    config = ssh.SshConfig([ssh.SshHost(t.name, t.address, t.port, t.user, t.ssh_key,
                                        t.known_hosts, t.bastion) for t in targets])

    def one(name: str) -> int:
        try:
            return subprocess.run(["ssh", "-F", config.path, ssh.host_alias(name), "true"],
                                  stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL, timeout=timeout).returncode
        except subprocess.TimeoutExpired:
            return 255

    try:
        started, cpu = time.monotonic(), _cpu()
        with ThreadPoolExecutor(max_workers=max(1, min(workers, len(targets)))) as pool:
            codes = list(pool.map(one, [t.name for t in targets]))
        seconds, cpu = time.monotonic() - started, _cpu() - cpu
    finally:
        config.cleanup()
    return FloorResult(seconds, len(targets), sum(1 for c in codes if c != 0), cpu)
