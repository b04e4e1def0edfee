"""Keeps the API key out of every text civis-mcp produces: tool results, errors and log lines.

The key can come back in more than one form (an upstream echoing the request, an error quoting the header), so the
raw key, its HTTP Basic form and that form's base64 are all replaced.
"""

from __future__ import annotations

import base64
import logging

__all__ = ["REDACTED", "RedactingFilter", "Redactor"]

REDACTED = "[REDACTED]"


class Redactor:
    """Replaces every known form of one secret in a text."""

    def __init__(self, secret: str | None) -> None:
        forms: set[str] = set()
        if secret:
            forms.add(secret)
            for raw in (f"{secret}:", secret):
                encoded = base64.b64encode(raw.encode()).decode()
                forms.add(encoded)
                forms.add(encoded.rstrip("="))
        # Longest first, so that a form containing another is replaced whole.
        self._forms = sorted((form for form in forms if len(form) >= 4), key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for form in self._forms:
            if form in text:
                text = text.replace(form, REDACTED)
        return text


class RedactingFilter(logging.Filter):
    """A logging filter that redacts the formatted message of every record it sees."""

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self._redact = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = self._redact(message)
        if redacted != message or record.args:
            record.msg, record.args = redacted, None
        if record.exc_text:
            record.exc_text = self._redact(record.exc_text)
        return True
