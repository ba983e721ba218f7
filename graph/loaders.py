"""DataLoader batch functions: a page of N records with references costs a constant number of queries.

Both go through the records service (permissions, filters, coercion stay there):
- forward references (``contact.company``): one ``records.get_many`` per batch of ids;
- reverse connections (``company.contacts``): one ``records.list_page`` over ``fk in [parent ids]``
  (100 rows a query), grouped and paged per parent here. When a batch would hold more than
  ``BATCH_CHILDREN_LIMIT`` children, each parent gets its own paged query instead, so memory stays bounded.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from gateway.services import records
from gateway.services.context import Context
from storage.query import AllOf, Condition

BATCH_CHILDREN_LIMIT = 1000
MAX_PARENTS_PER_BATCH = 100  # the records service takes at most 100 values in an `in` condition
_FETCH_SIZE = 100


def page_dict(page: records.Page) -> dict[str, Any]:
    return {"data": page.data, "meta": {"page": page.page, "page_size": page.page_size, "total": page.total}}


async def load_records(ctx: Context, entity: str, ids: Sequence[str]) -> list[dict[str, Any] | None]:
    found = await records.get_many(ctx, entity, list(dict.fromkeys(ids)))
    by_id = {r["id"]: r for r in found}
    return [by_id.get(i) for i in ids]


def _and(*parts: Any) -> Any:
    items = [p for p in parts if p is not None]
    return items[0] if len(items) == 1 else AllOf(tuple(items))


async def load_children(
    ctx: Context,
    entity: str,
    field_name: str,
    parent_ids: Sequence[str],
    where: Any,
    sort: list[tuple[str, str]] | None,
    page: int,
    page_size: int,
) -> list[dict[str, Any]]:
    keys = list(parent_ids)
    if page >= 1 and 1 <= page_size <= 100:
        batched = await _children_in_one_go(ctx, entity, field_name, keys, where, sort)
        if batched is not None:
            start = (page - 1) * page_size
            return [
                {
                    "data": batched[k][start : start + page_size],
                    "meta": {"page": page, "page_size": page_size, "total": len(batched[k])},
                }
                for k in keys
            ]
    pages = await asyncio.gather(
        *(
            records.list_page(
                ctx,
                entity,
                where=_and(Condition(field_name, "eq", k), where),
                sort=sort,
                page=page,
                page_size=page_size,
            )
            for k in keys
        )
    )
    return [page_dict(p) for p in pages]


async def _children_in_one_go(
    ctx: Context,
    entity: str,
    field_name: str,
    keys: list[str],
    where: Any,
    sort: list[tuple[str, str]] | None,
) -> dict[str, list[dict[str, Any]]] | None:
    """All children of ``keys`` grouped by parent, or None when there are too many to hold."""
    condition = _and(Condition(field_name, "in", list(dict.fromkeys(keys))), where)
    rows: list[dict[str, Any]] = []
    number = 1
    while True:
        result = await records.list_page(ctx, entity, where=condition, sort=sort, page=number, page_size=_FETCH_SIZE)
        if result.total > BATCH_CHILDREN_LIMIT:
            return None
        rows.extend(result.data)
        if not result.data or len(rows) >= result.total:
            break
        number += 1
    grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        grouped[str(row.get(field_name))].append(row)
    return grouped
