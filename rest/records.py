"""/api/records/{entity}: the overview's CRUD, plus PATCH, bulk, ETag/If-Match and Idempotency-Key."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Header, Query, Request, Response

from gateway.services import records
from rest.deps import Ctx
from storage.query import filter_from_params, include_from_params, sort_from_params

router = APIRouter(prefix="/api/records", tags=["records"])

_FILTER_DOC = (
    "field,op,value (also filter1..filterN, repeatable; ANDed, or ORed with satisfy=any). "
    "Operators: eq neq gt gte lt lte cs sw ew in nin bt is."
)


def _results(results: list[dict[str, Any]]) -> dict[str, Any]:
    failed = sum(1 for r in results if "error" in r)
    return {"data": results, "meta": {"total": len(results), "succeeded": len(results) - failed, "failed": failed}}


# Bulk routes come first: "/{entity}/bulk" must not be taken for a record id.


@router.post("/{entity}/bulk", summary="Create many records (per-item results)")
async def bulk_create(ctx: Ctx, entity: str, items: list[Any] = Body(...)) -> dict[str, Any]:
    return _results(await records.bulk_create(ctx, entity, items))


@router.put("/{entity}/bulk", summary="Update many records: [{id, field: value}, ...] (per-item results)")
async def bulk_update(ctx: Ctx, entity: str, items: list[Any] = Body(...)) -> dict[str, Any]:
    return _results(await records.bulk_update(ctx, entity, items))


@router.delete("/{entity}/bulk", summary='Delete many records: {"ids": [...]} (per-item results)')
async def bulk_delete(ctx: Ctx, entity: str, ids: list[Any] = Body(..., embed=True)) -> dict[str, Any]:
    return _results(await records.bulk_delete(ctx, entity, ids))


@router.get("/{entity}", summary="List records of an entity")
async def list_records(
    ctx: Ctx,
    request: Request,
    entity: str,
    page: int = Query(1, description="Page number, from 1."),
    page_size: int = Query(25, description="Records per page, 1..100."),
    filter: list[str] | None = Query(None, description=_FILTER_DOC),
    satisfy: str | None = Query(None, description="all (default) or any."),
    sort: list[str] | None = Query(None, description="field,asc|desc (also sort1..sortN, repeatable)."),
    include: str | None = Query(None, description="Comma-separated fields to return (id always)."),
) -> dict[str, Any]:
    params = request.query_params.multi_items()
    result = await records.list_page(
        ctx,
        entity,
        where=filter_from_params(params),
        sort=sort_from_params(params),
        include=include_from_params(params),
        page=page,
        page_size=page_size,
    )
    return {"data": result.data, "meta": {"page": result.page, "page_size": result.page_size, "total": result.total}}


@router.get("/{entity}/{record_id}", summary="Get one record")
async def get_record(ctx: Ctx, response: Response, entity: str, record_id: str) -> dict[str, Any]:
    record = await records.get(ctx, entity, record_id)
    response.headers["ETag"] = record.etag
    return record


@router.post("/{entity}", status_code=201, summary="Create a record")
async def create_record(
    ctx: Ctx,
    request: Request,
    response: Response,
    entity: str,
    data: dict[str, Any] = Body(...),
    idempotency_key: str | None = Header(None, description="Retries with the same key return the first result."),
) -> dict[str, Any]:
    record = await records.create(ctx, entity, data, idempotency_key=idempotency_key)
    response.headers["Location"] = str(request.url_for("get_record", entity=entity, record_id=record["id"]).path)
    response.headers["ETag"] = record.etag
    if record.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return record


async def _update(
    ctx: Ctx, response: Response, entity: str, record_id: str, data: dict[str, Any], if_match: str | None
) -> records.Record:
    record = await records.update(ctx, entity, record_id, data, if_match=if_match)
    response.headers["ETag"] = record.etag
    return record


@router.put("/{entity}/{record_id}", summary="Update the fields sent (null clears one)")
async def put_record(
    ctx: Ctx,
    response: Response,
    entity: str,
    record_id: str,
    data: dict[str, Any] = Body(...),
    if_match: str | None = Header(None, description="The record's ETag: update only if unchanged (else 412)."),
) -> dict[str, Any]:
    return await _update(ctx, response, entity, record_id, data, if_match)


@router.patch("/{entity}/{record_id}", summary="Update the fields sent (null clears one)")
async def patch_record(
    ctx: Ctx,
    response: Response,
    entity: str,
    record_id: str,
    data: dict[str, Any] = Body(...),
    if_match: str | None = Header(None, description="The record's ETag: update only if unchanged (else 412)."),
) -> dict[str, Any]:
    return await _update(ctx, response, entity, record_id, data, if_match)


@router.delete("/{entity}/{record_id}", status_code=204, summary="Delete a record")
async def delete_record(
    ctx: Ctx,
    entity: str,
    record_id: str,
    if_match: str | None = Header(None, description="The record's ETag: delete only if unchanged (else 412)."),
) -> Response:
    await records.delete(ctx, entity, record_id, if_match=if_match)
    return Response(status_code=204)
