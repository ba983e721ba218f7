"""/api/users: workspace users (admins only; the service checks)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from gateway.services import users
from rest.deps import Ctx
from storage.documents import Role

router = APIRouter(prefix="/api/users", tags=["users"])


class NewUser(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: str = Field(max_length=320)
    password: str
    role: Role = Role.viewer
    name: str | None = Field(None, max_length=200)


class UserChanges(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: str | None = Field(None, max_length=320)
    password: str | None = None
    role: Role | None = None
    name: str | None = Field(None, max_length=200)
    active: bool | None = None


@router.get("", summary="List users")
async def list_users(ctx: Ctx) -> dict[str, Any]:
    return {"data": await users.list_users(ctx)}


@router.post("", status_code=201, summary="Create a user")
async def create_user(ctx: Ctx, request: Request, response: Response, body: NewUser) -> dict[str, Any]:
    user = await users.create_user(ctx, email=body.email, password=body.password, role=body.role, name=body.name)
    response.headers["Location"] = str(request.url_for("get_user", user_id=user["id"]).path)
    return user


@router.get("/{user_id}", summary="Get a user")
async def get_user(ctx: Ctx, user_id: str) -> dict[str, Any]:
    return await users.get_user(ctx, user_id)


@router.put("/{user_id}", summary="Update a user (only the fields sent; a new password ends its sessions)")
async def update_user(ctx: Ctx, user_id: str, body: UserChanges) -> dict[str, Any]:
    return await users.update_user(ctx, user_id, body.model_dump(exclude_unset=True))


@router.patch("/{user_id}", summary="Update a user (same as PUT: only the fields sent)")
async def patch_user(ctx: Ctx, user_id: str, body: UserChanges) -> dict[str, Any]:
    return await users.update_user(ctx, user_id, body.model_dump(exclude_unset=True))


@router.delete("/{user_id}", status_code=204, summary="Deactivate a user: its tokens and API keys stop at once")
async def delete_user(ctx: Ctx, user_id: str) -> Response:
    await users.deactivate_user(ctx, user_id)
    return Response(status_code=204)
