"""The exception tree of civis-mcp's API layer. Every message is a full sentence for a person (or a model) to read:
what happened, what did not change, and what to do next.

    CivisMCPError
    ├── ConfigurationError        settings are missing or wrong (e.g. no CIVIS_API_KEY); nothing was sent
    ├── CivisAPIError             Civis answered with an error status (``status_code``, ``request_id``)
    │   ├── AuthenticationError   401: the key is missing, wrong or expired
    │   ├── PermissionDeniedError 403: the key's user may not read or change this object
    │   ├── NotFoundError         404: no such object, or not visible to this user
    │   └── RateLimitedError      429 after the retries: Civis is rate limiting this key (``retry_after``)
    └── CivisTransportError       no usable answer: could not connect, timed out, retries ran out, unreadable
        ├── OutcomeUnknownError   a write was sent but its answer was lost; it is NOT repeated
        └── CircuitOpenError      Civis failed repeatedly, so calls are paused for a cool-down; nothing was sent

Low-level httpx errors are translated once, at the boundary in ``client.py``; callers catch a category
(``except NotFoundError``), never compare status codes by hand.
"""

from __future__ import annotations

__all__ = [
    "AuthenticationError",
    "CircuitOpenError",
    "CivisAPIError",
    "CivisMCPError",
    "CivisTransportError",
    "ConfigurationError",
    "NotFoundError",
    "OutcomeUnknownError",
    "PermissionDeniedError",
    "RateLimitedError",
    "api_error_class",
]


class CivisMCPError(Exception):
    """Base of every error civis-mcp raises on purpose; its text is safe to show (no secret, no stack trace)."""


class ConfigurationError(CivisMCPError):
    """The server is not configured well enough to make this call; nothing was sent."""


class CivisAPIError(CivisMCPError):
    """Civis answered with an HTTP error status."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        error_description: str | None,
        operation: str,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.error_description = error_description
        """Civis's own words (sanitised, redacted, one line), or None."""
        self.operation = operation
        """The tool whose call failed."""
        self.request_id = request_id
        """The ``X-Request-Id`` Civis answered with, when it sent one: what Civis support asks for."""


class AuthenticationError(CivisAPIError):
    """Civis refused the API key (401)."""


class PermissionDeniedError(CivisAPIError):
    """The key's user lacks the permission this call needs on the object (403)."""


class NotFoundError(CivisAPIError):
    """The object does not exist, or is not visible to the key's user (404)."""


class RateLimitedError(CivisAPIError):
    """Civis is rate limiting the key (429), and waiting within the call's retry budget did not get past it."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        error_description: str | None,
        operation: str,
        request_id: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(
            message,
            status_code=status_code,
            error_description=error_description,
            operation=operation,
            request_id=request_id,
        )
        self.retry_after = retry_after
        """Seconds Civis asked to wait (``Retry-After``), when it said."""


def api_error_class(status: int) -> type[CivisAPIError]:
    """The category of an HTTP error status."""
    return {
        401: AuthenticationError,
        403: PermissionDeniedError,
        404: NotFoundError,
        429: RateLimitedError,
    }.get(status, CivisAPIError)


class CivisTransportError(CivisMCPError):
    """No usable answer came back from Civis. ``reason`` says what went wrong in a few words."""

    def __init__(self, message: str, *, reason: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason


class OutcomeUnknownError(CivisTransportError):
    """A non-repeatable request was sent but its outcome is unknown; it was deliberately not sent again."""


class CircuitOpenError(CivisTransportError):
    """Calls to Civis failed repeatedly, so this one was not sent; ``retry_in`` says when to try again (seconds)."""

    def __init__(self, message: str, *, retry_in: float) -> None:
        super().__init__(message, reason="calls to Civis are paused")
        self.retry_in = retry_in
