"""Errors the sandbox answers with, in Civis's JSON shape: ``{"error", "errorDescription", "code"}``."""

from __future__ import annotations

from typing import Any

__all__ = ["ApiError", "error_body", "not_found", "unprocessable"]

_ERROR_NAMES = {
    400: "invalid",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    422: "unprocessable_entity",
    429: "too_many_requests",
    500: "internal_server_error",
    502: "bad_gateway",
    503: "service_unavailable",
    504: "gateway_timeout",
}


def error_body(status: int, description: str, error: str | None = None) -> dict[str, Any]:
    return {"error": error or _ERROR_NAMES.get(status, "error"), "errorDescription": description, "code": status}


class ApiError(Exception):
    """Raised anywhere in a handler; the app turns it into an error answer."""

    def __init__(self, status: int, description: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.headers = headers or {}

    @property
    def body(self) -> dict[str, Any]:
        return error_body(self.status, self.description)


def not_found(what: str) -> ApiError:
    return ApiError(404, f"{what} was not found.")


def unprocessable(description: str) -> ApiError:
    return ApiError(422, description)
