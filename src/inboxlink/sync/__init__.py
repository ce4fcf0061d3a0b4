"""The sync engine: turns a connector's batches into stored messages and timeline entries,
committing each batch together with the checkpoint that follows it.

Must not import web/. Talks to providers only through the ``Connector`` protocol.
"""
