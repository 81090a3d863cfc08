"""One cgroup per lab container.

With ``--keep-unit`` nspawn puts the container under the cgroup it was started in. Started
from one process, every container would share one ``/payload`` tree, and one container's
systemd stopping a unit could kill another container's processes of the same unit. So each
nspawn is first moved into ``<group>/<machine>`` of every hierarchy systemd uses; the group is
``tepat-lab`` for the default state directory and ``tepat-lab-<hash>`` for any other, so two
labs (in two network namespaces) never share a cgroup.
"""
from __future__ import annotations

import os
from pathlib import Path

ROOT = Path("/sys/fs/cgroup")
GROUP = "tepat-lab"


def group_for(state_dir: Path, default: Path) -> str:
    if state_dir.resolve() == default.resolve():
        return GROUP
    import hashlib
    return f"{GROUP}-{hashlib.sha1(str(state_dir.resolve()).encode()).hexdigest()[:8]}"


def hierarchies() -> list[Path]:
    """The cgroup hierarchies a container's systemd uses on this machine."""
    if (ROOT / "cgroup.controllers").exists():  # pure cgroup v2
        return [ROOT]
    return [p for p in (ROOT / "unified", ROOT / "systemd") if (p / "cgroup.procs").exists()]


def create(group: str, machine: str) -> list[Path]:
    dirs = [h / group / machine for h in hierarchies()]
    for d in dirs:
        d.mkdir(parents=True, exist_ok=True)
    return dirs


def wrap(cmd: list[str], dirs: list[Path]) -> list[str]:
    """``cmd`` run by a shell that first moves itself into ``dirs``, then execs (same pid)."""
    moves = " && ".join(f'echo $$ > "${i + 1}/cgroup.procs"' for i in range(len(dirs)))
    script = (moves + " && " if moves else "") + f'shift {len(dirs)} && exec "$@"'
    return ["/bin/sh", "-c", script, "sh", *[str(d) for d in dirs], *cmd]


def pids(group: str, machine: str | None = None) -> set[int]:
    """Every process in the lab's cgroups (or one container's)."""
    found: set[int] = set()
    for h in hierarchies():
        base = h / group / machine if machine else h / group
        if not base.exists():
            continue
        for directory, _dirs, files in os.walk(base):
            if "cgroup.procs" in files:
                try:
                    text = (Path(directory) / "cgroup.procs").read_text()
                except OSError:
                    continue
                found.update(int(p) for p in text.split() if p != "0")
    return found


def remove(group: str, machine: str | None = None) -> None:
    """Remove the (empty) cgroups of one container, or all of the lab's."""
    for h in hierarchies():
        base = h / group / machine if machine else h / group
        if not base.exists():
            continue
        for directory, _dirs, _files in sorted(os.walk(base), key=lambda w: -len(w[0])):
            try:
                os.rmdir(directory)
            except OSError:
                pass
