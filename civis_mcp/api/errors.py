"""The exception tree of civis-mcp's API layer. Every message is a full sentence for a person (or a model) to read:
what happened, what did not change, and what to do next.

    CivisMCPError
    ├── ConfigurationError        settings are missing or wrong (e.g. no CIVIS_API_KEY); nothing was sent
    ├── CivisAPIError             Civis answered with an error status
    │   └── AuthenticationError   401: the key is missing, wrong or expired
    └── CivisTransportError       no usable answer: could not connect, timed out, retries ran out, unreadable
        ├── OutcomeUnknownError   a write was sent but its answer was lost; it is NOT repeated
        └── CircuitOpenError      Civis failed repeatedly, so calls are paused for a cool-down; nothing was sent

Low-level httpx errors are translated once, at the boundary in ``client.py``.
"""

from __future__ import annotations

__all__ = [
    "AuthenticationError",
    "CircuitOpenError",
    "CivisAPIError",
    "CivisMCPError",
    "CivisTransportError",
    "ConfigurationError",
    "OutcomeUnknownError",
]


class CivisMCPError(Exception):
    """Base of every error civis-mcp raises on purpose; its text is safe to show (no secret, no stack trace)."""


class ConfigurationError(CivisMCPError):
    """The server is not configured well enough to make this call; nothing was sent."""


class CivisAPIError(CivisMCPError):
    """Civis answered with an HTTP error status."""

    def __init__(self, message: str, *, status_code: int, error_description: str | None, operation: str) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.error_description = error_description
        self.operation = operation


class AuthenticationError(CivisAPIError):
    """Civis refused the API key (401)."""


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
