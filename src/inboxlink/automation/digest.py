"""The daily digest of suggested tasks: one in-app notification per user per (UTC) day, which
notifications/email.py also sends by email when system mail is configured.

A digest goes out only when something was suggested since the user's previous one, and lists
every suggestion still waiting for a decision. The ``task_digests`` row for (user, day) is
written in the same transaction as the notification, so running the job again the same day —
in this process or another worker — sends nothing twice.
"""

from __future__ import annotations

import logging

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from inboxlink.automation.suggestions import TaskState
from inboxlink.clock import as_utc, utcnow
from inboxlink.notifications.inbox import notify
from inboxlink.runtime import Runtime
from inboxlink.store.tables import Contact, Task, TaskDigest

log = logging.getLogger(__name__)

LISTED = 20


async def _digest_for(runtime: Runtime, user_id: int) -> bool:
    """Send today's digest to the user if due; True when one was sent."""
    now = utcnow()
    async with runtime.sessions() as session, session.begin():
        if await session.get(TaskDigest, (user_id, now.date())) is not None:
            return False
        previous = await session.scalar(
            select(func.max(TaskDigest.sent_at)).where(TaskDigest.user_id == user_id)
        )
        rows = (
            await session.execute(
                select(Task, Contact.email)
                .outerjoin(Contact, Contact.id == Task.contact_id)
                .where(Task.user_id == user_id, Task.state == TaskState.SUGGESTED.value)
                .order_by(Task.due_on.is_(None), Task.due_on, Task.id)
            )
        ).all()
        if not rows or (
            previous is not None
            and all(as_utc(task.created_at) <= as_utc(previous) for task, _ in rows)
        ):
            return False
        lines = [
            f"• {task.title}"
            + (f" (due {task.due_on:%a %d %b})" if task.due_on else "")
            + (f" — {email}" if email else "")
            for task, email in rows[:LISTED]
        ]
        if len(rows) > LISTED:
            lines.append(f"… and {len(rows) - LISTED} more.")
        count = len(rows)
        session.add(TaskDigest(user_id=user_id, day=now.date(), sent_at=now))
        await notify(
            session,
            account_id=rows[0][0].account_id,
            user_ids={user_id},
            kind="task_digest",
            title=f"{count} suggested task{'s' if count != 1 else ''} from your inbox",
            body="\n".join(lines)
            + f"\n\nAccept or dismiss them: {runtime.settings.public_url}/tasks",
        )
    return True


async def run_digest(runtime: Runtime) -> None:
    """Today's digest for every user with suggestions waiting; idempotent per user per day."""
    async with runtime.sessions() as session:
        users = list(
            await session.scalars(
                select(Task.user_id).where(Task.state == TaskState.SUGGESTED.value).distinct()
            )
        )
    for user_id in users:
        try:
            await _digest_for(runtime, user_id)
        except IntegrityError:
            log.info("digest for user %s was sent by another worker", user_id)
