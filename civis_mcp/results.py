"""Shapes of tool results that are not a single Civis object.

MCP structured content must be a JSON object, so arrays are wrapped as ``{"items": [...]}``; paged lists add where the
page sits. Operations that Civis answers with no body (HTTP 202/204) return a short acknowledgement.
"""

from __future__ import annotations

from typing import Generic, TypeVar

from pydantic import BaseModel, Field

from civis_mcp.api.client import Pagination
from civis_mcp.models.base import ResponseModel

__all__ = ["Acknowledgement", "ListResult", "Pagination"]

ItemT = TypeVar("ItemT", bound=ResponseModel)


class ListResult(BaseModel, Generic[ItemT]):
    """A list answer; ``pagination`` is set for paged lists (from the X-Pagination-* headers)."""

    items: list[ItemT]
    pagination: Pagination | None = None


class Acknowledgement(BaseModel):
    """Civis accepted the request and answered with no body."""

    status_code: int = Field(description="HTTP status Civis answered with (202 or 204).")
    message: str
