"""The one error type services raise when they refuse something a person asked for."""

from __future__ import annotations


class RefusedError(ValueError):
    """A refusal with a readable message (in the current language) and the HTTP status that fits it.

    Routes let it through: the app's error handler turns it into ``{status_code, detail}`` for the
    API, a message fragment for htmx, or an error page.
    """

    default_status = 422

    def __init__(self, message: str, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code or self.default_status
