"""The durable webhook outbox: one ``webhook_deliveries`` document per event and subscription,
in the workspace's own database.

Life of an entry (see README "Webhooks and hooks"):

- ``stage``: at pre_save / pre_delete, before the record is written, entries for the pre_ and the
  post_ event are inserted as ``staged``;
- ``confirm``: at post_save / post_delete they become ``pending`` (the worker may send them) and the
  post_ entries get the record as stored;
- a crash between the two leaves ``staged`` entries; the worker's recovery sweep later looks at the
  record and confirms them if the write happened, else marks them ``discarded``.

So an event is in the database before the write, and no write that happened loses its events.
``seq`` orders the entries of one record for one subscription (the worker sends them in order).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from bson import ObjectId
from pymongo import UpdateOne
from pymongo.errors import BulkWriteError, DuplicateKeyError

from storage.documents import WebhookClaim, WebhookDelivery, WebhookSubscription
from storage.workspace import WorkspaceStore

Doc = dict[str, Any]
STAGED, PENDING, DELIVERED, FAILED, CANCELLED, DISCARDED = (
    "staged",
    "pending",
    "delivered",
    "failed",
    "cancelled",
    "discarded",
)
VISIBLE_STATUSES = (PENDING, DELIVERED, FAILED, CANCELLED)
MAX_CLAIM_TAKEOVERS = 5


def utcnow() -> datetime:
    return datetime.now(UTC)


def next_seq(phase: int = 0) -> int:
    """A cross-process ordering key: microseconds since the epoch, pre_ (0) before post_ (1) of one write."""
    return time.time_ns() // 1000 * 2 + phase


def record_key(entity: str, record_id: str | None, write_id: str) -> str:
    return f"{entity}:{record_id}" if record_id else f"{entity}:write:{write_id}"


def delivery_key(write_id: str, event: str, subscription_id: str) -> str:
    return f"{write_id}:{event}:{subscription_id}"


class Outbox:
    def __init__(self, ws: WorkspaceStore) -> None:
        self.ws = ws
        self.deliveries = ws.db[WebhookDelivery.__collection__]
        self.subscriptions = ws.db[WebhookSubscription.__collection__]
        self.claims = ws.db[WebhookClaim.__collection__]

    # --- written by the service layer, inside the write's service call ---------------------

    async def insert(self, entries: list[Doc]) -> bool:
        """Insert entries; ones already there (same ``key``) are left as they are.

        Returns True when every entry was new (so the ``_id`` each entry got is the stored one).
        """
        if not entries:
            return True
        try:
            await self.deliveries.insert_many(entries, ordered=False)
        except BulkWriteError as exc:
            if any(err.get("code") != 11000 for err in exc.details.get("writeErrors", [])):
                raise
            return False
        except DuplicateKeyError:
            return False
        return True

    async def confirm(
        self,
        write_id: str,
        entity: str,
        pre_event: str,
        post_event: str,
        post_event_id: str,
        post_body: str,
        record_id: str | None,
        staged: list[tuple[Any, str]] | None = None,
    ) -> int:
        """Make the staged entries of ``write_id`` sendable; the post_ entries get the stored record.

        ``staged`` lists the (``_id``, event) of the entries this process staged: they are then updated by
        ``_id`` (the only lookup FerretDB pushes down) instead of scanning the outbox for ``write_id``.
        """
        now = utcnow()
        seq = next_seq()
        waiting = {"write_id": write_id, "status": {"$in": [STAGED, DISCARDED]}}
        common: Doc = {"status": PENDING, "next_attempt_at": now, "updated_at": now}
        if record_id:  # a create learns its id only now
            common.update(record_id=record_id, record_key=record_key(entity, record_id, write_id))
        if staged is not None:
            post_set = {**common, "seq": seq + 1, "body": post_body, "event_id": post_event_id}
            pre_set = {**common, "seq": seq}
            # FerretDB pushes a filter down only when it is ``_id`` alone: read by ``_id``, check, write by ``_id``.
            # Only the recovery sweep changes a staged entry meanwhile, and only after ``stage_timeout``.
            updates = []
            for oid, event in staged:
                entry = await self.deliveries.find_one({"_id": oid}, {"status": 1})
                if entry is not None and entry.get("status") in (STAGED, DISCARDED):
                    updates.append(UpdateOne({"_id": oid}, {"$set": post_set if event == post_event else pre_set}))
            if not updates:
                return 0
            result = await self.deliveries.bulk_write(updates, ordered=False)
            return result.modified_count
        pre = await self.deliveries.update_many({**waiting, "event": pre_event}, {"$set": {**common, "seq": seq}})
        post = await self.deliveries.update_many(
            {**waiting, "event": post_event},
            {"$set": {**common, "seq": seq + 1, "body": post_body, "event_id": post_event_id}},
        )
        return pre.modified_count + post.modified_count

    # --- the worker -------------------------------------------------------------------------

    async def heads(self, now: datetime, exclude_targets: Iterable[str], limit: int, scan: int = 5000) -> list[Doc]:
        """Due entries that are the earliest pending entry of their record and subscription, in ``seq`` order.

        One scan of the pending entries (without their bodies: ``claim`` re-reads the winner by ``_id``) replaces
        ``due`` plus one ``blocked`` query per candidate, as FerretDB scans the whole collection for each.
        ``scan`` caps the pending entries looked at: they are the earliest ones, so every entry considered also
        sees all that precede it.
        """
        excluded = set(exclude_targets)
        cursor = self.deliveries.find({"status": PENDING}, {"body": 0}).sort([("seq", 1)]).limit(scan)
        seen: set[tuple[str, str]] = set()
        found: list[Doc] = []
        for entry in await cursor.to_list():
            key = (entry["subscription_id"], entry["record_key"])
            if key in seen:
                continue  # an earlier entry of this record and subscription is still to be sent
            seen.add(key)
            if entry["next_attempt_at"] <= now and entry["lease_until"] <= now and entry["target"] not in excluded:
                found.append(entry)
                if len(found) >= limit:
                    break
        return found

    async def claim(self, entry: Doc, now: datetime, lease_seconds: float, worker_id: str) -> Doc | None:
        """Take ``entry`` for ``lease_seconds``; None when another worker holds it (or it is done).

        The claim is the insert of ``webhook_claims`` "<id>:<n>" (n = claims taken so far): of several workers,
        exactly one insert succeeds. A claim whose holder died before recording it is older than the lease and
        is passed over with n + 1. The winner re-reads the entry, so a stale candidate is never sent again.
        """
        lease = timedelta(seconds=lease_seconds)
        n = int(entry.get("claims", 0))
        for _ in range(MAX_CLAIM_TAKEOVERS):
            try:
                await self.claims.insert_one(
                    {"_id": f"{entry['_id']}:{n}", "entry_id": str(entry["_id"]), "worker": worker_id, "at": now}
                )
            except DuplicateKeyError:
                held = await self.claims.find_one({"_id": f"{entry['_id']}:{n}"})
                if held is None or held["at"] > now - lease:
                    return None  # someone holds it now (or it just finished)
                n += 1
                continue
            fresh = await self.deliveries.find_one({"_id": entry["_id"]})
            if (
                fresh is None
                or fresh["status"] != PENDING
                or int(fresh.get("claims", 0)) > n
                or fresh["next_attempt_at"] > now
                or fresh["lease_until"] > now
            ):
                return None
            change = {"claims": n + 1, "lease_until": now + lease, "claimed_by": worker_id}
            await self.deliveries.update_one({"_id": entry["_id"]}, {"$set": change})
            return {**fresh, **change}
        return None

    async def release(self, entry_id: Any, worker_id: str) -> None:
        """Give back a claim without a result (the worker is stopping)."""
        await self.deliveries.update_one(
            {"_id": entry_id, "status": PENDING, "claimed_by": worker_id}, {"$set": {"lease_until": utcnow()}}
        )

    async def finish(
        self, entry: Doc, status: str, *, attempts: int, status_code: int | None, error: str | None
    ) -> None:
        now = utcnow()
        change: Doc = {
            "status": status,
            "attempts": attempts,
            "last_status_code": status_code,
            "last_error": error,
            "lease_until": now,
            "updated_at": now,
        }
        if status == DELIVERED:
            change["delivered_at"] = now
        # By ``_id`` alone (FerretDB scans for any other filter): the entry is ours while we hold its claim.
        await self.deliveries.update_one({"_id": entry["_id"]}, {"$set": change})
        await self.claims.delete_many({"entry_id": str(entry["_id"])})
        if not entry.get("attempts"):
            return  # never rescheduled, so it pushed no later entry back (see ``reschedule``)
        # Entries queued behind this one for the same record may go now.
        await self.deliveries.update_many(
            {
                "subscription_id": entry["subscription_id"],
                "record_key": entry["record_key"],
                "status": PENDING,
                "attempts": 0,
                "seq": {"$gt": entry["seq"]},
                "next_attempt_at": {"$gt": now},
            },
            {"$set": {"next_attempt_at": now}},
        )

    async def reschedule(
        self, entry: Doc, when: datetime, *, attempts: int, status_code: int | None, error: str | None
    ) -> None:
        now = utcnow()
        await self.deliveries.update_one(
            {"_id": entry["_id"]},  # ours while we hold its claim; ``_id`` alone is what FerretDB pushes down
            {
                "$set": {
                    "attempts": attempts,
                    "next_attempt_at": when,
                    "last_status_code": status_code,
                    "last_error": error,
                    "lease_until": now,
                    "updated_at": now,
                }
            },
        )
        # Later entries of the same record wait for this one: keep them out of the due scan until then.
        await self.deliveries.update_many(
            {
                "subscription_id": entry["subscription_id"],
                "record_key": entry["record_key"],
                "status": PENDING,
                "seq": {"$gt": entry["seq"]},
                "next_attempt_at": {"$lt": when},
            },
            {"$set": {"next_attempt_at": when}},
        )

    async def subscription(self, subscription_id: str) -> Doc | None:
        try:
            oid = ObjectId(subscription_id)
        except Exception:
            return None
        return await self.subscriptions.find_one({"_id": oid})

    async def cancel_subscription(self, subscription_id: str, reason: str) -> None:
        """Stop every entry of a subscription that is not sent yet (it was deleted or answered 410)."""
        now = utcnow()
        await self.deliveries.update_many(
            {"subscription_id": subscription_id, "status": {"$in": [STAGED, PENDING]}},
            {"$set": {"status": CANCELLED, "last_error": reason, "updated_at": now, "lease_until": now}},
        )

    async def unsubscribe(self, subscription_id: str, reason: str) -> None:
        try:
            await self.subscriptions.delete_one({"_id": ObjectId(subscription_id)})
        finally:
            await self.cancel_subscription(subscription_id, reason)

    # --- recovery ---------------------------------------------------------------------------

    async def stale_staged(self, before: datetime, limit: int = 200) -> list[Doc]:
        return await self.deliveries.find({"status": STAGED, "created_at": {"$lt": before}}).limit(limit).to_list()

    async def resolve_staged(self, entry: Doc, happened: bool, update: Doc | None = None) -> None:
        now = utcnow()
        change: Doc = {"updated_at": now}
        if happened:
            change.update({"status": PENDING, "next_attempt_at": now, **(update or {})})
        else:
            change.update({"status": DISCARDED, "last_error": "the write did not happen"})
        await self.deliveries.update_one({"_id": entry["_id"], "status": STAGED}, {"$set": change})
