"""``tepat check``: run the compliance suite (tests/compliance) and report what it found.

The suite is plain pytest-testinfra; this command loads and validates the targets first (bad
input: exit 2, nothing contacted), runs the suite in-process through ``pytest.main`` with a
plugin that turns each test report into a ``tepat.results.ControlResult``, then writes the
report (``tepat.report``) and stores the run in the history (``tepat.history``).
"""
from __future__ import annotations

import argparse
import importlib
import os
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from tepat import PROJECT_ROOT
from tepat.controls import CONTROLS
from tepat.errors import InputError
from tepat.inventory import Target, add_target_arguments, targets_from_args
from tepat.results import ControlResult, HostResult, RunResult

SUITE = PROJECT_ROOT / "tests" / "compliance"
FORMATS = ("terminal", "json", "junit", "prometheus", "html")

EXAMPLES = """\
examples:
  tepat check --court "PN Sleman"                       this machine, against PN Sleman's zone
  tepat check                                           this machine: PHP and the OS agree on one
                                                        of Indonesia's four zones
  tepat check -i inventories/production.py              the whole fleet
  tepat check -i inventories/production.py --limit pt_maluku --format html -o report.html
  tepat check --host tepat@10.20.30.40:22 --court "PN Ambon" --ssh-key ~/.ssh/id_ed25519
  tepat check --host budi@10.20.30.40 --court "PN Ambon" --ask-pass --known-hosts kh

exit status: 0 all compliant, 1 any host non-compliant or unreachable, 2 bad input.
"""


def add_parser(subparsers: Any, common: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser(
        "check", parents=[common], help="check servers against their court's zone and clock",
        description="Run the compliance controls (PHP-TZ-01 ... SVC-01) on one server, a set of "
        "courts or the whole fleet, one SSH round trip per host, and report per court.",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_target_arguments(p)
    p.add_argument("--format", choices=FORMATS, default="terminal", help="report format (default: terminal)")
    p.add_argument("-o", "--output", metavar="FILE", help="write the report to FILE (default: stdout)")
    p.add_argument("--lang", choices=("id", "en"),
                   help="language of the diagnosis (default: en with an inventory, id otherwise)")
    hist = p.add_mutually_exclusive_group()
    hist.add_argument("--history", metavar="PATH", help="history database (default: tepat's own)")
    hist.add_argument("--no-history", action="store_true", help="do not record this run")
    p.add_argument("--workers", type=int, default=48, metavar="N", help="hosts checked at once (default 48)")
    p.add_argument("--no-progress", action="store_true", help="no live progress bar on stderr")
    p.add_argument("--replay", metavar="JSON", help="judge a recording of the hosts' answers "
                   "(pytest tests/compliance --record JSON) instead of contacting them")
    p.set_defaults(func=run)


class ResultsPlugin:
    """pytest plugin: gives the suite its targets and collects its verdicts."""

    __name__ = "tepat_check"  # the conftest finds the targets under this plugin name

    def __init__(self, targets: list[Target]) -> None:
        self.targets = targets
        self.controls: dict[str, dict[str, ControlResult]] = {t.name: {} for t in targets}
        self.unreachable: dict[str, tuple[str, str]] = {}
        self.zones: dict[str, str] = {}
        self.durations: dict[str, float] = {}  # seconds the host took to answer
        self.problems: list[str] = []

    def pytest_runtest_logreport(self, report: Any) -> None:
        props = dict(report.user_properties)
        host, cid, status = props.get("tepat_host"), props.get("tepat_control"), props.get("tepat_status")
        if not (host and cid and status):
            return
        detail = props.get("tepat_detail") or ""
        self.controls.setdefault(host, {})[cid] = ControlResult(cid, status, detail, props.get("tepat_root_cause"))
        if props.get("tepat_unreachable"):
            self.unreachable[host] = (props["tepat_unreachable"], detail.split(": ", 1)[-1])
        if props.get("tepat_zone"):
            self.zones[host] = props["tepat_zone"]
        if props.get("tepat_duration"):
            self.durations[host] = round(float(props["tepat_duration"]), 3)

    def pytest_collectreport(self, report: Any) -> None:
        if report.failed:
            self.problems.append(str(report.longrepr).strip().splitlines()[-1])

    def pytest_internalerror(self, excrepr: Any) -> None:
        self.problems.append(str(excrepr).strip().splitlines()[-1])

    def host_result(self, t: Target) -> HostResult:
        controls = [self.controls.get(t.name, {}).get(cid) for cid in CONTROLS]
        found = [c for c in controls if c is not None]
        court = t.court
        h = HostResult(
            court_id=t.court_id,
            court_name=court.name if court else str(t.data.get("court_name") or t.name),
            pt=court.pt if court else str(t.data.get("pt") or ""),
            timezone=t.timezone or self.zones.get(t.name, ""),
            address=t.address or ("localhost" if t.local else ""),
            status="compliant",
            controls=found,
            duration_s=self.durations.get(t.name, 0.0),
        )
        if t.name in self.unreachable:
            h.status, (h.reason, h.error) = "unreachable", self.unreachable[t.name]
        elif len(found) < len(CONTROLS):
            h.status, h.reason = "unreachable", "other"
            h.error = "the compliance suite did not report every control for this host"
        elif any(c.status in ("fail", "error") for c in found):
            h.status = "non_compliant"
        return h


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _targets(args: argparse.Namespace) -> list[Target]:
    if args.output and not Path(args.output).resolve().parent.is_dir():
        raise InputError(f"-o {args.output}: the folder {Path(args.output).resolve().parent} does not exist")
    if args.replay and not Path(args.replay).is_file():
        raise InputError(f"--replay {args.replay}: no such file")
    if args.workers < 1:
        raise InputError(f"--workers {args.workers}: must be at least 1")
    return targets_from_args(args)


def check(targets: list[Target], workers: int = 48, progress: bool = True,
          inventory: str = "local", replay: str | None = None) -> RunResult:
    """Run the suite on ``targets`` and return what it found (``replay``: judge what the
    hosts said in a recording, ``pytest tests/compliance --record FILE``, instead)."""
    import pytest  # here: `tepat --help` need not import pytest

    result = RunResult(started_at=_now(), inventory=inventory)
    plugin = ResultsPlugin(targets)
    # No terminal output (the report is ours), no output capture (the progress bar draws on
    # stderr while tests run), and none of the per-test plugins a fleet run does not use:
    # each costs a little on every one of the (hosts x 14) tests.
    argv = [str(SUITE), "-c", str(SUITE / "pytest.ini"), "--rootdir", str(SUITE),
            "-p", "no:terminal", "-s", "--workers", str(workers)]
    for plugin_name in ("logging", "warnings", "junitxml", "doctest", "faulthandler", "stepwise",
                        "pastebin", "xdist", "xdist.looponfail", "typeguard", "debugging"):
        argv += ["-p", f"no:{plugin_name}"]
    if not progress:
        argv.append("--no-progress")
    if replay:
        argv += ["--replay", replay]
    code = pytest.main(argv, plugins=[plugin])
    if code in (pytest.ExitCode.INTERNAL_ERROR, pytest.ExitCode.USAGE_ERROR,
                pytest.ExitCode.NO_TESTS_COLLECTED) or plugin.problems:
        result.complete = False
        why = "; ".join(plugin.problems) or f"pytest exit status {int(code)}"
        raise RuntimeError(f"the compliance suite could not run: {why}")
    if code == pytest.ExitCode.INTERRUPTED:
        result.complete = False
    result.hosts = [plugin.host_result(t) for t in targets]
    result.finished_at = _now()
    return result


def _history_module(args: argparse.Namespace) -> Any:
    if args.no_history:
        return None
    try:
        return importlib.import_module("tepat.history")
    except ModuleNotFoundError as exc:
        if exc.name != "tepat.history":
            raise
        return None


def _report(run_result: RunResult, fmt: str, out: str | None, lang: str) -> None:
    try:
        report = importlib.import_module("tepat.report")
    except ModuleNotFoundError as exc:
        if exc.name != "tepat.report":
            raise
        report = None
    if report is not None and hasattr(report, "write"):
        report.write(run_result, fmt, out, lang)
        return
    # Minimal fallback while the report package is absent: one line per host.
    lines = [f"{h.court_id:30} {h.status:14} " + ", ".join(c.id for c in h.failing())
             for h in run_result.hosts]
    text = "\n".join(lines) + "\n"
    if out:
        Path(out).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)


def _password(args: argparse.Namespace) -> None:
    """--ask-pass: the password (prompted, or TEPAT_SSH_PASSWORD as for tepat fix) goes into
    this process's environment only, where tepat.ssh's askpass helper reads it."""
    from tepat.ssh import PASSWORD_ENV

    if not args.ask_pass:
        os.environ.pop(PASSWORD_ENV, None)
        return
    if not args.host and not args.inventory:
        raise InputError("--ask-pass is for servers reached by SSH (--host or -i); "
                         "this machine is checked without SSH")
    import getpass
    os.environ[PASSWORD_ENV] = os.environ.get(PASSWORD_ENV) or getpass.getpass("SSH password: ")


def run(args: argparse.Namespace) -> int:
    targets = _targets(args)
    _password(args)
    lang = args.lang or ("en" if args.inventory else "id")
    inventory = args.inventory or (f"host {args.host}" if args.host else "local")
    history = _history_module(args)
    started = _now()
    # The run is in the history, marked incomplete, before any host is contacted: a crash
    # leaves it so, and `tepat history` says so.
    path = str(args.history or history.default_path()) if history else None
    run_id = history.begin(path, inventory, started) if history else None
    try:
        result = check(targets, args.workers, not args.no_progress, inventory, args.replay)
    except RuntimeError as exc:
        print(f"tepat: {exc}", file=sys.stderr)
        return 2
    result.started_at = started
    if history:
        history.finish(path, run_id, result)
    _report(result, args.format, args.output, lang)
    return result.exit_status() if result.complete else 1
