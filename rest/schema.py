"""/api/schema/entities: entity definitions (admins change them; everyone signed in reads them)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Query, Request, Response

from gateway.services import entities
from rest.deps import Ctx

router = APIRouter(prefix="/api/schema/entities", tags=["schema"])

_CONFIRM = "Required (true) to delete the records the change or deletion removes."


@router.get("", summary="List entity definitions")
async def list_entities(ctx: Ctx) -> dict[str, Any]:
    return {"data": [entities.as_api(d) for d in await entities.list_entities(ctx)]}


@router.post("", status_code=201, summary="Define a new entity")
async def create_entity(ctx: Ctx, request: Request, response: Response, spec: Any = Body(...)) -> dict[str, Any]:
    created = await entities.create_entity(ctx, spec)
    response.headers["Location"] = str(request.url_for("get_entity", name=created.name).path)
    return entities.as_api(created)


@router.get("/{name}", summary="Get an entity definition")
async def get_entity(ctx: Ctx, name: str) -> dict[str, Any]:
    return entities.as_api(await entities.get_entity(ctx, name))


@router.put("/{name}", summary="Change an entity definition (refused when existing records would not fit)")
async def update_entity(
    ctx: Ctx, name: str, spec: Any = Body(...), confirm: bool = Query(False, description=_CONFIRM)
) -> dict[str, Any]:
    return entities.as_api(await entities.update_entity(ctx, name, spec, confirm=confirm))


@router.delete("/{name}", status_code=204, summary="Delete an entity (with records: ?confirm=true)")
async def delete_entity(ctx: Ctx, name: str, confirm: bool = Query(False, description=_CONFIRM)) -> Response:
    await entities.delete_entity(ctx, name, confirm=confirm)
    return Response(status_code=204)
