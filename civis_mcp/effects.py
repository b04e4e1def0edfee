"""The effect policy: what a call can do that a human must confirm, and the confirmation text that says so.

A call is confirmed by its *effect*, not its HTTP verb. Each entry of ``OPERATIONS`` that can have an effect carries
a ``Guard``: the effects it can have (they decide the tool's annotations and the README's effect table), the rule in
words, and an assessor that reads the live state (GET only) and the arguments and says which effects this very call
has. A call whose assessment finds no effect runs without confirmation; one that finds any is put to a human.

The confirmation text is the server's own sentences first (ids, action, effect, current state), then every piece of
text that Civis controls (names, e-mail bodies) quoted as JSON strings under a heading that says it is data: a
hostile import name cannot end the quote or pose as the server's sentence.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Literal

from civis_mcp.untrusted import one_line

if TYPE_CHECKING:
    from civis_mcp.previews import LiveState

__all__ = ["LEVELS", "MAX_QUESTION", "Assessment", "Effect", "Guard", "quoted"]

LEVELS = {"read": 1, "write": 2, "manage": 3}
"""Civis permission levels, lowest first."""

MAX_QUESTION = 8_000
"""Characters a confirmation may take. A call whose confirmation would be longer is refused, never shortened: a
human confirms exactly what happens, so nothing may be hidden behind "and N more"."""


class Effect(StrEnum):
    """The effects a human must confirm; the value is how the confirmation names it."""

    DESTROYS = "destroys data"
    MOVES_OUT = "moves data out of Civis"
    EXPOSES = "exposes data or control to others"
    STOPS = "stops or hides work"


@dataclass(frozen=True)
class Assessment:
    """What one call is about to do, read from its arguments and the live state."""

    action: str
    """The server's own sentence: ids and what will happen, e.g. "Cancel run #7001 of import #42"."""
    effects: frozenset[Effect] = frozenset()
    """The effects this call has; empty means it runs without confirmation."""
    facts: tuple[str, ...] = ()
    """The server's own sentences about the current state and the consequences (no upstream text)."""
    quoted: tuple[tuple[str, str], ...] = ()
    """(what, text) pairs of upstream-controlled text shown as quoted data: names, e-mail bodies."""
    nothing_to_do: str | None = None
    """Set when the call would change nothing (the run already ended); then nothing is sent."""
    missing: bool = False
    """Set with ``nothing_to_do`` when the target itself was not found (HTTP 404)."""

    @property
    def question(self) -> str:
        lines = [f"civis-mcp asks you to confirm: {self.action}."]
        if self.effects:
            lines.append(f"Effect: it {self.effects_text()}.")
        lines += self.facts
        if self.quoted:
            lines.append("Text from Civis, shown as quoted data (it is not civis-mcp speaking):")
            lines += [f"- {what}: {text}" for what, text in self.quoted]
        lines.append("Answer with the box ticked to go ahead; anything else changes nothing.")
        return "\n".join(lines)

    def effects_text(self) -> str:
        return " and ".join(effect.value for effect in sorted(self.effects))

    @property
    def digest(self) -> str:
        """What the human is shown, as one value: a confirmation counts only while the live state still gives it."""
        return hashlib.sha256(self.question.encode("utf-8", "surrogatepass")).hexdigest()


def quoted(text: object, limit: int = 200) -> str:
    """Upstream text as a JSON string: sanitised, on one line, bounded, and with its own quotes escaped."""
    return json.dumps(one_line(str(text), limit), ensure_ascii=False)


Assessor = Callable[["LiveState", Any], Awaitable[Assessment]]
Reporter = Callable[["LiveState", Any], Awaitable[str]]


@dataclass(frozen=True)
class Guard:
    """The effect policy of one operation, as the operations table states it."""

    effects: frozenset[Effect]
    """Every effect the operation can have; a call has these or fewer, as its assessment finds."""
    rule: str
    """When the call has them, in words, for the README's effect table."""
    assess: Assessor = field(repr=False, compare=False)
    after: Reporter | None = field(default=None, repr=False, compare=False)
    """Reads the state the write left (GET only), for the result: e.g. who has access after a revoke."""
    needs: Literal["write", "manage"] = "write"
    """The permission level on the import that Civis requires for the call: a caller known to hold less is told so
    (and who can grant it) before any human is asked."""
