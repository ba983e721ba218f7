"""Every error leaves the REST API in one envelope: {"error": {"code", "message", "details"}}."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pymongo.errors import AutoReconnect, ConnectionFailure, OperationFailure, ServerSelectionTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException

from gateway.errors import ApiError, ServiceUnavailable, ValidationFailed
from rest.responses import OrjsonResponse
from storage.transient import is_transient

log = logging.getLogger("hari.errors")
_RETRY = {"Retry-After": "1"}

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    412: "precondition_failed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
}


def error_response(error: ApiError) -> OrjsonResponse:
    return OrjsonResponse(error.envelope(), status_code=error.status, headers=error.headers or None)


def _location(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> OrjsonResponse:
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> OrjsonResponse:
        details = [
            {"field": _location(tuple(e.get("loc", ()))), "message": e.get("msg", "invalid")} for e in exc.errors()
        ]
        return error_response(ValidationFailed("The request is invalid.", details=details))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> OrjsonResponse:
        code = _HTTP_CODES.get(exc.status_code, "error")
        message = exc.detail if isinstance(exc.detail, str) else code
        error = ApiError(message, code=code)
        error.status = exc.status_code
        return OrjsonResponse(error.envelope(), status_code=exc.status_code, headers=getattr(exc, "headers", None))

    @app.exception_handler(ConnectionFailure)
    async def _db_down(request: Request, exc: Exception) -> OrjsonResponse:
        log.warning("database unreachable: %s", exc)
        return error_response(ServiceUnavailable("The database is not reachable; try again shortly."))

    for exc_type in (AutoReconnect, ServerSelectionTimeoutError):
        app.add_exception_handler(exc_type, _db_down)  # type: ignore[arg-type]

    # Handled here rather than by the catch-all below: Starlette re-raises what reaches the catch-all, and uvicorn
    # then closes the connection under a keep-alive client.
    @app.exception_handler(OperationFailure)
    async def _db_refused(request: Request, exc: OperationFailure) -> OrjsonResponse:
        if is_transient(exc):  # the database refused under contention even after retries: nothing was changed
            log.warning("database busy: %s", exc)
            return error_response(ServiceUnavailable("The database is busy; try again shortly.", headers=_RETRY))
        log.exception("database error")
        return error_response(ApiError("An unexpected error occurred.", code="internal_error"))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> OrjsonResponse:
        log.exception("unhandled error")
        return error_response(ApiError("An unexpected error occurred.", code="internal_error"))
