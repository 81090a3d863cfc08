"""PHP-TZ-01: every PHP runtime on a host, where its date.timezone comes from, in one command.

A *runtime* is one php.ini with its scan dir (``conf.d``/``php.d``): Debian keeps one per SAPI
(``/etc/php/<ver>/{cli,fpm,apache2,cgi}``, old ``/etc/php5/<sapi>``), RHEL/CentOS one for all
(``/etc/php.ini`` + ``/etc/php.d``), remi (``/etc/opt/remi/phpNN``) and Software Collections
(``/etc/opt/rh/rh-phpNN``, older ``/opt/rh/phpNN/root/etc``) one per collection, XAMPP one
without a scan dir (``/opt/lampp/etc/php.ini``). PHP 5.6 to 8.x use the same layouts.

The script lists the php.ini files and scan dirs that exist, every active ``date.timezone``
line in them, every php-fpm pool ``php_value``/``php_admin_value[date.timezone]`` and every
Apache ``php_value``/``php_admin_value date.timezone``, the real path of each file holding one
(Debian's conf.d entries are symlinks into mods-available), the content of tepat's managed ini
files, and modification times (for SVC-01). Static reading, not ``php -i`` per runtime: one
round trip whatever the number of runtimes, and it sees the fpm and Apache SAPIs that the CLI
binary cannot report.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from pyinfra.api import FactBase

MANAGED_NAME = "zz-tepat-timezone.ini"  # "zz-": PHP loads a scan dir in strcmp order, so last

# Globs, kept in one place so the layouts are documented by the code that reads them.
INI_GLOBS = (
    "/etc/php/*/*/php.ini", "/etc/php5/*/php.ini", "/etc/php.ini",
    "/etc/opt/remi/*/php.ini", "/etc/opt/rh/*/php.ini", "/opt/rh/*/root/etc/php.ini",
    "/opt/lampp/etc/php.ini",
)
SCAN_DIR_GLOBS = (
    "/etc/php/*/*/conf.d", "/etc/php5/*/conf.d", "/etc/php.d",
    "/etc/opt/remi/*/php.d", "/etc/opt/rh/*/php.d", "/opt/rh/*/root/etc/php.d",
)
POOL_GLOBS = (
    "/etc/php/*/fpm/pool.d/*.conf", "/etc/php/*/fpm/php-fpm.conf",
    "/etc/php5/fpm/pool.d/*.conf", "/etc/php5/fpm/php-fpm.conf",
    "/etc/php-fpm.d/*.conf", "/etc/php-fpm.conf",
    "/etc/opt/remi/*/php-fpm.d/*.conf", "/etc/opt/remi/*/php-fpm.conf",
    "/etc/opt/rh/*/php-fpm.d/*.conf", "/etc/opt/rh/*/php-fpm.conf",
    "/opt/lampp/etc/php-fpm.conf", "/opt/lampp/etc/php-fpm.d/*.conf",
)
APACHE_DIRS = ("/etc/apache2", "/etc/httpd", "/opt/lampp/etc", "/opt/lampp/apache2/conf")

INI_RE = r"^[[:space:]]*date\.timezone[[:space:]]*="
POOL_RE = r"^[[:space:]]*php_(admin_)?value\[date\.timezone\]"
APACHE_RE = r"^[[:space:]]*php_(admin_)?value[[:space:]]+date\.timezone"

SCRIPT = rf"""
i=; for f in {' '.join(INI_GLOBS)}; do [ -f "$f" ] && i="$i $f"; done
d=; for f in {' '.join(SCAN_DIR_GLOBS)}; do [ -d "$f" ] && d="$d $f"; done
s=; for x in $d; do for f in "$x"/*.ini; do [ -f "$f" ] && s="$s $f"; done; done
p=; for f in {' '.join(POOL_GLOBS)}; do [ -f "$f" ] && p="$p $f"; done
for f in $i; do echo "I $f"; done
for f in $d; do echo "D $f"; done
if [ -n "$i$s" ]; then grep -HnE '{INI_RE}' $i $s /dev/null | sed 's/^/S /'; fi
if [ -n "$p" ]; then grep -HnE '{POOL_RE}' $p /dev/null | sed 's/^/P /'; fi
grep -rHnIiE '{APACHE_RE}' {' '.join(APACHE_DIRS)} 2>/dev/null | sed 's/^/A /'
for f in $(grep -lE '{INI_RE}' $i $s /dev/null 2>/dev/null); do [ -L "$f" ] && echo "R $f $(readlink -f "$f")"; done
for f in $s; do case "$f" in */{MANAGED_NAME}) echo "C $f"; sed 's/^/| /' "$f";; esac; done
if [ -n "$i$s$p" ]; then stat -L -c 'M %.9Y %n' $i $s $p 2>/dev/null; fi
true
"""


@dataclass(frozen=True)
class Setting:
    """One active line that sets date.timezone: ``path:line: text`` with its parsed value."""

    path: str
    line: int
    text: str
    value: str
    kind: str  # "ini", "pool" or "apache"

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.text.strip()}"


@dataclass
class Runtime:
    """One php.ini and its scan dir, with the services that load it."""

    name: str  # e.g. "php8.2-fpm", "php (RHEL)", "xampp"
    ini: str
    scan_dir: str | None
    sapi: str  # cli, fpm, apache2, cgi, ... or "all" (RHEL, remi, SCL, XAMPP: one ini for all)
    units: tuple[str, ...] = ()  # systemd units to restart when this runtime's config changes
    pool_prefixes: tuple[str, ...] = ()  # fpm pool files of this runtime start with one of these
    apache_prefixes: tuple[str, ...] = ()  # Apache config dirs whose php_value apply to it

    @property
    def managed_path(self) -> str:
        """Where tepat's ini goes: last in the scan dir, or php.ini itself without one."""
        return f"{self.scan_dir}/{MANAGED_NAME}" if self.scan_dir else self.ini


@dataclass
class PhpLayout:
    runtimes: list[Runtime] = field(default_factory=list)
    settings: list[Setting] = field(default_factory=list)  # ini, pool and Apache, in file order
    real_paths: dict[str, str] = field(default_factory=dict)  # symlink -> target
    managed: dict[str, str] = field(default_factory=dict)  # managed ini path -> content
    mtimes: dict[str, float] = field(default_factory=dict)

    def real(self, path: str) -> str:
        return self.real_paths.get(path, path)

    def ini_settings(self, runtime: Runtime) -> list[Setting]:
        """The runtime's date.timezone lines in PHP's load order: php.ini, then the scan dir
        sorted by file name (PHP sorts with strcmp; bytes order here)."""
        own = [s for s in self.settings if s.kind == "ini" and s.path == runtime.ini]
        scanned = [s for s in self.settings if s.kind == "ini" and runtime.scan_dir
                   and str(PurePosixPath(s.path).parent) == runtime.scan_dir]
        scanned.sort(key=lambda s: (PurePosixPath(s.path).name.encode(), s.line))
        return own + scanned

    def overrides(self, runtime: Runtime) -> list[Setting]:
        """Pool and Apache settings that override the ini value for this runtime."""
        found = []
        for s in self.settings:
            if s.kind == "pool" and any(s.path.startswith(p) for p in runtime.pool_prefixes):
                found.append(s)
            if s.kind == "apache" and any(s.path.startswith(p) for p in runtime.apache_prefixes):
                found.append(s)
        return found

    def effective(self, runtime: Runtime) -> str | None:
        """The ini value the runtime ends up with (last one loaded), before pool/vhost overrides."""
        values = [s.value for s in self.ini_settings(runtime)]
        return values[-1] if values else None

    def files_of(self, runtime: Runtime) -> list[str]:
        """Every file whose change affects this runtime (for SVC-01's staleness test)."""
        files = [runtime.ini]
        if runtime.scan_dir:
            files += [p for p in self.mtimes if str(PurePosixPath(p).parent) == runtime.scan_dir]
        files += [p for p in self.mtimes if any(p.startswith(x) for x in runtime.pool_prefixes)]
        return files


def _value(raw: str) -> str:
    """The value of ``date.timezone = "Asia/Jakarta" ; comment`` or ``php_value ... X``."""
    raw = raw.strip()
    if raw and raw[0] in "\"'":
        end = raw.find(raw[0], 1)
        return raw[1:end] if end > 0 else raw[1:]
    return re.split(r"[\s;#]", raw, maxsplit=1)[0] if raw else ""


def parse_setting(kind: str, grep_line: str) -> Setting | None:
    """``path:line:text`` from ``grep -Hn`` -> Setting (None if it does not parse)."""
    path, _, rest = grep_line.partition(":")
    number, _, text = rest.partition(":")
    if not number.isdigit():
        return None
    if kind == "ini":
        raw = text.split("=", 1)[1] if "=" in text else ""
    elif kind == "pool":
        raw = text.split("=", 1)[1] if "=" in text else ""
    else:  # Apache: php_value date.timezone VALUE
        parts = text.split(None, 2)
        raw = parts[2] if len(parts) > 2 else ""
    return Setting(path, int(number), text, _value(raw), kind)


def runtime_for(ini: str, scan_dirs: set[str]) -> Runtime:
    """The runtime a php.ini belongs to, from its path (see the module docstring)."""
    parts = PurePosixPath(ini).parts  # ('/', 'etc', 'php', '8.2', 'fpm', 'php.ini')
    if ini.startswith("/etc/php/") and len(parts) == 6:
        version, sapi = parts[3], parts[4]
        base = f"/etc/php/{version}/{sapi}"
        units = {"fpm": (f"php{version}-fpm.service",), "apache2": ("apache2.service",)}
        return Runtime(f"php{version}-{sapi}", ini, _dir(f"{base}/conf.d", scan_dirs), sapi,
                       units.get(sapi, ()),
                       (f"/etc/php/{version}/fpm/",) if sapi == "fpm" else (),
                       ("/etc/apache2/",) if sapi == "apache2" else ())
    if ini.startswith("/etc/php5/") and len(parts) == 5:
        sapi = parts[3]
        units = {"fpm": ("php5-fpm.service",), "apache2": ("apache2.service",)}
        return Runtime(f"php5-{sapi}", ini, _dir(f"/etc/php5/{sapi}/conf.d", scan_dirs), sapi,
                       units.get(sapi, ()), ("/etc/php5/fpm/",) if sapi == "fpm" else (),
                       ("/etc/apache2/",) if sapi == "apache2" else ())
    if ini == "/etc/php.ini":
        return Runtime("php (RHEL)", ini, _dir("/etc/php.d", scan_dirs), "all",
                       ("php-fpm.service", "httpd.service"),
                       ("/etc/php-fpm.d/", "/etc/php-fpm.conf"), ("/etc/httpd/",))
    if ini.startswith("/etc/opt/remi/") or ini.startswith("/etc/opt/rh/"):
        base = str(PurePosixPath(ini).parent)  # /etc/opt/remi/php74
        name = parts[4]
        return Runtime(name, ini, _dir(f"{base}/php.d", scan_dirs), "all",
                       (f"{name}-php-fpm.service",),
                       (f"{base}/php-fpm.d/", f"{base}/php-fpm.conf"))
    if ini.startswith("/opt/rh/"):
        name = parts[3]
        base = str(PurePosixPath(ini).parent)  # /opt/rh/php55/root/etc
        return Runtime(name, ini, _dir(f"{base}/php.d", scan_dirs), "all",
                       (f"{name}-php-fpm.service",),
                       (f"{base}/php-fpm.d/", f"{base}/php-fpm.conf"))
    if ini == "/opt/lampp/etc/php.ini":
        # XAMPP's PHP has no scan dir; its Apache is started by /opt/lampp/lampp, not systemd.
        return Runtime("xampp", ini, None, "all", ("xampp",),
                       ("/opt/lampp/etc/php-fpm",), ("/opt/lampp/etc/", "/opt/lampp/apache2/"))
    return Runtime(ini, ini, None, "all")


def _dir(path: str, scan_dirs: set[str]) -> str | None:
    return path if path in scan_dirs else None


def parse(lines: list[str]) -> PhpLayout:
    """The fact's output (see SCRIPT) -> PhpLayout."""
    layout = PhpLayout()
    inis: list[str] = []
    scan_dirs: set[str] = set()
    current_managed: str | None = None
    kinds = {"S": "ini", "P": "pool", "A": "apache"}
    for line in lines:
        tag, _, rest = line.partition(" ")
        if tag == "|" and current_managed is not None:
            layout.managed[current_managed] += rest + "\n"
            continue
        if tag != "|":
            current_managed = None
        if tag == "I":
            inis.append(rest)
        elif tag == "D":
            scan_dirs.add(rest)
        elif tag in kinds:
            setting = parse_setting(kinds[tag], rest)
            if setting:
                layout.settings.append(setting)
        elif tag == "R":
            link, _, target = rest.partition(" ")
            layout.real_paths[link] = target
        elif tag == "C":
            current_managed = rest
            layout.managed[rest] = ""
        elif tag == "M":
            mtime, _, path = rest.partition(" ")
            try:
                layout.mtimes[path] = float(mtime)
            except ValueError:
                pass
    layout.runtimes = [runtime_for(ini, scan_dirs) for ini in inis]
    return layout


class PhpLayoutFact(FactBase):
    """Every PHP runtime and every place that sets its date.timezone (PHP-TZ-01).

    Example:

    .. code:: python

        layout = host.get_fact(PhpLayoutFact)
        for runtime in layout.runtimes:
            print(runtime.name, layout.effective(runtime))
    """

    def command(self) -> str:
        return SCRIPT

    def process(self, output: list[str]) -> PhpLayout:
        return parse(output)
