"""The figures every fault scenario ends with: lost, logged twice, sent twice."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Figures:
    scenario: str
    expected: int
    logged: int
    lost: int
    twice: int
    sent_twice: int = 0
    unexpected: int = 0
    detail: str = ""

    def line(self) -> str:
        extra = f" {self.detail}" if self.detail else ""
        return (
            f"[figures] {self.scenario}: expected={self.expected} logged={self.logged} "
            f"lost={self.lost} twice={self.twice} sent_twice={self.sent_twice} "
            f"unexpected={self.unexpected}{extra}"
        )

    @property
    def clean(self) -> bool:
        return not (self.lost or self.twice or self.sent_twice or self.unexpected)


def compare(
    scenario: str,
    expected: Iterable[str],
    logged: Iterable[str],
    *,
    deliveries: Counter[str] | None = None,
    detail: str = "",
) -> Figures:
    """Compare the Message-IDs that should be on a timeline with those that are, and print."""
    wanted = set(expected)
    seen = list(logged)
    counts = Counter(seen)
    figures = Figures(
        scenario=scenario,
        expected=len(wanted),
        logged=len(seen),
        lost=len(wanted - set(seen)),
        twice=sum(n - 1 for n in counts.values() if n > 1),
        unexpected=len(set(seen) - wanted),
        sent_twice=sum(n - 1 for n in (deliveries or Counter()).values() if n > 1),
        detail=detail,
    )
    print(figures.line())
    return figures
