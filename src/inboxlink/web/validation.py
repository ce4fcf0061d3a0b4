"""The one way a request that does not fit its schema is reported: ``invalid_request``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from inboxlink.errors import AppError


def invalid_request(errors: Sequence[Any]) -> AppError:
    """``invalid_request`` (422) naming each field and what is wrong with it, from pydantic's
    errors (of the whole request, or of one item of a batch)."""
    problems = "; ".join(
        f"{'.'.join(str(p) for p in err['loc'] if p != 'body') or 'body'}: {err['msg']}"
        for err in errors
    )
    return AppError("invalid_request", f"Check the request: {problems}", status=422)
