"""Contact-details capture and suggested tasks measured on the hand-written corpus: precision
and recall are printed (run with ``-s``) and must stay above floors."""

from __future__ import annotations

import re
from collections import Counter
from datetime import date

import pytest
from tests.support.automation_corpus import CORPUS, HELD_OUT, WEDNESDAY, Case

from inboxlink.automation.capture import FIELDS, extract
from inboxlink.automation.dates import due_date
from inboxlink.automation.tasks import suggest


def _same(field: str, expected: str, got: str) -> bool:
    if field in ("phone", "mobile"):
        return re.sub(r"\D", "", expected) == re.sub(r"\D", "", got)
    return expected == got


def _ratios(counts: Counter[str]) -> tuple[float, float]:
    precision = counts["tp"] / max(counts["tp"] + counts["fp"], 1)
    recall = counts["tp"] / max(counts["tp"] + counts["fn"], 1)
    return precision, recall


def _capture_counts(cases: list[Case]) -> tuple[Counter[str], list[str]]:
    counts: Counter[str] = Counter()
    misses: list[str] = []
    for case in cases:
        found = extract(case.display_name, case.address, case.body).found()
        for field in FIELDS:
            expected, got = case.details.get(field, ""), found.get(field, "")
            if got and _same(field, expected, got):
                counts["tp"] += 1
                continue
            if got:
                counts["fp"] += 1
            if expected:
                counts["fn"] += 1
            if got or expected:
                misses.append(f"{case.address} {field}: expected {expected!r}, got {got!r}")
    return counts, misses


def test_corpus_is_large_and_covers_five_languages() -> None:
    assert len(HELD_OUT) >= 15 and {c.lang for c in HELD_OUT} == {"en", "de", "it", "pl", "sv"}
    languages = Counter(case.lang for case in CORPUS)
    assert len(CORPUS) >= 40
    assert set(languages) == {"en", "de", "it", "pl", "sv"}
    assert min(languages.values()) >= 8
    assert sum(case.task for case in CORPUS) >= 20


#: The tuning corpus, and the set written afterwards that never tuned a rule.
SETS = pytest.mark.parametrize("name, cases", [("corpus", CORPUS), ("held out", HELD_OUT)])


@SETS
def test_capture_precision_and_recall(name: str, cases: list[Case]) -> None:
    counts, misses = _capture_counts(cases)
    precision, recall = _ratios(counts)
    print(f"\n{name}: capture precision {precision:.2f} recall {recall:.2f} {dict(counts)}")
    for language in ("en", "de", "it", "pl", "sv"):
        p, r = _ratios(_capture_counts([c for c in cases if c.lang == language])[0])
        print(f"  {language}: precision {p:.2f} recall {r:.2f}")
    print("\n".join(f"  miss: {m}" for m in misses))
    assert precision >= 0.9
    assert recall >= 0.85


@SETS
def test_task_precision_recall_and_due_dates(name: str, cases: list[Case]) -> None:
    counts: Counter[str] = Counter()
    dated = right_dates = 0
    for case in cases:
        suggestion = suggest(case.body, case.written)
        if suggestion and case.task:
            counts["tp"] += 1
            dated += 1
            right_dates += suggestion.due_on == case.due
            if suggestion.due_on != case.due:
                print(f"  due: {case.address} expected {case.due}, got {suggestion.due_on}")
        elif suggestion:
            counts["fp"] += 1
            print(f"  false task: {case.address}: {suggestion.title}")
        elif case.task:
            counts["fn"] += 1
            print(f"  missed task: {case.address}")
    precision, recall = _ratios(counts)
    accuracy = right_dates / max(dated, 1)
    print(
        f"\n{name}: tasks precision {precision:.2f} recall {recall:.2f} "
        f"due dates right {accuracy:.2f} ({dict(counts)})"
    )
    assert precision >= 0.85
    assert recall >= 0.85
    assert accuracy >= 0.85


def test_quoted_history_is_not_the_writers() -> None:
    """Tom's own promise and signature, quoted under Laura's reply, are not Laura's."""
    laura = next(c for c in CORPUS if c.address == "laura.chen@litware.example")
    details = extract(laura.display_name, laura.address, laura.body)
    assert details.mobile == "" and "Acme" not in details.company
    suggestion = suggest(laura.body, laura.written)
    assert suggestion is not None and "quote" in suggestion.title


def test_relative_deadlines_in_five_languages() -> None:
    wednesday = WEDNESDAY
    cases = {
        "by Friday": date(2026, 11, 27),
        "next week": date(2026, 11, 30),
        "bis morgen": date(2026, 11, 26),
        "Guten Morgen, bis Montag": date(2026, 11, 30),
        "entro domani": date(2026, 11, 26),
        "jutro": date(2026, 11, 26),
        "i morgon": date(2026, 11, 26),
        "nästa vecka": date(2026, 11, 30),
        "w przyszłym tygodniu": date(2026, 11, 30),
        "la prossima settimana": date(2026, 11, 30),
        "by the end of the month": date(2026, 11, 30),
        "on 2027-01-12": date(2027, 1, 12),
        "am 5. Januar": date(2027, 1, 5),
        "in zwei Wochen": date(2026, 12, 9),
        "this Wednesday": date(2026, 12, 2),
        "no deadline here": None,
    }
    assert {text: due_date(text, wednesday) for text in cases} == cases
