"""Sequences (P10): definitions, enrollments, the scheduler that sends due steps through the
outbox, and the watch that stops or pauses enrollments on replies, auto-replies and bounces.

Must not import web/. Sends only through ``outbox.queue.enqueue``; reads mailboxes only
through the ``Connector`` protocol.
"""
