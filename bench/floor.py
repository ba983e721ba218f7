"""The floor: a raw ASGI app doing the gateway's database calls with PyMongo async, returning the same JSON.

No framework, no auth, no validation, no events: what is left is the driver, the database and orjson, so
gateway/floor is what the gateway's own layers cost. Serve it with uvicorn like the gateway:

    BENCH_MONGODB_URL=mongodb://127.0.0.1:27017/ BENCH_DB_PREFIX=bench uvicorn bench.floor:app

The workspace is taken from ``X-Workspace`` (database ``<prefix>_ws_<workspace>``), as the gateway does.
Routes: ``GET /api/records/contact?filter=source,eq,website&sort=last_name,asc&page=P`` (just that filter
and sort), ``GET|PUT /api/records/contact/{id}``, ``POST /api/records/contact``, ``POST /api/auth/login``.
"""

from __future__ import annotations

import asyncio
import os
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

import jwt
import orjson
from argon2 import PasswordHasher
from argon2.exceptions import VerificationError
from pymongo import AsyncMongoClient, ReturnDocument

from storage.records import parse_id, to_api

Send = Any
PAGE_SIZE = 25
SECRET = os.environ.get("BENCH_JWT_SECRET", "floor-secret-" + "x" * 40)


class Floor:
    def __init__(self) -> None:
        self.client: AsyncMongoClient[dict[str, Any]] | None = None
        self.prefix = os.environ.get("BENCH_DB_PREFIX", "bench")
        self.hasher = PasswordHasher()  # argon2-cffi defaults = the gateway's production settings

    def db(self, scope: dict[str, Any]) -> Any:
        workspace = "default"
        for name, value in scope["headers"]:
            if name == b"x-workspace":
                workspace = value.decode()
        assert self.client is not None
        return self.client[f"{self.prefix}_ws_{workspace}"]

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    self.client = AsyncMongoClient(os.environ["BENCH_MONGODB_URL"], tz_aware=True, maxPoolSize=100)
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    if self.client is not None:
                        await self.client.close()
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        body = b""
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        status, payload = await self.route(scope, body)
        data = orjson.dumps(payload)
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": data})

    async def route(self, scope: dict[str, Any], body: bytes) -> tuple[int, Any]:
        method, path = scope["method"], scope["path"].rstrip("/")
        parts = path.split("/")
        if path == "/api/auth/login" and method == "POST":
            return await self.login(self.db(scope), orjson.loads(body))
        if len(parts) < 4 or parts[1:4] != ["api", "records", "contact"]:
            return 404, {"error": {"code": "not_found", "message": "Not found."}}
        records = self.db(scope)["rec_contact"]
        if len(parts) == 4 and method == "GET":
            query = parse_qs(scope["query_string"].decode())
            page = int(query.get("page", ["1"])[0])
            flt = {"source": "website"}
            cursor = records.find(flt).sort([("last_name", 1), ("_id", 1)]).skip((page - 1) * PAGE_SIZE)
            docs = await cursor.limit(PAGE_SIZE).to_list()
            total = await records.count_documents(flt)
            return 200, {
                "data": [to_api(d) for d in docs],
                "meta": {"page": page, "page_size": PAGE_SIZE, "total": total},
            }
        if len(parts) == 4 and method == "POST":
            now = datetime.now(UTC)
            doc = {**orjson.loads(body), "created_at": now, "updated_at": now, "_score": 0, "_version": 1}
            doc["_id"] = (await records.insert_one(doc)).inserted_id
            return 201, to_api(doc)
        oid = parse_id(parts[4]) if len(parts) == 5 else None
        if oid is None:
            return 404, {"error": {"code": "record_not_found", "message": "Not found."}}
        if method == "GET":
            doc = await records.find_one({"_id": oid})
        elif method in ("PUT", "PATCH"):
            change = {"$set": {**orjson.loads(body), "updated_at": datetime.now(UTC)}, "$inc": {"_version": 1}}
            doc = await records.find_one_and_update({"_id": oid}, change, return_document=ReturnDocument.AFTER)
        else:
            return 405, {"error": {"code": "method_not_allowed", "message": "Method not allowed."}}
        if doc is None:
            return 404, {"error": {"code": "record_not_found", "message": "Not found."}}
        return 200, to_api(doc)

    async def login(self, db: Any, body: dict[str, Any]) -> tuple[int, Any]:
        user = await db["users"].find_one({"email": str(body.get("email", "")).lower()})
        try:
            password = str(body.get("password", ""))  # verified off the event loop, as the gateway does
            ok = user is not None and await asyncio.to_thread(self.hasher.verify, user["password_hash"], password)
        except VerificationError:
            ok = False
        if not ok:
            return 401, {"error": {"code": "invalid_credentials", "message": "Invalid email or password."}}
        now = int(time.time())
        claims = {"sub": str(user["_id"]), "role": user["role"], "iat": now, "exp": now + 3600, "typ": "access"}
        return 200, {
            "access_token": jwt.encode(claims, SECRET, algorithm="HS256"),
            "token_type": "bearer",
            "expires_in": 3600,
        }


app = Floor()
