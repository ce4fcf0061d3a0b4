"""Runs the background work (sync, outbox, periodic jobs) behind one scheduling interface.

The embedded mode runs it in the web process (``start_in_process``); ``inboxlink worker``
runs the same loops in a process of their own.
"""

from inboxlink.worker.runner import start_in_process

__all__ = ["start_in_process"]
