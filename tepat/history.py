"""Every compliance run, kept in a local SQLite database, and ``tepat history``.

The letter asks courts to keep monitoring and evaluating (step 8): the history answers what
changed since last time. ``tepat check`` calls ``begin`` before it contacts any host (the run
is recorded as incomplete) and ``finish`` at the end, which stores every host and control
and marks the run complete in one transaction. A run that crashes or is killed therefore
leaves a consistent database with that run marked incomplete, never half a result.

Default location: ``$TEPAT_HISTORY`` if set, else ``/var/lib/tepat/history.sqlite`` for root
and ``~/.local/share/tepat/history.sqlite`` (XDG) for other users.

Example::

    run_id = history.begin(path, "inventories/production.py")
    run = ...  # the check
    history.finish(path, run_id, run)
    changes = history.changes_since_previous(path)
    print(changes.summary("id"))
"""
from __future__ import annotations

import argparse
import json
import os
import sqlite3
import sys
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from tepat import __version__
from tepat.diagnosis import LANGS, diagnose, reason_label, status_label
from tepat.errors import InputError
from tepat.results import ControlResult, HostResult, RunResult

SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    started_at TEXT NOT NULL,
    finished_at TEXT,                   -- NULL: the run never reached finish() (crashed)
    inventory TEXT NOT NULL,
    complete INTEGER NOT NULL DEFAULT 0,
    hosts INTEGER, compliant INTEGER, non_compliant INTEGER, unreachable INTEGER,
    tepat_version TEXT
);
CREATE TABLE IF NOT EXISTS host_results (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    court_id TEXT NOT NULL,
    court_name TEXT, pt TEXT, timezone TEXT, address TEXT,
    status TEXT NOT NULL, reason TEXT, error TEXT, duration_s REAL,
    PRIMARY KEY (run_id, court_id)
);
CREATE TABLE IF NOT EXISTS control_results (
    run_id INTEGER NOT NULL,
    court_id TEXT NOT NULL,
    control_id TEXT NOT NULL,
    status TEXT NOT NULL, detail TEXT, root_cause TEXT,
    PRIMARY KEY (run_id, court_id, control_id),
    FOREIGN KEY (run_id, court_id) REFERENCES host_results(run_id, court_id) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS runs_by_inventory ON runs (inventory, complete, id);
"""


def default_path() -> Path:
    """Where the history lives unless ``--history``/``--db`` or ``$TEPAT_HISTORY`` says."""
    if os.environ.get("TEPAT_HISTORY"):
        return Path(os.environ["TEPAT_HISTORY"])
    if os.geteuid() == 0:
        return Path("/var/lib/tepat/history.sqlite")
    data = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data) / "tepat" / "history.sqlite"


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


@contextmanager
def _connect(path: str | Path, create: bool = True) -> Iterator[sqlite3.Connection]:
    path = Path(path)
    if create:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path, timeout=30)
    else:
        if not path.exists():
            raise InputError(f"no history at {path}: `tepat check` records one on its first run")
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=30)
    with closing(conn):
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA foreign_keys = ON")
        if create:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise InputError(f"{path}: history written by a newer tepat (schema {version})")
            conn.executescript(_SCHEMA)
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        yield conn


def begin(path: str | Path, inventory: str, started_at: str | None = None) -> int:
    """Record that a run started; it stays marked incomplete until ``finish``. Returns its id."""
    with _connect(path) as conn, conn:
        cur = conn.execute(
            "INSERT INTO runs (started_at, inventory, complete, tepat_version) VALUES (?, ?, 0, ?)",
            (started_at or _now(), inventory or "local", __version__),
        )
        return int(cur.lastrowid)


def finish(path: str | Path, run_id: int, run: RunResult) -> None:
    """Store the run's results and mark it complete (``run.complete``), all in one transaction.

    Calling it again for the same run replaces its results (a retried write is harmless).
    """
    counts = {s: sum(h.status == s for h in run.hosts)
              for s in ("compliant", "non_compliant", "unreachable")}
    with _connect(path) as conn, conn:  # `with conn`: commit, or roll back on any exception
        found = conn.execute("SELECT id FROM runs WHERE id = ?", (run_id,)).fetchone()
        if found is None:
            raise KeyError(f"no run {run_id} in {path}")
        conn.execute("DELETE FROM host_results WHERE run_id = ?", (run_id,))
        conn.executemany(
            "INSERT INTO host_results VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(run_id, h.court_id, h.court_name, h.pt, h.timezone, h.address, h.status,
              h.reason, h.error, h.duration_s) for h in run.hosts],
        )
        conn.executemany(
            "INSERT INTO control_results VALUES (?, ?, ?, ?, ?, ?)",
            [(run_id, h.court_id, c.id, c.status, c.detail, c.root_cause)
             for h in run.hosts for c in h.controls],
        )
        conn.execute(
            "UPDATE runs SET started_at = coalesce(?, started_at), finished_at = ?, "
            "inventory = coalesce(?, inventory), complete = ?, hosts = ?, compliant = ?, "
            "non_compliant = ?, unreachable = ? WHERE id = ?",
            (run.started_at or None, run.finished_at or _now(), run.inventory or None,
             int(run.complete), len(run.hosts), counts["compliant"], counts["non_compliant"],
             counts["unreachable"], run_id),
        )


def record(path: str | Path | None, run: RunResult) -> int:
    """``begin`` + ``finish`` for a run that already happened (``tepat history import``).

    ``path`` None means ``default_path()``.
    """
    path = path or default_path()
    run_id = begin(path, run.inventory, run.started_at)
    finish(path, run_id, run)
    return run_id


@dataclass
class RunSummary:
    id: int
    started_at: str
    finished_at: str | None
    inventory: str
    complete: bool
    hosts: int | None
    compliant: int | None
    non_compliant: int | None
    unreachable: int | None

    @property
    def state(self) -> str:
        """complete; interrupted (stopped before every court was checked); or incomplete
        (never finished: still running, or crashed)."""
        if self.complete:
            return "complete"
        return "interrupted" if self.finished_at else "incomplete"


def _summary(row: sqlite3.Row) -> RunSummary:
    return RunSummary(row["id"], row["started_at"], row["finished_at"], row["inventory"],
                      bool(row["complete"]), row["hosts"], row["compliant"],
                      row["non_compliant"], row["unreachable"])


def runs(path: str | Path, inventory: str | None = None, limit: int = 20) -> list[RunSummary]:
    """The latest ``limit`` runs, newest first (of one inventory if given)."""
    with _connect(path, create=False) as conn:
        sql, args = "SELECT * FROM runs", []
        if inventory:
            sql, args = sql + " WHERE inventory = ?", [inventory]
        rows = conn.execute(sql + " ORDER BY id DESC LIMIT ?", [*args, limit]).fetchall()
    return [_summary(r) for r in rows]


def load_run(path: str | Path, run_id: int | None = None, inventory: str | None = None) -> RunResult:
    """A stored run as a ``RunResult`` (default: the latest complete one)."""
    with _connect(path, create=False) as conn:
        row = _pick_run(conn, run_id, inventory)
        hosts = []
        for h in conn.execute("SELECT * FROM host_results WHERE run_id = ? ORDER BY rowid",
                              (row["id"],)):
            controls = [
                ControlResult(c["control_id"], c["status"], c["detail"] or "", c["root_cause"])
                for c in conn.execute(
                    "SELECT * FROM control_results WHERE run_id = ? AND court_id = ? "
                    "ORDER BY rowid", (row["id"], h["court_id"]))
            ]
            hosts.append(HostResult(
                court_id=h["court_id"], court_name=h["court_name"] or "", pt=h["pt"] or "",
                timezone=h["timezone"] or "", address=h["address"] or "", status=h["status"],
                controls=controls, reason=h["reason"], error=h["error"] or "",
                duration_s=h["duration_s"] or 0.0,
            ))
    return RunResult(started_at=row["started_at"], finished_at=row["finished_at"] or "",
                     inventory=row["inventory"], complete=bool(row["complete"]), hosts=hosts)


def _pick_run(conn: sqlite3.Connection, run_id: int | None, inventory: str | None,
              complete_only: bool = True) -> sqlite3.Row:
    if run_id is not None:
        row = conn.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
        if row is None:
            raise InputError(f"no run {run_id} in the history")
        return row
    sql, args = "SELECT * FROM runs WHERE " + ("complete = 1" if complete_only else "1"), []
    if inventory:
        sql, args = sql + " AND inventory = ?", [inventory]
    row = conn.execute(sql + " ORDER BY id DESC LIMIT 1", args).fetchone()
    if row is None:
        raise InputError(f"no {'complete ' if complete_only else ''}run in the history yet" +
                         (f" for inventory {inventory}" if inventory else ""))
    return row


# --- What changed -----------------------------------------------------------------------------


@dataclass
class CourtChange:
    court_id: str
    court_name: str
    pt: str
    before: str | None  # status in the previous run; None: the court was not in it
    after: str
    reason: str | None = None  # why unreachable, now
    new_controls: list[str] = field(default_factory=list)  # failing now, not before
    fixed_controls: list[str] = field(default_factory=list)  # failing before, not now
    headline: str = ""  # the diagnosis' first finding, in the language asked for


@dataclass
class Changes:
    run: RunSummary
    previous: RunSummary | None
    new_failures: list[CourtChange]  # newly non-compliant/unreachable, or failing a new control
    recovered: list[CourtChange]  # compliant again

    def to_dict(self) -> dict:
        return {**asdict(self), "alert": self.alert}

    @property
    def alert(self) -> bool:
        """Worth telling someone: a court newly fails, or the run did not complete."""
        return bool(self.new_failures) or not self.run.complete

    def summary(self, lang: str = "en", limit: int = 20) -> str:
        """A few lines for mail or chat; empty when nothing newly fails or recovers.

        At most ``limit`` courts are named (a first run may find hundreds): the report has
        the rest.
        """
        if not self.new_failures and not self.recovered and self.run.complete:
            return ""
        since = (f"run {self.previous.id} ({self.previous.started_at})" if self.previous
                 else ("the start of the history" if lang == "en" else "awal riwayat"))
        lines = []
        if not self.run.complete:
            checked = self.run.hosts or 0
            lines.append(
                f"tepat: run {self.run.id} ({self.run.started_at}) is {self.run.state}: "
                f"{checked} court{'s' if checked != 1 else ''} checked."
                if lang == "en" else
                f"tepat: pemeriksaan {self.run.id} ({self.run.started_at}) tidak lengkap: "
                f"{checked} pengadilan diperiksa."
            )
        if self.new_failures:
            n = len(self.new_failures)
            lines.append(
                f"tepat: {n} court{'s' if n != 1 else ''} newly failing since {since}:"
                if lang == "en" else
                f"tepat: {n} pengadilan baru bermasalah sejak {since}:"
            )
            for c in self.new_failures[:limit]:
                what = status_label(c.after, lang)
                if c.after == "unreachable":
                    what += f" ({reason_label(c.reason, lang)})"
                elif c.new_controls:
                    what += ": " + ", ".join(c.new_controls)
                lines.append(f"  {c.court_name} ({c.court_id}, {c.pt}): {what}")
                if c.headline:
                    lines.append(f"    {c.headline}")
            if n > limit:
                lines.append(f"  ... and {n - limit} more (see the report)" if lang == "en"
                             else f"  ... dan {n - limit} lainnya (lihat laporan)")
        if self.recovered:
            names = ", ".join(c.court_name or c.court_id for c in self.recovered)
            n = len(self.recovered)
            lines.append(f"{n} court{'s' if n != 1 else ''} recovered: {names}."
                         if lang == "en" else f"{n} pengadilan kembali sesuai: {names}.")
        r = self.run
        if r.hosts is None:  # never finished: no counts to show
            return "\n".join(lines) + "\n"
        lines.append(
            (f"Now: {r.compliant} compliant, {r.non_compliant} non-compliant, "
             f"{r.unreachable} unreachable (run {r.id}, {r.started_at}).")
            if lang == "en" else
            (f"Saat ini: {r.compliant} sesuai, {r.non_compliant} tidak sesuai, "
             f"{r.unreachable} tidak dapat dihubungi (pemeriksaan {r.id}, {r.started_at}).")
        )
        return "\n".join(lines) + "\n"


def _failing(run: RunResult) -> dict[str, tuple[HostResult, set[str]]]:
    return {h.court_id: (h, {c.id for c in h.failing()}) for h in run.hosts}


def changes_since_previous(
    path: str | Path, run_id: int | None = None, inventory: str | None = None, lang: str = "en",
    complete_only: bool = True,
) -> Changes:
    """What changed between a run and the complete run of the same inventory before it.

    The run is ``run_id``, else the latest complete one, else (``complete_only=False``, what
    the periodic job wants: an interrupted last run is news too) the latest of any state.
    With no earlier complete run, every failing court is new.
    """
    with _connect(path, create=False) as conn:
        row = _pick_run(conn, run_id, inventory, complete_only)
        prev_row = conn.execute(
            "SELECT * FROM runs WHERE complete = 1 AND inventory = ? AND id < ? "
            "ORDER BY id DESC LIMIT 1", (row["inventory"], row["id"]),
        ).fetchone()
    now = _failing(load_run(path, row["id"]))
    before = _failing(load_run(path, prev_row["id"])) if prev_row else {}
    new_failures, recovered = [], []
    for court_id, (host, failing) in now.items():
        old_host, old_failing = before.get(court_id, (None, set()))
        old_status = old_host.status if old_host else None
        change = CourtChange(
            court_id, host.court_name, host.pt, old_status, host.status, host.reason,
            new_controls=[c.id for c in host.controls if c.id in failing - old_failing],
            fixed_controls=sorted(old_failing - failing),
        )
        if host.status == "compliant":
            if old_status in ("non_compliant", "unreachable"):
                recovered.append(change)
            continue
        became_bad = old_status in (None, "compliant") or (
            host.status == "unreachable" and old_status != "unreachable")
        if became_bad or (host.status == "non_compliant" and change.new_controls):
            change.headline = diagnose(host, lang).headline
            new_failures.append(change)
    key = lambda c: (c.pt, c.court_name)  # noqa: E731
    return Changes(_summary(row), _summary(prev_row) if prev_row else None,
                   sorted(new_failures, key=key), sorted(recovered, key=key))


# --- tepat history ----------------------------------------------------------------------------


def _bar(r: RunSummary, width: int = 30) -> str:
    if not r.hosts:
        return ""
    ok = round(width * (r.compliant or 0) / r.hosts)
    bad = round(width * (r.non_compliant or 0) / r.hosts)
    return "#" * ok + "x" * bad + "?" * max(width - ok - bad, 0)


def _show(args: argparse.Namespace) -> int:
    path = args.db or default_path()
    listed = runs(path, args.inventory, args.limit)
    changes = None
    try:
        changes = changes_since_previous(path, inventory=args.inventory, lang=args.lang)
    except InputError:
        pass  # no complete run yet: the list alone says so
    if args.json:
        json.dump({"runs": [{**asdict(r), "state": r.state} for r in listed],
                   "changes": changes.to_dict() if changes else None},
                  sys.stdout, ensure_ascii=False, indent=2)
        print()
        return 0
    if not listed:
        print(f"no runs recorded in {path}")
        return 0
    en = args.lang == "en"
    print(f"{'run':>5}  {'started (UTC)':25}  {'state':11}  {'ok':>4} {'bad':>4} {'unr':>4}  "
          f"trend (# compliant, x non-compliant, ? unreachable)  inventory")
    for r in listed:
        counts = (f"{r.compliant:>4} {r.non_compliant:>4} {r.unreachable:>4}"
                  if r.hosts is not None else f"{'-':>4} {'-':>4} {'-':>4}")
        print(f"{r.id:>5}  {r.started_at:25}  {r.state:11}  {counts}  {_bar(r):52}  {r.inventory}")
    if changes:
        print()
        text = changes.summary(args.lang)
        print(text.rstrip() if text else (
            f"No court changed since run {changes.previous.id}." if en and changes.previous
            else "Nothing to compare with yet." if en
            else "Tidak ada perubahan sejak pemeriksaan sebelumnya."))
    return 0


def _changes(args: argparse.Namespace) -> int:
    changes = changes_since_previous(args.db or default_path(), args.run, args.inventory,
                                     args.lang, complete_only=False)
    if args.json:
        json.dump(changes.to_dict(), sys.stdout, ensure_ascii=False, indent=2)
        print()
    else:
        # Quiet when nothing changed: cron mails only output, so no news is no mail.
        sys.stdout.write(changes.summary(args.lang))
    return 1 if changes.alert else 0


def _export(args: argparse.Namespace) -> int:
    from tepat import report

    if args.source:
        run = _read_report(args.source)
    else:
        run = load_run(args.db or default_path(), args.run, args.inventory)
    report.write(run, args.format, args.output, args.lang)
    return 0


def _read_report(file: str) -> RunResult:
    from tepat.report.json_report import load

    try:
        return load(Path(file).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"{file}: cannot read the report: {exc}") from None


def _import(args: argparse.Namespace) -> int:
    run = _read_report(args.file)
    path = args.db or default_path()
    if Path(path).exists():
        with _connect(path, create=False) as conn:
            # `tepat check` may have recorded this very run already: importing it twice
            # would make it its own "previous run" and hide every change.
            dup = conn.execute(
                "SELECT id FROM runs WHERE started_at = ? AND inventory = ? AND complete = 1",
                (run.started_at, run.inventory or "local"),
            ).fetchone()
        if dup:
            print(f"run {dup['id']} already recorded")
            return 0
    print(f"recorded run {record(path, run)}")
    return 0


EPILOG = """\
examples:
  tepat history                                  runs, trend, what changed since the last run
  tepat history --json
  tepat history changes                          courts newly failing (exit 1) or recovered
  tepat history export --from run.json --format prometheus -o /var/lib/node_exporter/tepat.prom
  tepat history export --format html -o report.html   the latest run as a report
  tepat history import report.json               record a run from `tepat check --format json`
"""


def _options(parser: argparse.ArgumentParser, below: bool) -> None:
    """--db and --lang (and -i below ``history``). A subcommand's defaults would overwrite
    what was given before its name (``tepat history --db X changes``), so there they are
    suppressed and the values from ``history`` itself stand."""
    default = argparse.SUPPRESS if below else None
    if below:
        parser.add_argument("-i", "--inventory", metavar="PATH", default=default,
                            help="only runs of this inventory file")
    parser.add_argument("--db", "--history", dest="db", metavar="PATH", default=default,
                        help=f"history database (default: $TEPAT_HISTORY or {default_path()})")
    parser.add_argument("--lang", choices=LANGS, default=default if below else "en",
                        help="language of the texts (en, id)")


def add_parser(subparsers, common: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser(
        "history", parents=[common], help="past runs, trend, and what changed",
        description="Show the stored compliance runs, their trend, and the courts that became "
        "non-compliant or recovered since the previous complete run (of the same inventory "
        "when -i is given).", epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _options(p, below=False)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--limit", type=int, default=20, metavar="N", help="runs to list (20)")
    p.set_defaults(func=_show)
    sub = p.add_subparsers(dest="history_command", metavar="SUBCOMMAND")

    c = sub.add_parser("changes", help="new failures since the previous run (exit 1 if any, "
                       "or if the last run did not complete)")
    _options(c, below=True)
    c.add_argument("--run", type=int, metavar="ID", help="this run (default: the latest)")
    c.add_argument("--json", action="store_true", help="print JSON")
    c.set_defaults(func=_changes)

    from tepat.report import FORMATS

    e = sub.add_parser("export", help="write a stored run as a report")
    _options(e, below=True)
    e.add_argument("--format", choices=FORMATS, default="terminal")
    e.add_argument("-o", "--output", metavar="FILE", help="file to write (default: stdout)")
    which = e.add_mutually_exclusive_group()
    which.add_argument("--run", type=int, metavar="ID", help="this run (default: latest complete)")
    which.add_argument("--from", dest="source", metavar="FILE",
                       help="a JSON report (`tepat check --format json -o FILE`) instead of a "
                       "stored run: one check, every format")
    e.set_defaults(func=_export)

    i = sub.add_parser("import", help="record a JSON report as a run")
    _options(i, below=True)
    i.add_argument("file", metavar="FILE", help="output of `tepat check --format json`")
    i.set_defaults(func=_import)
