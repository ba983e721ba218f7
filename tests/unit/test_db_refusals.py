"""The REST adapter's answer to a database refusal: 503 + Retry-After when it was transient (nothing changed),
500 otherwise; both in the error envelope, and the connection stays usable."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from pymongo.errors import OperationFailure

from rest.errors import install_error_handlers


def _app() -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/busy")
    async def busy() -> None:
        raise OperationFailure("[collection.go:241 DeleteAll] database is locked (5) (SQLITE_BUSY)")

    @app.get("/broken")
    async def broken() -> None:
        raise OperationFailure("unknown operator: $nope", 2)

    return app


async def test_transient_refusal_is_503_with_retry_after() -> None:
    transport = httpx.ASGITransport(app=_app(), raise_app_exceptions=True)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        response = await client.get("/busy")
    assert response.status_code == 503
    assert response.headers["retry-after"] == "1"
    assert response.json()["error"]["code"] == "service_unavailable"


async def test_other_refusals_are_500_in_the_envelope_and_not_re_raised() -> None:
    # raise_app_exceptions=True: an exception escaping the app (which makes uvicorn drop the connection) fails here
    transport = httpx.ASGITransport(app=_app(), raise_app_exceptions=True)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        response = await client.get("/broken")
    assert response.status_code == 500
    assert response.json() == {"error": {"code": "internal_error", "message": "An unexpected error occurred."}}
