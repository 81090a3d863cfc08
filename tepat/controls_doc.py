"""``tepat controls``: the control registry for people, and the source of docs/controls.md."""
from __future__ import annotations

import argparse

from tepat.controls import CONTROLS

LETTER_STEPS = {
    "1": "step 1: server configuration as SIPP's developers recommended",
    "1a": "step 1a: PHP's date.timezone set to the court's region",
    "1b": "step 1b: the operating system's date and time",
    "2": "step 2: the server can connect to apis.mahkamahagung.go.id",
    "3": "step 3: if 1 and 2 hold, the queue at the Supreme Court",
}


def markdown() -> str:
    """docs/controls.md, generated: edit tepat/controls.py, then `tepat controls --markdown`."""
    out = [
        "# Controls",
        "",
        "Generated from `tepat/controls.py` by `tepat controls --markdown > docs/controls.md`;",
        "a unit test fails when this page and the registry disagree.",
        "",
        "Each control's id appears in its check (`tests/compliance/`), its fix (`deploy.py`,",
        "`operations/`), its lab fault (`tepat/lab/faults.py`) and every report. Impact runs from",
        "0 to 1, as in InSpec. A control whose dependency fails is reported failing too, naming",
        "that dependency as the root cause.",
        "",
        "| id | title | impact | fixed by `tepat fix` |",
        "| --- | --- | --- | --- |",
    ]
    out += [f"| [{c.id}](#{c.id.lower()}) | {c.title} | {c.impact} | {'yes' if c.fixable else 'no'} |"
            for c in CONTROLS.values()]
    for c in CONTROLS.values():
        out += [
            "",
            f"## {c.id}",
            "",
            f"**{c.title}.** Impact {c.impact}. Letter {LETTER_STEPS[c.letter_step]}.",
            "",
            f"Why: {c.rationale}",
            "",
            f"What to do: {c.remediation}",
        ]
        if c.depends_on:
            out += ["", f"Depends on: {', '.join(c.depends_on)} (a failure there is its root cause)."]
    return "\n".join(out) + "\n"


def _run(args: argparse.Namespace) -> int:
    if args.markdown:
        print(markdown(), end="")
        return 0
    for c in CONTROLS.values():
        print(f"{c.id:10} {c.impact:.1f}  {'fix ' if c.fixable else '    '} {c.title}")
    return 0


def add_parser(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    parser = sub.add_parser("controls", help="list the controls tepat checks",
                            description="The controls, with id, impact and whether tepat fix remedies them.")
    parser.add_argument("--markdown", action="store_true", help="print docs/controls.md")
    parser.set_defaults(func=_run)
