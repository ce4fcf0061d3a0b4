"""Conversations as the API returns them (pages use the same dictionaries)."""

from __future__ import annotations

from typing import Any

from inboxlink.clock import as_utc
from inboxlink.conversations.channels import channel_dict
from inboxlink.conversations.queries import Detail, Summary
from inboxlink.mail.body import sanitize_html
from inboxlink.store.tables import Message, User


def _person(user: User | None) -> dict[str, Any] | None:
    if user is None:
        return None
    return {"id": user.id, "name": user.name, "email": user.email}


def message_dict(message: Message, team: frozenset[str]) -> dict[str, Any]:
    sender = message.from_addr or {}
    return {
        "id": message.id,
        "message_id": message.message_id,
        "direction": "outgoing" if sender.get("email", "").lower() in team else "incoming",
        "subject": message.subject,
        "from": sender,
        "to": message.to_addrs,
        "cc": message.cc_addrs,
        "sent_at": as_utc(message.sent_at).isoformat(),
        "text": message.body_text,
        "html": sanitize_html(message.body_html) if message.body_html else "",
    }


def summary_dict(summary: Summary, users: dict[int, User]) -> dict[str, Any]:
    conversation, latest = summary.conversation, summary.latest
    return {
        "id": conversation.id,
        "thread_id": conversation.thread_id,
        "channel": channel_dict(summary.channel),
        "subject": summary.subject,
        "status": conversation.status,
        "assignee": _person(users.get(conversation.assignee_id or 0)),
        "ticket": {"status": conversation.ticket_status, "priority": conversation.priority},
        "last_message_at": (
            as_utc(conversation.last_message_at).isoformat()
            if conversation.last_message_at
            else None
        ),
        "snippet": latest.snippet if latest else "",
        "from": latest.from_addr if latest else None,
        "updated_at": as_utc(conversation.updated_at).isoformat(),
    }


def detail_dict(detail: Detail, users: dict[int, User], team: frozenset[str]) -> dict[str, Any]:
    return {
        **summary_dict(detail.summary, users),
        "messages": [message_dict(m, team) for m in detail.messages],
        "comments": [
            {
                "id": c.id,
                "author": _person(users.get(c.author_id or 0)),
                "body": c.body,
                "created_at": as_utc(c.created_at).isoformat(),
            }
            for c in detail.comments
        ],
    }
