"""Contact details in a message: name, phone numbers, job title and company.

The sender's display name gives first and last name (a signature line that repeats it
confirms it when the header has none). Phone numbers come from the signature through the
``phonenumbers`` library (Google's libphonenumber metadata: far better than our own patterns
at telling a number from a date or an order id), labelled mobile or phone by the label on
their line or, without one, by the number's type. Job title and company are read from the
signature lines after the name: company-form suffixes (GmbH, S.r.l., Sp. z o.o., AB …) and
job words in the five languages decide which line is which.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import phonenumbers

from inboxlink.automation.text import split

#: Country of a mail domain's top-level domain, to read national-format numbers.
_REGIONS = {"de": "DE", "at": "AT", "ch": "CH", "it": "IT", "pl": "PL", "se": "SE", "uk": "GB"}
_NAME_WORD = r"[A-ZÀ-ÖØ-ÞĄĆĘŁŃÓŚŹŻ][a-zß-öø-ÿąćęłńóśźż'\u2019-]+"
_PERSON = re.compile(rf"^(?P<first>{_NAME_WORD})(?: (?P<last>(?:{_NAME_WORD} ?){{1,2}}))$")
_SURNAME_FIRST = re.compile(rf"^(?P<last>{_NAME_WORD}(?: {_NAME_WORD})?), (?P<first>{_NAME_WORD})$")
_COMPANY = re.compile(
    r"\b(?:GmbH|AG|KG|SE|e\.V\.|Ltd\.?|Limited|Inc\.?|LLC|PLC|Corp\.?|Co\.|S\.p\.A\.|S\.r\.l\.|"
    r"SpA|Srl|S\.A\.|Sp\. z o\.o\.|sp\. z o\.o\.|S\.C\.|AB|HB|Oy|A/S|ASA|B\.V\.|N\.V\.|SAS|SARL)"
    r"(?=$|[\s,.)])"
)
_JOB = re.compile(
    r"\b(?:manager|director|head|chief|ceo|cto|cfo|coo|vp|vice president|founder|co-founder"
    r"|owner|partner|engineer|developer|consultant|specialist|officer|lead|executive|assistant"
    r"|analyst|coordinator|representative|advisor|architect|buyer|purchaser|administrator"
    r"|geschäftsführer(?:in)?|leiter(?:in)?|vertrieb\w*|einkäufer(?:in)?|referent(?:in)?"
    r"|berater(?:in)?|inhaber(?:in)?|projektleiter(?:in)?|abteilungsleiter(?:in)?|vorstand"
    r"|responsabile|direttore|direttrice|amministratore|titolare|commerciale|ufficio acquisti"
    r"|consulente|ingegnere|impiegat[oa]|socio"
    r"|kierownik|dyrektor|specjalista|specjalistka|prezes|właściciel(?:ka)?|handlowiec"
    r"|koordynator(?:ka)?|menedżer|doradca|zarząd"
    r"|vd|chef|säljare|säljchef|inköpare|inköpschef|projektledare|konsult|ansvarig|grundare"
    r"|ägare|ekonomichef|försäljningschef)\b",
    re.I,
)
_MOBILE_LABEL = re.compile(
    r"\b(?:mob(?:ile|il)?|cell(?:ulare)?|handy|kom(?:órka)?|tel\. kom|mobiltelefon|cel)\b", re.I
)
_PHONE_LABEL = re.compile(
    r"\b(?:tel(?:efon[oe]?|\.)?|phone|fon|t|direkt|direct|ufficio|office|växel)\b", re.I
)
_SEPARATORS = re.compile(r"\s*(?:\||·|•|\u2013|\u2014| - |,| at | bei | presso | w | på )\s*")


@dataclass(frozen=True, slots=True)
class Details:
    first_name: str = ""
    last_name: str = ""
    phone: str = ""
    mobile: str = ""
    job_title: str = ""
    company: str = ""

    def found(self) -> dict[str, str]:
        """The properties found, by name."""
        return {k: v for k in FIELDS if (v := getattr(self, k))}


FIELDS = ("first_name", "last_name", "phone", "mobile", "job_title", "company")


def _person(name: str) -> tuple[str, str] | None:
    flat = " ".join(name.replace('"', "").split())
    for pattern in (_SURNAME_FIRST, _PERSON):
        if match := pattern.match(flat):
            return match["first"], match["last"].strip()
    return None


def _region(address: str) -> str | None:
    return _REGIONS.get(address.rsplit(".", 1)[-1].lower())


def _phones(lines: list[str], region: str | None) -> tuple[str, str]:
    phone = mobile = ""
    for line in lines:
        # POSSIBLE, not VALID: a number from a range not yet allocated is still the number.
        found = phonenumbers.PhoneNumberMatcher(
            line, region or "ZZ", phonenumbers.Leniency.POSSIBLE
        )
        for match in found:
            number = phonenumbers.format_number(
                match.number, phonenumbers.PhoneNumberFormat.INTERNATIONAL
            )
            label = line[: match.start]
            if _MOBILE_LABEL.search(label):
                is_mobile = True
            elif _PHONE_LABEL.search(label):
                is_mobile = False
            else:
                kind = phonenumbers.number_type(match.number)
                is_mobile = kind == phonenumbers.PhoneNumberType.MOBILE
            if is_mobile and not mobile:
                mobile = number
            elif not is_mobile and not phone:
                phone = number
    return phone, mobile


def _role_and_company(lines: list[str]) -> tuple[str, str]:
    """Job title and company from signature lines without a phone, address or link."""
    title = company = ""
    for line in lines:
        if re.search(r"\d|@|www\.|https?:", line) or len(line) > 90:
            continue
        parts = [p.strip() for p in _SEPARATORS.split(line) if p.strip()]
        for part in parts:
            if not company and _COMPANY.search(part):
                company = part
            elif not title and _JOB.search(part) and not _COMPANY.search(part):
                title = part
        if title and company:
            break
    return title, company


def extract(display_name: str, address: str, text: str) -> Details:
    """What the sender of ``text`` (``display_name <address>``) says about themselves."""
    signature = split(text, display_name).signature
    person = _person(display_name) if display_name and "@" not in display_name else None
    rest = signature
    if person is None and signature:
        person = _person(signature[0])
    if person is not None:
        full = f"{person[0]} {person[1]}".lower()
        rest = [line for line in signature if line.lower() not in (full, display_name.lower())]
    phone, mobile = _phones(signature, _region(address))
    title, company = _role_and_company(rest)
    first, last = person or ("", "")
    return Details(first, last, phone, mobile, title, company)
