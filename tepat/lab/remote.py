"""Running a command on a lab host: over real SSH with the pinned host key, or by nsenter.

SSH is what tepat, pyinfra and the tests use; nsenter (into the container's namespaces by the
pid of its systemd) is for the lab's own set-up steps, which must work even on a host whose
SSH is broken on purpose.
"""
from __future__ import annotations

import socket
import subprocess
import time


def ssh_argv(address: str, port: int, user: str, key: str, known_hosts: str,
             command: str | None = None, timeout: int = 10) -> list[str]:
    """An ``ssh`` command line that trusts nothing but the lab's known_hosts file."""
    argv = [
        "ssh", "-p", str(port), "-i", key,
        "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
        "-o", "StrictHostKeyChecking=yes", "-o", f"UserKnownHostsFile={known_hosts}",
        "-o", "GlobalKnownHostsFile=/dev/null", "-o", f"ConnectTimeout={timeout}",
        "-o", "LogLevel=ERROR", f"{user}@{address}",
    ]
    if command is not None:
        argv += ["--", command]
    return argv


def nsenter(leader_pid: int, command: list[str], timeout: float = 60) -> subprocess.CompletedProcess:
    """Run ``command`` inside the container whose PID 1 is ``leader_pid``."""
    return subprocess.run(
        ["nsenter", "-t", str(leader_pid), "-m", "-u", "-i", "-n", "-p", "--", *command],
        capture_output=True, text=True, timeout=timeout,
        env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C"},
    )


def wait_for_ssh_banner(address: str, port: int = 22, timeout: float = 120) -> bool:
    """True once something at address:port greets with ``SSH-``; False after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((address, port), timeout=2) as conn:
                conn.settimeout(5)
                if conn.recv(64).startswith(b"SSH-"):
                    return True
        except OSError:
            pass
        time.sleep(0.3)
    return False
