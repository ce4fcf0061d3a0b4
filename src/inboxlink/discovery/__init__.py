"""Discovery: which provider hosts an address (P3) and where its IMAP/SMTP servers are (P9, G3).

Owns: the bundled provider database (facts from Thunderbird's ISP database), the clientConfig
XML parser, domain autoconfig fetches, SRV/MX look-ups and server probes — all outbound
connections go through ``inboxlink.net.policy``. Must not import ``store``, ``web`` or
``providers``: callers pass in what they know (e.g. an admin's saved settings) as callables.
"""
