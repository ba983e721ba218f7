"""/api/auth: login and the current user."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from gateway.services import auth
from rest.deps import Ctx

router = APIRouter(prefix="/api/auth", tags=["auth"])


class LoginBody(BaseModel):
    email: str
    password: str


@router.post("/login", summary="Exchange email and password for tokens")
async def login(ctx: Ctx, body: LoginBody) -> dict[str, Any]:
    return await auth.login(ctx, body.email, body.password)
