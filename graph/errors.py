"""GraphQL errors carry the REST envelope's ``code`` and ``details`` in ``extensions``.

Service errors (``ApiError``) keep their code, message and field details; documents refused by
the query limits get ``query_too_complex``; anything unexpected is masked as ``internal_error``
and logged, exactly like a REST 500.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from typing import Any

from graphql import GraphQLError
from pymongo.errors import ConnectionFailure
from strawberry.extensions import SchemaExtension

from gateway.errors import ApiError

log = logging.getLogger("hari.graphql")

TOO_COMPLEX = "query_too_complex"
_TOKEN_LIMIT_MESSAGE = "Document contains more than"
_SUGGESTION = re.compile(r" ?Did you mean [^?]*\?")
_VARIABLE_ERROR = re.compile(r"^Variable '\$(?P<variable>\w+)' [^:]*?(?: at (?P<path>[^:]+))?: (?P<reason>.*)$", re.S)


def extensions_for(error: ApiError) -> dict[str, Any]:
    return {"code": error.code, "details": list(error.details)}


def as_graphql_error(error: ApiError) -> GraphQLError:
    """For paths Strawberry does not run extensions on (subscription streams): the code travels with the error."""
    return GraphQLError(error.message, original_error=error, extensions=extensions_for(error))


def api_error_payload(error: ApiError) -> dict[str, Any]:
    """A GraphQL response body for an error raised before execution (auth, rate limit, workspace)."""
    return {"data": None, "errors": [{"message": error.message, "extensions": extensions_for(error)}]}


def _rebuild(error: GraphQLError, message: str, extensions: dict[str, Any]) -> GraphQLError:
    return GraphQLError(
        message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        original_error=error.original_error,
        extensions=extensions,
    )


def convert(error: GraphQLError) -> GraphQLError:
    original = error.original_error
    if isinstance(original, GraphQLError):  # e.g. a variable that does not coerce: keep the outer message
        inner = original.original_error
        error = GraphQLError(
            error.message,
            nodes=error.nodes,
            source=error.source,
            positions=error.positions,
            path=error.path,
            original_error=None if isinstance(inner, GraphQLError) else inner,
            extensions=error.extensions or original.extensions,
        )
        original = error.original_error
    if isinstance(original, ApiError):
        return _rebuild(error, original.message, extensions_for(original))
    if isinstance(original, ConnectionFailure):
        log.warning("database unreachable: %s", original)
        return _rebuild(
            error, "The database is not reachable; try again shortly.", {"code": "service_unavailable", "details": []}
        )
    if original is not None:  # logged once by HariSchema.process_errors
        return _rebuild(error, "An unexpected error occurred.", {"code": "internal_error", "details": []})
    if error.extensions and "code" in error.extensions:
        return error
    if _TOKEN_LIMIT_MESSAGE in error.message:
        return _rebuild(error, error.message, {"code": TOO_COMPLEX, "details": []})
    if error.message.startswith("Variable '$") or "got invalid value" in error.message:
        # Input that does not fit the argument types: invalid input, as in REST, naming the field.
        match = _VARIABLE_ERROR.match(error.message)
        details = []
        if match:
            field = (match.group("path") or "").lstrip(".") or match.group("variable")
            details = [{"field": field, "message": match.group("reason")}]
        return _rebuild(error, error.message, {"code": "validation_error", "details": details})
    return _rebuild(error, error.message, {"code": "bad_request", "details": []})


def is_unexpected(error: GraphQLError) -> bool:
    original = error.original_error
    return original is not None and not isinstance(original, ApiError | GraphQLError | ConnectionFailure)


def log_unexpected(errors: list[GraphQLError]) -> None:
    for error in errors:
        if is_unexpected(error):
            log.error("unhandled error in a resolver at %s", error.path, exc_info=error.original_error)


def without_suggestions(error: GraphQLError) -> GraphQLError:
    """The error without graphql-core's "Did you mean ...?" hint, which names fields of the schema."""
    message = _SUGGESTION.sub("", error.message)
    return error if message == error.message else _rebuild(error, message, dict(error.extensions or {}))


class ErrorCodes(SchemaExtension):
    """Rewrites every error of a result (and of each subscription event) so its extensions carry the REST code.

    Anonymous callers (only possible on a websocket: HTTP answers them 401 first) get no field suggestions.
    """

    def _convert(self, errors: list[GraphQLError]) -> list[GraphQLError]:
        converted = [convert(e) for e in errors]
        if getattr(getattr(self.execution_context.context, "ctx", None), "principal", None) is None:
            converted = [without_suggestions(e) for e in converted]
        return converted

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        if result is not None and result.errors:
            result.errors = self._convert(result.errors)

    def on_stream_result(self, result: Any) -> Iterator[None]:
        if getattr(result, "errors", None):
            result.errors = self._convert(result.errors)
        yield None
