"""The court list: ``inventories/courts.csv``, the project's single source of truth.

Each row keeps its line number so that every problem found later can name file and line.
"""
from __future__ import annotations

import csv
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from tepat import PROJECT_ROOT

COURTS_CSV = PROJECT_ROOT / "inventories" / "courts.csv"
HIGH_COURTS_CSV = PROJECT_ROOT / "inventories" / "high_courts.csv"
COLUMNS = ("court_id", "name", "pt", "province", "city_or_regency", "timezone")


@dataclass(frozen=True)
class Court:
    court_id: str  # stable, e.g. "pn-jakarta-pusat"; the pyinfra host name
    name: str  # "PN Jakarta Pusat"
    pt: str  # its high court, "PT DKI Jakarta"
    province: str
    city: str
    timezone: str  # IANA, one of tepat.zones.INDONESIA_ZONES
    source: str = ""  # "inventories/courts.csv:12", for error messages

    @property
    def pt_group(self) -> str:
        """pyinfra group of its high court: ``pt_dki_jakarta``."""
        return "pt_" + slug(self.pt.removeprefix("PT ")).replace("-", "_")

    @property
    def tz_group(self) -> str:
        """pyinfra group of its zone: ``tz_asia_jakarta``."""
        return "tz_" + slug(self.timezone).replace("-", "_")


class CourtFileError(ValueError):
    """The court file cannot be read at all (missing, wrong columns)."""


def slug(text: str) -> str:
    """ASCII, lower case, words joined by '-': ``PN Jakarta Pusat`` -> ``pn-jakarta-pusat``."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(PROJECT_ROOT))
    except ValueError:
        return str(path)


def read_courts(path: Path = COURTS_CSV) -> list[Court]:
    """Every row of the court file, unvalidated (see ``tepat.validate``)."""
    try:
        handle = open(path, newline="", encoding="utf-8")
    except OSError as exc:
        raise CourtFileError(f"cannot read court file {path}: {exc.strerror}") from None
    with handle:
        reader = csv.DictReader(handle)
        missing = [c for c in COLUMNS if c not in (reader.fieldnames or ())]
        if missing:
            raise CourtFileError(f"{_display(path)}:1: missing column(s) {', '.join(missing)}")
        shown = _display(path)
        return [
            Court(
                court_id=row["court_id"] or "",
                name=row["name"] or "",
                pt=row["pt"] or "",
                province=row["province"] or "",
                city=row["city_or_regency"] or "",
                timezone=row["timezone"] or "",
                source=f"{shown}:{reader.line_num}",
            )
            for row in reader
        ]


def read_high_courts(path: Path = HIGH_COURTS_CSV) -> set[str]:
    """Names of the known high courts (``PT ...``)."""
    with open(path, newline="", encoding="utf-8") as handle:
        return {row["pt_name"] for row in csv.DictReader(handle)}


def _key(text: str) -> str:
    """How a person's query and a court name are compared: no accents, case, 'PN ' or dashes."""
    words = slug(text).split("-")
    if words and words[0] == "pn":
        words = words[1:]
    return " ".join(words)


def search(courts: list[Court], query: str) -> list[Court]:
    """Courts matching ``query`` the way a person types it.

    An exact id or name wins outright; otherwise every court whose name (or id) contains all
    the query's words, in order, is a candidate. ``"jakarta pusat"``, ``"PN Jakarta Pusat"``,
    ``"pn-jakarta-pusat"`` and ``"JAKARTA  pusat"`` all find PN Jakarta Pusat.
    """
    wanted = _key(query)
    if not wanted:
        return []
    exact = [c for c in courts if _key(c.name) == wanted or _key(c.court_id) == wanted]
    if exact:
        return exact
    return [c for c in courts if wanted in _key(c.name) or wanted in _key(c.city)]
