"""``tepat lab``: a fleet of real PN servers (systemd-nspawn containers) to test against."""
from __future__ import annotations

import argparse
import json
import sys

from tepat.errors import InputError

EPILOG = """\
examples:
  sudo tepat lab up --courts 20 --faults mix --seed 7   20 courts, a reproducible fault mix
  sudo tepat lab up --courts all                       all 382 courts, every one compliant
  sudo tepat lab status                                hosts, addresses, faults
  sudo tepat lab status --json                         ground truth for tests
  sudo tepat lab fault pn-ambon chrony-stopped          add one fault to one host
  tepat lab fault --list                               every fault and the controls it trips
  sudo tepat lab reset pn-ambon --clean                re-create a host without faults
  sudo tepat lab down                                  stop and remove everything

Then point any command at the lab:  tepat check -i inventories/lab.py
State: /var/lib/tepat/lab (TEPAT_LAB_DIR overrides). See docs/lab.md.
"""


def add_parser(subparsers, common: argparse.ArgumentParser) -> None:
    lab = subparsers.add_parser(
        "lab", help="simulated PN servers to test and rehearse on (needs root)",
        description="A fleet of real PN servers (systemd-nspawn containers) to test against "
        "and rehearse on. Needs root.", epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    lab.add_argument("--state-dir", metavar="DIR",
                     help="lab state directory (default $TEPAT_LAB_DIR or /var/lib/tepat/lab)")
    lab.set_defaults(func=lambda args: (lab.print_help(), 2)[1])
    sub = lab.add_subparsers(dest="lab_command", metavar="SUBCOMMAND")

    up = sub.add_parser("up", help="boot the lab (reconciles a running one)")
    up.add_argument("--courts", default="20", metavar="N|all", help="number of courts (default 20)")
    up.add_argument("--seed", type=int, default=1, help="sample and fault mix seed (default 1)")
    up.add_argument("--faults", choices=("none", "mix"), default="none",
                    help="none: every host compliant; mix: a reproducible fault mix")
    up.add_argument("--no-wait", action="store_true",
                    help="return once SSH answers, without waiting for chrony to sync")
    up.set_defaults(func=_up)

    down = sub.add_parser("down", help="stop every host and service, remove overlays and bridge")
    down.set_defaults(func=_down)

    status = sub.add_parser("status", help="hosts and their faults (ground truth)")
    status.add_argument("--json", action="store_true", help='print {"hosts": [...]} as JSON')
    status.set_defaults(func=_status)

    fault = sub.add_parser("fault", help="add a fault to a host (re-creates the host)")
    fault.add_argument("host", nargs="?", help="court id of a lab host")
    fault.add_argument("name", nargs="*", help="fault name(s)")
    fault.add_argument("--list", action="store_true", help="list the faults")
    fault.add_argument("--replace", action="store_true",
                       help="the host gets exactly these faults (none given: clean)")
    fault.set_defaults(func=_fault)

    reset = sub.add_parser("reset", help="re-create hosts from a fresh overlay")
    reset.add_argument("hosts", nargs="*", metavar="HOST", help="court ids (default: all)")
    reset.add_argument("--clean", action="store_true", help="without their faults")
    reset.set_defaults(func=_reset)


def _guard(action):
    """Bad input exits 2 (nothing touched); a lab that failed to come up exits 1."""
    from tepat.lab.lab import LabError, LabInputError
    try:
        return action()
    except (LabInputError, ValueError) as exc:
        raise InputError(str(exc)) from None
    except LabError as exc:
        print(f"tepat: lab: {exc}", file=sys.stderr)
        return 1


def _lab(args):
    from tepat.lab.lab import Lab
    return _guard(lambda: Lab(args.state_dir))


def _up(args) -> int:
    return _guard(lambda: _lab(args).up(args.courts, args.seed, args.faults, wait=not args.no_wait))


def _down(args) -> int:
    return _guard(lambda: _lab(args).down())


def _status(args) -> int:
    truth = _guard(lambda: _lab(args).status())
    if args.json:
        json.dump(truth, sys.stdout, indent=2)
        print()
        return 0
    lab = truth["lab"]
    if not truth["hosts"]:
        print(f"lab: down (state in {lab['state_dir']})")
        return 0
    p = lab["params"] or {}
    print(f"lab: {len(truth['hosts'])} host(s), seed {p.get('seed')}, faults {p.get('faults')}; "
          f"inventory {lab['inventory']}")
    print(f"  ssh: -i {lab['ssh_key']} -o UserKnownHostsFile={lab['known_hosts']} tepat@ADDRESS")
    print(f"  password of tepat and technician: {lab['accounts']['password_file']}")
    for h in truth["hosts"]:
        where = f"{h['address']}:{h['ssh_port']}"
        state = "running" if h["running"] else "stopped"
        faults = ", ".join(h["faults"]) or "clean"
        print(f"  {h['court_id']:<24} {where:<18} {h['timezone']:<15} {state:<8} {faults}")
        if h["expected_failures"]:
            print(f"  {'':<24} expect: {' '.join(h['expected_failures'])}")
    down = [n for n, ok in lab["services"].items() if not ok]
    if down:
        print(f"  services not running: {', '.join(down)}")
    return 0


def _fault(args) -> int:
    from tepat.lab.faults import FAULTS, dependents
    if args.list or not args.host:
        for f in FAULTS.values():
            trips = " ".join(sorted(dependents(set(f.direct)))) or ("unreachable" if not f.reachable else "-")
            print(f"{f.name:<26} {f.description}\n{'':<26} trips: {trips}"
                  + (f" (+{' '.join(f.direct_with_database)} where MariaDB runs)" if f.direct_with_database else "")
                  + f"\n{'':<26} how: {f.applied}")
        return 0
    if not args.name and not args.replace:
        raise InputError("name a fault: `tepat lab fault HOST NAME` (`--list` lists them)")
    return _guard(lambda: _lab(args).set_faults(args.host, args.name, add=not args.replace))


def _reset(args) -> int:
    return _guard(lambda: _lab(args).reset(args.hosts or None, clean=args.clean))
