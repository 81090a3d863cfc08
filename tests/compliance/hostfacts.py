"""Parse what ``collect.sh`` printed on a host into the facts the controls judge.

Pure functions, no I/O: the unit tests feed them recorded output of real hosts (lab
containers, Debian) and hand-written output of documented RHEL/remi/SCL/XAMPP layouts.
Deliberately independent of the remediation code (``facts/``, ``operations/``): a bug in how
one side reads a host must not cancel out the same bug in the other.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

from tepat.zones import ALIASES, INDONESIA_ZONES

SECTION = re.compile(r"^@@ (\S+)$")


def sections(output: str) -> dict[str, str]:
    """``{"meta": "...", "ps": "..."}`` from the collector's ``@@ name`` sections."""
    found: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in output.splitlines():
        match = SECTION.match(line)
        if match:
            current = found.setdefault(match.group(1), [])
            continue
        if current is not None:
            current.append(line)
    return {name: "\n".join(lines) for name, lines in found.items()}


def keyvals(text: str) -> dict[str, str]:
    """``key=value`` lines (the last one wins); other lines are ignored."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and key and " " not in key:
            out[key.strip()] = value.strip()
    return out


_ZONE_NAMES = {z.lower(): z for z in [*INDONESIA_ZONES, *ALIASES, "UTC", "Etc/UTC"]}


def normalize_zone(value: str | None) -> str | None:
    """A zone name as PHP and tzdata accept it (case-insensitive, old aliases resolved)."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    name = _ZONE_NAMES.get(value.lower(), value)
    return ALIASES.get(name, name)


# ------------------------------------------------------------------------------ OS zone

@dataclass
class OsZone:
    zone: str | None  # the zone /etc/localtime is, or None when it cannot be told
    how: str  # "/etc/localtime -> /usr/share/zoneinfo/Asia/Jakarta", "copy of ...", ...
    etc_timezone: str | None  # Debian's /etc/timezone, None when absent
    sysconfig_zone: str | None  # RHEL's ZONE= in /etc/sysconfig/clock
    rtc_local: bool  # hardware clock keeps local time
    rtc_how: str


def zone_from_path(target: str) -> str | None:
    """``../usr/share/zoneinfo/posix/Asia/Jakarta`` -> ``Asia/Jakarta``."""
    if "zoneinfo/" not in target:
        return None
    zone = target.split("zoneinfo/", 1)[1]
    for prefix in ("posix/", "right/"):
        zone = zone.removeprefix(prefix)
    return zone or None


def parse_os_zone(s: dict[str, str]) -> OsZone:
    lt = keyvals(s.get("localtime", ""))
    if "link" in lt:
        zone = zone_from_path(lt["link"])
        how = f"/etc/localtime -> {lt['link']}"
    elif lt.get("copy") == "yes":
        zone = lt.get("same_as")
        how = (f"/etc/localtime is a copy of {zone}" if zone
               else f"/etc/localtime is a copy of an unknown zone (TZ {lt.get('tzstring', '?')})")
    else:
        zone, how = "UTC", "/etc/localtime is missing (the system runs on UTC)"
    etc_tz_lines = [l.strip() for l in s.get("etc_timezone", "").splitlines() if l.strip()
                    and not l.strip().startswith("#")]
    clock = s.get("sysconfig_clock", "")
    sys_kv = {k: v.strip('"\'') for k, v in keyvals(clock).items()}
    adjtime = s.get("adjtime", "").splitlines()
    rtc_local, rtc_how = False, "no /etc/adjtime: hwclock and systemd assume UTC"
    if len(adjtime) >= 3:
        rtc_local = adjtime[2].strip().upper() == "LOCAL"
        rtc_how = f"/etc/adjtime line 3: {adjtime[2].strip()}"
    elif sys_kv.get("UTC", "").lower() in ("false", "no", "0"):
        # RHEL 5/6 kept the RTC mode in /etc/sysconfig/clock.
        rtc_local, rtc_how = True, f"/etc/sysconfig/clock: UTC={sys_kv['UTC']}"
    return OsZone(
        zone=normalize_zone(zone),
        how=how,
        etc_timezone=etc_tz_lines[0] if etc_tz_lines else None,
        sysconfig_zone=sys_kv.get("ZONE"),
        rtc_local=rtc_local,
        rtc_how=rtc_how,
    )


# ------------------------------------------------------------------------------ processes

@dataclass
class Process:
    pid: int
    ppid: int
    comm: str
    start: float | None = None  # epoch seconds (kernel's, unaffected by a faked clock)


def parse_processes(s: dict[str, str]) -> dict[int, Process]:
    procs: dict[int, Process] = {}
    for line in s.get("ps", "").splitlines():
        parts = line.split(None, 2)
        if len(parts) == 3 and parts[0].isdigit() and parts[1].isdigit():
            procs[int(parts[0])] = Process(int(parts[0]), int(parts[1]), parts[2].strip())
    boot = boot_time(s.get("btime", ""))
    stat = s.get("procstat", "")
    tck = keyvals(stat).get("clk_tck", "")
    ticks = int(tck) if tck.isdigit() and int(tck) > 0 else 100
    if boot is not None:
        for line in stat.splitlines():
            # "<pid> <fields 3.. of /proc/PID/stat>": starttime is field 22.
            parts = line.split()
            if len(parts) > 20 and parts[0].isdigit() and int(parts[0]) in procs:
                try:
                    procs[int(parts[0])].start = boot[0] + int(parts[20]) / ticks
                except ValueError:
                    pass
    return procs


def boot_time(text: str) -> tuple[float, float] | None:
    """(boot time, its uncertainty in s): from uptime and the kernel clock to ~10 ms, else
    from /proc/stat's btime (whole seconds, so up to 1 s early)."""
    kv = keyvals(text)
    now, up = _float(kv.get("now_real")), _float(kv.get("uptime"))
    if now is not None and up is not None and "." in kv.get("now_real", ""):
        return now - up, 0.05
    first = text.strip().splitlines()[0].strip() if text.strip() else ""
    return (float(first), 1.0) if first.isdigit() else None


def running(procs: dict[int, Process], *names: str) -> list[Process]:
    return [p for p in procs.values() if p.comm in names]


@dataclass
class Unit:
    id: str
    load: str
    active: str
    file_state: str


def parse_units(text: str) -> tuple[dict[str, Unit], list[str]]:
    """systemd units (``systemctl show`` blocks) and SysV start links (``rc=S01chrony``)."""
    units: dict[str, Unit] = {}
    links: list[str] = []
    for block in re.split(r"\n\s*\n", text):
        kv = keyvals(block)
        if "Id" in kv:
            units[kv["Id"]] = Unit(kv["Id"], kv.get("LoadState", ""), kv.get("ActiveState", ""),
                                   kv.get("UnitFileState", ""))
        links += [l[3:] for l in block.splitlines() if l.startswith("rc=")]
    return units, links


def parse_mtimes(text: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for line in text.splitlines():
        stamp, _, path = line.partition(" ")
        if path and re.match(r"^\d+(\.\d+)?$", stamp):
            out[path] = float(stamp)
    return out


# ------------------------------------------------------------------------------ chrony

@dataclass
class Tracking:
    ref_id: str
    ref_name: str
    stratum: int
    system_offset: float  # seconds
    last_offset: float
    leap: str  # "Normal", "Not synchronised", ...


@dataclass
class Source:
    mode: str  # ^ server, = peer, # refclock
    state: str  # * selected, + combined, - not combined, ? unreachable, x falseticker, ~ too variable
    name: str
    reach: str


@dataclass
class Chrony:
    installed: bool
    binaries: list[str]
    other_daemons: list[str]  # binaries of other time daemons present
    tracking: Tracking | None
    tracking_error: str
    sources: list[Source]
    source_names: bool  # chronyc printed configured names (-N, chrony >= 4.0), not addresses
    config_sources: list[tuple[str, str, str]]  # (file:line, kind, name)


def parse_chrony(s: dict[str, str]) -> Chrony:
    bins = [l.strip() for l in s.get("chrony_bin", "").splitlines() if l.strip()]
    tracking, error = None, ""
    for line in s.get("chrony_tracking", "").splitlines():
        f = line.split(",")
        if len(f) >= 14:
            try:
                tracking = Tracking(f[0], f[1], int(f[2]), float(f[4]), float(f[5]), f[13])
            except ValueError:
                error = line
        elif line.strip():
            error = line.strip()
    sources = []
    for line in s.get("chrony_sources", "").splitlines():
        f = line.split(",")
        if len(f) >= 6 and f[0] in "^=#" and len(f[0]) == 1:
            sources.append(Source(f[0], f[1], f[2], f[5]))
    conf = []
    for line in s.get("chrony_conf", "").splitlines():
        path, _, rest = line.partition(":")
        lineno, _, text = rest.partition(":")
        words = text.split()
        if len(words) >= 2 and words[0] in ("server", "pool", "peer", "refclock"):
            conf.append((f"{path}:{lineno}", words[0], words[1]))
    return Chrony(
        installed=any(not b.startswith("other=") for b in bins),
        binaries=[b for b in bins if not b.startswith("other=")],
        other_daemons=[b[6:] for b in bins if b.startswith("other=")],
        tracking=tracking,
        tracking_error=error,
        sources=sources,
        source_names="names=yes" in s.get("chrony_sources", ""),
        config_sources=conf,
    )


# ------------------------------------------------------------------------------ PHP

@dataclass
class Setting:
    where: str  # "file:line"
    value: str


@dataclass
class RuntimeZone:
    """The effective date.timezone of one PHP runtime (a SAPI, an fpm pool, an Apache vhost)."""

    name: str  # "8.2/cli", "8.2/fpm pool www", "8.2/apache2 vhost 000-default.conf:1"
    zone: str | None  # None: not set anywhere, so PHP's default (UTC) applies
    source: str  # where the value comes from ("file:line", "php -r", "not set")

    @property
    def effective(self) -> str:
        return normalize_zone(self.zone) or "UTC"


@dataclass
class Runtime:
    name: str  # "8.2/fpm", "system/cli", "php74/fpm", "xampp/apache2"
    ini: str
    scan_dir: str | None
    installed: bool

    @property
    def sapi(self) -> str:
        return self.name.rsplit("/", 1)[1]

    @property
    def base(self) -> str:
        return self.name.rsplit("/", 1)[0]


def parse_runtimes(text: str) -> list[Runtime]:
    out = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 5 and parts[0] == "runtime":
            out.append(Runtime(parts[1], parts[2], None if parts[3] == "-" else parts[3],
                               parts[4] == "yes"))
    return out


@dataclass
class GrepLine:
    path: str
    line: int
    text: str


def parse_grep(text: str) -> list[GrepLine]:
    out = []
    for raw in text.splitlines():
        m = re.match(r"^(/[^:]*):(\d+):(.*)$", raw)
        if m:
            out.append(GrepLine(m.group(1), int(m.group(2)), m.group(3)))
    return out


def _unquote(value: str) -> str:
    value = value.strip()
    if value[:1] in "\"'":
        q = value[0]
        end = value.find(q, 1)
        return value[1:end] if end > 0 else value[1:]
    return value.split(";", 1)[0].split("#", 1)[0].strip() if not value.startswith("${") else value


INI_SETTING = re.compile(r"^\s*date\.timezone\s*=\s*(.*?)\s*$")
POOL_SETTING = re.compile(r"^\s*php(_admin)?_value\[date\.timezone\]\s*=\s*(.*?)\s*$")
APACHE_SETTING = re.compile(r"^\s*php(_admin)?_value\s+date\.timezone\s+(.*?)\s*$", re.I)


def ini_settings(lines: list[GrepLine], path: str) -> list[Setting]:
    """date.timezone assignments in one ini file, in order, outside [PATH=]/[HOST=] sections."""
    out, per_dir = [], False
    for g in lines:
        if g.path != path:
            continue
        stripped = g.text.strip()
        if stripped.startswith("["):
            per_dir = stripped.upper().startswith(("[PATH=", "[HOST="))
            continue
        m = INI_SETTING.match(g.text)
        if m and not per_dir:
            out.append(Setting(f"{g.path}:{g.line}", _unquote(m.group(1))))
    return out


def ini_files(runtime: Runtime, mtimes: dict[str, float], grep: list[GrepLine]) -> list[str]:
    """The files PHP loads for a runtime, in load order: php.ini, then the scan dir's *.ini
    sorted by name (later ones win)."""
    known = set(mtimes) | {g.path for g in grep}
    files = [runtime.ini]
    if runtime.scan_dir:
        prefix = runtime.scan_dir.rstrip("/") + "/"
        files += sorted(p for p in known if p.startswith(prefix) and p.endswith(".ini")
                        and "/" not in p[len(prefix):])
    return files


def ini_zone(runtime: Runtime, mtimes: dict[str, float], grep: list[GrepLine]) -> RuntimeZone:
    last: Setting | None = None
    for path in ini_files(runtime, mtimes, grep):
        found = ini_settings(grep, path)
        if found:
            last = found[-1]
    if last is None:
        return RuntimeZone(runtime.name, None, "date.timezone not set")
    return RuntimeZone(runtime.name, last.value or None, last.where)


def pool_files(runtime: Runtime, grep: list[GrepLine], mtimes: dict[str, float]) -> list[str]:
    """php-fpm pool configuration files of an fpm runtime (Debian, RHEL, remi, SCL)."""
    root = runtime.ini.rsplit("/", 1)[0]  # /etc/php/8.2/fpm, /etc, /etc/opt/remi/php74
    candidates = {g.path for g in grep} | set(mtimes)
    if root.endswith("/fpm"):  # Debian/Ubuntu
        dirs, mains = [root + "/pool.d/"], [root + "/php-fpm.conf"]
    else:
        dirs, mains = [root + "/php-fpm.d/"], [root + "/php-fpm.conf"]
    return sorted(p for p in candidates
                  if p in mains or any(p.startswith(d) and p.endswith(".conf")
                                       and "/" not in p[len(d):] for d in dirs))


def pool_zones(runtime: Runtime, base: RuntimeZone, grep: list[GrepLine],
               mtimes: dict[str, float]) -> list[RuntimeZone]:
    """One entry per fpm pool: its php_admin_value / php_value override, else the fpm ini's.
    php-fpm applies php_value first and php_admin_value after, so an admin value wins."""
    pools: dict[str, dict[str, Setting]] = {}
    order: list[str] = []
    for path in pool_files(runtime, grep, mtimes):
        section = None
        for g in (g for g in grep if g.path == path):
            stripped = g.text.strip()
            if stripped.startswith("["):
                section = stripped.strip("[]").strip()
                if section.lower() != "global" and section not in pools:
                    pools[section] = {}
                    order.append(section)
                continue
            m = POOL_SETTING.match(g.text)
            if m and section and section.lower() != "global":
                pools[section]["admin" if m.group(1) else "value"] = Setting(
                    f"{g.path}:{g.line}", _unquote(m.group(2)))
    if not order:
        return [RuntimeZone(base.name, base.zone, base.source)]
    out = []
    for pool in order:
        chosen = pools[pool].get("admin") or pools[pool].get("value")
        name = f"{runtime.name} pool {pool}"
        out.append(RuntimeZone(name, chosen.value or None, chosen.where) if chosen
                   else RuntimeZone(name, base.zone, base.source))
    return out


def apache_zones(runtime: Runtime, base: RuntimeZone, grep: list[GrepLine],
                 apache_files: list[str]) -> list[RuntimeZone]:
    """mod_php: server-wide php_value/php_admin_value override the ini; a <VirtualHost> or
    .htaccess override applies to that vhost/directory only (admin values win over plain)."""
    server: Setting | None = None
    scoped: list[tuple[str, Setting, bool]] = []  # (scope, setting, admin)
    server_admin = False
    for path in apache_files:
        vhost = None
        for g in (g for g in grep if g.path == path):
            text = g.text.strip()
            if text.lower().startswith("<virtualhost"):
                vhost = f"vhost {path.rsplit('/', 1)[1]}:{g.line}"
                continue
            if text.lower().startswith("</virtualhost"):
                vhost = None
                continue
            m = APACHE_SETTING.match(g.text)
            if not m:
                continue
            setting = Setting(f"{g.path}:{g.line}", _unquote(m.group(2)))
            admin = bool(m.group(1))
            if path.endswith(".htaccess"):
                scoped.append((f"dir {path.rsplit('/', 1)[0]}", setting, False))
            elif vhost:
                scoped.append((vhost, setting, admin))
            elif admin or not server_admin:
                server, server_admin = setting, admin
    default = RuntimeZone(runtime.name, server.value, server.where) if server else base
    out = [default]
    seen: dict[str, tuple[Setting, bool]] = {}
    for scope, setting, admin in scoped:
        prev = seen.get(scope)
        if prev is None or admin or not prev[1]:
            seen[scope] = (setting, admin)
    for scope, (setting, admin) in seen.items():
        if server_admin and not admin:
            continue  # a server-wide php_admin_value cannot be overridden by php_value
        out.append(RuntimeZone(f"{runtime.name} {scope}", setting.value or None, setting.where))
    return out


@dataclass
class CliReport:
    binary: str
    version: str
    ini: str  # ini_get("date.timezone") as PHP reports it ('' when unset before 8.2)
    effective: str  # date_default_timezone_get()
    loaded: str  # php_ini_loaded_file()
    error: str = ""


def parse_cli(text: str) -> list[CliReport]:
    reports: list[CliReport] = []
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if key == "binary" and sep:
            reports.append(CliReport(value, "", "", "", ""))
        elif reports and sep and key in ("version", "effective", "loaded"):
            setattr(reports[-1], key, value.strip())
        elif reports and sep and key == "ini":
            reports[-1].ini = value.strip().strip("'")
        elif reports and line.strip():
            reports[-1].error = (reports[-1].error + " " + line.strip()).strip()
    return reports


@dataclass
class PhpFacts:
    runtimes: list[Runtime]
    zones: list[RuntimeZone]  # effective zone of every installed runtime / pool / vhost
    ignored: list[str]  # config dirs of runtimes that are not installed
    apache_php_enabled: bool
    cli: list[CliReport]


def _apache_files(grep: list[GrepLine], mtimes: dict[str, float]) -> list[str]:
    paths = {g.path for g in grep} | set(mtimes)
    return sorted(p for p in paths if p.startswith(("/etc/apache2/", "/etc/httpd/", "/opt/lampp/etc/httpd",
                                                     "/opt/lampp/etc/extra/", "/opt/rh/httpd24/root/etc/httpd/"))
                  or p.endswith("/.htaccess"))


def parse_php(s: dict[str, str]) -> PhpFacts:
    runtimes = parse_runtimes(s.get("php_runtimes", ""))
    grep = parse_grep(s.get("php_grep", ""))
    mtimes = parse_mtimes(s.get("mtimes", ""))
    cli = parse_cli(s.get("php_cli", ""))
    apache_mods = [l.strip() for l in s.get("apache_php", "").splitlines() if l.strip()]
    zones: list[RuntimeZone] = []
    ignored: list[str] = []
    for rt in runtimes:
        if not rt.installed:
            ignored.append(rt.name)
            continue
        base = ini_zone(rt, mtimes, grep)
        if rt.sapi == "cli":
            # PHP itself answers for its CLI: the report whose loaded php.ini is this runtime's.
            report = next((c for c in cli if c.loaded == rt.ini and c.effective), None)
            if report is None or normalize_zone(report.effective) == normalize_zone(base.zone or "UTC"):
                zones.append(base)  # PHP agrees with what the files say
            else:
                zones.append(RuntimeZone(rt.name, report.effective,
                                         f"php -r ({report.binary}); files say {base.zone or 'not set'}"))
        elif rt.sapi == "fpm":
            zones += pool_zones(rt, base, grep, mtimes)
        elif rt.sapi == "apache2":
            if apache_mods or rt.base == "xampp":
                zones += apache_zones(rt, base, grep, _apache_files(grep, mtimes))
            else:
                ignored.append(f"{rt.name} (mod_php not enabled)")
        else:
            zones.append(base)
    return PhpFacts(runtimes, zones, ignored, bool(apache_mods), cli)


# ------------------------------------------------------------------------------ network

# curl exit statuses that mean the TLS layer failed (so the TCP connection was made).
CURL_TLS_ERRORS = {35: "TLS handshake failed", 51: "server name does not match the certificate",
                   53: "TLS engine not found", 58: "client certificate problem",
                   59: "no usable cipher", 60: "certificate not trusted (system store)",
                   77: "CA bundle unreadable", 80: "TLS shutdown failed", 83: "issuer check failed",
                   90: "pinned key mismatch", 91: "invalid certificate status"}


@dataclass
class Http:
    code: int  # 0: no HTTP answer
    connected: bool  # the TCP connection to port 443 was made
    verify: int  # curl's ssl_verify_result (0 = verified)
    ip: str
    rc: int  # curl's exit status
    error: str  # curl's message when rc != 0
    date: datetime | None  # the API's Date header
    before: float | None  # host clock just before and after the request
    after: float | None
    via: str = "curl"  # "php": made by a system PHP's curl extension with libcurl's default CA bundle


@dataclass
class Net:
    resolved: list[str]
    dns_rc: int
    dns_error: str
    http: Http | None  # None when curl did not run (no name, no curl)
    no_curl: bool
    php_via: str  # "curl" or "openssl"; "" when PHP did not run
    php_errno: int
    php_error: str
    php_code: int


def _float(value: str | None) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        return None


def parse_net(s: dict[str, str]) -> Net:
    dns = s.get("dns", "")
    kv = keyvals(dns)
    rc = int(kv.get("rc", "1")) if kv.get("rc", "1").lstrip("-").isdigit() else 1
    addrs: list[str] = []
    errors = []
    for line in dns.splitlines():
        parts = line.split()
        if parts and re.match(r"^[0-9a-fA-F.:]+$", parts[0]):
            if parts[0] not in addrs:
                addrs.append(parts[0])
        elif line.strip() and not line.startswith("rc="):
            errors.append(line.strip())
    http = None
    curl = s.get("curl", "")
    ckv = keyvals(curl)
    if "rc" in ckv:
        date = None
        error_lines = []
        w = {}
        for line in curl.splitlines():
            if line.lower().startswith("date:"):
                try:
                    date = parsedate_to_datetime(line.split(":", 1)[1].strip())
                except (TypeError, ValueError):
                    date = None
            elif line.startswith("tepat_curl "):
                w = dict(p.split("=", 1) for p in line[11:].split() if "=" in p)
            elif line.startswith("curl:"):
                error_lines.append(line.strip())
        code = int(w.get("code", "0") or 0) if w.get("code", "0").isdigit() else 0
        crc = int(ckv["rc"]) if ckv["rc"].isdigit() else 1
        http = Http(
            code=code,
            # curl reports time_connect 0 when TLS then fails; a TLS error proves the TCP
            # connection was made.
            connected=(_float(w.get("connect")) or 0.0) > 0 or crc in CURL_TLS_ERRORS or code > 0,
            verify=int(w.get("verify", "0")) if w.get("verify", "0").isdigit() else 0,
            ip=w.get("ip", ""),
            rc=crc,
            error=" ".join(error_lines),
            date=date,
            before=_float(ckv.get("before")),
            after=_float(ckv.get("after")),
            via=ckv.get("via", "curl"),
        )
    pkv = keyvals(s.get("php_tls", ""))
    return Net(
        resolved=addrs if rc == 0 else [],
        dns_rc=rc,
        dns_error=" ".join(errors),
        http=http,
        no_curl=keyvals(curl).get("nocurl") == "yes",
        php_via=pkv.get("via", ""),
        php_errno=int(pkv["errno"]) if pkv.get("errno", "").isdigit() else (1 if pkv.get("via") else 0),
        php_error=pkv.get("error", ""),
        php_code=int(pkv["code"]) if pkv.get("code", "").isdigit() else 0,
    )


# ------------------------------------------------------------------------------ database

@dataclass
class Db:
    running: bool
    ok: bool
    now: datetime | None = None
    utc: datetime | None = None
    time_zone: str = ""  # @@global.time_zone
    system_time_zone: str = ""
    version: str = ""
    error: str = ""

    @property
    def offset_minutes(self) -> int | None:
        if self.now is None or self.utc is None:
            return None
        return round((self.now - self.utc).total_seconds() / 60)


def parse_db(text: str) -> Db:
    kv = keyvals(text)
    if kv.get("running") != "yes":
        return Db(running=False, ok=False)
    rows = [l for l in text.splitlines() if "\t" in l]
    if kv.get("rc") == "0" and rows:
        f = rows[-1].split("\t")
        try:
            now = datetime.strptime(f[0], "%Y-%m-%d %H:%M:%S")
            utc = datetime.strptime(f[1], "%Y-%m-%d %H:%M:%S")
        except (ValueError, IndexError):
            return Db(True, False, error=f"unexpected answer: {rows[-1]}")
        return Db(True, True, now, utc, *(f[2:5] + [""] * (5 - len(f))))
    errors = [l.strip() for l in text.splitlines()
              if l.strip() and not l.startswith(("running=", "rc="))]
    return Db(True, False, error=" ".join(errors) or f"exit status {kv.get('rc', '?')}")


# ------------------------------------------------------------------------------ all of it

@dataclass
class HostFacts:
    """Everything the controls judge, from one run of collect.sh on one host."""

    host_time: float | None  # host clock at the start of the script
    ctrl_before: float  # controller clock just before the command was sent
    ctrl_after: float  # ... and just after its output came back
    uid: int | None
    os_id: str
    systemd: bool
    os_zone: OsZone
    processes: dict[int, Process]
    units: dict[str, Unit]
    sysv_links: list[str]
    mtimes: dict[str, float]
    chrony: Chrony
    php: PhpFacts
    net: Net
    db: Db
    raw: dict[str, str] = field(repr=False, default_factory=dict)
    output: str = field(repr=False, default="")  # what the collector printed, as recorded

    @property
    def complete(self) -> bool:
        """The script ran to its end (a cut-off output must not pass for a clean host)."""
        return "end" in self.raw


def parse(output: str, ctrl_before: float, ctrl_after: float) -> HostFacts:
    s = sections(output)
    meta = keyvals(s.get("meta", ""))
    units, links = parse_units(s.get("units", ""))
    return HostFacts(
        host_time=_float(meta.get("host_time")),
        ctrl_before=ctrl_before,
        ctrl_after=ctrl_after,
        uid=int(meta["uid"]) if meta.get("uid", "").isdigit() else None,
        os_id=" ".join(filter(None, [meta.get("os_ID", "").strip('"'), meta.get("os_ID_LIKE", "").strip('"')])),
        systemd=meta.get("systemd") == "yes",
        os_zone=parse_os_zone(s),
        processes=parse_processes(s),
        units=units,
        sysv_links=links,
        mtimes=parse_mtimes(s.get("mtimes", "")),
        chrony=parse_chrony(s),
        php=parse_php(s),
        net=parse_net(s),
        db=parse_db(s.get("db", "")),
        raw=s,
        output=output,
    )


def utc_now() -> float:
    return datetime.now(timezone.utc).timestamp()


# ------------------------------------------------------------------------------ services

@dataclass
class ServiceStart:
    """A daemon that reads the time settings when it starts, and the files holding them."""

    name: str  # "php-fpm8.2", "apache2", "cron", "mariadbd"
    pid: int
    start: float | None  # when the processes now serving started (see service_starts)
    files: dict[str, float]  # path -> mtime of its time settings
    stale_by: float = 0.0  # seconds the newest setting is younger than the process

    @property
    def newest(self) -> tuple[str, float] | None:
        return max(self.files.items(), key=lambda kv: kv[1]) if self.files else None


_DAEMONS = {"cron": "cron", "crond": "cron", "mariadbd": "db", "mysqld": "db",
            "apache2": "apache", "httpd": "apache"}


def _kind(comm: str) -> str | None:
    if comm.startswith("php-fpm") or (comm.startswith("php") and comm.endswith("-fpm")):
        return "fpm"
    return _DAEMONS.get(comm)


def service_starts(f: "HostFacts") -> list[ServiceStart]:
    """Each running php-fpm, Apache, cron and database, with its start time and settings.

    php-fpm and Apache reload by replacing their workers (the master keeps its pid and start
    time through a reload), so for them the oldest worker's start counts; cron and the
    database are judged by their main process. Files: php-fpm -> its php.ini, scan dir and
    pool files; Apache -> its mod_php ini files and any config line setting date.timezone;
    cron -> /etc/localtime; the database -> /etc/localtime and its configuration.
    """
    procs = f.processes
    boot = boot_time(f.raw.get("btime", ""))
    slack = boot[1] if boot else 1.0
    grep = parse_grep(f.raw.get("php_grep", ""))
    out: list[ServiceStart] = []
    for p in sorted(procs.values(), key=lambda p: p.pid):
        kind = _kind(p.comm)
        parent = procs.get(p.ppid)
        if kind is None or (parent is not None and _kind(parent.comm) == kind):
            continue  # not a daemon we judge, or a worker of one
        children = [c for c in procs.values() if c.ppid == p.pid and _kind(c.comm) == kind]
        start = p.start
        if kind in ("fpm", "apache") and children:
            starts = [c.start for c in children if c.start is not None]
            start = min(starts) if starts else p.start
        files: list[str] = []
        if kind == "fpm":
            m = re.search(r"(\d+(?:\.\d+)?)", p.comm)
            rts = [r for r in f.php.runtimes if r.sapi == "fpm" and r.installed
                   and (r.base == m.group(1) if m else not re.match(r"^\d", r.base))]
            for rt in rts:
                files += ini_files(rt, f.mtimes, grep) + [rt.scan_dir or ""]
                pools = pool_files(rt, grep, f.mtimes)
                files += pools + sorted({x.rsplit("/", 1)[0] for x in pools if "/pool.d/" in x or "/php-fpm.d/" in x})
        elif kind == "apache":
            if f.php.apache_php_enabled or any(r.base == "xampp" for r in f.php.runtimes):
                for rt in f.php.runtimes:
                    if rt.sapi == "apache2" and rt.installed:
                        files += ini_files(rt, f.mtimes, grep) + [rt.scan_dir or ""]
                files += sorted({g.path for g in grep if APACHE_SETTING.match(g.text)})
        elif kind == "cron":
            files.append("/etc/localtime")
        else:
            files.append("/etc/localtime")
            files += [x for x in f.mtimes if x.startswith(("/etc/mysql", "/etc/my.cnf"))]
        stamps = {x: f.mtimes[x] for x in files if x in f.mtimes}
        svc = ServiceStart(p.comm, p.pid, start, stamps)
        newest = svc.newest
        # A start time may read early by the boot time's uncertainty: only a setting younger
        # than that is certainly newer than the process.
        if start is not None and newest is not None and newest[1] > start + slack:
            svc.stale_by = newest[1] - start
        out.append(svc)
    return out
