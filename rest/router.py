"""All REST routers. Each declares its full ``/api/...`` prefix, so route templates (metrics, logs) are whole."""

from __future__ import annotations

from fastapi import FastAPI

from rest import auth, health, records

ROUTERS = (health, auth, records)


def include_routers(app: FastAPI) -> None:
    for module in ROUTERS:
        app.include_router(module.router)
