"""Each MCP request of the OAuth mode runs as the person its access token names, with the Civis key they bound.

The SDK has checked the token (``tokens``) and put it in the auth context; here the (issuer, subject) it names is
looked up in the key store and the request runs as that Civis user (``api.callers``), exactly as in the per-caller-key
mode. A tool call from a person with no key bound is answered with a URL-mode elicitation: a one-time link to this
server's ``/connect`` page, bound to that issuer and subject. Nothing is sent to Civis for that call.
"""

from __future__ import annotations

import logging
from typing import Any

from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.shared.exceptions import UrlElicitationRequiredError
from mcp_types import ElicitRequestURLParams

from civis_mcp.api.callers import Caller, as_caller
from civis_mcp.oauth.keyring import SealError
from civis_mcp.oauth.keystore import KeyStore
from civis_mcp.oauth.signed import Signer

__all__ = ["BoundKeys", "connect_link"]

logger = logging.getLogger("civis_mcp.oauth")


def connect_link(links: Signer, origin: str, issuer: str, subject: str) -> tuple[str, str]:
    """A one-time link to ``/connect`` for this person, and its id."""
    token = links.sign({"iss": issuer, "sub": subject})
    link_id = str(links.open(token)["jti"])  # type: ignore[index]
    return f"{origin}/connect?link={token}", link_id


class BoundKeys:
    """MCP server middleware (before the per-call one): the request runs with the person's bound Civis key."""

    def __init__(self, store: KeyStore, links: Signer, origin: str) -> None:
        self._store = store
        self._links = links
        self._origin = origin

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        token = get_access_token()
        issuer = (token.claims or {}).get("iss") if token is not None else None
        if token is None or not isinstance(issuer, str) or not token.subject:
            return await call_next(ctx)  # no person: CivisClient refuses to call Civis without a caller
        try:
            binding = await self._store.lookup(issuer, token.subject)
        except SealError as exc:
            logger.error("a bound key could not be unsealed (%s); asking the person to connect again", exc)
            binding = None
        if binding is None:
            if ctx.method != "tools/call":
                return await call_next(ctx)
            url, link_id = connect_link(self._links, self._origin, issuer, token.subject)
            minutes = self._links.seconds // 60
            raise UrlElicitationRequiredError(
                [
                    ElicitRequestURLParams(
                        message=(
                            "Connect your Civis account: open this link, sign in, and enter your Civis API key "
                            f"(Civis Platform > My Profile > API Keys). The link works once, for {minutes} minutes. "
                            "Then ask again; nothing was sent to Civis."
                        ),
                        url=url,
                        elicitation_id=link_id,
                    )
                ],
                message="Your Civis key is not connected to this civis-mcp service yet.",
            )
        with as_caller(Caller(user_id=binding.civis_user_id, key=binding.key)):
            return await call_next(ctx)
