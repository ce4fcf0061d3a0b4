"""The day a sentence names as a deadline, in English, German, Italian, Polish and Swedish.

"by Friday", "next week", "morgen", "domani", "jutro", "i morgon", "in 3 days", "15 March",
"15.3." … are resolved against the day the message was written. When a sentence names
several, the first one wins: that is the one the request or promise is attached to.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable
from datetime import date, timedelta

from inboxlink.mail.auto_reply import DATE_PATTERN, parsed_date

_WEEKDAYS = [
    "monday|montag|lunedì|lunedi|poniedziałek|poniedziałku|måndag(?:en)?",
    "tuesday|dienstag|martedì|martedi|wtorek|wtorku|tisdag(?:en)?",
    "wednesday|mittwoch|mercoledì|mercoledi|środa|środę|środy|onsdag(?:en)?",
    "thursday|donnerstag|giovedì|giovedi|czwartek|czwartku|torsdag(?:en)?",
    "friday|freitag|venerdì|venerdi|piątek|piątku|fredag(?:en)?",
    "saturday|samstag|sonnabend|sabato|sobota|sobotę|soboty|lördag(?:en)?",
    "sunday|sonntag|domenica|niedziela|niedzielę|niedzieli|söndag(?:en)?",
]
_NUMBERS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "ten": 10,
    "einem": 1, "einer": 1, "zwei": 2, "drei": 3, "vier": 4, "fünf": 5, "zehn": 10,
    "un": 1, "uno": 1, "una": 1, "due": 2, "tre": 3, "quattro": 4, "cinque": 5, "dieci": 10,
    "jeden": 1, "dwa": 2, "dwóch": 2, "trzy": 3, "cztery": 4, "pięć": 5, "dziesięć": 10,
    "en": 1, "ett": 1, "två": 2, "fyra": 4, "fem": 5, "tio": 10,
}  # fmt: skip
_COUNT = r"(?P<n>\d{1,2}|" + "|".join(_NUMBERS) + r")"


def _next_weekday(reference: date, weekday: int) -> date:
    """The next such weekday after ``reference`` (a week on when it is that day)."""
    return reference + timedelta(days=(weekday - reference.weekday() - 1) % 7 + 1)


def _end_of_week(reference: date) -> date:
    friday = reference + timedelta(days=4 - reference.weekday())
    return friday if friday >= reference else reference


def _end_of_month(reference: date) -> date:
    return reference.replace(day=calendar.monthrange(reference.year, reference.month)[1])


def _next_month(reference: date) -> date:
    return _end_of_month(reference) + timedelta(days=1)


def _in(match: re.Match[str], reference: date) -> date:
    count = match["n"].lower()
    amount = int(count) if count.isdigit() else _NUMBERS[count]
    weeks = re.match(r"w|sett|tyg|veck", match["unit"].lower()) is not None
    return reference + timedelta(days=amount * (7 if weeks else 1))


_Resolver = Callable[[re.Match[str], date], "date | None"]


def _on_weekday(weekday: int) -> _Resolver:
    return lambda _match, reference: _next_weekday(reference, weekday)


_RULES: list[tuple[re.Pattern[str], _Resolver]] = [
    (re.compile(rf"\b(?:{DATE_PATTERN})", re.I), parsed_date),
    (
        re.compile(
            r"\b(?:(?:the )?day after tomorrow|übermorgen|dopodomani|pojutrze|i övermorgon)\b",
            re.I,
        ),
        lambda _m, ref: ref + timedelta(days=2),
    ),
    (
        re.compile(r"\b(?:tomorrow|domani|jutr[oa]|i ?morgon)\b|(?<!guten )\bmorgen\b", re.I),
        lambda _m, ref: ref + timedelta(days=1),
    ),
    (
        re.compile(
            r"\b(?:today|tonight|end of (?:the )?day|heute|oggi|stasera|dzisiaj|dziś|i ?dag"
            r"|i kväll)\b",
            re.I,
        ),
        lambda _m, ref: ref,
    ),
    (
        re.compile(
            r"\b(?:next week|(?:nächste|kommende)[nr]? woche|(?:la )?prossima settimana"
            r"|settimana prossima|(?:w )?przyszłym tygodniu|przyszły tydzień|nästa vecka)\b",
            re.I,
        ),
        lambda _m, ref: _next_weekday(ref, 0),
    ),
    (
        re.compile(
            r"\b(?:end of (?:the |this )?week|this week|ende (?:der|dieser) woche|diese woche"
            r"|fine (?:della )?settimana|questa settimana|(?:do )?końca tygodnia|w tym tygodniu"
            r"|slutet av veckan|denna vecka|den här veckan|i veckan)\b",
            re.I,
        ),
        lambda _m, ref: _end_of_week(ref),
    ),
    (
        re.compile(
            r"\b(?:end of (?:the |this )?month|ende (?:des|dieses) monats|monatsende"
            r"|fine (?:del )?mese|(?:do )?końca miesiąca|slutet av månaden|månadsskiftet)\b",
            re.I,
        ),
        lambda _m, ref: _end_of_month(ref),
    ),
    (
        re.compile(
            r"\b(?:next month|(?:nächsten|kommenden) monat|(?:il )?(?:mese prossimo|prossimo mese)"
            r"|(?:w )?przyszłym miesiącu|nästa månad)\b",
            re.I,
        ),
        lambda _m, ref: _next_month(ref),
    ),
    (
        re.compile(
            rf"\b(?:in|within|innerhalb von|tra|fra|entro|za|om|inom) {_COUNT}"
            r" (?P<unit>days?|weeks?|tag(?:en)?|wochen?|giorni|settimane?|dni|tygodni[ea]?"
            r"|dagar|veckor|vecka)\b",
            re.I,
        ),
        _in,
    ),
    *[
        (re.compile(rf"\b(?:{names})\b", re.I), _on_weekday(day))
        for day, names in enumerate(_WEEKDAYS)
    ],
]


def due_date(sentence: str, reference: date) -> date | None:
    """The first deadline ``sentence`` names, resolved against ``reference`` (its writing day)."""
    found: list[tuple[int, date]] = []
    for pattern, resolve in _RULES:
        for match in pattern.finditer(sentence):
            day = resolve(match, reference)
            if day is not None:
                found.append((match.start(), day))
                break
    return min(found, key=lambda hit: hit[0])[1] if found else None
