"""HTTP: the JSON API (``api/``) and the server-rendered pages (``pages/``).

Reads the store and calls services; never speaks a mail protocol itself.
"""
