"""/api/webhooks: subscriptions, their delivery log and a test send (rules live in gateway.services.webhooks)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Query, Response

from gateway.services import webhooks
from rest.deps import Ctx

router = APIRouter(prefix="/api/webhooks", tags=["webhooks"])

SUBSCRIBE_EXAMPLE = {
    "target_url": "https://hooks.example.com/hari",
    "entity": "contact",
    "event": "post_save",
}


@router.post("/subscribe", status_code=201, summary="Subscribe a URL to an event (the secret is shown once)")
async def subscribe(
    ctx: Ctx,
    response: Response,
    data: dict[str, Any] = Body(
        ...,
        description="{target_url, entity (name or '*'), event (pre_save|post_save|pre_delete|post_delete), "
        "secret?, blocking?}",
        examples=[SUBSCRIBE_EXAMPLE],
    ),
) -> dict[str, Any]:
    created = await webhooks.subscribe(ctx, data)
    response.headers["Location"] = f"/api/webhooks/{created['id']}"
    return created


@router.get("", summary="List webhook subscriptions")
async def list_subscriptions(ctx: Ctx) -> dict[str, Any]:
    data = await webhooks.list_subscriptions(ctx)
    return {"data": data, "meta": {"total": len(data)}}


@router.get("/{subscription_id}", summary="Get a webhook subscription")
async def get_subscription(ctx: Ctx, subscription_id: str) -> dict[str, Any]:
    return await webhooks.get_subscription(ctx, subscription_id)


@router.delete("/{subscription_id}", status_code=204, summary="Unsubscribe")
async def unsubscribe(ctx: Ctx, subscription_id: str) -> Response:
    await webhooks.unsubscribe(ctx, subscription_id)
    return Response(status_code=204)


@router.post("/{subscription_id}/test", summary="Send a sample event now and report the target's answer")
async def send_test(ctx: Ctx, subscription_id: str) -> dict[str, Any]:
    return await webhooks.send_test(ctx, subscription_id)


@router.get("/{subscription_id}/deliveries", summary="Delivery log: status, status code, attempts, last error")
async def deliveries(
    ctx: Ctx,
    subscription_id: str,
    page: int = Query(1, description="Page number, from 1."),
    page_size: int = Query(25, description="Deliveries per page, 1..100."),
    status: str | None = Query(None, description="pending, delivered, failed or cancelled."),
) -> dict[str, Any]:
    return await webhooks.deliveries(ctx, subscription_id, page=page, page_size=page_size, status=status)
