"""When a failed request is sent again, and how long to wait first.

The rules follow civis-python 2.10.1, plus what an interactive assistant needs on top:

* GET, PUT and DELETE are retried on 429, 502, 503 and 504; POST only on 429 and 503 (the request was certainly
  not processed); PATCH is never retried.
* A connection that could not be opened means the request was never sent, so it is retried for every verb that
  retries at all.
* A POST or PATCH whose answer is lost after sending (read timeout, 502, 504) is never repeated: its outcome is
  unknown, and repeating it could create a second import or start a second run.
* ``Retry-After`` (seconds or an HTTP date) is a minimum wait; otherwise capped exponential backoff with full jitter.
* All waits of one call together stay within a budget; a wait that would exceed it ends the call instead.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

__all__ = ["RetryPolicy", "is_ambiguous_status", "parse_retry_after", "retryable_status"]

_RETRY_STATUSES = frozenset({429, 502, 503, 504})
_POST_RETRY_STATUSES = frozenset({429, 503})
_AMBIGUOUS_STATUSES = frozenset({502, 504})


def retryable_status(verb: str, status: int) -> bool:
    if verb == "PATCH":
        return False
    if verb == "POST":
        return status in _POST_RETRY_STATUSES
    return status in _RETRY_STATUSES


def retries_at_all(verb: str) -> bool:
    return verb != "PATCH"


def repeatable_after_sending(verb: str) -> bool:
    """Whether a request whose answer was lost may be sent again (it is idempotent)."""
    return verb in ("GET", "PUT", "DELETE")


def is_ambiguous_status(verb: str, status: int) -> bool:
    """A gateway error on a non-repeatable write: the write may or may not have happened."""
    return not repeatable_after_sending(verb) and status in _AMBIGUOUS_STATUSES


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header in either form; None when absent or unreadable."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text.isdigit():
        # ASCII digits only: ``isdigit`` also accepts "²", which ``float`` then rejects.
        return float(text) if text.isascii() and len(text) <= 9 else None
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    current = now or datetime.now(UTC)
    return max(0.0, (when - current).total_seconds())


@dataclass(frozen=True, kw_only=True)
class RetryPolicy:
    """Backoff shape and limits for one tool call."""

    max_attempts: int = 6
    budget: float = 60.0
    """Total seconds of waiting allowed across the retries of one call."""
    base_delay: float = 0.5
    max_delay: float = 20.0

    def backoff(self, attempt: int, retry_after: float | None, rng: random.Random | None = None) -> float:
        """Seconds to wait before attempt ``attempt + 1`` (attempts count from 1)."""
        ceiling = min(self.max_delay, self.base_delay * (2 ** (attempt - 1)))
        jittered = (rng or random).uniform(0, ceiling)
        return max(jittered, retry_after or 0.0)
