"""Team inboxes (SPEC T1-T3, D2, D3): channels, conversations, help-desk tickets, replies.

A conversation is a stored thread seen through one team inbox (its ``message_sources``), plus
the team's state for it. This package reads what the sync engine stored and never speaks a
mail protocol: replies go through the outbox. It must not import ``web`` or ``providers``.
"""
