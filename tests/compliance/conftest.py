"""tepat's compliance suite: one pytest-testinfra test per control, parametrized by host.

    pytest tests/compliance --inventory inventories/lab.py [--limit pt_maluku] [--court NAME]
    pytest tests/compliance --host tepat@10.77.0.12 --court "PN Ambon" --ssh-key KEY --known-hosts FILE
    pytest tests/compliance --court "PN Sleman"      # this machine, no SSH

Every host is visited ONCE, in parallel, at the start of the session (``fleet.collect_all``
runs ``collect.sh`` there); the tests then judge the cached facts. Items run host by host,
controls in registry order, so a control that depends on another (``depends_on`` in
tepat/controls.py) sees its outcome: when the dependency failed on that host, the dependent
fails naming it as the root cause instead of reporting a second, unrelated-looking fault.

Outcomes are attached to each report as ``user_properties`` (tepat_host, tepat_control,
tepat_status pass/fail/skip/error, tepat_detail, tepat_root_cause, tepat_unreachable) which
``tepat check`` turns into its results. The inventory is read with ``tepat.inventory``
(never ``pyinfra_cli``: it monkey-patches gevent and breaks pytest-xdist).
"""
from __future__ import annotations

import pytest

import fleet
from progress import FleetProgress
from tepat.controls import CONTROLS
from tepat.errors import InputError
from tepat.inventory import Target, load_targets
from tepat.zones import INDONESIA_ZONES
from verdict import CannotCheck, Verdict, control_id

TARGETS = pytest.StashKey[list[Target]]()
OUTCOMES = pytest.StashKey[dict[tuple[str, str], tuple[str, str, str | None]]]()
PROGRESS = pytest.StashKey[FleetProgress]()
REMAINING = pytest.StashKey[dict[str, int]]()
HOST_FAILING = pytest.StashKey[dict[str, bool]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    g = parser.getgroup("tepat", "tepat compliance")
    g.addoption("--inventory", metavar="PATH", help="pyinfra inventory file (default: this machine)")
    g.addoption("--limit", metavar="PATTERN", help="host or group names, comma-separated, globs allowed")
    g.addoption("--court", metavar="NAME", help="a court (name or id): its host, or its zone for --host/local")
    g.addoption("--host", metavar="[USER@]ADDR[:PORT]", dest="tepat_host", help="one ad-hoc server")
    g.addoption("--ssh-key", metavar="PATH", help="private key for --host")
    g.addoption("--known-hosts", metavar="PATH", help="known_hosts for --host (default: your own)")
    g.addoption("--workers", type=int, default=fleet.env_workers(), help="hosts collected at once")
    g.addoption("--replay", metavar="JSON", help="judge recorded collector output instead of hosts")
    g.addoption("--record", metavar="JSON", help="also write what the hosts said, for --replay")
    g.addoption("--no-progress", action="store_true", help="no live progress bar on stderr")


class PlainFailureReports:
    """Reports for a control's own verdicts (pytest.fail without traceback, CannotCheck)
    built from the message alone. pytest otherwise filters and formats a traceback for every
    failure: ~1 ms each, ~25 ms for a fixture's, which adds up to minutes over 382 hosts x 14
    controls when many hosts are down."""

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo):
        exc = call.excinfo
        if exc is None or control_id(item) is None:
            return None
        if exc.errisinstance(pytest.fail.Exception) and not exc.value.pytrace:
            message = str(exc.value.msg)
        elif exc.errisinstance(CannotCheck):
            message = f"CannotCheck: {exc.value}"
        else:
            return None  # anything else keeps pytest's full report
        return pytest.TestReport(
            item.nodeid, item.location, {k: 1 for k in item.keywords}, "failed", message,
            call.when, [(f"Captured {key} {call.when}", content)
                        for when, key, content in item._report_sections if when == call.when],
            call.duration, call.start, call.stop, user_properties=item.user_properties,
        )


def pytest_configure(config: pytest.Config) -> None:
    if getattr(config.option, "numprocesses", None):
        # Every xdist worker would visit every host again, and a cascade needs a host's
        # controls in one process: hosts are parallel already (--workers).
        raise pytest.UsageError("the compliance suite visits hosts in parallel itself "
                                "(--workers N); run it without pytest-xdist's -n")
    config.pluginmanager.register(PlainFailureReports(), "tepat_plain_failure_reports")


def _targets(config: pytest.Config) -> list[Target]:
    if TARGETS not in config.stash:
        provider = config.pluginmanager.get_plugin("tepat_check")
        if provider is not None:  # `tepat check` validated its targets before starting pytest
            targets = provider.targets
        else:
            o = config.option
            try:
                targets = load_targets(o.inventory, o.limit, o.court, o.tepat_host)
            except InputError as exc:
                raise pytest.UsageError("\n  ".join([str(exc), *exc.problems])) from None
            for t in targets:
                if o.tepat_host:
                    t.ssh_key = o.ssh_key or t.ssh_key
                    t.known_hosts = o.known_hosts or t.known_hosts
        config.stash[TARGETS] = targets
    return config.stash[TARGETS]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "target" in metafunc.fixturenames:
        targets = _targets(metafunc.config)
        metafunc.parametrize("target", targets, ids=[t.name for t in targets])


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Host by host, controls in registry order (a dependency before its dependents)."""
    order = {cid: i for i, cid in enumerate(CONTROLS)}
    hosts = {t.name: i for i, t in enumerate(_targets(config))}

    def key(item: pytest.Item) -> tuple[int, int]:
        target = getattr(item, "callspec", None) and item.callspec.params.get("target")
        cid = control_id(item)
        return (hosts.get(target.name, -1) if target else -1, order.get(cid or "", len(order)))

    items.sort(key=key)
    remaining: dict[str, int] = {}
    for item in items:
        target = getattr(item, "callspec", None) and item.callspec.params.get("target")
        if target:
            remaining[target.name] = remaining.get(target.name, 0) + 1
    config.stash[REMAINING] = remaining
    config.stash[HOST_FAILING] = {}
    config.stash[OUTCOMES] = {}


COLLECTION = pytest.StashKey[fleet.Collection]()


def pytest_collection_finish(session: pytest.Session) -> None:
    """Start visiting the hosts, in the order their tests will run, as soon as the tests are
    known: a host is judged as soon as it has answered, while others are still answering."""
    config = session.config
    if config.option.collectonly or not config.stash.get(REMAINING, {}):
        return
    remaining = config.stash[REMAINING]
    targets = [t for t in _targets(config) if t.name in remaining]
    bar = FleetProgress(len(targets), False if config.option.no_progress else None)
    config.stash[PROGRESS] = bar
    bar.__enter__()
    replay = fleet.load_replay(config.option.replay) if config.option.replay else None
    config.stash[COLLECTION] = fleet.Collection(
        targets, config.option.workers,
        on_done=lambda t, o: bar.host_collected(isinstance(o, fleet.Unreachable)),
        replay=replay,
    ).start()


def pytest_sessionfinish(session: pytest.Session) -> None:
    config = session.config
    collection = config.stash.get(COLLECTION, None)
    if collection is None:
        return
    collection.close()
    if config.option.record and all(f.done() and not f.cancelled() for f in collection.futures.values()):
        fleet.record(collection.targets, collection.results(), config.option.record)
    config.stash[PROGRESS].stop()


@pytest.fixture
def facts(target: Target, request: pytest.FixtureRequest):
    """The facts of this test's host (waiting for its answer); an unreachable host errors
    every control."""
    collection = request.config.stash[COLLECTION]
    outcome = collection.result(target.name)
    request.node.user_properties.append(("tepat_duration", collection.durations.get(target.name, 0.0)))
    if isinstance(outcome, fleet.Unreachable):
        request.node.user_properties.append(("tepat_unreachable", outcome.reason))
        # pytest.fail without a traceback: formatting one per control of every unreachable
        # host costs tens of milliseconds each, minutes on a fleet with many hosts down.
        pytest.fail(f"{target.name} unreachable ({outcome.reason}): {outcome.message}", pytrace=False)
    return outcome


@pytest.fixture
def zone(target: Target, facts, request: pytest.FixtureRequest) -> str | None:
    """The zone this host must keep: its court's; with no court (this machine, no --court),
    the OS zone when it is one of Indonesia's four, so that PHP is judged against it."""
    value = target.timezone or (facts.os_zone.zone if facts.os_zone.zone in INDONESIA_ZONES else None)
    if value:
        request.node.user_properties.append(("tepat_zone", value))
    return value


@pytest.fixture
def verdict(request: pytest.FixtureRequest) -> Verdict:
    return Verdict(request.node)


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function):
    """Cascade: a dependent of a failed control fails naming the root cause, unevaluated."""
    cid = control_id(pyfuncitem)
    target = pyfuncitem.funcargs.get("target")
    if not cid or cid not in CONTROLS or target is None:
        return None
    outcomes = pyfuncitem.config.stash.get(OUTCOMES, {})
    for dep in CONTROLS[cid].depends_on:
        status, detail, root = outcomes.get((target.name, dep), ("", "", None))
        if status == "fail":
            root = root or dep
            root_detail = outcomes.get((target.name, root), ("", detail, None))[1]
            pyfuncitem.user_properties.append(("tepat_root_cause", root))
            via = f" (via {dep})" if root != dep else ""
            pytest.fail(f"{root} failed{via}, so this was not evaluated: {root_detail}", pytrace=False)
    return None


def _detail(report: pytest.TestReport, call: pytest.CallInfo) -> str:
    if call.excinfo is None:
        return ""
    value = call.excinfo.value
    if report.skipped and isinstance(report.longrepr, tuple):
        return str(report.longrepr[2]).removeprefix("Skipped: ")
    msg = getattr(value, "msg", None) or str(value)
    if isinstance(value, AssertionError):
        msg = msg.split("\nassert ")[0]
    return msg.strip()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    target = getattr(item, "callspec", None) and item.callspec.params.get("target")
    cid = control_id(item)
    if not target or not cid:
        return report
    # One outcome per test: the call phase, or the setup phase when it did not pass.
    if report.when == "call" or (report.when == "setup" and not report.passed):
        props = dict(item.user_properties)
        if report.passed:
            status, detail = "pass", props.get("tepat_detail", "")
        elif report.skipped:
            status, detail = "skip", _detail(report, call)
        elif report.when == "setup" or (call.excinfo and call.excinfo.errisinstance(CannotCheck)):
            status, detail = "error", _detail(report, call)
        elif call.excinfo and not call.excinfo.errisinstance((pytest.fail.Exception, AssertionError)):
            # A bug in a control is not a finding about the host.
            status = "error"
            detail = f"the check itself failed: {call.excinfo.typename}: {_detail(report, call)}"
        else:
            status, detail = "fail", _detail(report, call)
        root = props.get("tepat_root_cause")
        item.config.stash[OUTCOMES][(target.name, cid)] = (status, detail, root)
        report.user_properties += [
            ("tepat_host", target.name), ("tepat_control", cid), ("tepat_status", status),
            ("tepat_detail", detail), ("tepat_root_cause", root),
            ("tepat_unreachable", props.get("tepat_unreachable")),
        ]
        _progress(item.config, target.name, status in ("fail", "error") and not props.get("tepat_unreachable"))
    return report


def _progress(config: pytest.Config, host: str, failed: bool) -> None:
    remaining = config.stash.get(REMAINING, {})
    failing = config.stash.get(HOST_FAILING, {})
    failing[host] = failing.get(host, False) or failed
    remaining[host] = remaining.get(host, 1) - 1
    bar = config.stash.get(PROGRESS, None)
    if remaining[host] == 0 and bar is not None:
        bar.host_checked(failing[host])
