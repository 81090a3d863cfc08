"""Bring a PN server to its court's time settings: PHP-TZ-01, OS-TZ-01..03, NTP-01..03, CLK-01,
SVC-01 (Badilum letter 720/DJU/TI1.1/III/2025, step 1).

    pyinfra inventories/production.py deploy.py          # plain pyinfra (add --dry to look)
    pyinfra inventories/lab.py deploy.py -y
    tepat fix -i inventories/production.py --dry --diff  # the same, with a per-host report

Host data used: ``timezone`` (the court's IANA zone), ``ntp_servers`` (approved time sources;
national defaults otherwise), ``tepat_restart_database`` (restart MariaDB/MySQL after a zone
change instead of only reporting it), ``_sudo`` (default: when the SSH user is not root),
``tepat_sudo_password`` (set by ``tepat fix --ask-pass``: fed to ``sudo -S`` on stdin).

The host is read ONCE (``facts.snapshot``: one command); everything after is planned from that
snapshot, so an already-compliant host gets no operation at all, not even the lock. When there
is something to change: take the host lock, back up and atomically write each file, restart
only what changed or is stale, wait a bounded time for NTP sync, release the lock.
"""
import getpass

from pyinfra import host, logger

from facts.clock import ENVIRONMENT
from facts.snapshot import TimeSnapshotFact
from operations import chrony as chrony_ops
from operations import clock, php, record, safety, services, timezone
from tepat.inventory import DEFAULT_NTP_SERVERS

ZONE = host.data.get("timezone")
USER = host.data.get("ssh_user") or (getpass.getuser() if host.name.startswith("@local") else "root")
SUDO = {"_sudo": bool(host.data.get("_sudo", USER != "root"))}
if SUDO["_sudo"] and host.data.get("tepat_sudo_password"):
    # sudo reads the password from stdin (-S): never on a command line, in the environment of
    # a remote process, or in a log (pyinfra's own _sudo_password passes it in `env ...`).
    SUDO = {"_sudo": False, "_shell_executable": "sudo -S -p '' -k sh",
            "_stdin": host.data.get("tepat_sudo_password") + "\n"}
RUN = safety.run_id()
NAME = host.name


def _op(op, control, target, action, diff="", **kwargs):
    """Add one operation named after its control and file or unit, and file it for the report."""
    meta = op(name=f"{control} {target}: {action}", **kwargs, **SUDO)
    record.PLANNED[NAME].append(record.Change(control, target, action, meta, diff))
    return meta


if not ZONE:
    from pyinfra.operations import server

    server.shell(name="tepat: no timezone in this host's data",
                 commands=["echo 'tepat: host data has no timezone (court zone)' >&2; exit 1"])
else:
    API_HOST = host.data.get("api_host") or "apis.mahkamahagung.go.id"
    snap = host.get_fact(TimeSnapshotFact, zone=ZONE, api_host=API_HOST, **SUDO)

if ZONE and snap is not None:  # None: the fact failed and pyinfra already failed the host
    tz, chrony, svc = snap.timezone, snap.chrony, snap.services
    servers = list(host.data.get("ntp_servers") or DEFAULT_NTP_SERVERS)

    # --- plan everything from the one snapshot -------------------------------------------
    zone_change = timezone.zone_change_needed(tz)
    files_change = timezone.timezone_file_needed(tz, ZONE) or timezone.clock_file_needed(tz, ZONE)
    rtc_change = timezone.rtc_change_needed(tz)
    php_plan = php.plan(snap.php, ZONE)
    conf_path = chrony_ops.config_path(tz, chrony)
    conf = chrony_ops.render(servers, conf_path)
    conf_change = (chrony.configs.get(conf_path) != conf
                   and not chrony_ops.config_acceptable(chrony, conf_path, servers))
    competitors = chrony_ops.competing_units(svc)
    chrony_unit_name = chrony_ops.unit_name(tz)
    unit = svc.get("chrony.service", "chronyd.service")
    enabled = bool(unit and unit.is_enabled)
    active = bool(unit and unit.is_active) if svc.systemd else chrony.running
    chrony_restart = conf_change or not chrony.installed
    chrony_service_change = chrony_restart or not active or (svc.systemd and not enabled)
    step = not chrony_restart and chrony_ops.step_needed(chrony)
    restarts = services.plan(svc, snap.php, tz, php_plan.changed_runtimes, zone_change)
    restart_db = bool(host.data.get("tepat_restart_database"))
    for r in restarts:
        if r.database and not restart_db:
            text = (f"SVC-01 {r.unit} not restarted ({r.reason}): restart it in a maintenance "
                    "window, or run tepat fix --restart-database")
            record.note(NAME, text)
            logger.warning(f"{host.print_prefix}{text}")
    restarts = [r for r in restarts if restart_db or not r.database]

    unfake = snap.clock.faked

    anything = (unfake or zone_change or files_change or rtc_change or not php_plan.empty or conf_change
                or competitors or chrony_service_change or step or restarts)

    # --- apply -------------------------------------------------------------------------------
    if anything:
        safety.lock(name="tepat: take the host lock /run/lock/tepat.lock", run=RUN, **SUDO)
        if unfake:
            _op(clock.unfake, "CLK-01", ENVIRONMENT, "comment out the libfaketime lines",
                record.line_diff(ENVIRONMENT, [(n, t, clock.MARK + t) for n, t in snap.clock.lines]),
                state=snap.clock, run=RUN)
        if zone_change:
            old = tz.link or ("a copied zone file" if tz.localtime_exists else "missing")
            _op(timezone.zone, "OS-TZ-01", "/etc/localtime", f"{old} -> {ZONE}",
                f"-/etc/localtime -> {old}\n+/etc/localtime -> /usr/share/zoneinfo/{ZONE}\n",
                state=tz, zone=ZONE, run=RUN)
        if files_change:
            target = "/etc/timezone" if timezone.timezone_file_needed(tz, ZONE) else "/etc/sysconfig/clock"
            before = tz.timezone_file if target == "/etc/timezone" else tz.clock_zone()
            _op(timezone.zone_files, "OS-TZ-02", target, f"{before or 'missing'} -> {ZONE}",
                record.unified(target, f"{before}\n" if before is not None else None, f"{ZONE}\n"),
                state=tz, zone=ZONE, run=RUN)
        if rtc_change:
            _op(timezone.rtc_utc, "OS-TZ-03", "/etc/adjtime", f"RTC {tz.adjtime_mode} -> UTC",
                record.line_diff("/etc/adjtime", [(3, str(tz.adjtime_mode), "UTC")]),
                state=tz, run=RUN)
        for edit in php_plan.edits:
            _op(php.comment_out, php.CONTROL, edit.path, edit.action(),
                record.line_diff(edit.path, [(s.line, s.text, php.mark(s) + s.text)
                                             for s in edit.comment], edit.append),
                edit=edit, run=RUN)
        for write in php_plan.writes:
            _op(php.managed_file, php.CONTROL, write.path, write.action(),
                record.unified(write.path, write.current, write.content), write=write, run=RUN)
        if competitors:
            for unit_id in competitors:
                _op(chrony_ops.stop_competitors, "NTP-01", unit_id, "stop and disable",
                    units=[unit_id], systemd=svc.systemd)
        if not chrony.installed:
            _op(chrony_ops.install, "NTP-01", "chrony", "install the package", chrony=chrony)
        if conf_change:
            current = chrony.configs.get(conf_path)
            _op(chrony_ops.config, "NTP-02", conf_path, f"approved servers {', '.join(servers)}",
                record.unified(conf_path, current, conf),
                path=conf_path, content=conf, current=current, run=RUN)
        if chrony_service_change:
            what = "restart" if chrony_restart or active else "start"
            _op(chrony_ops.service, "NTP-01", chrony_unit_name, f"enable and {what}",
                unit=chrony_unit_name, systemd=svc.systemd,
                enabled=enabled, active=active, restart=chrony_restart)
        if step:
            _op(chrony_ops.makestep, "CLK-01", "chronyd",
                f"chronyc makestep (offset {chrony.tracking.offset_s:+.1f} s)")
        for r in restarts:
            _op(services.restart, "SVC-01", r.unit, f"restart: {r.reason}", unit=r.unit,
                systemd=svc.systemd)
        if chrony_service_change or step:
            record.WAITS[NAME] = chrony_ops.wait_sync(name="NTP-03 wait for chrony to sync", **SUDO)
        safety.unlock(name="tepat: release the host lock", run=RUN, **SUDO)
    for line in php_plan.report:
        record.note(NAME, line)
    for control, why in snap.unfixable.problems(API_HOST):
        record.UNFIXABLE[NAME].append((control, why))
        logger.warning(f"{host.print_prefix}{control} (not fixed by tepat fix): {why}")
