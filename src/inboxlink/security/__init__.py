"""Secrets and identities: the credential vault, password hashing, tokens, CSRF.

Must not import from web/, providers/ or store/ (the store imports nothing from here either:
callers pass ciphertext between the two).
"""
