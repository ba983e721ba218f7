"""``/api/graphql``: queries and mutations over HTTP, subscriptions over graphql-transport-ws, GraphiQL.

Each request is authenticated and counted once by ``gateway.access.build_context`` (as REST is); an
anonymous one gets a 401 before its document is even parsed, so it learns nothing of the schema. The
rest run in Strawberry against their workspace's schema, built from the entity definitions and cached
per workspace until the definitions change (``ws.schema_version``), never per request.
"""

from __future__ import annotations

import asyncio
import weakref
from datetime import timedelta
from pathlib import Path
from typing import Any

from cross_web import HTTPException
from fastapi import APIRouter, Request, Response, WebSocket
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types.unset import UNSET, UnsetType

from gateway.access import build_context
from gateway.config import Settings
from gateway.errors import ApiError, BadRequest, NotFound, Unauthorized
from gateway.runtime import Runtime
from gateway.services import entities
from graph.builder import Limits, build_schema
from graph.context import GraphContext
from graph.errors import api_error_payload
from graph.graphiql import GRAPHIQL_HTML
from storage.workspace import WorkspaceStore

STATIC_DIR = Path(__file__).parent / "static"
ASSETS = frozenset(
    {
        "graphiql.min.js",
        "graphiql.min.css",
        "react.production.min.js",
        "react-dom.production.min.js",
        "graphql-ws.min.js",
    }
)
_CACHE_KEY = "graphql_view"
ANONYMOUS_MESSAGE = "Authentication required: send 'Authorization: Bearer <token or hari_ key>'."
_build_locks: weakref.WeakKeyDictionary[WorkspaceStore, asyncio.Lock] = weakref.WeakKeyDictionary()

router = APIRouter(prefix="/api/graphql", tags=["graphql"])


class WorkspaceView(GraphQL):  # type: ignore[type-arg]
    """Strawberry's ASGI view bound to one workspace schema; the routes below build its context."""

    def __init__(self, schema: Any, settings: Settings) -> None:
        super().__init__(
            schema,
            graphql_ide=None,
            allow_queries_via_get=True,
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
            connection_init_wait_timeout=timedelta(seconds=settings.graphql_connection_init_seconds),
            max_subscriptions_per_connection=settings.graphql_max_subscriptions,
            allowed_origins=settings.cors_origins,
        )

    def parse_json(self, data: str | bytes) -> Any:
        """A body that is not UTF-8, or JSON that is not an object (``"x"``, ``1``, ``null``), is a 400;
        Strawberry would crash on it (500)."""
        try:
            parsed = super().parse_json(data)
        except UnicodeDecodeError:
            raise HTTPException(400, "The request body is not UTF-8 encoded JSON.") from None
        if not isinstance(parsed, dict | list):
            raise HTTPException(400, 'The request body must be a JSON object: {"query": "..."}.')
        return parsed

    async def on_ws_connect(self, context: GraphContext) -> UnsetType | dict[str, object] | None:
        """Authenticate from the connection_init payload (browsers cannot set headers on a websocket)."""
        authorization = _authorization(context.connection_params or {})
        if authorization is None:
            return UNSET
        try:
            context.ctx = await build_context(
                context.ctx.runtime, {**context.headers, "authorization": authorization}, context.client_ip
            )
        except ApiError as exc:
            raise ConnectionRejectionError({"code": exc.code, "message": exc.message}) from None
        context.authorization = authorization
        return UNSET


def _authorization(params: dict[str, Any]) -> str | None:
    """``{"Authorization": "Bearer ..."}`` (any case), or a bare ``token``/``access_token``."""
    for key, value in params.items():
        if key.lower() == "authorization" and isinstance(value, str):
            return value
    for key in ("token", "access_token", "api_key"):
        value = params.get(key)
        if isinstance(value, str) and value:
            return f"Bearer {value}"
    return None


def limits(settings: Settings) -> Limits:
    return Limits(
        max_depth=settings.graphql_max_depth,
        max_aliases=settings.graphql_max_aliases,
        max_tokens=settings.graphql_max_tokens,
        max_cost=settings.graphql_max_cost,
    )


async def workspace_view(ws: WorkspaceStore, settings: Settings) -> WorkspaceView:
    """The view for the workspace's current definitions; built once per definitions version."""
    await entities.definitions(ws)  # first: notices (and announces) a change made by another process
    cached = ws.cache.get(_CACHE_KEY)
    if cached is not None and cached[0] == ws.schema_version:
        return cached[1]  # type: ignore[no-any-return]
    lock = _build_locks.setdefault(ws, asyncio.Lock())
    async with lock:
        cached = ws.cache.get(_CACHE_KEY)
        version = ws.schema_version
        if cached is not None and cached[0] == version:
            return cached[1]  # type: ignore[no-any-return]
        definitions = await entities.definitions(ws)
        schema = await asyncio.to_thread(build_schema, definitions, limits(settings))
        view = WorkspaceView(schema, settings)
        ws.cache[_CACHE_KEY] = (version, view)
        return view


def _error_response(error: ApiError) -> JSONResponse:
    return JSONResponse(api_error_payload(error), status_code=error.status, headers=error.headers or None)


async def _execute(request: Request) -> Response:
    runtime: Runtime = request.app.state.runtime
    try:
        ctx = await build_context(
            runtime,
            request.headers,
            request.client.host if request.client else None,
            getattr(request.state, "request_id", None),
        )
        if ctx.principal is None:  # before validation: no schema detail (field suggestions) for anonymous callers
            raise Unauthorized(ANONYMOUS_MESSAGE)
        view = await workspace_view(ctx.ws, runtime.settings)
    except ApiError as exc:
        return _error_response(exc)
    request.state.context = ctx
    try:
        return await view.run(request, context=GraphContext(ctx=ctx))  # type: ignore[no-any-return]
    except HTTPException as exc:  # malformed body, wrong method or content type
        error = BadRequest(exc.reason)
        error.status = exc.status_code
        return _error_response(error)


_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["query"],
                    "properties": {
                        "query": {"type": "string"},
                        "variables": {"type": "object", "nullable": True},
                        "operationName": {"type": "string", "nullable": True},
                    },
                }
            }
        },
    }
}


@router.post(
    "",
    summary="Run a GraphQL query or mutation",
    description="Errors come back in `errors[]` with `extensions.code` and `extensions.details` as in REST.",
    openapi_extra=_BODY,
)
async def graphql_post(request: Request) -> Response:
    return await _execute(request)


@router.get("", summary="GraphiQL, or a GraphQL query passed as ?query=", response_class=HTMLResponse)
async def graphql_get(request: Request) -> Response:
    if "query" not in request.query_params:
        return HTMLResponse(GRAPHIQL_HTML)
    return await _execute(request)


@router.get("/static/{name}", include_in_schema=False)
async def graphiql_asset(name: str) -> FileResponse:
    if name not in ASSETS:
        raise NotFound(f"No asset '{name}'.")
    return FileResponse(STATIC_DIR / name, headers={"Cache-Control": "public, max-age=86400"})


@router.websocket("")
async def graphql_ws(websocket: WebSocket) -> None:
    runtime: Runtime = websocket.app.state.runtime
    client_ip = websocket.client.host if websocket.client else None
    try:
        ctx = await build_context(runtime, websocket.headers, client_ip)
        view = await workspace_view(ctx.ws, runtime.settings)
    except ApiError:
        await websocket.close(code=1008)  # refused before accepting: the handshake gets a 403
        return
    keep = {k: v for k, v in websocket.headers.items() if k in ("host", "x-workspace")}
    context = GraphContext(
        ctx=ctx,
        websocket=True,
        headers=keep,
        client_ip=client_ip,
        authorization=websocket.headers.get("authorization"),
    )
    await view.run(websocket, context=context)
