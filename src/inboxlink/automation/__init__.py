"""Inbox automation (SPEC P2, issue 8): what an inbox with the automation flag on does with
new mail — capture contact details into empty properties, suggest follow-up tasks and send
their daily digest. It reads stored messages and never speaks a mail protocol."""
