"""Who is asking, in which workspace, and what they may do."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from gateway.errors import Forbidden, Unauthorized
from gateway.runtime import Runtime
from storage.documents import Role
from storage.workspace import WorkspaceStore


class Permission(StrEnum):
    records_read = "records:read"
    records_write = "records:write"
    schema_read = "schema:read"
    schema_write = "schema:write"
    users_manage = "users:manage"
    api_keys_own = "api_keys:own"
    api_keys_all = "api_keys:all"
    webhooks_manage = "webhooks:manage"


ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.admin: frozenset(Permission),
    Role.editor: frozenset(
        {
            Permission.records_read,
            Permission.records_write,
            Permission.schema_read,
            Permission.api_keys_own,
            Permission.webhooks_manage,
        }
    ),
    Role.viewer: frozenset({Permission.records_read, Permission.schema_read}),
}


@dataclass(frozen=True)
class Principal:
    user_id: str
    email: str
    role: Role
    workspace: str
    via: Literal["jwt", "api_key"] = "jwt"
    key_id: str | None = None

    def can(self, permission: Permission) -> bool:
        return permission in ROLE_PERMISSIONS[self.role]


@dataclass
class Context:
    runtime: Runtime
    ws: WorkspaceStore
    principal: Principal | None = None
    request_id: str | None = None
    client_ip: str | None = None

    def require(self, permission: Permission) -> Principal:
        """The principal, if it holds ``permission``; 401 when anonymous, 403 when not allowed."""
        if self.principal is None:
            raise Unauthorized("Authentication required: send 'Authorization: Bearer <token or hari_ key>'.")
        if not self.principal.can(permission):
            raise Forbidden(f"Your role '{self.principal.role}' does not allow {permission.value}.")
        return self.principal

    @property
    def actor(self) -> str | None:
        return self.principal.user_id if self.principal else None
