"""/api/auth: login, refresh, logout and the current user."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field

from gateway.services import auth
from rest.deps import Ctx

router = APIRouter(prefix="/api/auth", tags=["auth"])


class LoginBody(BaseModel):
    email: str = Field(max_length=320)
    password: str = Field(max_length=1024)


class RefreshBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    refresh_token: str = Field(min_length=1, max_length=512)


class LogoutBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    refresh_token: str | None = Field(None, max_length=512)


@router.post("/login", summary="Exchange email and password for an access token and a refresh token")
async def login(ctx: Ctx, body: LoginBody) -> dict[str, Any]:
    return await auth.login(ctx, body.email, body.password)


@router.post("/refresh", summary="Exchange a refresh token for a new pair (the old one stops working)")
async def refresh(ctx: Ctx, body: RefreshBody) -> dict[str, Any]:
    return await auth.refresh(ctx, body.refresh_token)


@router.post(
    "/logout",
    status_code=204,
    summary="Revoke the given refresh token's login, or without one every session of the caller",
)
async def logout(ctx: Ctx, body: LogoutBody | None = None) -> Response:
    await auth.logout(ctx, body.refresh_token if body else None)
    return Response(status_code=204)


class PasswordChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    current_password: str = Field(max_length=1024)
    new_password: str


@router.post("/password", summary="Change your own password: other sessions end, a new token pair is returned")
async def change_password(ctx: Ctx, body: PasswordChange) -> dict[str, Any]:
    return await auth.change_password(ctx, body.current_password, body.new_password)


@router.get("/me", summary="The authenticated user, its workspace and permissions")
async def me(ctx: Ctx) -> dict[str, Any]:
    return await auth.me(ctx)
