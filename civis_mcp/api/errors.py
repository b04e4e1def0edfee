"""The exception tree of civis-mcp's API layer. Every message is a full sentence of facts: what happened and what is
known about its outcome (what did not change). What to do next, and Civis's own words fenced as data, are added by
the present step (``civis_mcp.presenting.explain``), which is what a model reads.

    CivisMCPError
    ├── ConfigurationError        settings are missing or wrong (e.g. no CIVIS_API_KEY); nothing was sent
    ├── CivisAPIError             Civis answered with an error status (``status_code``, ``request_id``)
    │   ├── AuthenticationError   401: the key is missing, wrong or expired
    │   ├── PermissionDeniedError 403: the key's user may not read or change this object
    │   ├── NotFoundError         404: no such object, or not visible to this user
    │   └── RateLimitedError      429 after the retries: Civis is rate limiting this key (``retry_after``)
    └── CivisTransportError       no usable answer: could not connect, timed out, retries ran out (``outcome``)
        ├── OutcomeUnknownError   a write was sent but its answer was lost; it is NOT repeated
        ├── UnreadableAnswerError Civis answered (``status_code``), but the answer cannot be used
        └── CircuitOpenError      Civis failed repeatedly, so calls are paused for a cool-down; nothing was sent

Low-level httpx errors are translated once, at the boundary (``retrying.py`` for sending, ``client.py`` for
reading answers); callers catch a category (``except NotFoundError``), never compare status codes by hand.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    "AuthenticationError",
    "CircuitOpenError",
    "CivisAPIError",
    "CivisMCPError",
    "CivisTransportError",
    "ConfigurationError",
    "NotFoundError",
    "Outcome",
    "OutcomeUnknownError",
    "PermissionDeniedError",
    "RateLimitedError",
    "UnreadableAnswerError",
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
        verb: str | None = None,
        reason_phrase: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.error_description = error_description
        """Civis's own words (sanitised, redacted, one line), or None."""
        self.operation = operation
        """The tool whose call failed."""
        self.request_id = request_id
        """The ``X-Request-Id`` Civis answered with, when it sent one: what Civis support asks for."""
        self.verb = verb
        """The HTTP method the call was sent with (what advice about permissions depends on), when known."""
        self.reason_phrase = reason_phrase
        """The status line's reason phrase when it differs from the standard one (sanitised, redacted), or None."""
        self.retry_after = retry_after
        """Seconds Civis asked to wait (``Retry-After``, sent with a 429 or a 503), when it said."""


class AuthenticationError(CivisAPIError):
    """Civis refused the API key (401)."""


class PermissionDeniedError(CivisAPIError):
    """The key's user lacks the permission this call needs on the object (403)."""


class NotFoundError(CivisAPIError):
    """The object does not exist, or is not visible to the key's user (404)."""


class RateLimitedError(CivisAPIError):
    """Civis is rate limiting the key (429), and waiting within the call's retry budget did not get past it."""


def api_error_class(status: int) -> type[CivisAPIError]:
    """The category of an HTTP error status."""
    return {
        401: AuthenticationError,
        403: PermissionDeniedError,
        404: NotFoundError,
        429: RateLimitedError,
    }.get(status, CivisAPIError)


class Outcome(StrEnum):
    """What is known about whether a call that got no usable answer changed anything in Civis."""

    NOT_SENT = "not sent"
    """Nothing left this machine (no connection, or calls to Civis are paused)."""
    NOTHING_CHANGED = "nothing changed"
    """It only reads, or it never reached Civis, or losing it was safe."""
    REPEATABLE = "repeatable"
    """An idempotent write may have taken effect; sending it again changes nothing more."""
    UNKNOWN = "unknown"
    """A write that may or may not have taken effect; it was deliberately not repeated."""
    ACCEPTED = "accepted"
    """Civis accepted a write, but what it answered cannot be read; it was deliberately not repeated."""


class CivisTransportError(CivisMCPError):
    """No usable answer came back from Civis. ``reason`` says what went wrong in a few words; ``operation`` names the
    tool whose call it was and ``outcome`` what is known about its effect (None on errors raised outside the client)."""

    def __init__(
        self,
        message: str,
        *,
        reason: str | None = None,
        operation: str | None = None,
        outcome: Outcome | None = None,
    ) -> None:
        super().__init__(message)
        self.reason = reason
        self.operation = operation
        self.outcome = outcome


class OutcomeUnknownError(CivisTransportError):
    """A non-repeatable request was sent but its outcome is unknown; it was deliberately not sent again."""

    def __init__(self, operation: str, failure: str, *, reason: str | None = None) -> None:
        super().__init__(
            f"{operation} was sent, but {failure}, so its outcome is unknown: it may or may not have taken effect. "
            "It was deliberately not sent again, to avoid doing it twice.",
            reason=reason or failure,
            operation=operation,
            outcome=Outcome.UNKNOWN,
        )


class UnreadableAnswerError(CivisTransportError):
    """Civis answered with ``status_code``, but the answer cannot be used (a body that does not decompress, is not
    JSON or nests too deep, a header number that is not a number). A read changed nothing; a write that Civis
    accepted is not sent again."""

    def __init__(self, operation: str, *, verb: str, status_code: int, what: str) -> None:
        failure = f"Civis answered HTTP {status_code}, but {what}"
        if verb == "GET":
            message = f"{operation} failed: {failure}. It only reads, so nothing changed."
            outcome = Outcome.NOTHING_CHANGED
        else:
            message = (
                f"{operation} was sent and Civis accepted it (HTTP {status_code}), but {what}, so what it returned is "
                "unknown. It was deliberately not sent again."
            )
            outcome = Outcome.ACCEPTED
        super().__init__(message, reason=failure, operation=operation, outcome=outcome)
        self.status_code = status_code


class CircuitOpenError(CivisTransportError):
    """Calls to Civis failed repeatedly, so this one was not sent; ``retry_in`` says when to try again (seconds)."""

    def __init__(self, message: str, *, retry_in: float, operation: str | None = None) -> None:
        super().__init__(message, reason="calls to Civis are paused", operation=operation, outcome=Outcome.NOT_SENT)
        self.retry_in = retry_in
