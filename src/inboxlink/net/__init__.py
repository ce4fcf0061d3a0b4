"""Outbound networking shared by discovery and the connectors.

Owns: the configurable DNS resolver and the policy that decides which addresses a
user-supplied host may reach. Imports nothing from the rest of inboxlink but config/errors.
"""
