"""The email a step becomes for one contact: tokens filled, threaded after the previous step.

Used by the scheduler and by the editor's preview, so what the preview shows is what is sent.
"""

from __future__ import annotations

from dataclasses import dataclass

from inboxlink.sequences.tokens import Person, render, values_for
from inboxlink.store.tables import SequenceStep


@dataclass(frozen=True, slots=True)
class ComposedStep:
    subject: str
    text: str
    #: True when the step answers the previous one (same thread, "Re: " subject).
    in_thread: bool


def thread_subject(steps: list[SequenceStep], position: int, values: dict[str, str]) -> str:
    """The subject of the thread step ``position`` belongs to: its last new-thread step's."""
    for step in reversed(steps[: position + 1]):
        if step.position == 0 or step.new_thread:
            return render(step.subject, values)
    return ""


def compose(
    steps: list[SequenceStep], position: int, contact: Person, sender: Person
) -> ComposedStep:
    values = values_for(contact, sender)
    step = steps[position]
    text = render(step.body, values)
    if position == 0 or step.new_thread:
        return ComposedStep(render(step.subject, values), text, in_thread=False)
    subject = thread_subject(steps, position, values)
    prefix = "" if subject.lower().startswith("re:") else "Re: "
    return ComposedStep(f"{prefix}{subject}", text, in_thread=True)
