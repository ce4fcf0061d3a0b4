"""Follow-ups a message asks for or promises, in English, German, Italian, Polish and Swedish.

Rules, not a model: a sentence is a *request* when it asks the reader to do something
("can you send me…", "könnten Sie…", "potresti…", "czy możesz…", "kan du…") and a
*promise* when the writer says they will ("I'll call you…", "ich melde mich…", "ti mando…",
"zadzwonię…", "jag återkommer…"). Courtesy formulas ("let me know if you have any
questions", "please find attached") are neither. The first such sentence of the author's own
text becomes the suggestion, with the deadline it names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from inboxlink.automation.dates import due_date
from inboxlink.automation.text import sentences, split

MAX_TITLE = 200


class TaskKind(StrEnum):
    REQUEST = "request"
    PROMISE = "promise"


@dataclass(frozen=True, slots=True)
class Suggestion:
    kind: TaskKind
    title: str
    due_on: date | None


_COURTESY = re.compile(
    r"if you have (?:any )?(?:further |more )?questions|any questions|please find|please see"
    r"|please note|don't hesitate|do not hesitate|feel free|thank(?:s| you) for"
    r"|hope you(?:'re| are) well|how are you|anbei|im anhang|bei fragen|wenn sie fragen haben"
    r"|zögern sie nicht|vielen dank für|danke für|in allegato|per qualsiasi (?:domanda|dubbio)"
    r"|per eventuali|grazie per|w załączniku|w razie pytań|dziękuję za|bifogat|bifogar"
    r"|om du har (?:några )?frågor|tack för|would you like to unsubscribe|unsubscribe",
    re.I,
)
_REQUEST = re.compile(
    r"\b(?:can|could|would|will) you\b|\bplease (?:send|call|share|confirm|forward|check"
    r"|review|sign|let|get back|provide|update|prepare|schedule|book|return|reply|give|ring)"
    r"|\blet me know\b|\bget back to me\b|\bsend (?:me|us|over)\b|\bi (?:need|would need)\b"
    r"|\b(?:können|könnten|würden) sie\b|\b(?:kannst|könntest|würdest) du\b"
    r"|\bbitte\b.{0,80}\b(?:schicken|senden|zusenden|schick|rufen|anrufen|bestätigen|melden"
    r"|geben|prüfen|unterschreiben|mitteilen|zukommen|zurückrufen|bescheid)"
    r"|\b(?:geben|sagen) sie mir bescheid\b|\bich (?:bräuchte|benötige)\b"
    r"|\b(?:puoi|potresti|può|potrebbe|potete|potreste|riesci a|riesce a)\b"
    r"|\b(?:mi|ci) (?:mandi|invii|manderesti|invieresti|mandate|inviate|faccia sapere"
    r"|fai sapere|richiami|chiami)\b|\bfammi sapere\b|\bper favore\b|\b(?:ti|le) chiedo di\b"
    r"|\bho bisogno\b"
    r"|\bczy (?:możesz|mógłbyś|mogłabyś|może pan|może pani|mogłaby pani|mógłby pan"
    r"|moglibyście|mogą państwo)\b|\bprosz[ęe] o\b"
    r"|\bprosz[ęe] (?:przesłać|wysłać|potwierdzić|zadzwonić|dać znać|podesłać)\b"
    r"|\b(?:prześlij|wyślij|daj(?:cie)? znać|zadzwoń|potwierdź|podeślij)\b|\bprosimy o\b"
    r"|\bpotrzebuję\b"
    r"|\b(?:kan|skulle|kunde) (?:du|ni)\b|\b(?:snälla|vänligen)\b|\bhör av dig\b"
    r"|\bskicka\b|\bmeddela\b|\bjag behöver\b",
    re.I,
)
_PROMISE = re.compile(
    r"\b(?:i'll|i will|we'll|we will|i am going to|i'm going to|i shall)\s+(?:\w+\s+)?"
    r"(?:send|call|get back|follow up|share|forward|prepare|check|email|e-mail|write|ring"
    r"|reach out|be in touch|confirm|update|let you know|come back|circle back|look into"
    r"|review|draft|book|schedule|phone|get you|have)\b"
    r"|\b(?:ich|wir)\b.{0,40}\b(?:schick|send|ruf|meld|bereite|prüf|kümmer|bestätig|zukommen)"
    r"|\b(?:ti|le|vi)\s+(?:mando|invio|manderò|invierò|chiamo|richiamo|chiamerò|farò sapere"
    r"|faccio sapere|scrivo|scriverò|aggiorno|aggiornerò|preparo|preparerò|giro|girerò)\b"
    r"|\b(?:manderò|invierò|chiamerò|preparerò|verificherò|controllerò|mi farò sentire"
    r"|mi faccio sentire)\b"
    r"|\b(?:wyślę|prześlę|zadzwonię|przygotuję|odezwę się|dam znać|sprawdzę|potwierdzę"
    r"|odpiszę|oddzwonię|wrócę do|wyślemy|prześlemy|zadzwonimy|przygotujemy|odezwiemy się"
    r"|damy znać)"
    r"|\b(?:jag|vi) (?:skickar|ringer|återkommer|hör av (?:mig|oss)|ska skicka|ska ringa"
    r"|ska kolla|kollar|mejlar|mailar|förbereder|bekräftar|ska återkomma)\b",
    re.I,
)


def _kind(sentence: str) -> TaskKind | None:
    if _COURTESY.search(sentence):
        return None
    if _PROMISE.search(sentence):
        return TaskKind.PROMISE
    if _REQUEST.search(sentence):
        return TaskKind.REQUEST
    return None


def _title(sentence: str) -> str:
    title = sentence.strip(" -\u2013•*")
    if len(title) > MAX_TITLE:
        title = title[: MAX_TITLE - 1].rstrip() + "…"
    return title[:1].upper() + title[1:]


def suggest(text: str, written_on: date) -> Suggestion | None:
    """The follow-up ``text`` asks for or promises, if any; deadlines relative to ``written_on``."""
    for sentence in sentences(split(text).body):
        kind = _kind(sentence)
        if kind is not None:
            return Suggestion(kind, _title(sentence), due_date(sentence, written_on))
    return None
