"""Entity definitions: read (cached per workspace), seed. The schema API grows here."""

from __future__ import annotations

from gateway.errors import NotFound
from gateway.services.context import Context, Permission
from gateway.services.crm_schema import SEED_ENTITIES
from storage.documents import EntityDefinition
from storage.workspace import WorkspaceStore

_CACHE_KEY = "entities"


async def definitions(ws: WorkspaceStore) -> dict[str, EntityDefinition]:
    """All definitions of a workspace, cached until the next schema change."""
    cached = ws.cache.get(_CACHE_KEY)
    if cached is None:
        model = ws.model(EntityDefinition)
        cached = {d.name: d for d in await model.find_all().sort("name").to_list()}
        ws.cache[_CACHE_KEY] = cached
    return cached


async def definition(ws: WorkspaceStore, name: str) -> EntityDefinition:
    found = (await definitions(ws)).get(name)
    if found is None:
        raise NotFound(f"Unknown entity '{name}'.", code="entity_not_found")
    return found


async def list_entities(ctx: Context) -> list[EntityDefinition]:
    ctx.require(Permission.schema_read)
    return list((await definitions(ctx.ws)).values())


async def get_entity(ctx: Context, name: str) -> EntityDefinition:
    ctx.require(Permission.schema_read)
    return await definition(ctx.ws, name)


async def seed(ws: WorkspaceStore) -> None:
    """Create the CRM schema in a workspace that has no entity yet."""
    model = ws.model(EntityDefinition)
    if await model.find_one() is not None:
        return
    for spec in SEED_ENTITIES:
        await model.model_validate(spec).insert()
    ws.schema_changed()
