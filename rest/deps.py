"""FastAPI dependencies shared by the routers."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from gateway.access import build_context
from gateway.runtime import Runtime
from gateway.services.context import Context


def get_runtime(request: Request) -> Runtime:
    return request.app.state.runtime  # type: ignore[no-any-return]


async def get_context(request: Request) -> Context:
    """The service Context of this request: workspace, principal (if any) and limits."""
    ctx = await build_context(
        get_runtime(request),
        request.headers,
        request.client.host if request.client else None,
        request.state.request_id if hasattr(request.state, "request_id") else None,
    )
    request.state.context = ctx
    return ctx


Ctx = Annotated[Context, Depends(get_context)]
