"""RFC 5322 messages independent of any provider: parsing headers and bodies, composing.

Pure functions over bytes and dataclasses; no I/O.
"""
