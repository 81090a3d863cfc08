"""How a control says what it found: pass with a detail, fail, skip, or cannot check."""
from __future__ import annotations

import pytest


class CannotCheck(Exception):
    """The control could not be evaluated on this host (reported ``error``, not ``fail``)."""


def control_id(item: pytest.Item) -> str | None:
    """``test_PHP_TZ_01`` -> ``PHP-TZ-01``."""
    name = getattr(item, "originalname", None) or item.name.split("[", 1)[0]
    return name.removeprefix("test_").replace("_", "-") if name.startswith("test_") else None


class Verdict:
    def __init__(self, item: pytest.Item) -> None:
        self._item = item

    def ok(self, detail: str) -> None:
        """Pass, saying what was seen (the report shows it)."""
        self._item.user_properties.append(("tepat_detail", detail))

    def fail(self, detail: str) -> None:
        pytest.fail(detail, pytrace=False)

    def skip(self, reason: str) -> None:
        pytest.skip(reason)

    def cannot(self, reason: str) -> None:
        raise CannotCheck(reason)
