"""Open and click tracking: signed tokens, instrumenting outgoing HTML, recording events.

Must not import web/ (the public routes live in ``web/tracking.py``).
"""
