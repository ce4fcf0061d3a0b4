"""One row of the results table, and the table itself (Markdown, so README can take it as is)."""

from __future__ import annotations

import statistics
from dataclasses import dataclass


@dataclass
class Row:
    measure: str
    value: str
    reference: str
    ratio: str
    target: str
    met: bool | None  # None: no target could be judged (row skipped or failed)
    note: str = ""


def seconds(value: float) -> str:
    if value < 0.01:
        return f"{value * 1000:.2f} ms"
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    return statistics.quantiles(ordered, n=100, method="inclusive")[round(share * 100) - 1]


def table(rows: list[Row]) -> str:
    lines = [
        "| measure | inboxlink | reference (same run) | ratio | target | met? |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        met = {True: "yes", False: "**no**", None: "n/a"}[row.met]
        lines.append(
            f"| {row.measure} | {row.value} | {row.reference} | {row.ratio} | {row.target} "
            f"| {met} |"
        )
    notes = [f"- {row.measure}: {row.note}" for row in rows if row.note]
    return "\n".join(lines + (["", *notes] if notes else []))
