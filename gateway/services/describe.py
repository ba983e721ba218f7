"""What the API description may show a caller: the workspace's entity definitions, or nothing.

An authenticated caller who may read the schema gets typed per-entity paths in the OpenAPI document and
the endpoint map; an anonymous caller gets the generic description, which reveals no workspace data.
"""

from __future__ import annotations

from collections.abc import Hashable

from gateway.services import entities
from gateway.services.context import Context, Permission
from storage.documents import EntityDefinition


async def visible_definitions(ctx: Context) -> tuple[Hashable, list[EntityDefinition]] | None:
    """(cache key, definitions) for a caller allowed to read the schema; None for the generic description.

    The key changes whenever the workspace's definitions change (schema version and each
    definition's ``updated_at``), so a cached description is never stale.
    """
    if ctx.principal is None or not ctx.principal.can(Permission.schema_read):
        return None
    definitions = list((await entities.definitions(ctx.ws)).values())
    key = (ctx.ws.name, ctx.ws.schema_version, tuple((d.name, d.updated_at) for d in definitions))
    return key, definitions
