"""The app factory: the one place that wires storage, services, hooks and both adapters together."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from pymongo.errors import DuplicateKeyError
from starlette.responses import Response

from gateway import __version__, ratelimit
from gateway.config import Settings
from gateway.embedded_db import EmbeddedFerretDB
from gateway.errors import Conflict
from gateway.metrics import CONTENT_TYPE_LATEST, Metrics
from gateway.middleware import RequestMiddleware
from gateway.passwords import Passwords
from gateway.runtime import Runtime
from gateway.services import webhooks
from gateway.services.workspaces import create_workspace
from graph.router import router as graphql_router
from rest.errors import install_error_handlers
from rest.responses import OrjsonResponse
from rest.router import include_routers
from storage.documents import ControlSetting
from storage.mongo import Storage

log = logging.getLogger("hari.app")
SUPERVISE_INTERVAL_SECONDS = 1.0


async def _shared_jwt_secret(settings: Settings, storage: Storage) -> str:
    """HARI_JWT_SECRET, or one generated once and kept in the control database for every process."""
    if settings.jwt_secret is not None:
        return settings.jwt_secret.get_secret_value()
    model = storage.model(ControlSetting)
    found = await model.find_one(model.key == "jwt_secret")
    if found is None:
        with contextlib.suppress(DuplicateKeyError):  # another process won the race: read its value
            await model(key="jwt_secret", value=secrets.token_urlsafe(48)).insert()
        found = await model.find_one(model.key == "jwt_secret")
    assert found is not None
    return found.value


async def _supervise(db: EmbeddedFerretDB) -> None:
    while True:
        await asyncio.sleep(SUPERVISE_INTERVAL_SECONDS)
        await asyncio.to_thread(db.ensure_running)


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    embedded: EmbeddedFerretDB | None = None
    supervisor: asyncio.Task[None] | None = None
    url = settings.mongodb_url
    if url is None:
        embedded = EmbeddedFerretDB(settings.data_dir / "ferretdb", settings.cache_dir, settings.ferretdb_bin)
        url = await asyncio.to_thread(embedded.start)
        supervisor = asyncio.create_task(_supervise(embedded))
    storage = Storage(url, settings.db_prefix, timeout_ms=settings.mongodb_timeout_ms)
    try:
        await storage.init()
        runtime = Runtime(settings=settings, storage=storage, passwords=Passwords(settings))
        runtime.jwt_secret = await _shared_jwt_secret(settings, storage)
        try:
            await create_workspace(runtime, settings.default_workspace)
        except (DuplicateKeyError, Conflict):  # a sibling worker seeded it at the same moment: now it exists
            await create_workspace(runtime, settings.default_workspace)
        app.state.runtime = runtime
        for start in app.state.on_start:
            await start(runtime)
        log.info("HARi gateway %s ready (workspace '%s')", __version__, settings.default_workspace)
        yield
    finally:
        for stop in reversed(app.state.on_stop):
            with contextlib.suppress(Exception):
                await stop()
        await storage.close()
        if supervisor is not None:
            supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await supervisor
        if embedded is not None:
            await asyncio.to_thread(embedded.stop)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    app = FastAPI(
        title="HARi gateway",
        version=__version__,
        lifespan=_lifespan,
        default_response_class=OrjsonResponse,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,  # rest/describe.py serves the 3.0 document at /api/openapi
    )
    app.state.settings = settings
    app.state.on_start = []
    app.state.on_stop = []
    app.state.on_start.append(ratelimit.start)  # fails fast on a bad HARI_RATE_LIMIT_STORAGE
    # Webhooks: bus handlers feeding the outbox, and the delivery worker.
    app.state.on_start.append(webhooks.start)
    app.state.on_stop.append(lambda: webhooks.stop(getattr(app.state, "runtime", None)))
    metrics = Metrics()
    install_error_handlers(app)
    include_routers(app, max_body_size=settings.max_body_bytes)
    app.include_router(graphql_router, max_body_size=settings.max_body_bytes)  # GraphQL (issue 6)

    @app.get("/metrics", include_in_schema=False)
    async def _metrics() -> Response:
        return Response(metrics.render(), media_type=CONTENT_TYPE_LATEST)

    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["*"],
            allow_headers=["*"],
            expose_headers=[
                "ETag",
                "Location",
                "X-Request-ID",
                "X-RateLimit-Limit",
                "X-RateLimit-Remaining",
                "X-RateLimit-Reset",
                "Retry-After",
            ],
            allow_credentials=False,
        )
    app.add_middleware(RequestMiddleware, metrics=metrics, max_body_bytes=settings.max_body_bytes)
    return app
