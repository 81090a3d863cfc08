"""Safety for every change tepat makes on a host: backups, atomic writes, one run at a time.

- Backup: before a file is changed, ``cp -a`` puts it under ``/var/backups/tepat/<run>/<path>``
  (``<run>`` is the run's UTC timestamp; the first copy of a run is kept, so it is the original).
- Atomic write: the new content goes to a temp file in the same directory, gets the old file's
  mode and owner, is synced, then renamed over the old one: a reader sees the old file or the
  new one, never half of it. Symlinks are followed (the target is replaced, the link kept).
- Lock: ``mkdir /run/lock/tepat.lock`` (atomic on every filesystem) with the run id inside;
  a second run fails on that host with the holder's id instead of interleaving. A lock older
  than ``STALE_AFTER_S`` is taken over (a run that died); ``unlock`` removes only its own lock.
  Facts are read before the lock is taken, so every edit is also written to be idempotent.

Every command also unsets ``LD_PRELOAD``/``FAKETIME``: a host whose sessions fake the clock
must not get backups stamped with a fake time.
"""
from __future__ import annotations

import base64
import os
import shlex
import time

from pyinfra.api import operation

BACKUP_ROOT = "/var/backups/tepat"
LOCK_DIR = "/run/lock/tepat.lock"
STALE_AFTER_S = 1800  # a whole fleet run per host takes well under a minute

_RUN_ID: str | None = None


def run_id() -> str:
    """This run's id (UTC timestamp), the same for every host of the run.

    ``TEPAT_RUN_ID`` in the environment wins (tepat fix sets it); otherwise the first call in
    the process fixes it, so a plain ``pyinfra`` run also uses one id for all its hosts.
    """
    global _RUN_ID
    env = os.environ.get("TEPAT_RUN_ID")
    if env:
        return env
    if _RUN_ID is None:
        _RUN_ID = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    return _RUN_ID


def _q(text: str) -> str:
    return shlex.quote(text)


def _prelude(path: str) -> str:
    """Resolve ``path`` (following links) into $f and make a temp file $t beside it."""
    return (
        "set -e; unset LD_PRELOAD FAKETIME; "
        f"f=$(readlink -f {_q(path)} || echo {_q(path)}); "
        't=$(mktemp "$(dirname "$f")/.tepat.XXXXXX"); trap \'rm -f "$t"\' EXIT; '
    )


def _backup(run: str) -> str:
    """Copy $f to the run's backup dir, once per run (the first copy is the original)."""
    root = f"{BACKUP_ROOT}/{run}"
    return (
        f'b={_q(root)}"$f"; if [ ! -e "$b" ] && [ ! -L "$b" ]; then '
        'mkdir -p "$(dirname "$b")"; cp -a "$f" "$b"; fi; '
    )


def _install(mode: str) -> str:
    """Give $t the mode/owner of $f (or ``mode`` for a new file), sync it, rename over $f.

    Skips the rename when the content is unchanged (the edit found nothing left to do).
    """
    return (
        'if [ -e "$f" ]; then if cmp -s "$t" "$f"; then exit 0; fi; '
        f"{{BACKUP}}"
        'chmod --reference="$f" "$t"; chown --reference="$f" "$t"; '
        f"else chmod {mode} \"$t\"; fi; "
        'sync "$t" 2>/dev/null || true; mv -f "$t" "$f"; trap - EXIT'
    )


def write_command(path: str, content: str, run: str, mode: str = "0644") -> str:
    """Shell that atomically replaces ``path`` with ``content``, backing the old file up."""
    payload = base64.b64encode(content.encode()).decode()
    return (_prelude(path) + f"printf %s {payload} | base64 -d > \"$t\"; "
            + _install(mode).replace("{BACKUP}", _backup(run)))


def edit_command(path: str, sed_script: str, run: str, append: str = "") -> str:
    """Shell that atomically applies ``sed -e sed_script`` to ``path`` (then appends
    ``append``), backing the old file up. An edit that changes nothing changes nothing."""
    tail = ""
    if append:
        payload = base64.b64encode(append.encode()).decode()
        tail = f"printf %s {payload} | base64 -d; "
    script = f"sed -e {_q(sed_script)} \"$f\"; " if sed_script else 'cat "$f"; '
    return (_prelude(path) + "{ " + script + tail + "} > \"$t\"; "
            + _install("0644").replace("{BACKUP}", _backup(run)))


def backup_command(path: str, run: str) -> str:
    """Shell that backs ``path`` up (without following a link) before a tool rewrites it."""
    return (f"set -e; unset LD_PRELOAD FAKETIME; f={_q(path)}; "
            f'if [ -e "$f" ] || [ -L "$f" ]; then {_backup(run)} fi')


def lock_command(run: str) -> str:
    return (
        "unset LD_PRELOAD FAKETIME; "
        f"l={LOCK_DIR}; "
        'if mkdir "$l" 2>/dev/null; then echo ' + _q(run) + ' > "$l/owner"; exit 0; fi; '
        'age=$(( $(date +%s) - $(stat -c %Y "$l" 2>/dev/null || date +%s) )); '
        f'if [ "$age" -gt {STALE_AFTER_S} ]; then '
        'echo "tepat: taking over a stale lock $l (run $(cat "$l/owner" 2>/dev/null), '
        '${age}s old)" >&2; '
        'rm -rf "$l" && mkdir "$l" && echo ' + _q(run) + ' > "$l/owner" && exit 0; fi; '
        'echo "tepat: another tepat run holds $l (run $(cat "$l/owner" 2>/dev/null), '
        'started ${age}s ago); nothing changed on this host" >&2; exit 1'
    )


def unlock_command(run: str) -> str:
    return (f'l={LOCK_DIR}; if [ "$(cat "$l/owner" 2>/dev/null)" = {_q(run)} ]; then '
            'rm -rf "$l"; fi; true')


@operation(is_idempotent=False)
def lock(run: str):
    """Take the host's tepat lock for run ``run``; fail the host if another run holds it.

    Example:

    .. code:: python

        safety.lock(name="tepat: take the host lock", run=safety.run_id())
    """
    yield lock_command(run)


@operation(is_idempotent=False)
def unlock(run: str):
    """Release the host's tepat lock if run ``run`` holds it.

    Example:

    .. code:: python

        safety.unlock(name="tepat: release the host lock", run=safety.run_id())
    """
    yield unlock_command(run)
