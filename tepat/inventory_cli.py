"""``tepat inventory validate|show|list``: the court list and its addresses, for people."""
from __future__ import annotations

import argparse
import json
from collections import Counter

from tepat import zones
from tepat.courts import search
from tepat.errors import InputError
from tepat.inventory import Target, load_courts, load_targets

DEFAULT_INVENTORY = "inventories/production.py"


def add_parser(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    parser = sub.add_parser(
        "inventory", help="validate the court inventory, find a court",
        description="The court list (inventories/courts.csv) and the hosts' connection details.",
    )
    inner = parser.add_subparsers(dest="inventory_command", metavar="SUBCOMMAND", required=True)

    validate = inner.add_parser(
        "validate", parents=[common], help="check the court list and the inventory; exit 2 on problems",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n  tepat inventory validate\n"
               "  tepat inventory validate -i inventories/lab.py",
    )
    validate.set_defaults(func=_validate)

    show = inner.add_parser(
        "show", parents=[common], help="find a court by (part of) its name or id",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog='examples:\n  tepat inventory show "jakarta pusat"\n  tepat inventory show pn-sleman',
    )
    show.add_argument("query", help="court name, part of it, or id (case and accents ignored)")
    show.add_argument("--json", action="store_true", help="print JSON")
    show.set_defaults(func=_show)


def _inventory(args: argparse.Namespace) -> str:
    return args.inventory or DEFAULT_INVENTORY


def _validate(args: argparse.Namespace) -> int:
    courts = load_courts()  # InputError lists every problem in the court list
    targets = load_targets(_inventory(args))  # ... and in the hosts file / inventory
    per_zone = Counter(c.timezone for c in courts)
    print(f"inventories/courts.csv: {len(courts)} courts, {len({c.pt for c in courts})} high "
          "courts, zones " + ", ".join(f"{z} {n}" for z, n in per_zone.most_common()))
    addressed = [t for t in targets if t.address]
    missing = [t for t in targets if not t.address]
    print(f"{_inventory(args)}: {len(addressed)} host(s) with an address")
    if missing:
        print(f"{len(missing)} court(s) have no address yet (add them to the hosts file):")
        for t in missing:
            print(f"  {t.court_id}  {t.court.name if t.court else ''}")
    print("valid: no problems found")
    return 0


def _describe(court_target: Target | None, court) -> dict:
    return {
        "court_id": court.court_id,
        "name": court.name,
        "pt": court.pt,
        "province": court.province,
        "city_or_regency": court.city,
        "timezone": court.timezone,
        "zone": zones.INDONESIA_ZONES[court.timezone],
        "utc_offset": zones.utc_offset(court.timezone),
        "address": (f"{court_target.address}:{court_target.port}"
                    if court_target and court_target.address else None),
    }


def _show(args: argparse.Namespace) -> int:
    courts = load_courts()
    found = search(courts, args.query)
    if not found:
        raise InputError(f"no court matches {args.query!r}")
    try:
        by_id = {t.court_id: t for t in load_targets(_inventory(args))}
    except InputError:
        by_id = {}  # finding a court must work even while the hosts file is being filled in
    rows = [_describe(by_id.get(c.court_id), c) for c in found]
    if args.json:
        print(json.dumps(rows if len(rows) > 1 else rows[0], indent=2))
        return 0 if len(rows) == 1 else 2
    if len(rows) > 1:
        print(f"{args.query!r} matches {len(rows)} courts; which one?")
        for r in rows:
            print(f"  {r['court_id']:32} {r['name']:32} {r['pt']}")
        return 2
    r = rows[0]
    print(f"{r['name']} ({r['court_id']})")
    print(f"  high court  {r['pt']}")
    print(f"  region      {r['city_or_regency']}, {r['province']}")
    print(f"  time zone   {r['timezone']} ({r['zone']}, {r['utc_offset']})")
    print(f"  address     {r['address'] or 'none yet (add it to inventories/production.hosts.yaml)'}")
    return 0
