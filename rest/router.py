"""All REST routers. Each declares its full ``/api/...`` prefix, so route templates (metrics, logs) are whole."""

from __future__ import annotations

from fastapi import FastAPI

from rest import api_keys, auth, describe, docs, health, records, schema, users, webhooks

ROUTERS = (health, describe, docs, auth, users, api_keys, records, schema, webhooks)


def include_routers(app: FastAPI, max_body_size: int | None = None) -> None:
    """Mount every router; bodies past ``max_body_size`` (streamed ones too) are cut with a 413 in the envelope."""
    for module in ROUTERS:
        app.include_router(module.router, max_body_size=max_body_size)
