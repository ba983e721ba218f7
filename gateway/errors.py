"""Service-layer errors. Adapters turn them into the REST envelope or GraphQL errors."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """An error the caller can act on; ``code`` is stable, ``message`` is for humans."""

    status = 500
    code = "internal_error"

    def __init__(
        self,
        message: str | None = None,
        *,
        details: list[dict[str, Any]] | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.message = message or self.__class__.__doc__ or self.code
        self.details = details or []
        if code:
            self.code = code
        self.headers = headers or {}
        super().__init__(self.message)

    def envelope(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details:
            body["details"] = self.details
        return {"error": body}


class BadRequest(ApiError):
    """The request is malformed."""

    status = 400
    code = "bad_request"


class ValidationFailed(ApiError):
    """The input does not satisfy the definition."""

    status = 400
    code = "validation_error"


class Unauthorized(ApiError):
    """Missing or invalid credentials."""

    status = 401
    code = "unauthorized"

    def __init__(self, message: str | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("headers", {"WWW-Authenticate": "Bearer"})
        super().__init__(message, **kwargs)


class Forbidden(ApiError):
    """You do not have permission for this operation."""

    status = 403
    code = "forbidden"


class NotFound(ApiError):
    """Not found."""

    status = 404
    code = "not_found"


class Conflict(ApiError):
    """The request conflicts with existing data."""

    status = 409
    code = "conflict"


class PreconditionFailed(ApiError):
    """The record changed since you read it (If-Match mismatch)."""

    status = 412
    code = "precondition_failed"


class PayloadTooLarge(ApiError):
    """The request body is too large."""

    status = 413
    code = "payload_too_large"


class RateLimited(ApiError):
    """Too many requests."""

    status = 429
    code = "rate_limited"


class ServiceUnavailable(ApiError):
    """The database is not reachable."""

    status = 503
    code = "service_unavailable"


def field_error(field: str, message: str) -> dict[str, str]:
    return {"field": field, "message": message}
