"""The CRM side of mail: which messages are logged, storing them once, threads, timelines,
and what other users may see of them. Must not import providers/ or web/.
"""
