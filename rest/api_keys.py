"""/api/settings/api-keys: create (secret shown once), list, revoke."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict

from gateway.services import api_keys
from rest.deps import Ctx

router = APIRouter(prefix="/api/settings/api-keys", tags=["api keys"])


class NewKey(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str


@router.post("", status_code=201, summary="Create an API key; the hari_ secret is returned only here")
async def create_key(ctx: Ctx, body: NewKey) -> dict[str, Any]:
    return await api_keys.create_key(ctx, body.name)


@router.get("", summary="List API keys (admins: all; others: their own), without secrets")
async def list_keys(ctx: Ctx) -> dict[str, Any]:
    return {"data": await api_keys.list_keys(ctx)}


@router.delete("/{key_id}", status_code=204, summary="Revoke an API key (it fails at once)")
async def revoke_key(ctx: Ctx, key_id: str) -> Response:
    await api_keys.revoke_key(ctx, key_id)
    return Response(status_code=204)
