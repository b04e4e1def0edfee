"""A circuit breaker: after several calls in a row fail upstream, answer at once for a cool-down instead of waiting.

While Civis is down, every call would otherwise spend its whole deadline (connecting, waiting, retrying) before
failing. After ``threshold`` consecutive failed calls (no answer, a connection failure, an answer lost, or a 5xx
status once the retries are spent) the breaker opens: calls are refused at once, without a request, for ``cooldown``
seconds. The first call after the cool-down goes through; if it fails too the breaker opens again at once, and any
answer below 500 (an error such as 404 included: Civis answered) closes it.

The clock is injectable so tests can step through the cool-down without sleeping.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["CircuitBreaker"]


@dataclass(kw_only=True)
class CircuitBreaker:
    threshold: int = 5
    """Consecutive failed calls that open the breaker."""
    cooldown: float = 30.0
    """Seconds the breaker stays open."""
    clock: Callable[[], float] = time.monotonic
    _failures: int = field(default=0, init=False)
    _open_until: float | None = field(default=None, init=False)
    _last: str = field(default="", init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def retry_in(self) -> float | None:
        """Seconds before calls may go through again, or None when the breaker is closed (or its cool-down over)."""
        with self._lock:
            if self._open_until is None:
                return None
            left = self._open_until - self.clock()
            return left if left > 0 else None

    @property
    def failures(self) -> int:
        return self._failures

    @property
    def last_failure(self) -> str:
        return self._last

    def record_failure(self, reason: str) -> None:
        with self._lock:
            self._failures += 1
            self._last = reason
            if self._failures >= self.threshold:
                self._open_until = self.clock() + self.cooldown

    def record_success(self) -> None:
        with self._lock:
            self._failures = 0
            self._open_until = None
