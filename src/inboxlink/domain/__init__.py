"""Plain enums and the rules that need no I/O: roles and permissions, the inbox state machine,
which emails are logged. Imports nothing from the rest of inboxlink but errors.
"""
