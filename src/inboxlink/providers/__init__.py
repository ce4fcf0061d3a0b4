"""One connector per provider kind behind one interface (``base.Connector``).

Nothing here knows about contacts, users, the store or HTTP requests of our own API.
"""
