"""The error type users meet: a stable code, a plain-words message with the fix, a status."""

from __future__ import annotations


class AppError(Exception):
    """A failure a user can meet: ``code`` is documented snake_case, ``message`` says the fix."""

    status = 400

    def __init__(self, code: str, message: str, *, status: int | None = None, **extra: object):
        super().__init__(message)
        self.code = code
        self.message = message
        if status is not None:
            self.status = status
        self.extra = extra

    def to_dict(self) -> dict[str, object]:
        body: dict[str, object] = {"code": self.code, "message": self.message}
        body.update(self.extra)
        return {"error": body}


class NotFound(AppError):
    status = 404

    def __init__(self, what: str = "resource"):
        super().__init__("not_found", f"This {what} does not exist or you cannot see it.")


class Forbidden(AppError):
    status = 403

    def __init__(self, message: str = "You do not have permission to do this."):
        super().__init__("forbidden", message)


class Conflict(AppError):
    status = 409


def causes(exc: BaseException) -> list[BaseException]:
    """``exc`` and what led to it: client libraries wrap the socket or TLS error that tells
    what really happened in errors of their own (aiosmtplib, httpx, requests)."""
    found: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in found:
        found.append(current)
        current = current.__cause__ or current.__context__
    return found
