"""GET /api/openapi and GET /api/schema/endpoints: the API describing itself, from one source."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from gateway.services import describe
from rest.deps import Ctx
from rest.openapi import OPTIONAL_AUTH, cache_of
from rest.responses import OrjsonResponse

router = APIRouter(prefix="/api", tags=["description"])


class Endpoint(BaseModel):
    method: str = Field(description="HTTP method, upper case.")
    path: str = Field(description="Path template, as in the OpenAPI document.")
    summary: str
    body_schema: dict[str, Any] | None = Field(description="JSON schema of the request body, references inlined.")


async def _described(ctx: Ctx, request: Request) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    visible = await describe.visible_definitions(ctx)
    key, definitions = visible if visible is not None else (None, None)
    return cache_of(request.app).get(request.app, key, definitions)


@router.get(
    "/openapi",
    summary="The OpenAPI 3.0 document of this API (typed per entity when you send your token)",
    response_class=OrjsonResponse,
    responses={200: {"description": "An OpenAPI 3.0.3 document.", "content": {"application/json": {}}}},
    openapi_extra={"security": OPTIONAL_AUTH},
)
async def get_openapi(ctx: Ctx, request: Request) -> OrjsonResponse:
    document, _ = await _described(ctx, request)
    return OrjsonResponse(document)


@router.get(
    "/schema/endpoints",
    summary="Every endpoint as {method, path, summary, body_schema}, from the same source as /api/openapi",
    response_model=list[Endpoint],
    openapi_extra={"security": OPTIONAL_AUTH},
)
async def get_endpoints(ctx: Ctx, request: Request) -> OrjsonResponse:
    _, endpoints = await _described(ctx, request)
    return OrjsonResponse(endpoints)
