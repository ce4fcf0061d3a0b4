"""Logging set-up: plain text for people, one JSON object per line for log collectors."""

from __future__ import annotations

import logging

from pythonjsonlogger.json import JsonFormatter

#: Libraries that narrate every connection or job at INFO; their warnings still show.
CHATTY_LIBRARIES = ("imapclient", "httpx", "httpcore", "exchangelib", "procrastinate")


def configure(log_format: str) -> None:
    handler = logging.StreamHandler()
    if log_format == "json":
        handler.setFormatter(
            JsonFormatter(
                "%(asctime)s %(levelname)s %(name)s %(message)s",
                rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            )
        )
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    for name in CHATTY_LIBRARIES:
        logging.getLogger(name).setLevel(logging.WARNING)
