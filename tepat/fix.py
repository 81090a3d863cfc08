"""``tepat fix``: run deploy.py on the chosen hosts, in waves, and report per host.

pyinfra is driven through its programmatic API (pinned ~=3.10), not a ``pyinfra`` subprocess:
the per-host, per-file report needs each operation's result object (``operations/record.py``),
waves are separate pyinfra states in one process, passwords stay in memory (never argv), and
connection errors arrive through pyinfra's state callbacks instead of parsed terminal output.
deploy.py itself is the same file plain ``pyinfra inventory deploy.py`` runs.

Exit status: 0 every host fixed or already right (or, with --dry, planned), 1 a host failed or
was unreachable or a wave stopped, 2 bad input (nothing contacted).
"""
from __future__ import annotations

import argparse
import getpass
import json
import logging
import os
import re
import sys
import tempfile
import time
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

from tepat import PROJECT_ROOT
from tepat.errors import InputError
from tepat.inventory import Target, add_target_arguments, targets_from_args

DEPLOY = PROJECT_ROOT / "deploy.py"
WAVE_KEYWORDS = ("canary", "pt", "rest")

EPILOG = """\
examples:
  tepat fix --court "PN Sleman"                               this machine, PN Sleman's zone
  tepat fix -i inventories/production.py --dry --diff         what would change, per host
  tepat fix -i inventories/production.py --waves canary,pt,rest --fail-percent 10 -y
  tepat fix --court "PN Sleman" --host tepat@10.20.30.40 --ask-pass --known-hosts kh

waves: "canary,pt,rest" = one court, then the rest of its high court (PT), then the rest.
  Or explicit, separated by ";": each wave a list of host/group globs joined by "+", e.g.
  --waves "pn-sleman;pt_yogyakarta;*". A wave stops the rollout when more than
  --fail-percent of its hosts fail (unreachable hosts are reported, not counted).
"""


# ---------------------------------------------------------------------------- waves

@dataclass
class Wave:
    name: str
    targets: list[Target]
    status: str = "not_run"  # done, stopped (too many failures), not_run


def _matches(target: Target, pattern: str) -> bool:
    return any(fnmatchcase(n, pattern) for n in (target.name, *target.groups))


def plan_waves(targets: list[Target], spec: str | None) -> list[Wave]:
    """Split targets into waves (see EPILOG). Every target is in exactly one wave."""
    if not spec:
        return [Wave("all", list(targets))]
    parts = [p.strip() for p in (spec.split(";") if ";" in spec else spec.split(","))]
    if not all(parts):
        raise InputError(f"--waves {spec!r}: an empty wave")
    left = list(targets)
    waves: list[Wave] = []
    canary: Target | None = None
    for part in parts:
        if part == "canary":
            chosen = [t for t in left if t.address or t.local][:1]
            canary = chosen[0] if chosen else None
        elif part == "pt":
            if canary is None or canary.court is None:
                raise InputError(f"--waves {spec!r}: 'pt' needs a 'canary' court before it")
            chosen = [t for t in left if t.court and t.court.pt == canary.court.pt]
        elif part == "rest":
            chosen = list(left)
        else:
            patterns = [p for p in part.split("+") if p]
            chosen = [t for t in left if any(_matches(t, p) for p in patterns)]
            if not chosen and not any(_matches(t, p) for t in targets for p in patterns):
                raise InputError(f"--waves {spec!r}: {part!r} matches no host or group")
        waves.append(Wave(part, chosen))
        left = [t for t in left if t not in chosen]
    if left:
        waves.append(Wave("rest", left))
    return [w for w in waves if w.targets]


# ---------------------------------------------------------------------------- results

@dataclass
class HostFix:
    court_id: str
    name: str
    address: str | None
    status: str  # changed, unchanged, failed, unreachable, not_run
    changes: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    error: str | None = None
    reason: str | None = None  # unreachable: auth, host_key, timeout, refused, no_route, no_address
    sync: str | None = None  # NTP-03 after the wait
    unfixable: list[dict[str, str]] = field(default_factory=list)  # NET-0x, DB-TZ-01: reported
    wave: str | None = None

    def as_dict(self) -> dict[str, Any]:
        out = {"court_id": self.court_id, "address": self.address, "status": self.status,
               "changes": self.changes, "error": self.error}
        for key in ("reason", "sync", "wave"):
            if getattr(self, key):
                out[key] = getattr(self, key)
        if self.notes:
            out["notes"] = self.notes
        if self.unfixable:
            out["unfixable"] = self.unfixable
        return out


def unreachable_reason(error: str) -> str:
    text = error.lower()
    if "host key" in text or "not found in known_hosts" in text or "known_hosts" in text:
        return "host_key"
    if "authentication" in text or "permission denied" in text or "auth" in text:
        return "auth"
    if "timed out" in text or "timeout" in text:
        return "timeout"
    if "refused" in text or "unable to connect" in text:
        return "refused"
    if "no route" in text or "unreachable" in text:
        return "no_route"
    if "name or service" in text or "resolve" in text:
        return "dns"
    return "connect"


# ---------------------------------------------------------------------------- pyinfra run

class _Errors(logging.Handler):
    """Collect pyinfra's warnings/errors per host (its messages start with ``[host] ``)."""

    def __init__(self, names: list[str]) -> None:
        super().__init__(logging.WARNING)
        self.names = sorted(names, key=len, reverse=True)
        self.by_host: dict[str, list[str]] = {}

    def emit(self, record: logging.LogRecord) -> None:
        text = re.sub(r"\x1b\[[0-9;]*m", "", record.getMessage())
        for name in self.names:
            if f"[{name}]" in text:
                msg = text.split(f"[{name}]", 1)[1].strip()
                self.by_host.setdefault(name, []).append(msg)
                return


def _pyinfra_name(target: Target) -> str:
    return "@local" if target.local else target.name


def _host_data(target: Target, opts: argparse.Namespace, secrets: dict[str, str],
               ssh_config: str | None) -> dict[str, Any]:
    data = dict(target.data)
    data["ssh_strict_host_key_checking"] = "yes"  # never pyinfra's accept-new
    if target.local:
        data = {k: v for k, v in data.items() if not k.startswith("ssh_")}
        data["_sudo"] = os.geteuid() != 0
    else:
        data.setdefault("ssh_known_hosts_file", os.path.expanduser("~/.ssh/known_hosts"))
        if target.user:
            data["ssh_user"] = target.user
        data.setdefault("ssh_user", getpass.getuser() if target.user is None and opts.host else "root")
        data["_sudo"] = data["ssh_user"] != "root"
        if secrets.get("ssh_password"):
            data["ssh_password"] = secrets["ssh_password"]
        if ssh_config and target.bastion:
            data["ssh_config_file"] = ssh_config
    if secrets.get("sudo_password") and data.get("_sudo"):
        data["tepat_sudo_password"] = secrets["sudo_password"]  # deploy.py: sudo -S on stdin
    if opts.restart_database:
        data["tepat_restart_database"] = True
    data.pop("bastion", None)
    return data


def _bastion_config(targets: list[Target]) -> str | None:
    """An ssh_config with ProxyJump for targets behind a bastion (pyinfra honours it)."""
    lines = []
    bastions: dict[str, list[str]] = {}
    for t in targets:
        if t.bastion and t.address:
            lines += [f"Host {t.address}", f"    ProxyJump {t.bastion}", ""]
            # pyinfra connects to the hop with only what ssh_config says about it: without
            # this block it would check the bastion's key against ~/.ssh/known_hosts and ask
            # on the terminal (its default policy) instead of refusing an unknown key.
            host = t.bastion.rpartition("@")[2].rsplit(":", 1)[0].strip("[]")
            block = [f"Host {host}", "    StrictHostKeyChecking yes"]
            if t.known_hosts:
                block.append(f"    UserKnownHostsFile {t.known_hosts}")
            if t.ssh_key:
                block.append(f"    IdentityFile {t.ssh_key}")
            bastions.setdefault(host, block + [""])
    if not lines:
        return None
    lines = [line for block in bastions.values() for line in block] + lines
    handle = tempfile.NamedTemporaryFile("w", prefix="tepat-ssh-", suffix=".conf", delete=False)
    handle.write("\n".join(lines))
    handle.close()
    return handle.name


def _failed_ops(state, host) -> list[str]:
    """``<operation> failed: <last stderr line>`` for each operation that failed on host."""
    from operations import record

    # API-mode operation names are shared by all hosts' n-th operation: prefer our own record.
    ours = {id(c.meta): c.name for c in record.PLANNED.get(host.name, [])}
    found = []
    for op_hash, op_data in state.ops.get(host, {}).items():
        meta = op_data.operation_meta
        if not meta.is_complete() or meta.did_succeed():
            continue
        names = ours.get(id(meta)) or "/".join(sorted(state.get_op_meta(op_hash).names))
        lines = [x for x in meta.stderr_lines if x.strip()]
        found.append(f"{names} failed" + (f": {lines[-1].strip()}" if lines else ""))
    return found


def _release_locks(state, connect_errors: dict[str, str]) -> None:
    """A host that failed mid-run still holds this run's lock: release it (only ours)."""
    from operations import safety

    for host in list(state.failed_hosts):
        if host.name in connect_errors or host not in state.activated_hosts:
            continue
        password = host.data.get("tepat_sudo_password")
        sudo = ({"_shell_executable": "sudo -S -p '' -k sh", "_stdin": password + "\n"}
                if password and host.data.get("_sudo") else {"_sudo": bool(host.data.get("_sudo"))})
        try:
            host.run_shell_command(safety.unlock_command(safety.run_id()), **sudo)
        except Exception:  # noqa: BLE001 (best effort; the lock goes stale otherwise)
            pass


def _patch_gevent() -> None:
    """pyinfra's parallelism is gevent: sockets must cooperate, as pyinfra's CLI arranges."""
    import warnings

    from gevent import monkey

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        monkey.patch_all()


def run_wave(wave: Wave, opts: argparse.Namespace, secrets: dict[str, str]) -> list[HostFix]:
    """Connect, read, plan and (unless --dry) apply deploy.py on one wave's hosts."""
    from pyinfra.api import BaseStateCallback, Config, Inventory, State
    from pyinfra.api.connect import connect_all, disconnect_all
    from pyinfra.api.exceptions import PyinfraError
    from pyinfra.api.operations import run_ops
    from pyinfra.api.state import StateStage
    from pyinfra.context import ctx_config, ctx_host, ctx_inventory, ctx_state
    import gevent

    from operations import record

    record.reset()
    results: dict[str, HostFix] = {}
    reachable: list[Target] = []
    for t in wave.targets:
        if not t.address and not t.local:
            results[t.name] = HostFix(t.court_id, t.name, None, "unreachable",
                                      error="no address in the inventory", reason="no_address")
        else:
            reachable.append(t)
    if not reachable:
        return list(results.values())

    ssh_config = _bastion_config(reachable)
    by_name = {_pyinfra_name(t): t for t in reachable}
    hosts = [(name, _host_data(t, opts, secrets, ssh_config)) for name, t in by_name.items()]
    inventory = Inventory((hosts, {}))
    config = Config(PARALLEL=opts.parallel or 0, CONNECT_TIMEOUT=opts.connect_timeout,
                    FAIL_PERCENT=None)
    state = State(check_for_changes=True)
    state.cwd = str(PROJECT_ROOT)
    connect_errors: dict[str, str] = {}
    op_errors: dict[str, list[str]] = {}

    class Callbacks(BaseStateCallback):
        @staticmethod
        def host_connect_error(state, host, error):  # noqa: ARG004
            connect_errors[host.name] = str(error.args[0] if getattr(error, "args", None) else error)

    errors = _Errors(list(by_name))
    pyinfra_logger = logging.getLogger("pyinfra")
    pyinfra_logger.addHandler(errors)
    pyinfra_logger.setLevel(logging.INFO)
    pyinfra_logger.propagate = False
    os.environ["PYINFRA_PROGRESS"] = "off"
    ctx_state.set(state)
    ctx_config.set(config)
    ctx_inventory.set(inventory)
    try:
        state.init(inventory, config)
        state.add_callback_handler(Callbacks())
        state.set_stage(StateStage.Connect)
        try:
            connect_all(state)
        except PyinfraError:
            pass  # every host failed to connect: reported below
        state.set_stage(StateStage.Prepare)
        code = compile(DEPLOY.read_text(encoding="utf-8"), str(DEPLOY), "exec")

        def load(host):
            try:
                with ctx_config.use(state.config.copy()), ctx_host.use(host):
                    exec(code, {"__file__": str(DEPLOY), "__name__": "deploy"})
            except PyinfraError as exc:
                return exc
            except Exception as exc:  # a bug on one host must not stop the others
                return exc
            return None

        active = [h for h in inventory if h in state.active_hosts]
        greenlets = {state.pool.spawn(load, h): h for h in active}
        for greenlet in gevent.iwait(list(greenlets)):
            exc = greenlet.get()
            if exc is not None:
                host = greenlets[greenlet]
                op_errors.setdefault(host.name, []).append(
                    f"planning failed: {type(exc).__name__}: {exc}")
                try:
                    state.fail_hosts({host})
                except PyinfraError:
                    pass
        if not opts.dry and state.active_hosts:
            state.set_stage(StateStage.Execute)
            try:
                run_ops(state)
            except PyinfraError:
                pass  # the last active host failed: reported below
        if not opts.dry:
            _release_locks(state, connect_errors)
        state.set_stage(StateStage.Disconnect)
        try:
            disconnect_all(state)
        except Exception:  # noqa: BLE001 (a dead connection must not hide the results)
            pass
    finally:
        pyinfra_logger.removeHandler(errors)
        if ssh_config:
            os.unlink(ssh_config)

    for host in inventory:
        t = by_name[host.name]
        fix = HostFix(t.court_id, t.name, t.address or "local", "unchanged")
        if host.name in connect_errors or host not in state.activated_hosts:
            error = connect_errors.get(host.name) or "; ".join(errors.by_host.get(host.name, [])) \
                or "could not connect"
            fix.status, fix.error, fix.reason = "unreachable", error, unreachable_reason(error)
            results[t.name] = fix
            continue
        fix.notes = list(record.NOTES.get(host.name, []))
        fix.unfixable = [{"control": c, "detail": d} for c, d in record.UNFIXABLE.get(host.name, [])]
        failed = host in state.failed_hosts
        for change in record.PLANNED.get(host.name, []):
            if opts.dry:
                done = None
            else:
                try:
                    done = change.meta.did_change()
                except RuntimeError:  # never executed (the host failed before it)
                    done = False
            entry = {"control": change.control, "target": change.target,
                     "action": change.action, "done": done}
            if opts.diff and change.diff:
                entry["diff"] = change.diff
            if opts.dry or done:
                fix.changes.append(entry)
        wait = record.WAITS.get(host.name)
        if wait is not None and not opts.dry:
            try:
                fix.sync = wait.stdout.strip() or None
            except RuntimeError:
                pass
        if failed:
            fix.status = "failed"
            msgs = (op_errors.get(host.name) or _failed_ops(state, host)
                    or errors.by_host.get(host.name) or ["failed"])
            fix.error = "; ".join(dict.fromkeys(msgs))
        elif fix.changes:
            fix.status = "changed"
        results[t.name] = fix
    return [results[t.name] for t in wave.targets if t.name in results]


# ---------------------------------------------------------------------------- output

def render_terminal(fixes: list[HostFix], waves: list[Wave], dry: bool, diff: bool,
                    stream=None) -> None:
    stream = stream or sys.stdout
    word = "would change" if dry else "changed"
    for fix in fixes:
        label = {"changed": word, "unchanged": "already right"}.get(fix.status, fix.status)
        print(f"{fix.court_id:<28} {label}" + (f" ({fix.reason})" if fix.reason else "")
              + (f": {fix.error}" if fix.error else ""), file=stream)
        for c in fix.changes:
            print(f"    {c['control']:<10} {c['target']}: {c['action']}", file=stream)
            if diff and c.get("diff"):
                for line in c["diff"].rstrip("\n").splitlines():
                    print(f"        {line}", file=stream)
        for note in fix.notes:
            print(f"    note: {note}", file=stream)
        for u in fix.unfixable:
            print(f"    not fixable here: {u['control']} {u['detail']}", file=stream)
        if fix.sync:
            print(f"    {fix.sync}", file=stream)
    counts = {s: sum(f.status == s for f in fixes)
              for s in ("changed", "unchanged", "failed", "unreachable", "not_run")}
    print("", file=stream)
    if len(waves) > 1 or any(w.status != "done" for w in waves):
        for w in waves:
            names = ", ".join(t.court_id for t in w.targets[:6]) + (" ..." if len(w.targets) > 6 else "")
            print(f"wave {w.name}: {w.status} ({len(w.targets)} host(s): {names})", file=stream)
    summary = (f"{'dry run: ' if dry else ''}{counts['changed']} {word}, "
               f"{counts['unchanged']} already right, {counts['failed']} failed, "
               f"{counts['unreachable']} unreachable")
    if counts["not_run"]:
        summary += f", {counts['not_run']} not touched (rollout stopped)"
    print(summary, file=stream)


def as_json(fixes: list[HostFix], waves: list[Wave], dry: bool, run_id: str) -> dict[str, Any]:
    return {
        "run_id": run_id, "dry": dry,
        "hosts": [f.as_dict() for f in fixes],
        "waves": [{"name": w.name, "status": w.status,
                   "hosts": [t.court_id for t in w.targets]} for w in waves],
    }


# ---------------------------------------------------------------------------- command

def _secrets(opts: argparse.Namespace) -> dict[str, str]:
    """SSH and sudo passwords: prompted (or from TEPAT_SSH_PASSWORD / TEPAT_SUDO_PASSWORD),
    kept in memory, never on a command line or in a log."""
    secrets: dict[str, str] = {}
    if opts.ask_pass:
        secrets["ssh_password"] = os.environ.get("TEPAT_SSH_PASSWORD") or getpass.getpass(
            "SSH password: ")
    sudo = os.environ.get("TEPAT_SUDO_PASSWORD") or secrets.get("ssh_password")
    if sudo:
        secrets["sudo_password"] = sudo
    return secrets


def run(opts: argparse.Namespace) -> int:
    if opts.fail_percent is not None and not 0 <= opts.fail_percent <= 100:
        raise InputError(f"--fail-percent {opts.fail_percent}: give a number from 0 to 100")
    if opts.host and not opts.court:
        raise InputError("--host needs --court: the court's zone is what the fix applies")
    targets = targets_from_args(opts)
    missing_zone = [t.name for t in targets if not t.timezone]
    if missing_zone:
        raise InputError("no court zone for " + ", ".join(missing_zone)
                         + ": give --court (the fix needs the court's zone)")
    waves = plan_waves(targets, opts.waves)
    if not DEPLOY.is_file():
        raise InputError(f"{DEPLOY} is missing")
    if not opts.dry and not opts.yes and sys.stdin.isatty():
        names = ", ".join(t.court_id for t in targets[:5]) + (" ..." if len(targets) > 5 else "")
        answer = input(f"tepat fix will change {len(targets)} host(s) ({names}). "
                       "Continue? [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            print("tepat fix: nothing done", file=sys.stderr)
            return 1
    secrets = _secrets(opts)
    _patch_gevent()
    os.environ.setdefault("TEPAT_RUN_ID", time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()))
    run_id = os.environ["TEPAT_RUN_ID"]
    if str(PROJECT_ROOT) not in sys.path:
        sys.path.insert(0, str(PROJECT_ROOT))  # deploy.py imports facts/ and operations/

    fixes: list[HostFix] = []
    stopped = False
    for wave in waves:
        if stopped:
            for t in wave.targets:
                fixes.append(HostFix(t.court_id, t.name, t.address, "not_run", wave=wave.name,
                                     error="not touched: an earlier wave failed"))
            continue
        if opts.format == "terminal" and len(waves) > 1:
            print(f"--- wave {wave.name}: {len(wave.targets)} host(s)", file=sys.stderr)
        wave_fixes = run_wave(wave, opts, secrets)
        for f in wave_fixes:
            f.wave = wave.name if len(waves) > 1 else None
        fixes += wave_fixes
        wave.status = "done"
        failed = sum(f.status == "failed" for f in wave_fixes)
        limit = opts.fail_percent if opts.fail_percent is not None else 0
        if wave_fixes and failed * 100 / len(wave_fixes) > limit and len(waves) > 1:
            wave.status = "stopped"
            stopped = True
            print(f"tepat fix: wave {wave.name}: {failed} of {len(wave_fixes)} host(s) failed "
                  f"(more than {limit}%): later waves not touched", file=sys.stderr)

    if opts.format == "json":
        json.dump(as_json(fixes, waves, opts.dry, run_id), sys.stdout, indent=2)
        print()
    else:
        render_terminal(fixes, waves, opts.dry, opts.diff)
    bad = any(f.status in ("failed", "unreachable", "not_run") for f in fixes)
    return 1 if bad else 0


def add_parser(subparsers: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    parser = subparsers.add_parser(
        "fix", parents=[common], epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        help="bring servers to their court's time settings (PHP, OS zone, chrony)",
        description="Run deploy.py (PHP-TZ-01, OS-TZ-01..03, NTP-01..03, CLK-01, SVC-01) on the "
        "chosen servers: back up and change only what is wrong, restart only what changed.",
    )
    add_target_arguments(parser)
    parser.add_argument("--dry", action="store_true", help="show what would change; change nothing")
    parser.add_argument("--diff", action="store_true", help="show the change to each file")
    parser.add_argument("--format", choices=("terminal", "json"), default="terminal")
    parser.add_argument("--waves", metavar="SPEC", help="roll out in waves (see below)")
    parser.add_argument("--fail-percent", type=int, metavar="N", default=None,
                        help="stop the rollout when more than N%% of a wave's hosts fail "
                        "(default 0: any failure stops it)")
    parser.add_argument("--restart-database", action="store_true",
                        help="restart MariaDB/MySQL after a zone change (default: report only)")
    parser.add_argument("--parallel", type=int, default=0, metavar="N",
                        help="hosts at a time (default: pyinfra's, 20 per CPU)")
    parser.add_argument("--connect-timeout", type=int, default=10, metavar="S")
    parser.add_argument("-y", "--yes", action="store_true", help="do not ask for confirmation")
    parser.set_defaults(func=run)
