"""Which hosts a run touches: pyinfra inventories built from the court list, and ad-hoc hosts.

Court facts live in ``inventories/courts.csv``; connection details (address, port, user, key,
bastion) live apart, in a hosts file central IT fills in (``inventories/production.hosts.yaml``)::

    defaults:                      # every court; any key may be overridden per court
      ssh_user: tepat
      ssh_key: ~/.ssh/tepat_ed25519
      known_hosts: inventories/known_hosts
      bastion: jump@gateway.example:22   # optional ProxyJump
    only_listed: false             # true: courts not listed are not in this inventory (the lab)
    courts:
      pn-ambon: {address: 10.1.2.3}
      pn-dobo: {address: 10.1.2.4, ssh_port: 2222}

An inventory file is then two lines (see ``inventories/production.py``)::

    from tepat.inventory import pyinfra_groups
    globals().update(pyinfra_groups("production.hosts.yaml", __file__))

Plain ``pyinfra inventories/production.py ...`` and ``tepat -i inventories/production.py`` both
read it; tepat reads any other pyinfra inventory file too, with the same validation.
"""
from __future__ import annotations

import argparse
import fnmatch
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tepat import PROJECT_ROOT
from tepat.courts import COURTS_CSV, HIGH_COURTS_CSV, Court, CourtFileError, read_courts, read_high_courts, search
from tepat.errors import InputError
from tepat.validate import Problem, check_courts, check_zone, has_shell_meta, is_address, is_path, is_user

API_HOST = "apis.mahkamahagung.go.id"
# National time sources (inventories/SOURCES.md): BSN keeps UTC(IDN); BMKG's server is widely
# configured; the id.pool.ntp.org zone adds redundancy. Inventory data may replace them.
DEFAULT_NTP_SERVERS = ["ntp.bsn.go.id", "ntp.bmkg.go.id", "0.id.pool.ntp.org",
                       "1.id.pool.ntp.org", "2.id.pool.ntp.org", "3.id.pool.ntp.org"]
CONNECTION_KEYS = {"address", "ssh_port", "ssh_user", "ssh_key", "known_hosts", "bastion"}
DATA_KEYS = {"ntp_servers"}
UNADDRESSED = "_tepat_unaddressed"  # leading "_": pyinfra does not take it for a group


@dataclass
class Target:
    """One host a run touches: a court's server, an ad-hoc address, or this machine."""

    name: str  # pyinfra host name: the court id, or the address for an ad-hoc host
    court: Court | None = None
    address: str | None = None  # None: the court has no address yet (reported, not skipped)
    port: int = 22
    user: str | None = None
    ssh_key: str | None = None
    known_hosts: str | None = None
    bastion: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    groups: list[str] = field(default_factory=list)
    local: bool = False  # this machine, no SSH

    @property
    def timezone(self) -> str | None:
        return self.data.get("timezone") or (self.court.timezone if self.court else None)

    @property
    def ntp_servers(self) -> list[str]:
        return list(self.data.get("ntp_servers") or DEFAULT_NTP_SERVERS)

    @property
    def court_id(self) -> str:
        return self.court.court_id if self.court else self.name


# ---------------------------------------------------------------------------- court list

def load_courts(courts_csv: Path = COURTS_CSV) -> list[Court]:
    """The validated court list; InputError lists every problem."""
    try:
        courts = read_courts(courts_csv)
        high_courts = read_high_courts(HIGH_COURTS_CSV)
    except (CourtFileError, OSError) as exc:
        raise InputError(str(exc)) from None
    problems = check_courts(courts, high_courts)
    if problems:
        raise InputError(f"{len(problems)} problem(s) in the court list; nothing was contacted",
                         [str(p) for p in problems])
    return courts


def find_court(courts: list[Court], query: str) -> Court:
    """The one court ``query`` names, or InputError naming the candidates."""
    found = search(courts, query)
    if not found:
        raise InputError(f"no court matches {query!r} (try `tepat inventory show {query!r}` "
                         "with part of the name)")
    if len(found) > 1:
        names = ", ".join(f"{c.name} ({c.court_id})" for c in found[:12])
        more = f" and {len(found) - 12} more" if len(found) > 12 else ""
        raise InputError(f"{query!r} matches {len(found)} courts: {names}{more}; be more precise")
    return found[0]


# ---------------------------------------------------------------------------- hosts file

def _yaml_lines(text: str) -> dict[tuple[str, ...], int]:
    """Line numbers of mapping keys, by key path: {("courts", "pn-ambon", "address"): 12}."""
    lines: dict[tuple[str, ...], int] = {}

    def walk(node: yaml.Node, path: tuple[str, ...]) -> None:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                sub = path + (str(key.value),)
                lines[sub] = key.start_mark.line + 1
                walk(value, sub)

    root = yaml.compose(text)
    if root is not None:
        walk(root, ())
    return lines


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(PROJECT_ROOT))
    except ValueError:
        return str(path)


def _check_connection(where: str, court: str, key: str, value: Any) -> list[Problem]:
    if key not in CONNECTION_KEYS | DATA_KEYS:
        return [Problem(where, court, f"unknown key {key!r} (known: "
                        f"{', '.join(sorted(CONNECTION_KEYS | DATA_KEYS))})")]
    if key == "ntp_servers":
        if not isinstance(value, list) or not value:
            return [Problem(where, court, "ntp_servers must be a non-empty list", value)]
        return [Problem(where, court, "ntp server is not a valid address", v)
                for v in value if not (isinstance(v, str) and is_address(v))]
    if key == "ssh_port":
        if not isinstance(value, int) or isinstance(value, bool) or not 0 < value < 65536:
            return [Problem(where, court, "ssh_port must be a number from 1 to 65535", value)]
        return []
    if not isinstance(value, str):
        return [Problem(where, court, f"{key} must be text", value)]
    if has_shell_meta(value):
        return [Problem(where, court, f"{key} contains a shell metacharacter", value)]
    ok = {
        "address": is_address,
        "ssh_user": is_user,
        "ssh_key": is_path,
        "known_hosts": is_path,
        "bastion": _is_bastion,
    }[key](value)
    return [] if ok else [Problem(where, court, f"{key} is not well-formed", value)]


def _is_bastion(value: str) -> bool:
    try:
        user, address, _port = parse_address(value)
    except InputError:
        return False
    return user is None or is_user(user)


def read_hosts_file(path: Path, courts: list[Court]) -> tuple[list[Target], list[Court]]:
    """Targets with addresses, and the courts that have none. InputError lists every problem."""
    shown = _display(path)
    try:
        text = path.read_text(encoding="utf-8")
        config = yaml.safe_load(text) or {}
        lines = _yaml_lines(text)
    except OSError as exc:
        raise InputError(f"cannot read hosts file {shown}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{shown}:{mark.line + 1}" if mark else shown
        raise InputError(f"{where}: not valid YAML: {getattr(exc, 'problem', exc)}") from None
    if not isinstance(config, dict):
        raise InputError(f"{shown}:1: expected a mapping with 'defaults' and 'courts'")

    problems: list[Problem] = []
    for key in config:
        if key not in ("defaults", "courts", "only_listed"):
            problems.append(Problem(f"{shown}:{lines.get((str(key),), 1)}", "",
                                    f"unknown top-level key {key!r}"))
    defaults = config.get("defaults") or {}
    entries = config.get("courts") or {}
    if not isinstance(defaults, dict) or not isinstance(entries, dict):
        raise InputError(f"{shown}: 'defaults' and 'courts' must be mappings")
    for key, value in defaults.items():
        problems += _check_connection(f"{shown}:{lines.get(('defaults', str(key)), 1)}",
                                      "defaults", str(key), value)

    by_id = {c.court_id: c for c in courts}
    targets: list[Target] = []
    listed: set[str] = set()
    for court_id, entry in entries.items():
        court_id = str(court_id)
        where = f"{shown}:{lines.get(('courts', court_id), 1)}"
        court = by_id.get(court_id)
        if court is None:
            problems.append(Problem(where, court_id, "not a court id in inventories/courts.csv"))
            continue
        if not isinstance(entry, dict):
            problems.append(Problem(where, court_id, "expected a mapping like {address: ...}", entry))
            continue
        for key, value in entry.items():
            key_where = f"{shown}:{lines.get(('courts', court_id, str(key)), lines.get(('courts', court_id), 1))}"
            problems += _check_connection(key_where, court_id, str(key), value)
        merged = {**defaults, **entry}
        if not merged.get("address"):
            continue  # reported below as a court without an address
        listed.add(court_id)
        targets.append(_court_target(court, merged))
    if problems:
        raise InputError(f"{len(problems)} problem(s) in {shown}; nothing was contacted",
                         [str(p) for p in problems])
    missing = [] if config.get("only_listed") else [c for c in courts if c.court_id not in listed]
    return targets, missing


def _expand(value: str | None) -> str | None:
    """Paths in the hosts file are relative to the project root, or absolute, or ~."""
    if not value:
        return None
    expanded = Path(os.path.expanduser(value))
    return str(expanded if expanded.is_absolute() else (PROJECT_ROOT / expanded))


def _court_target(court: Court, conn: dict[str, Any]) -> Target:
    target = Target(
        name=court.court_id,
        court=court,
        address=conn.get("address"),
        port=int(conn.get("ssh_port") or 22),
        user=conn.get("ssh_user"),
        ssh_key=_expand(conn.get("ssh_key")),
        known_hosts=_expand(conn.get("known_hosts")),
        bastion=conn.get("bastion"),
        groups=[court.pt_group, court.tz_group],
    )
    target.data = host_data(target, conn.get("ntp_servers"))
    return target


def host_data(target: Target, ntp_servers: list[str] | None = None) -> dict[str, Any]:
    """The pyinfra host data of a target: connection (host keys always verified) + court facts."""
    data: dict[str, Any] = {
        "ssh_hostname": target.address,
        "ssh_port": target.port,
        # pyinfra's default, accept-new, would trust any unknown key: never outside enrolment.
        "ssh_strict_host_key_checking": "yes",
        "api_host": API_HOST,
        "ntp_servers": list(ntp_servers or DEFAULT_NTP_SERVERS),
    }
    if target.user:
        data["ssh_user"] = target.user
    if target.ssh_key:
        data["ssh_key"] = target.ssh_key
    if target.known_hosts:
        data["ssh_known_hosts_file"] = target.known_hosts
    if target.bastion:
        data["bastion"] = target.bastion  # ProxyJump; the ssh layers of check and fix use it
    if target.court:
        c = target.court
        data.update(court_id=c.court_id, court_name=c.name, pt=c.pt, province=c.province,
                    timezone=c.timezone)
    return data


def pyinfra_groups(hosts_file: str, inventory_file: str | None = None,
                   courts_csv: str | None = None) -> dict[str, Any]:
    """Module globals for a pyinfra inventory file: ``all`` with host data, ``pt_*``, ``tz_*``.

    ``hosts_file`` (and ``courts_csv``, default the project's) are relative to
    ``inventory_file``'s folder. Courts without an address are
    named on stderr (and kept in ``_tepat_unaddressed`` for tepat's reports), never dropped
    silently. Raises InputError, naming every problem, before pyinfra connects anywhere.
    """
    base = Path(inventory_file).resolve().parent if inventory_file else Path.cwd()
    path = base / hosts_file  # an absolute hosts_file stays absolute
    courts = load_courts(base / courts_csv if courts_csv else COURTS_CSV)
    targets, missing = read_hosts_file(path, courts)
    groups: dict[str, Any] = {"all": ([(t.name, t.data) for t in targets], {})}
    for t in targets:
        for group in t.groups:
            groups.setdefault(group, []).append(t.name)
    groups[UNADDRESSED] = [c.court_id for c in missing]
    if missing and "tepat" not in Path(sys.argv[0]).name:
        sample = ", ".join(c.court_id for c in missing[:5])
        print(f"tepat: {len(missing)} court(s) have no address in {_display(path)} and are not "
              f"contacted ({sample}{', ...' if len(missing) > 5 else ''}); "
              "`tepat inventory validate` lists them all", file=sys.stderr)
    return groups


# ---------------------------------------------------------------------------- any inventory

def parse_address(spec: str) -> tuple[str | None, str, int]:
    """``[user@]host[:port]`` (IPv6 in brackets) -> (user, host, port)."""
    user, _, rest = spec.rpartition("@")
    host, port = rest, 22
    if rest.startswith("["):
        host, _, tail = rest[1:].partition("]")
        if tail.startswith(":"):
            port = _port(spec, tail[1:])
    elif rest.count(":") == 1:
        host, port_text = rest.split(":")
        port = _port(spec, port_text)
    if not is_address(host) or has_shell_meta(host) or (user and not is_user(user)):
        raise InputError(f"{spec!r} is not an address of the form [user@]host[:port]")
    return (user or None), host, port


def _port(spec: str, text: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise InputError(f"{spec!r}: the port must be a number from 1 to 65535")
    return int(text)


def _exec_inventory(path: Path) -> dict[str, Any]:
    namespace: dict[str, Any] = {"__file__": str(path), "__name__": "tepat_inventory"}
    try:
        code = compile(path.read_text(encoding="utf-8"), str(path), "exec")
        exec(code, namespace)  # as pyinfra does: an inventory is Python
    except InputError:
        raise
    except OSError as exc:
        raise InputError(f"cannot read inventory {path}: {exc.strerror}") from None
    except Exception as exc:  # the user's inventory code: show what broke, not a traceback
        raise InputError(f"inventory {path} failed to load: {type(exc).__name__}: {exc}") from None
    return namespace


def _targets_from_namespace(path: Path, namespace: dict[str, Any],
                            courts: list[Court]) -> list[Target]:
    by_id = {c.court_id: c for c in courts}
    data_by_host: dict[str, dict[str, Any]] = {}
    groups_by_host: dict[str, list[str]] = {}
    for key, value in namespace.items():
        if key.startswith("_") or not isinstance(value, (list, tuple)):
            continue
        hosts, group_data = (value if isinstance(value, tuple) and len(value) == 2
                             and isinstance(value[1], dict) else (value, {}))
        for item in hosts:
            name, data = (item if isinstance(item, tuple) else (item, {}))
            if not isinstance(name, str):
                continue
            merged = data_by_host.setdefault(name, {})
            merged.update({k: v for k, v in group_data.items() if k not in merged})
            merged.update(data)
            if key != "all":
                groups_by_host.setdefault(name, []).append(key)

    problems: list[Problem] = []
    targets = []
    for name, data in data_by_host.items():
        where = str(path)
        court = by_id.get(data.get("court_id") or name)
        zone = data.get("timezone") or (court.timezone if court else None)
        if zone is None:
            problems.append(Problem(where, name, "no court_id or timezone in its host data"))
            continue
        problems += check_zone(where, name, zone)
        if court and zone != court.timezone:
            problems.append(Problem(where, name, f"timezone disagrees with inventories/courts.csv "
                                    f"({court.timezone})", zone))
        address = data.get("ssh_hostname") or name
        for key, value in (("address", address), ("ssh_port", data.get("ssh_port", 22)),
                           ("ssh_user", data.get("ssh_user")), ("ssh_key", data.get("ssh_key")),
                           ("known_hosts", data.get("ssh_known_hosts_file"))):
            if value is not None:
                problems += _check_connection(where, name, key, value)
        target = Target(name=name, court=court, address=address,
                        port=int(data.get("ssh_port") or 22), user=data.get("ssh_user"),
                        ssh_key=data.get("ssh_key"), known_hosts=data.get("ssh_known_hosts_file"),
                        bastion=data.get("bastion"), groups=groups_by_host.get(name, []))
        target.data = {**host_data(target, data.get("ntp_servers")), **data, "timezone": zone}
        targets.append(target)
    for court_id in namespace.get(UNADDRESSED, []):
        court = by_id[court_id]
        targets.append(Target(name=court_id, court=court, address=None,
                              groups=[court.pt_group, court.tz_group],
                              data={"court_id": court_id, "court_name": court.name,
                                    "pt": court.pt, "timezone": court.timezone}))
    if problems:
        raise InputError(f"{len(problems)} problem(s) in inventory {path}; nothing was contacted",
                         [str(p) for p in problems])
    return targets


def _matches(target: Target, patterns: list[str]) -> bool:
    names = [target.name, *target.groups]
    return any(fnmatch.fnmatchcase(n, p) for p in patterns for n in names)


def load_targets(inventory: str | None = None, limit: str | None = None,
                 court: str | None = None, host: str | None = None) -> list[Target]:
    """The hosts a command acts on, validated; InputError (exit 2) before anything is contacted.

    - ``host`` (``[user@]addr[:port]``): one ad-hoc server; ``court`` gives its zone.
    - ``inventory``: a pyinfra inventory file; ``limit`` (comma-separated host or group names,
      globs allowed, like pyinfra's ``--limit``) and ``court`` narrow it.
    - neither: this machine, against ``court``'s zone if given.
    """
    courts = load_courts()
    chosen = find_court(courts, court) if court else None
    if host:
        if inventory:
            raise InputError("--host and --inventory cannot be combined: choose one")
        user, address, port = parse_address(host)
        target = Target(name=address, court=chosen, address=address, port=port, user=user)
        target.data = host_data(target)
        return [target]
    if not inventory:
        target = Target(name="localhost", court=chosen, local=True)
        target.data = host_data(target)
        target.data.pop("ssh_hostname")
        return [target]
    path = Path(inventory)
    if not path.is_file():
        raise InputError(f"inventory file {inventory} does not exist")
    targets = _targets_from_namespace(path, _exec_inventory(path), courts)
    if chosen:
        targets = [t for t in targets if t.court and t.court.court_id == chosen.court_id]
        if not targets:
            raise InputError(f"{chosen.name} ({chosen.court_id}) is not in inventory {inventory}")
    if limit:
        patterns = [p.strip() for p in limit.split(",") if p.strip()]
        targets = [t for t in targets if _matches(t, patterns)]
        if not targets:
            raise InputError(f"--limit {limit!r} matches no host or group in {inventory}")
    return targets


# ---------------------------------------------------------------------------- command line

def add_target_arguments(parser: argparse.ArgumentParser) -> None:
    """The options by which check and fix choose their hosts (``-i`` comes from the CLI)."""
    parser.add_argument("--limit", metavar="PATTERN",
                        help="host or group names (pt_*, tz_*), comma-separated, globs allowed")
    parser.add_argument("--court", metavar="NAME", help="one court, by name or id")
    parser.add_argument("--host", metavar="[USER@]ADDR[:PORT]",
                        help="one server by address, outside any inventory (with --court)")
    parser.add_argument("--ssh-key", metavar="PATH", help="SSH private key (instead of the inventory's)")
    parser.add_argument("--ask-pass", action="store_true",
                        help="prompt for the SSH password (typed once, kept in memory, never on a "
                        "command line; also used for sudo)")
    parser.add_argument("--known-hosts", metavar="PATH",
                        help="known_hosts with the servers' pinned keys (default: the inventory's, "
                        "else ~/.ssh/known_hosts); unknown or changed keys are refused")
    parser.add_argument("--ntp-server", action="append", metavar="ADDR",
                        help="approved time server(s) instead of the inventory's (repeat or "
                        "comma-separate); default for --host: the national servers")


def targets_from_args(args: argparse.Namespace) -> list[Target]:
    """``load_targets`` for a parsed command line, with --ssh-key, --known-hosts and
    --ntp-server applied to every target; InputError on any bad value."""
    for option, path in (("--ssh-key", args.ssh_key), ("--known-hosts", args.known_hosts)):
        if path and not Path(os.path.expanduser(path)).is_file():
            raise InputError(f"{option} {path}: no such file")
    servers = [x.strip() for v in (args.ntp_server or []) for x in v.split(",") if x.strip()]
    bad = [x for x in servers if has_shell_meta(x) or not is_address(x)]
    if bad:
        raise InputError(f"--ntp-server {bad[0]!r} is not a host name or address")
    targets = load_targets(args.inventory, args.limit, args.court, args.host)
    if not targets:
        raise InputError(f"inventory {args.inventory} has no hosts")
    for t in targets:
        if args.ssh_key:
            t.ssh_key = t.data["ssh_key"] = os.path.expanduser(args.ssh_key)
        if args.known_hosts:
            t.known_hosts = t.data["ssh_known_hosts_file"] = os.path.expanduser(args.known_hosts)
        if servers:
            t.data["ntp_servers"] = servers
    return targets
