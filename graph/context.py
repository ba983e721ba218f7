"""What a resolver gets as ``info.context``: the service Context plus this operation's DataLoaders."""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field, replace
from typing import Any

from strawberry.dataloader import DataLoader

from gateway.access import authenticate, bearer_token
from gateway.services.context import Context
from graph import loaders


@dataclass
class GraphContext:
    ctx: Context
    # Subscriptions only run over the websocket; there, one connection lives long, so records are not
    # cached between events (they would go stale).
    websocket: bool = False
    # Set by Strawberry from the graphql-transport-ws connection_init payload.
    connection_params: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    authorization: str | None = None  # the credentials behind ``ctx``, to check them again on long connections
    client_ip: str | None = None
    _loaders: dict[Hashable, DataLoader[Any, Any]] = field(default_factory=dict)

    def loader(self, key: Hashable, make: Any, max_batch_size: int | None = None) -> DataLoader[Any, Any]:
        found = self._loaders.get(key)
        if found is None:
            found = DataLoader(load_fn=make, cache=not self.websocket, max_batch_size=max_batch_size)
            self._loaders[key] = found
        return found

    def records_by_id(self, entity: str) -> DataLoader[str, dict[str, Any] | None]:
        """Records of ``entity`` by id, one ``records.get_many`` per batch."""
        return self.loader(("record", entity), lambda ids: loaders.load_records(self.ctx, entity, ids))

    def children(
        self, entity: str, field_name: str, where: Any, sort: Any, page: int, page_size: int
    ) -> DataLoader[str, Any]:
        """Pages of ``entity`` records whose ``field_name`` points at each key, batched across parents."""
        key = ("children", entity, field_name, repr(where), repr(sort), page, page_size)
        return self.loader(
            key,
            lambda ids: loaders.load_children(self.ctx, entity, field_name, ids, where, sort, page, page_size),
            max_batch_size=loaders.MAX_PARENTS_PER_BATCH,
        )

    async def reauthenticate(self) -> Context:
        """This caller's Context with its credentials checked again (a revoked key or deactivated user fails)."""
        token = bearer_token(self.authorization)
        if token is not None:
            principal = await authenticate(self.ctx.runtime, self.ctx.ws, token)
            self.ctx = replace(self.ctx, principal=principal)
        return self.ctx

    def forget(self) -> None:
        """Drop cached records after a write, so later fields of the same request read fresh data."""
        self._loaders.clear()
