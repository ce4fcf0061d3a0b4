"""Splitting long ``IN (...)`` lists: SQLite caps bound parameters per statement, and very
long lists make PostgreSQL plans worse, so look-ups by many keys go in slices."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

K = TypeVar("K", str, int)

SLICE = 500


def slices(values: Iterable[K], size: int = SLICE) -> list[list[K]]:
    """The distinct non-empty ``values``, sorted, in lists of at most ``size``."""
    items = sorted({v for v in values if v})
    return [items[n : n + size] for n in range(0, len(items), size)]
