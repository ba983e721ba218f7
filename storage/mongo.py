"""The MongoDB client and the databases it serves: one control database, one per workspace."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from pydantic import BaseModel
from pymongo import AsyncMongoClient
from pymongo.errors import DuplicateKeyError

from storage.binding import Bindings
from storage.documents import CONTROL_DOCUMENTS, Workspace
from storage.workspace import WorkspaceStore


class Storage:
    def __init__(self, url: str, prefix: str, timeout_ms: int = 5000, pool_size: int = 100) -> None:
        self.client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
            url,
            tz_aware=True,
            serverSelectionTimeoutMS=timeout_ms,
            connectTimeoutMS=timeout_ms,
            maxPoolSize=pool_size,
            appname="hari-gateway",
        )
        self.prefix = prefix
        self.control = self.client[f"{prefix}_control"]
        self._control = Bindings(self.control)
        self._workspaces: dict[str, WorkspaceStore] = {}
        self._lock = asyncio.Lock()

    async def init(self) -> None:
        await self._control.bind(CONTROL_DOCUMENTS)

    def model(self, template: type[BaseModel]) -> Any:
        """A control-database document (workspaces, deployment settings)."""
        return self._control.model(template)

    async def ping(self) -> None:
        await self.client.admin.command("ping")

    def database_name(self, workspace: str) -> str:
        return f"{self.prefix}_ws_{workspace.replace('-', '_')}"

    async def workspace_exists(self, name: str) -> bool:
        model = self.model(Workspace)
        return name in self._workspaces or await model.find_one(model.name == name) is not None

    async def create_workspace(self, name: str) -> WorkspaceStore:
        model = self.model(Workspace)
        if await model.find_one(model.name == name) is None:
            with contextlib.suppress(DuplicateKeyError):  # created concurrently by another process
                await model(name=name).insert()
        return await self.workspace(name)

    async def workspace_names(self) -> list[str]:
        return [w.name for w in await self.model(Workspace).find_all().sort("name").to_list()]

    async def workspace(self, name: str) -> WorkspaceStore:
        """The handle of an existing workspace, bound on first use and cached."""
        store = self._workspaces.get(name)
        if store is not None:
            return store
        async with self._lock:
            store = self._workspaces.get(name)
            if store is None:
                store = WorkspaceStore(name, self.client[self.database_name(name)])
                await store.init()
                self._workspaces[name] = store
        return store

    async def close(self) -> None:
        await self.client.close()
