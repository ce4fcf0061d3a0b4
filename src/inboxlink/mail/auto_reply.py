"""Is an incoming message a person's reply, an automatic reply, or a bounce? Pure functions.

Sequences stop when a contact replies, but an out-of-office answer is not a reply (it pauses
the sequence until the person is back) and a bounce means the address is dead. Headers decide
first (RFC 3834 ``Auto-Submitted``, ``X-Autoreply``/``X-Autorespond``, ``Precedence``; RFC 3464
``multipart/report; report-type=delivery-status``); many servers send neither, so common
subjects, senders and phrases in English, German, Italian, Polish and Swedish come next.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from email import policy
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.utils import getaddresses, parsedate_to_datetime
from enum import StrEnum

_parser = BytesParser(policy=policy.default)


class MailKind(StrEnum):
    HUMAN = "reply"
    AUTO_REPLY = "auto_reply"
    BOUNCE = "bounce"


@dataclass(frozen=True, slots=True)
class Recognition:
    kind: MailKind
    #: Bounces: the addresses that could not be delivered to.
    failed_recipients: tuple[str, ...] = ()
    #: Out-of-office replies: the first day the person is back, when the text says.
    return_on: date | None = None


_BOUNCE_SENDERS = re.compile(r"^(mailer-daemon|postmaster|mail-daemon|mailerdaemon)@", re.I)
_BOUNCE_SUBJECTS = re.compile(
    r"undeliver|returned mail|delivery (status notification \(failure\)|failure|has failed)"
    r"|mail delivery (failed|failure|subsystem)|failure notice|could not be delivered"
    r"|unzustellbar|nicht zugestellt|non recapitabil|mancato recapito|impossibile recapitare"
    r"|niedostarcz|nie można dostarczyć|kunde inte levereras|olevererbar|ej levererat",
    re.I,
)
_AUTO_SUBJECTS = re.compile(
    r"out of (the )?office|automatic reply|auto(matic)?[- ]?reply|autoresponse|away from"
    r"|abwesenheit|automatische antwort|nicht im büro|außer haus|ausser haus"
    r"|risposta automatica|fuori (sede|ufficio)|assenza"
    r"|odpowiedź automatyczna|automatyczna odpowiedź|poza biurem|nieobecnoś"
    r"|autosvar|automatiskt svar|frånvaro|ej på kontoret|inte på kontoret",
    re.I,
)
_AUTO_BODIES = re.compile(
    r"\b(i am|i'm|i will be) (currently )?(out of (the )?office|away|on (annual )?leave"
    r"|on vacation|on holiday)|limited access to (my )?e-?mail|this is an automatic reply"
    r"|ich bin (derzeit |zurzeit |bis .{1,30} )?(nicht im büro|abwesend|im urlaub|außer haus)"
    r"|dies ist eine automatische antwort"
    r"|sono (attualmente )?(fuori ufficio|fuori sede|assente|in ferie)|risposta automatica"
    r"|jestem (obecnie )?(poza biurem|na urlopie|nieobecn)|odpowiedź automatyczna"
    r"|jag är (för närvarande )?(ledig|på semester|inte på kontoret|borta|tjänstledig)"
    r"|detta är ett automatiskt svar",
    re.I,
)

MONTHS = {
    name: number
    for number, names in enumerate(
        [
            "january jan januar gennaio gen stycznia styczeń januari",
            "february feb februar febbraio lutego luty februari",
            "march mar märz maerz marzo marca marzec mars",
            "april apr aprile kwietnia kwiecień",
            "may mai maggio mag maja maj",
            "june jun juni giugno giu czerwca czerwiec",
            "july jul juli luglio lug lipca lipiec",
            "august aug agosto ago sierpnia sierpień augusti",
            "september sep sept settembre set września wrzesień",
            "october oct oktober ottobre ott października październik okt",
            "november nov novembre listopada listopad",
            "december dec dezember dicembre dic grudnia grudzień",
        ],
        start=1,
    )
    for name in names.split()
}
_MONTH_NAMES = "|".join(sorted(MONTHS, key=len, reverse=True))
#: A written date: ISO, day.month[.year], "3 March [2027]", "March 3[, 2027]" (five languages).
DATE_PATTERN = (
    rf"(?P<iso>\d{{4}}-\d{{2}}-\d{{2}})"
    rf"|(?P<d1>\d{{1,2}})[./](?P<m1>\d{{1,2}})\.?(?:[./](?P<y1>\d{{2,4}}))?"
    rf"|(?P<d2>\d{{1,2}})\.?(?:st|nd|rd|th)?\s+(?:of\s+)?(?P<mn2>{_MONTH_NAMES})\.?,?(?:\s+(?P<y2>\d{{4}}))?"
    rf"|(?P<mn3>{_MONTH_NAMES})\.?\s+(?P<d3>\d{{1,2}})(?!\d)(?:st|nd|rd|th)?,?(?:\s+(?P<y3>\d{{4}}))?"
)
#: A weekday name before the date ("Monday, 7 December"): letters only, so that the day of
#: "until 4 December 2026" is never taken for one.
_WEEKDAY_WORD = r"[^\W\d_]+,?\s+"
#: "back on X": X is the first day back.
_BACK = re.compile(
    r"\b(?:back (?:in the office )?(?:on|from)?|return(?:ing)? (?:to the office )?(?:on)?"
    r"|wieder (?:im büro |erreichbar |da )?(?:am|ab)?|ab dem|zurück am|zurück ab"
    r"|rientrerò (?:in ufficio )?(?:il|lunedì|martedì|mercoledì|giovedì|venerdì)?|rientro (?:il)?"
    r"|di ritorno (?:il)?|wracam(?: do biura)?(?: w dniu| dnia)?|powrót(?: w dniu| dnia)?"
    r"|od dnia|tillbaka(?: på kontoret)?(?: den| på)?|åter(?: på kontoret)?(?: den| på)?)"
    rf"\s*(?:{_WEEKDAY_WORD})?(?:den\s+)?(?P<date>{DATE_PATTERN})",
    re.I,
)
#: "away until X": X is the last day away.
_UNTIL = re.compile(
    r"\b(?:until|till|through|bis(?: zum| einschließlich)?|fino al|fino a|sino al|do dnia|do"
    r"|till och med|t\.o\.m\.?|tom)"
    rf"\s*(?:{_WEEKDAY_WORD})?(?:den\s+)?(?P<date>{DATE_PATTERN})",
    re.I,
)


def _address(value: str) -> str:
    found = getaddresses([value])
    return found[0][1].strip().lower() if found else ""


def _text_of(message: Message) -> str:
    """The human-readable text: text/plain parts, else text/html with the tags removed."""
    plain: list[str] = []
    html: list[str] = []
    for part in message.walk():
        if part.get_content_maintype() != "text" or part.get_filename():
            continue
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes):
            continue
        text = payload.decode(part.get_content_charset() or "utf-8", "replace")
        (plain if part.get_content_subtype() == "plain" else html).append(text)
    if plain:
        return "\n".join(plain)
    return re.sub(r"<[^>]+>", " ", "\n".join(html))


def _dsn_failures(message: Message) -> tuple[str, ...]:
    """Recipients with ``Action: failed`` in an RFC 3464 delivery-status part."""
    failed: list[str] = []
    for part in message.walk():
        if part.get_content_type() != "message/delivery-status":
            continue
        # The parser turns the status fields into a list of per-recipient header blocks.
        blocks = part.get_payload()
        for block in blocks if isinstance(blocks, list) else []:
            if not isinstance(block, Message):
                continue
            action = str(block.get("Action", "")).strip().lower()
            recipient = str(block.get("Final-Recipient") or block.get("Original-Recipient") or "")
            if action == "failed" and ";" in recipient:
                failed.append(recipient.split(";", 1)[1].strip().strip("<>").lower())
    return tuple(dict.fromkeys(failed))


_ADDRESS = re.compile(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+")


def _guessed_failures(message: Message, text: str, own: str) -> tuple[str, ...]:
    """A non-standard bounce: X-Failed-Recipients, else the addresses the report names."""
    header = message.get_all("X-Failed-Recipients") or []
    listed = [a.strip().lower() for h in header for a in str(h).split(",") if "@" in a]
    if listed:
        return tuple(dict.fromkeys(listed))
    ignore = {own, _address(str(message.get("From", "")))}
    named = [a.lower().rstrip(".") for a in _ADDRESS.findall(text)]
    return tuple(
        dict.fromkeys(a for a in named if a not in ignore and not _BOUNCE_SENDERS.match(a))
    )


def _is_report(message: Message) -> bool:
    return (
        message.get_content_type() == "multipart/report"
        and str(message.get_param("report-type", "")).lower() == "delivery-status"
    )


def _is_auto_by_headers(message: Message) -> bool:
    submitted = str(message.get("Auto-Submitted", "")).strip().lower()
    if submitted and submitted != "no":
        return True
    if message.get("X-Autoreply") or message.get("X-Autorespond"):
        return True
    precedence = str(message.get("Precedence", "")).strip().lower()
    return precedence in ("auto_reply", "bulk", "junk")


def parsed_date(match: re.Match[str], reference: date) -> date | None:
    """The day a ``DATE_PATTERN`` match names; without a year, the next one from ``reference``."""
    groups = match.groupdict()
    try:
        if groups["iso"]:
            return date.fromisoformat(groups["iso"])
        if groups["d1"]:
            day, month, year = int(groups["d1"]), int(groups["m1"]), groups["y1"]
        elif groups["d2"]:
            day, month, year = int(groups["d2"]), MONTHS[groups["mn2"].lower()], groups["y2"]
        else:
            day, month, year = int(groups["d3"]), MONTHS[groups["mn3"].lower()], groups["y3"]
        if year:
            full = int(year) + (2000 if len(year) == 2 else 0)
            return date(full, month, day)
        guess = date(reference.year, month, day)
        # No year: the next such day after the message (an OOO names the future).
        return guess if guess >= reference else date(reference.year + 1, month, day)
    except (ValueError, KeyError):
        return None


def return_date(text: str, reference: date) -> date | None:
    """The first day back that an out-of-office text states, if it states one."""
    flat = " ".join(text.split())
    back = _BACK.search(flat)
    if back and (found := parsed_date(back, reference)):
        return found
    until = _UNTIL.search(flat)
    if until and (found := parsed_date(until, reference)):
        return found + timedelta(days=1)
    return None


def _reference_date(message: Message) -> date:
    try:
        return parsedate_to_datetime(str(message.get("Date", ""))).date()
    except (TypeError, ValueError, IndexError):
        return date.today()


def looks_out_of_office(subject: str, text: str) -> bool:
    """From a stored message's subject and text alone (its headers are not stored)."""
    return bool(_AUTO_SUBJECTS.search(subject) or _AUTO_BODIES.search(" ".join(text.split())))


def out_of_office(subject: str, text: str, written_on: date) -> tuple[bool, date | None]:
    """Is a stored message an out-of-office reply, and which first day back it states."""
    if not looks_out_of_office(subject, text):
        return False, None
    return True, return_date(text, written_on)


def may_be_bounce(sender: str, subject: str) -> bool:
    """From the headers alone: worth fetching to see whether it is a bounce."""
    return bool(_BOUNCE_SENDERS.match(sender) or _BOUNCE_SUBJECTS.search(subject))


def recognise(raw: bytes, *, own_address: str = "") -> Recognition:
    """Classify a received message; ``own_address`` (the inbox) is never a failed recipient."""
    message = _parser.parsebytes(raw)
    assert isinstance(message, EmailMessage)
    subject = str(message.get("Subject", ""))
    sender = _address(str(message.get("From", "")))
    text = _text_of(message)
    if _is_report(message):
        failed = _dsn_failures(message)
        if failed:
            return Recognition(MailKind.BOUNCE, failed_recipients=failed)
        if "delayed" not in subject.lower():  # a report that is no failure: a delay warning
            return Recognition(MailKind.BOUNCE, _guessed_failures(message, text, own_address))
        return Recognition(MailKind.AUTO_REPLY)
    if _BOUNCE_SENDERS.match(sender) or (
        _BOUNCE_SUBJECTS.search(subject) and _is_auto_by_headers(message)
    ):
        return Recognition(MailKind.BOUNCE, _guessed_failures(message, text, own_address))
    if (
        _is_auto_by_headers(message)
        or _AUTO_SUBJECTS.search(subject)
        or _AUTO_BODIES.search(" ".join(text.split()))
    ):
        return Recognition(
            MailKind.AUTO_REPLY, return_on=return_date(text, _reference_date(message))
        )
    return Recognition(MailKind.HUMAN)
