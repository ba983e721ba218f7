"""Workspaces: each has its own database, users, keys, entities and webhooks."""

from __future__ import annotations

import re

from gateway.errors import NotFound, ValidationFailed, field_error
from gateway.runtime import Runtime
from gateway.services import entities, users
from storage.workspace import WorkspaceStore

WORKSPACE_NAME = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$")


def validate_name(name: str) -> str:
    if not WORKSPACE_NAME.fullmatch(name):
        raise ValidationFailed(
            f"Invalid workspace name '{name}'.",
            details=[field_error("name", "Lowercase letters, digits and '-', 1 to 32 characters.")],
        )
    return name


async def create_workspace(runtime: Runtime, name: str, *, bootstrap_admin: bool = True) -> WorkspaceStore:
    """Create (or complete) a workspace: database, seeded CRM schema, bootstrap admin if configured (and wanted)."""
    validate_name(name)
    ws = await runtime.storage.create_workspace(name)
    await entities.seed(ws)
    settings = runtime.settings
    if bootstrap_admin and settings.admin_password is not None:
        await users.ensure_bootstrap_admin(
            ws, runtime.passwords, settings.admin_email, settings.admin_password.get_secret_value()
        )
    return ws


async def open_workspace(runtime: Runtime, name: str) -> WorkspaceStore:
    """The store of an existing workspace; 404 for one that was never created."""
    if not WORKSPACE_NAME.fullmatch(name) or not await runtime.storage.workspace_exists(name):
        raise NotFound(f"Unknown workspace '{name}'.", code="workspace_not_found")
    return await runtime.storage.workspace(name)
