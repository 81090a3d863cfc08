"""The ``tepat`` command line.

Each command lives in the module that does its work and adds itself here through an
``add_parser(subparsers, common)`` function; this module only parses and maps errors to exit
status: 0 all compliant, 1 something non-compliant or unreachable, 2 the run could not start.
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from tepat import __version__
from tepat.errors import InputError

EPILOG = """\
examples:
  tepat check --court "PN Sleman"              check this machine against PN Sleman's zone
  tepat check -i inventories/production.py     check the whole fleet
  tepat inventory validate                     validate the court list and addresses
  tepat inventory show "jakarta pusat"         find a court: PT, zone, offset, address
  tepat fix -i inventories/production.py --dry show what a fix would change

exit status: 0 all compliant, 1 something non-compliant or unreachable, 2 bad input.
"""


def _common_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "-i", "--inventory", metavar="PATH",
        help="pyinfra inventory file (default: none, i.e. this machine)",
    )
    return common


def build_parser() -> argparse.ArgumentParser:
    # Imported here so that `tepat --version` stays fast.
    from tepat import check, controls_doc, enrol, fix, history, inventory_cli
    from tepat.lab import cli as lab_cli

    parser = argparse.ArgumentParser(
        prog="tepat",
        description="Keep PN servers on their court's time zone and clock, so SIPP appeals "
        "reach the high court (Badilum letter 720/DJU/TI1.1/III/2025).",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"tepat {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    common = _common_parser()
    for module in (check, fix, enrol, history, inventory_cli, controls_doc, lab_cli):
        module.add_parser(sub, common)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args))
    except InputError as exc:
        print(f"tepat: {exc}", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("tepat: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
