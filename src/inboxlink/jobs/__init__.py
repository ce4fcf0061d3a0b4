"""Who runs the background work, behind one small interface (DESIGN.md "Processes").

The code that creates work — web requests, the sequence scheduler — only tells a
:class:`~inboxlink.jobs.scheduler.Scheduler` that an inbox or the outbox changed. Two engines
run the work with the same semantics (one live watcher per inbox, per-inbox ordering, retries
with backoff): the in-process runner of the embedded mode (``inboxlink.worker.runner``) and
procrastinate on PostgreSQL for many workers on many machines (``procrastinate_worker``).
"""
