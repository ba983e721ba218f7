"""Liveness and readiness."""

from __future__ import annotations

from fastapi import APIRouter, Request

from gateway.services import health
from rest.deps import get_runtime

router = APIRouter(prefix="/api", tags=["health"])


@router.get("/health", summary="The process is up")
async def get_health() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/ready", summary="The database answers (503 when it does not)")
async def get_ready(request: Request) -> dict[str, str]:
    await health.ready(get_runtime(request))
    return {"status": "ready"}
