"""Sending: the queue of outbound emails, idempotent delivery, saving to Sent, logging.

Must not import web/. Reaches providers only through the ``Connector`` protocol.
"""
