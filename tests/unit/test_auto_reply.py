"""Auto-reply and bounce recognition on a varied corpus in five languages, with figures."""

# ruff: noqa: E501 - the corpus keeps one message per line

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from email.message import EmailMessage

from inboxlink.mail.auto_reply import MailKind, recognise, return_date

ME = "jane@acme.test"
DATE = "Mon, 02 Jun 2025 10:00:00 +0000"


def message(subject: str, body: str, *, sender: str = "ann@client.test", **headers: str) -> bytes:
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = ME
    mail["Subject"] = subject
    mail["Date"] = DATE
    for name, value in headers.items():
        mail[name.replace("_", "-")] = value
    mail.set_content(body)
    return mail.as_bytes()


def dsn(recipient: str, *, action: str = "failed") -> bytes:
    """An RFC 3464 report as Postfix writes it."""
    return (
        "From: MAILER-DAEMON@mail.acme.test (Mail Delivery System)\r\n"
        f"To: {ME}\r\nSubject: Undelivered Mail Returned to Sender\r\nDate: {DATE}\r\n"
        "Auto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n\r\n'
        "--B\r\nContent-Type: text/plain\r\n\r\n"
        "I'm sorry to have to inform you that your message could not be delivered.\r\n"
        "--B\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mail.acme.test\r\n\r\n"
        f"Final-Recipient: rfc822; {recipient}\r\nOriginal-Recipient: rfc822;{recipient}\r\n"
        f"Action: {action}\r\nStatus: 5.1.1\r\n\r\n"
        "--B\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"From: {ME}\r\nTo: {recipient}\r\nSubject: Our offer\r\n\r\n--B--\r\n"
    ).encode()


@dataclass(frozen=True)
class Case:
    raw: bytes
    kind: MailKind
    returns: date | None = None
    failed: str | None = None


CORPUS = [
    # Replies written by people (some mention holidays, dates, delivery: must stay replies).
    Case(message("Re: Our offer", "Thanks Jane, this looks good. Let's talk on Friday."), MailKind.HUMAN),
    Case(message("Re: Proposal", "Can you send the contract by June 12?"), MailKind.HUMAN),
    Case(message("AW: Angebot", "Hallo Jane, danke für das Angebot. Ich melde mich bis Freitag."), MailKind.HUMAN),
    Case(message("R: Offerta", "Ciao Jane, grazie. Ne parliamo la prossima settimana."), MailKind.HUMAN),
    Case(message("Odp: Oferta", "Dzień dobry, dziękuję za ofertę. Odezwę się jutro."), MailKind.HUMAN),
    Case(message("SV: Offert", "Hej Jane, tack! Vi hörs på måndag."), MailKind.HUMAN),
    Case(message("Re: Delivery", "The parcel was delivered yesterday, all good."), MailKind.HUMAN),
    Case(message("Re: Holidays", "I was on vacation last week, sorry for the late answer."), MailKind.HUMAN),
    Case(message("Re: Termin", "Passt mir gut, bis dann!"), MailKind.HUMAN),
    # Out-of-office, by header, subject or text, in the five languages.
    Case(message("Automatic reply: Our offer", "I am out of the office and will be back on June 16, 2025.", Auto_Submitted="auto-replied"), MailKind.AUTO_REPLY, date(2025, 6, 16)),
    Case(message("Out of Office", "I'm currently out of office until 20 June with limited access to email."), MailKind.AUTO_REPLY, date(2025, 6, 21)),
    Case(message("Re: Our offer", "Thank you for your message.", X_Autoreply="yes"), MailKind.AUTO_REPLY),
    Case(message("Re: Our offer", "Thank you, we received your request.", X_Autorespond="yes"), MailKind.AUTO_REPLY),
    Case(message("Re: Our offer", "Your ticket was received.", Precedence="auto_reply"), MailKind.AUTO_REPLY),
    Case(message("Re: Offer", "I'm on annual leave and back in the office on 2025-07-01."), MailKind.AUTO_REPLY, date(2025, 7, 1)),
    Case(message("Abwesenheitsnotiz: Angebot", "Ich bin bis zum 13.06.2025 nicht im Büro. In dringenden Fällen wenden Sie sich an office@client.test."), MailKind.AUTO_REPLY, date(2025, 6, 14)),
    Case(message("Automatische Antwort: Angebot", "Vielen Dank für Ihre Nachricht. Ich bin ab dem 23. Juni wieder erreichbar."), MailKind.AUTO_REPLY, date(2025, 6, 23)),
    Case(message("Re: Angebot", "Dies ist eine automatische Antwort. Ich bin im Urlaub."), MailKind.AUTO_REPLY),
    Case(message("Risposta automatica: Offerta", "Sono fuori ufficio, rientrerò il 9 giugno."), MailKind.AUTO_REPLY, date(2025, 6, 9)),
    Case(message("Fuori sede", "Gentile cliente, sono assente fino al 15/06/2025."), MailKind.AUTO_REPLY, date(2025, 6, 16)),
    Case(message("Odpowiedź automatyczna: Oferta", "Jestem poza biurem, wracam 10 czerwca."), MailKind.AUTO_REPLY, date(2025, 6, 10)),
    Case(message("Re: Oferta", "Dzień dobry, jestem na urlopie do 30.06.2025."), MailKind.AUTO_REPLY, date(2025, 7, 1)),
    Case(message("Autosvar: Offert", "Jag är ledig till och med 4 juli och tillbaka den 7 juli."), MailKind.AUTO_REPLY, date(2025, 7, 7)),
    Case(message("Frånvaro", "Hej! Jag är på semester, åter 2025-08-11."), MailKind.AUTO_REPLY, date(2025, 8, 11)),
    Case(message("Newsletter June", "Our news", Precedence="bulk"), MailKind.AUTO_REPLY),
    # Bounces: RFC 3464 reports and the common non-standard ones.
    Case(dsn("gone@client.test"), MailKind.BOUNCE, failed="gone@client.test"),
    Case(message("Undeliverable: Our offer", "Delivery has failed to these recipients: nobody@client.test", sender="postmaster@client.test"), MailKind.BOUNCE, failed="nobody@client.test"),
    Case(message("Mail delivery failed: returning message to sender", "A message that you sent could not be delivered.\n\n  old@client.test\n    mailbox unavailable", sender="Mail Delivery System <Mailer-Daemon@mx.client.test>", X_Failed_Recipients="old@client.test"), MailKind.BOUNCE, failed="old@client.test"),
    Case(message("Delivery Status Notification (Failure)", "Address not found: Your message wasn't delivered to lost@client.test", sender="mailer-daemon@googlemail.com", Auto_Submitted="auto-replied"), MailKind.BOUNCE, failed="lost@client.test"),
    Case(message("Unzustellbar: Angebot", "Die Nachricht konnte nicht zugestellt werden an weg@client.test", sender="postmaster@client.test"), MailKind.BOUNCE, failed="weg@client.test"),
    Case(message("Non recapitabile: Offerta", "Impossibile recapitare il messaggio a via@client.test", sender="MAILER-DAEMON@client.test"), MailKind.BOUNCE, failed="via@client.test"),
    Case(message("Niedostarczalne: Oferta", "Nie można dostarczyć wiadomości do brak@client.test", sender="postmaster@client.test"), MailKind.BOUNCE, failed="brak@client.test"),
    Case(message("Olevererbart: Offert", "Meddelandet kunde inte levereras till borta@client.test", sender="postmaster@client.test"), MailKind.BOUNCE, failed="borta@client.test"),
]  # fmt: skip


def _scores(kind: MailKind, predicted: list[MailKind]) -> tuple[float, float]:
    truth = [c.kind for c in CORPUS]
    hits = sum(p == t == kind for p, t in zip(predicted, truth, strict=True))
    chosen = sum(p == kind for p in predicted)
    actual = sum(t == kind for t in truth)
    return hits / chosen if chosen else 1.0, hits / actual


def test_corpus_precision_recall_and_return_dates() -> None:
    results = [recognise(c.raw, own_address=ME) for c in CORPUS]
    predicted = [r.kind for r in results]
    print(f"\ncorpus: {len(CORPUS)} messages")
    for kind in MailKind:
        precision, recall = _scores(kind, predicted)
        print(f"{kind.value:>10}: precision {precision:.2f} recall {recall:.2f}")
    dated = [(c, r) for c, r in zip(CORPUS, results, strict=True) if c.returns]
    right = sum(r.return_on == c.returns for c, r in dated)
    print(f"return dates: {right}/{len(dated)} right")
    wrong = [
        (c.raw.split(b"Subject: ")[1].split(b"\n")[0], r)
        for c, r in zip(CORPUS, results, strict=True)
        if r.kind != c.kind
        or (c.returns and r.return_on != c.returns)
        or (c.failed and c.failed not in r.failed_recipients)
    ]
    assert not wrong, wrong


def test_a_delivery_report_that_is_not_a_failure_is_no_bounce() -> None:
    assert recognise(dsn("slow@client.test", action="delayed")).failed_recipients == ()


def test_return_date_without_a_year_is_the_next_such_day() -> None:
    assert return_date("back on 3 January", date(2025, 12, 20)) == date(2026, 1, 3)
    assert return_date("Nothing about dates here.", date(2025, 6, 2)) is None


def test_the_day_before_a_month_and_year_is_not_a_weekday_name() -> None:
    """ "until 4 December 2026" once read as "until December 20" (the day taken for a word)."""
    reference = date(2026, 11, 27)
    assert return_date("out of the office until 4 December 2026.", reference) == date(2026, 12, 5)
    assert return_date("back on Monday, 7 December", reference) == date(2026, 12, 7)
    assert return_date("fino al 3 dicembre 2026", reference) == date(2026, 12, 4)
