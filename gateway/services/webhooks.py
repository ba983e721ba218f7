"""Webhooks: the subscription operations REST (and GraphQL) call, and the bus handlers that feed the outbox.

``Webhooks`` is created once per running gateway (``start``) and registers four bus handlers:

- pre_save / pre_delete: call the *blocking* subscriptions synchronously (veto or change the record),
  then stage outbox entries for every other matching subscription of the pre_ and post_ event;
- post_save / post_delete: confirm the staged entries (see ``hooks.outbox``) and wake the worker.

The records service awaits these handlers, so the events are stored before the write's response.
"""

from __future__ import annotations

import logging
import secrets as secrets_module
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from bson import ObjectId
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from gateway.errors import ApiError, Conflict, NotFound, ValidationFailed, field_error
from gateway.runtime import Runtime
from gateway.services import entities
from gateway.services.context import Context, Permission
from hooks import outbox as ob
from hooks import ssrf
from hooks.bus import EVENTS, RecordEvent
from hooks.delivery import Outcome, Sender, encode_body
from hooks.sealing import InvalidToken, SecretBox
from hooks.worker import DeliveryWorker, Policy
from storage.documents import WebhookDelivery, WebhookSubscription, utcnow
from storage.records import iso, parse_id
from storage.workspace import WorkspaceStore

log = logging.getLogger("hari.webhooks")
EXTRA_KEY = "webhooks"
POST_OF = {"pre_save": "post_save", "pre_delete": "post_delete"}
PRE_OF = {post: pre for pre, post in POST_OF.items()}
SECRET_PREFIX = "whsec_"
MIN_SECRET_LENGTH = 16
MAX_URL_LENGTH = 2048
MAX_PAGE_SIZE = 100
_WRITES_REMEMBERED = 10_000
SUBSCRIPTION_CACHE_SECONDS = 2.0


class HookRejected(ApiError):
    """A blocking webhook refused the write."""

    status = 422
    code = "hook_rejected"


class HookUnreachable(ApiError):
    """A blocking webhook could not be reached, so the write was not made."""

    status = 502
    code = "hook_unreachable"


# --- the machinery of one running gateway ---------------------------------------------------------------


@dataclass
class _Staged:
    """What the pre_ handler of one write did, so its post_ handler can skip needless queries."""

    staged: bool
    post_subscriptions: list[Any] = field(default_factory=list)
    entries: list[tuple[Any, str]] | None = None  # (_id, event) of the staged entries, when all were new


class Webhooks:
    def __init__(self, runtime: Runtime) -> None:
        settings = runtime.settings
        self.runtime = runtime
        key = settings.webhook_secret_key.get_secret_value() if settings.webhook_secret_key else runtime.jwt_secret
        self.box = SecretBox(key)
        self.allow_private = settings.webhook_allow_private
        self.blocking_timeout = settings.webhook_blocking_timeout_seconds
        self.policy = Policy(
            retry_schedule=list(settings.webhook_retry_schedule),
            timeout=settings.webhook_timeout_seconds,
            lease=max(settings.webhook_lease_seconds, settings.webhook_timeout_seconds + 1),
            poll_interval=settings.webhook_poll_interval_seconds,
            stage_timeout=settings.webhook_stage_timeout_seconds,
            concurrency=settings.webhook_concurrency,
            per_target=settings.webhook_concurrency_per_target,
        )
        self.sender = Sender(self.allow_private, settings.webhook_concurrency, settings.webhook_concurrency_per_target)
        # Blocking hooks and test sends get their own pool: queued deliveries to the same host never hold them up.
        self.direct = Sender(self.allow_private, concurrency=100, per_target=0)
        self.worker = (
            DeliveryWorker(runtime.storage, self.sender, self.box, self.policy) if settings.webhook_worker else None
        )
        self._writes: OrderedDict[str, _Staged] = OrderedDict()
        self._subs: dict[str, tuple[float, list[Any]]] = {}  # workspace -> (loaded at, its subscriptions)
        self._unsubscribe: list[Any] = []

    def install(self) -> None:
        bus = self.runtime.bus
        self._unsubscribe = [bus.on(event, self._on_pre) for event in POST_OF] + [
            bus.on(event, self._on_post) for event in PRE_OF
        ]
        if self.worker is not None:
            self.worker.on_unsubscribe = self.forget_subscriptions
            self.worker.start()

    async def close(self) -> None:
        for off in self._unsubscribe:
            off()
        if self.worker is not None:
            await self.worker.stop()
        await self.sender.close()
        await self.direct.close()

    def wake(self, workspace: str) -> None:
        if self.worker is not None:
            self.worker.wake(workspace)

    # --- bus handlers ---------------------------------------------------------------------------------

    def forget_subscriptions(self, workspace: str) -> None:
        """Drop the cached subscriptions of ``workspace`` (called on subscribe / unsubscribe)."""
        self._subs.pop(workspace, None)

    async def _matching(self, ws: WorkspaceStore, entity: str, events: list[str]) -> list[Any]:
        """The workspace's subscriptions for ``entity`` and ``events``, from a short-lived per-workspace cache.

        Every write needs them, and FerretDB scans the collection for any filter but ``_id``. This process
        drops the cache on its own subscribe/unsubscribe; other processes see a change within
        ``SUBSCRIPTION_CACHE_SECONDS`` (a delivery to a removed subscription is cancelled by the worker).
        """
        cached = self._subs.get(ws.name)
        now = time.monotonic()
        if cached is None or now - cached[0] > SUBSCRIPTION_CACHE_SECONDS:
            model = ws.model(WebhookSubscription)
            subs = await model.find({}).sort([("created_at", 1), ("_id", 1)]).to_list()
            cached = (now, subs)
            self._subs[ws.name] = cached
        return [s for s in cached[1] if s.event in events and s.entity in (entity, "*")]

    def _remember(self, write_id: str, staged: _Staged) -> None:
        self._writes[write_id] = staged
        while len(self._writes) > _WRITES_REMEMBERED:  # writes that failed after pre_ never reach post_
            self._writes.popitem(last=False)

    async def _on_pre(self, event: RecordEvent) -> dict[str, Any] | None:
        ws = await self.runtime.storage.workspace(event.workspace)
        post_event = POST_OF[event.event]
        subs = await self._matching(ws, event.entity, [event.event, post_event])
        changed: dict[str, Any] | None = None
        for sub in subs:
            if sub.blocking and sub.event == event.event:
                replacement = await self._call_blocking(ws, sub, event)
                if replacement is not None:
                    changed = event.record = replacement
        queued = [s for s in subs if not (s.blocking and s.event == event.event)]
        staged = _Staged(bool(queued), [s for s in queued if s.event == post_event])
        self._remember(event.write_id, staged)
        if queued:
            entries = [self._staged_entry(event, sub) for sub in queued]
            for entry in entries:
                entry["_id"] = ObjectId()
            if await ob.Outbox(ws).insert(entries):
                staged.entries = [(entry["_id"], entry["event"]) for entry in entries]
        return changed

    def _staged_entry(self, event: RecordEvent, sub: Any) -> dict[str, Any]:
        is_pre = sub.event == event.event
        event_id = event.id if is_pre else uuid.uuid4().hex  # the post_ event's id is set when confirmed
        body = _event_body(event, event_id=event_id, name=sub.event)
        return self.entry_doc(event, sub, event_id, body, ob.STAGED)

    def entry_doc(self, event: RecordEvent, sub: Any, event_id: str, body: str, status: str) -> dict[str, Any]:
        record_id = _record_id(event)
        now = utcnow()
        return {
            "key": ob.delivery_key(event.write_id, sub.event, str(sub.id)),
            "subscription_id": str(sub.id),
            "target": ssrf.origin(sub.target_url),
            "event_id": event_id,
            "event": sub.event,
            "entity": event.entity,
            "operation": event.operation,
            "record_id": record_id,
            "record_key": ob.record_key(event.entity, record_id, event.write_id),
            "write_id": event.write_id,
            "body": body,
            "status": status,
            "seq": ob.next_seq(1 if status == ob.PENDING else 0),
            "attempts": 0,
            "next_attempt_at": now,
            "lease_until": now,
            "claimed_by": None,
            "claims": 0,
            "last_status_code": None,
            "last_error": None,
            "created_at": now,
            "updated_at": now,
            "delivered_at": None,
        }

    async def _on_post(self, event: RecordEvent) -> None:
        ws = await self.runtime.storage.workspace(event.workspace)
        remembered = self._writes.pop(event.write_id, None)
        box = ob.Outbox(ws)
        body = _event_body(event)
        if remembered is None:  # no pre_ event seen here: look everything up
            subs = await self._matching(ws, event.entity, [event.event])
            await box.insert([self.entry_doc(event, sub, event.id, body, ob.PENDING) for sub in subs])
            confirmed = await box.confirm(
                event.write_id, event.entity, PRE_OF[event.event], event.event, event.id, body, _record_id(event)
            )
            if subs or confirmed:
                self.wake(ws.name)
            return
        if remembered.staged:
            await box.confirm(
                event.write_id,
                event.entity,
                PRE_OF[event.event],
                event.event,
                event.id,
                body,
                _record_id(event),
                remembered.entries,
            )
            self.wake(ws.name)

    # --- blocking hooks -------------------------------------------------------------------------------

    async def _call_blocking(self, ws: WorkspaceStore, sub: Any, event: RecordEvent) -> dict[str, Any] | None:
        """Call a blocking subscription now; its 2xx ``{"record": {...}}`` replaces the values to save."""
        body = _event_body(event)
        try:
            secret = self.box.open(sub.secret_sealed)
        except InvalidToken:
            raise HookUnreachable(
                f"The blocking {event.event} hook {sub.target_url} has an unreadable secret."
            ) from None
        outcome = await self.direct.send(sub.target_url, secret, event.event, event.id, body, self.blocking_timeout)
        entry = self.entry_doc(event, sub, event.id, body, ob.PENDING)
        entry.update(
            status=ob.DELIVERED if outcome.ok else ob.FAILED,
            attempts=1,
            last_status_code=outcome.status,
            last_error=None if outcome.ok else (outcome.message() if outcome.status else outcome.error),
            delivered_at=utcnow() if outcome.ok else None,
        )
        await ob.Outbox(ws).insert([entry])
        where = f"The blocking {event.event} hook {sub.target_url}"
        if outcome.gone:  # the receiver is gone: unsubscribe it, and do not let it block writes
            await ob.Outbox(ws).unsubscribe(str(sub.id), "unsubscribed: the target answered 410 Gone")
            self.forget_subscriptions(ws.name)
            return None
        if outcome.status is None:
            raise HookUnreachable(f"{where} did not answer ({outcome.error}); the write was not made.")
        if not outcome.ok:
            raise HookRejected(outcome.message(), details=_hook_details(outcome))
        data = outcome.json()
        if event.event != "pre_save" or not isinstance(data, dict) or data.get("record") is None:
            return None
        if not isinstance(data["record"], dict):
            raise HookRejected(f"{where} answered a 'record' that is not a JSON object.")
        merged = {**(event.record or {}), **data["record"]}
        if event.record and "id" in event.record:
            merged["id"] = event.record["id"]  # a hook may change values, not which record is written
        return merged


def _hook_details(outcome: Outcome) -> list[dict[str, Any]]:
    """Field errors a refusing hook sent as ``details`` (or ``error.details``): [{field, message}]."""
    data = outcome.json()
    if not isinstance(data, dict):
        return []
    found = data.get("details")
    if found is None and isinstance(data.get("error"), dict):
        found = data["error"].get("details")
    if not isinstance(found, list):
        return []
    return [
        field_error(str(d["field"])[:200], str(d["message"])[:500])
        for d in found[:50]
        if isinstance(d, dict) and isinstance(d.get("field"), str) and isinstance(d.get("message"), str)
    ]


def _record_id(event: RecordEvent) -> str | None:
    for source in (event.record, event.previous):
        if isinstance(source, dict) and isinstance(source.get("id"), str):
            return str(source["id"])
    return None


def _engine(ctx: Context) -> Webhooks:
    engine = ctx.runtime.extras.get(EXTRA_KEY)
    if engine is None:
        raise RuntimeError("webhooks are not started (gateway.services.webhooks.start)")
    return engine  # type: ignore[no-any-return]


async def start(runtime: Runtime) -> None:
    """Registered in ``app.state.on_start``: bus handlers and (unless HARI_WEBHOOK_WORKER=false) the worker."""
    engine = Webhooks(runtime)
    runtime.extras[EXTRA_KEY] = engine
    engine.install()


async def stop(runtime: Runtime | None) -> None:
    engine = runtime.extras.pop(EXTRA_KEY, None) if runtime is not None else None
    if engine is not None:
        await engine.close()


# --- subscriptions API -----------------------------------------------------------------------------------


class SubscribeInput(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    target_url: str = Field(max_length=MAX_URL_LENGTH)
    entity: str = Field(min_length=1, max_length=64)
    event: str
    secret: str | None = Field(None, min_length=MIN_SECRET_LENGTH, max_length=256)
    blocking: bool = False

    @field_validator("event")
    @classmethod
    def _event(cls, value: str) -> str:
        if value not in EVENTS:
            raise ValueError(f"Must be one of {', '.join(EVENTS)}.")
        return value


def _invalid(exc: ValidationError) -> ValidationFailed:
    details = [
        field_error(".".join(str(p) for p in err["loc"]) or "body", str(err["msg"]).removeprefix("Value error, "))
        for err in exc.errors()
    ]
    return ValidationFailed("Invalid webhook subscription.", details=details)


def subscription_view(sub: Any, secret: str | None = None) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": str(sub.id),
        "target_url": sub.target_url,
        "entity": sub.entity,
        "event": sub.event,
        "blocking": sub.blocking,
        "created_by": sub.created_by,
        "created_at": iso(sub.created_at),
    }
    if secret is not None:
        view["secret"] = secret
    return view


async def subscribe(ctx: Context, data: Any) -> dict[str, Any]:
    """Create a subscription; the response carries the signing secret, the only time it is shown."""
    principal = ctx.require(Permission.webhooks_manage)
    if not isinstance(data, dict):
        raise ValidationFailed("A subscription is a JSON object.", details=[field_error("body", "Expected an object.")])
    try:
        spec = SubscribeInput.model_validate(data)
    except ValidationError as exc:
        raise _invalid(exc) from None
    if spec.blocking and spec.event not in POST_OF:
        raise ValidationFailed(
            "Only pre_save and pre_delete subscriptions can be blocking.",
            details=[field_error("blocking", "Allowed for pre_save and pre_delete only.")],
        )
    if spec.entity != "*":
        try:
            await entities.definition(ctx.ws, spec.entity)
        except NotFound:
            raise ValidationFailed(
                f"Unknown entity '{spec.entity}'.", details=[field_error("entity", "No such entity (or use '*').")]
            ) from None
    try:
        await ssrf.check_target(spec.target_url, ctx.runtime.settings.webhook_allow_private)
    except ssrf.TargetRefused as exc:
        raise ValidationFailed(
            "This webhook target is not allowed.", details=[field_error("target_url", str(exc))]
        ) from None
    secret = spec.secret or SECRET_PREFIX + secrets_module.token_urlsafe(32)
    model = ctx.ws.model(WebhookSubscription)
    sub = model(
        target_url=spec.target_url,
        entity=spec.entity,
        event=spec.event,
        blocking=spec.blocking,
        secret_sealed=_engine(ctx).box.seal(secret),
        created_by=principal.user_id,
    )
    await sub.insert()
    _engine(ctx).forget_subscriptions(ctx.ws.name)
    return subscription_view(sub, secret)


async def _load(ctx: Context, subscription_id: str) -> Any:
    oid = parse_id(subscription_id)
    found = await ctx.ws.model(WebhookSubscription).get(oid) if oid else None
    if found is None:
        raise NotFound(f"No webhook subscription with id '{subscription_id}'.", code="webhook_not_found")
    return found


async def list_subscriptions(ctx: Context) -> list[dict[str, Any]]:
    ctx.require(Permission.webhooks_manage)
    model = ctx.ws.model(WebhookSubscription)
    return [subscription_view(s) for s in await model.find_all().sort([("created_at", 1), ("_id", 1)]).to_list()]


async def get_subscription(ctx: Context, subscription_id: str) -> dict[str, Any]:
    ctx.require(Permission.webhooks_manage)
    return subscription_view(await _load(ctx, subscription_id))


async def unsubscribe(ctx: Context, subscription_id: str) -> None:
    """Delete the subscription; its deliveries not sent yet are cancelled, its delivery log is kept."""
    ctx.require(Permission.webhooks_manage)
    sub = await _load(ctx, subscription_id)
    await ob.Outbox(ctx.ws).unsubscribe(str(sub.id), "unsubscribed")
    _engine(ctx).forget_subscriptions(ctx.ws.name)


def delivery_view(doc: dict[str, Any]) -> dict[str, Any]:
    def when(value: Any) -> str | None:
        return iso(value) if value is not None else None

    return {
        "id": str(doc["_id"]),
        "event_id": doc["event_id"],
        "event": doc["event"],
        "entity": doc["entity"],
        "operation": doc["operation"],
        "record_id": doc.get("record_id"),
        "status": doc["status"],
        "attempts": doc.get("attempts", 0),
        "status_code": doc.get("last_status_code"),
        "last_error": doc.get("last_error"),
        "next_attempt_at": when(doc.get("next_attempt_at")) if doc["status"] == ob.PENDING else None,
        "created_at": when(doc.get("created_at")),
        "updated_at": when(doc.get("updated_at")),
        "delivered_at": when(doc.get("delivered_at")),
    }


async def deliveries(
    ctx: Context, subscription_id: str, page: int = 1, page_size: int = 25, status: str | None = None
) -> dict[str, Any]:
    """The delivery log of a subscription, newest first."""
    ctx.require(Permission.webhooks_manage)
    sub = await _load(ctx, subscription_id)
    errors = []
    if page < 1:
        errors.append(field_error("page", "Must be >= 1."))
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        errors.append(field_error("page_size", f"Must be 1..{MAX_PAGE_SIZE}."))
    if status is not None and status not in ob.VISIBLE_STATUSES:
        errors.append(field_error("status", f"One of {', '.join(ob.VISIBLE_STATUSES)}."))
    if errors:
        raise ValidationFailed("Invalid query.", details=errors)
    query: dict[str, Any] = {
        "subscription_id": str(sub.id),
        "status": status if status is not None else {"$in": list(ob.VISIBLE_STATUSES)},
    }
    coll = ctx.ws.db[WebhookDelivery.__collection__]
    cursor = coll.find(query).sort([("created_at", -1), ("_id", -1)]).skip((page - 1) * page_size).limit(page_size)
    data = [delivery_view(doc) for doc in await cursor.to_list()]
    total = await coll.count_documents(query)
    return {"data": data, "meta": {"page": page, "page_size": page_size, "total": total}}


async def send_test(ctx: Context, subscription_id: str) -> dict[str, Any]:
    """Send a sample event to the subscription now (one try, no retries) and say what the target answered."""
    principal = ctx.require(Permission.webhooks_manage)
    sub = await _load(ctx, subscription_id)
    engine = _engine(ctx)
    entity = sub.entity if sub.entity != "*" else "contact"
    sample_id = str(ObjectId())
    sample = {
        "id": sample_id,
        "created_at": iso(utcnow()),
        "updated_at": iso(utcnow()),
        "created_by": principal.user_id,
    }
    event = RecordEvent(
        sub.event,
        ctx.ws.name,
        entity,
        "delete" if sub.event.endswith("_delete") else "create",
        sample,
        actor=principal.user_id,
    )
    body = encode_body(
        event_id=event.id,
        event=event.event,
        entity=entity,
        operation=event.operation,
        record=event.record,
        previous=None,
        occurred_at=event.occurred_at,
        test=True,
    )
    try:
        secret = engine.box.open(sub.secret_sealed)
    except InvalidToken:
        raise Conflict(
            "This subscription's secret cannot be decrypted (the secret key changed); subscribe again.",
            code="webhook_secret_unreadable",
        ) from None
    outcome: Outcome = await engine.direct.send(
        sub.target_url, secret, event.event, event.id, body, engine.policy.timeout
    )
    entry = engine.entry_doc(event, sub, event.id, body, ob.PENDING)
    entry.update(
        key=f"test:{event.id}:{sub.id}",
        status=ob.DELIVERED if outcome.ok else ob.FAILED,
        attempts=1,
        last_status_code=outcome.status,
        last_error=outcome.error,
        delivered_at=utcnow() if outcome.ok else None,
    )
    await ob.Outbox(ctx.ws).insert([entry])
    return {
        "ok": outcome.ok,
        "status_code": outcome.status,
        "error": outcome.error,
        "duration_ms": outcome.duration_ms,
        "event_id": event.id,
    }


def _event_body(event: RecordEvent, *, event_id: str | None = None, name: str | None = None) -> str:
    """The delivery body of ``event`` (or of its sibling ``name`` event with its own ``event_id``)."""
    return encode_body(
        event_id=event_id or event.id,
        event=name or event.event,
        entity=event.entity,
        operation=event.operation,
        record=event.record,
        previous=event.previous,
        occurred_at=event.occurred_at,
    )
