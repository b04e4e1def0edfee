"""The handler functions of the operations, by area; each entry of OPERATIONS names its own (``resolve``)."""

from civis_mcp.sandbox.handlers.base import Ctx, Handler, Reply, resolve

__all__ = ["Ctx", "Handler", "Reply", "resolve"]
