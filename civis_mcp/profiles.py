"""Context profiles: which tools a model is shown, chosen by configuration or by the request, never by a call.

* ``full`` (default): the 46 typed operation tools and the workflow tools.
* ``read-only``: the same, reads only (as ``--read-only``).
* ``compact``: the workflow tools and a gateway of three tools (``imports_find_operation``,
  ``imports_describe_operation``, ``imports_call``) through which every operation the operator allows is reachable,
  run by the very same code as its typed tool (``tools.run_operation``).

Two independent bounds follow from a profile: the *shape* of the listing (typed tools, or the gateway) and whether
only reads are offered. The operator sets both (``--profile``, ``CIVIS_MCP_PROFILE``, ``--read-only``); over HTTP a
request may narrow them, never widen them (``narrow``): it may ask for the gateway instead of the typed tools, and
for reads only; a request that asks for more than the operator allows gets what the operator allows. The request
names its profile with the path (``/mcp/compact``: ``ProfilePaths`` turns it into the header) or the header
``Civis-MCP-Profile``. Spec 2026-07-28 forbids a ``tools/list`` that changes as a side effect of calls: nothing
here depends on what a session did before.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from enum import StrEnum
from typing import Any

from civis_mcp.config import Settings

__all__ = [
    "PROFILE_HEADER",
    "Profile",
    "ProfilePaths",
    "gateway_shaped",
    "narrow",
    "parse_profile",
    "reads_only",
]

PROFILE_HEADER = "civis-mcp-profile"
"""The HTTP header a request names its profile with (case-insensitive, as every HTTP header)."""


class Profile(StrEnum):
    FULL = "full"
    READ_ONLY = "read-only"
    COMPACT = "compact"


def parse_profile(raw: str, where: str = "--profile") -> Profile:
    """The profile named ``raw``; a ``ValueError`` naming the valid ones otherwise."""
    try:
        return Profile(raw.strip().lower())
    except ValueError:
        valid = ", ".join(profile.value for profile in Profile)
        raise ValueError(f"{where}: unknown profile {raw!r}; valid profiles: {valid}.") from None


def reads_only(settings: Settings) -> bool:
    """Only read tools are offered (``--read-only``, or the read-only profile)."""
    return settings.read_only or settings.profile == Profile.READ_ONLY


def gateway_shaped(settings: Settings) -> bool:
    """Operations are offered through the gateway instead of one typed tool each (the compact profile)."""
    return settings.profile == Profile.COMPACT


def narrow(settings: Settings, requested: str | None) -> Settings:
    """The operator's ``settings`` narrowed by a request's profile; never wider than ``settings``.

    ``None`` or an empty name leaves them as they are; an unknown name is a ``ValueError``. Read-only stays
    read-only and compact stays compact whatever the request asks for; ``full`` asks for nothing narrower.
    """
    if requested is None or not requested.strip():
        return settings
    wanted = parse_profile(requested, PROFILE_HEADER)
    read_only = reads_only(settings) or wanted is Profile.READ_ONLY
    compact = gateway_shaped(settings) or wanted is Profile.COMPACT
    profile = Profile.COMPACT if compact else Profile.READ_ONLY if read_only else Profile.FULL
    if profile == settings.profile and read_only == settings.read_only:
        return settings
    return settings.model_copy(update={"profile": profile.value, "read_only": read_only})


_Scope = MutableMapping[str, Any]
_ASGI = Callable[[_Scope, Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]], Awaitable[None]]


class ProfilePaths:
    """ASGI middleware: ``{base}/{profile}`` becomes ``{base}`` with the ``Civis-MCP-Profile`` header set to the
    profile (replacing any the client sent), so one MCP endpoint serves every profile and the server reads the
    profile from one place. Other paths pass through untouched."""

    def __init__(self, app: _ASGI, base: str = "/mcp") -> None:
        self.app = app
        self.base = base.rstrip("/")

    async def __call__(
        self, scope: _Scope, receive: Callable[[], Awaitable[Any]], send: Callable[[Any], Awaitable[None]]
    ) -> None:
        if scope.get("type") == "http":
            path: str = scope.get("path", "")
            name = path.removeprefix(self.base + "/").rstrip("/")
            if path.startswith(self.base + "/") and name in {profile.value for profile in Profile}:
                headers = [(k, v) for k, v in scope.get("headers", []) if k.lower() != PROFILE_HEADER.encode()]
                headers.append((PROFILE_HEADER.encode(), name.encode()))
                scope = {**scope, "path": self.base, "raw_path": self.base.encode(), "headers": headers}
        await self.app(scope, receive, send)
