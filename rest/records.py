"""/api/records/{entity}: the overview's CRUD."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Query, Request, Response

from gateway.services import records
from rest.deps import Ctx

router = APIRouter(prefix="/api/records", tags=["records"])


@router.get("/{entity}", summary="List records of an entity")
async def list_records(
    ctx: Ctx,
    entity: str,
    page: int = Query(1, description="Page number, from 1."),
    page_size: int = Query(25, description="Records per page, 1..100."),
) -> dict[str, Any]:
    result = await records.list_page(ctx, entity, page=page, page_size=page_size)
    return {"data": result.data, "meta": {"page": result.page, "page_size": result.page_size, "total": result.total}}


@router.get("/{entity}/{record_id}", summary="Get one record")
async def get_record(ctx: Ctx, entity: str, record_id: str) -> dict[str, Any]:
    return await records.get(ctx, entity, record_id)


@router.post("/{entity}", status_code=201, summary="Create a record")
async def create_record(
    ctx: Ctx, request: Request, response: Response, entity: str, data: dict[str, Any] = Body(...)
) -> dict[str, Any]:
    record = await records.create(ctx, entity, data)
    response.headers["Location"] = str(request.url_for("get_record", entity=entity, record_id=record["id"]).path)
    return record
