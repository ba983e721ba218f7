"""The delivery worker: polls every workspace's outbox, claims due entries with a lease and sends them.

- Several gateway processes share one database: an entry is sent by whoever claims it
  (``find_one_and_update`` on status + ``lease_until``); a process that dies mid-send lets its
  lease run out and another process sends the entry again (at-least-once).
- FerretDB has no change streams, so the worker polls (``poll_interval``) and is woken at once
  in-process when an event is stored or a send finishes.
- One slow or dead target never delays others: each target (scheme://host:port) has its own
  concurrency bound and targets at their bound are left out of the scan; the global bound
  caps the whole process.
- Entries of one record for one subscription go out one at a time in write order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import random
import socket
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import orjson

from hooks import outbox as ob
from hooks.delivery import Outcome, Sender, encode_body
from hooks.sealing import InvalidToken, SecretBox
from storage.mongo import Storage
from storage.records import parse_id, to_api
from storage.workspace import WorkspaceStore

log = logging.getLogger("hari.webhooks")
MAX_RETRY_AFTER_SECONDS = 24 * 3600
JITTER = 0.2  # each backoff step is scaled by a random factor in [1 - JITTER, 1 + JITTER]
WORKSPACE_REFRESH_SECONDS = 10.0
# Passes start at most this often: each scans the outbox (a full scan on FerretDB), and a wake per write
# would otherwise keep the database busy under write load. Deliveries wait at most this much longer.
MIN_PASS_GAP_SECONDS = 0.1
SYSTEM_FIELDS = frozenset({"id", "created_at", "updated_at", "created_by", "updated_by", "_score"})


@dataclass
class Policy:
    retry_schedule: list[float] = field(default_factory=lambda: [5, 30, 120, 600, 3600, 21600])
    timeout: float = 10.0
    lease: float = 60.0
    poll_interval: float = 1.0
    stage_timeout: float = 30.0
    concurrency: int = 32
    per_target: int = 4

    @property
    def max_attempts(self) -> int:
        return len(self.retry_schedule) + 1

    def backoff(self, attempts: int, retry_after: float | None = None) -> float:
        """Seconds to wait after the ``attempts``-th failed try, with jitter, never before ``Retry-After``."""
        base = max(0.0, self.retry_schedule[min(attempts, len(self.retry_schedule)) - 1])
        delay = base * random.uniform(1 - JITTER, 1 + JITTER)
        if retry_after is not None:
            delay = max(delay, min(retry_after, MAX_RETRY_AFTER_SECONDS))
        return delay


def write_happened(operation: str, intended: dict[str, Any] | None, current: dict[str, Any] | None) -> bool:
    """Whether the record's current state shows that a write staged with ``intended`` was applied."""
    if operation == "delete":
        return current is None
    if current is None:
        return False
    if operation == "create":
        return True
    stored = to_api(current)
    for name, value in (intended or {}).items():
        if name in SYSTEM_FIELDS:
            continue
        if orjson.dumps(stored.get(name), default=str) != orjson.dumps(value, default=str):
            return False
    return True


class DeliveryWorker:
    def __init__(self, storage: Storage, sender: Sender, box: SecretBox, policy: Policy) -> None:
        self.storage = storage
        self.sender = sender
        self.box = box
        self.policy = policy
        self.id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._wake = asyncio.Event()
        self._inflight: Counter[str] = Counter()
        self._tasks: set[asyncio.Task[None]] = set()
        self._claimed: dict[Any, ob.Outbox] = {}  # entry id -> its outbox, while being sent
        self._main: asyncio.Task[None] | None = None
        self._next_due = math.inf
        self._names: list[str] = []
        self._names_at = -math.inf
        self._swept_at = -math.inf
        self.on_unsubscribe: Callable[[str], None] | None = None  # told the workspace of a 410 unsubscribe

    # --- lifecycle --------------------------------------------------------------------------

    def start(self) -> None:
        if self._main is None:
            self._main = asyncio.create_task(self._run(), name="hari-webhook-worker")

    async def stop(self) -> None:
        """Stop claiming; in-flight sends are cancelled and their leases let another process retry them."""
        if self._main is not None:
            self._main.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._main
            self._main = None
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        # Hand the interrupted deliveries back at once instead of letting their leases run out.
        for oid, box in list(self._claimed.items()):
            with contextlib.suppress(Exception):
                await box.release(oid, self.id)
        self._claimed.clear()

    def wake(self, workspace: str | None = None) -> None:
        if workspace is not None and workspace not in self._names:
            self._names_at = -math.inf  # a new workspace: refresh the list on the next pass
        self._wake.set()

    async def _run(self) -> None:
        last = -math.inf
        while True:
            gap = MIN_PASS_GAP_SECONDS - (time.monotonic() - last)
            if gap > 0:
                await asyncio.sleep(gap)
            last = time.monotonic()
            self._wake.clear()
            try:
                claimed = await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("webhook worker pass failed")
                claimed = 0
                await asyncio.sleep(self.policy.poll_interval)
            if claimed and self._free() > 0:
                continue
            wait = min(self.policy.poll_interval, max(0.0, self._next_due - time.monotonic()))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=max(wait, 0.01))

    def _free(self) -> int:
        return self.policy.concurrency - sum(self._inflight.values())

    # --- one pass over every workspace -------------------------------------------------------

    async def _workspace_names(self) -> list[str]:
        if time.monotonic() - self._names_at > WORKSPACE_REFRESH_SECONDS:
            self._names = await self.storage.workspace_names()
            self._names_at = time.monotonic()
        return self._names

    async def run_once(self) -> int:
        """Recover stale staged entries (now and then) and claim what is due; returns how many were claimed."""
        self._next_due = math.inf
        sweep = time.monotonic() - self._swept_at >= min(self.policy.stage_timeout / 2, 10.0)
        if sweep:
            self._swept_at = time.monotonic()
        claimed = 0
        for name in await self._workspace_names():
            ws = await self.storage.workspace(name)
            box = ob.Outbox(ws)
            if sweep:
                await self.recover(ws, box)
            claimed += await self._claim_due(ws, box)
        return claimed

    async def _claim_due(self, ws: WorkspaceStore, box: ob.Outbox) -> int:
        claimed = 0
        while self._free() > 0:
            now = ob.utcnow()
            saturated = [t for t, n in self._inflight.items() if n >= self.policy.per_target]
            candidates = await box.heads(now, saturated, limit=self._free() * 4 + 16)
            progress = 0
            for entry in candidates:
                if self._free() <= 0:
                    break
                if self._inflight[entry["target"]] >= self.policy.per_target:
                    continue
                got = await box.claim(entry, now, self.policy.lease, self.id)
                if got is None:
                    continue
                self._inflight[got["target"]] += 1
                self._claimed[got["_id"]] = box
                task = asyncio.create_task(self._deliver(box, got))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
                progress += 1
            claimed += progress
            if not progress:
                break
        return claimed

    # --- one send ----------------------------------------------------------------------------

    async def _deliver(self, box: ob.Outbox, entry: dict[str, Any]) -> None:
        try:
            await self._attempt(box, entry)
            self._claimed.pop(entry["_id"], None)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("webhook delivery %s failed unexpectedly", entry.get("_id"))
            self._claimed.pop(entry["_id"], None)  # its lease runs out and it is tried again
        finally:
            self._inflight[entry["target"]] -= 1
            if self._inflight[entry["target"]] <= 0:
                del self._inflight[entry["target"]]
            self._wake.set()

    async def _attempt(self, box: ob.Outbox, entry: dict[str, Any]) -> None:
        sub = await box.subscription(entry["subscription_id"])
        if sub is None:
            await box.finish(entry, ob.CANCELLED, attempts=entry["attempts"], status_code=None, error="unsubscribed")
            return
        try:
            secret = self.box.open(sub["secret_sealed"])
        except InvalidToken:
            error = "the signing secret cannot be decrypted (HARI_WEBHOOK_SECRET_KEY or the JWT secret changed)"
            await box.finish(entry, ob.FAILED, attempts=entry["attempts"], status_code=None, error=error)
            return
        outcome = await self.sender.send(
            sub["target_url"], secret, entry["event"], entry["event_id"], entry["body"], self.policy.timeout
        )
        await self.settle(box, entry, outcome)

    async def settle(self, box: ob.Outbox, entry: dict[str, Any], outcome: Outcome) -> None:
        attempts = entry["attempts"] + 1
        if outcome.ok:
            await box.finish(entry, ob.DELIVERED, attempts=attempts, status_code=outcome.status, error=None)
        elif outcome.gone:
            log.info("webhook target answered 410 Gone: unsubscribing %s", entry["subscription_id"])
            await box.finish(
                entry, ob.FAILED, attempts=attempts, status_code=410, error="410 Gone: the subscription was removed"
            )
            await box.unsubscribe(entry["subscription_id"], "unsubscribed: the target answered 410 Gone")
            if self.on_unsubscribe is not None:
                self.on_unsubscribe(box.ws.name)
        elif outcome.retryable and attempts < self.policy.max_attempts:
            delay = self.policy.backoff(attempts, outcome.retry_after)
            self._next_due = min(self._next_due, time.monotonic() + delay)
            when = ob.utcnow() + timedelta(seconds=delay)
            await box.reschedule(entry, when, attempts=attempts, status_code=outcome.status, error=outcome.error)
        else:
            await box.finish(entry, ob.FAILED, attempts=attempts, status_code=outcome.status, error=outcome.error)

    # --- recovery of entries whose write outcome is unknown ----------------------------------

    async def recover(self, ws: WorkspaceStore, box: ob.Outbox) -> int:
        """Confirm or discard staged entries older than ``stage_timeout`` by looking at the record."""
        before = ob.utcnow() - timedelta(seconds=self.policy.stage_timeout)
        stale = await box.stale_staged(before)
        decided: dict[str, tuple[bool, dict[str, Any] | None]] = {}
        for entry in stale:
            write_id = entry["write_id"]
            body = orjson.loads(entry["body"])
            if write_id not in decided:
                decided[write_id] = await self._decide(ws, entry, body)
            happened, current = decided[write_id]
            update: dict[str, Any] = {"seq": ob.next_seq(1 if entry["event"].startswith("post_") else 0)}
            if happened and entry["event"].startswith("post_"):
                record = to_api(current) if current is not None else None
                update["event_id"] = uuid.uuid4().hex
                update["body"] = encode_body(
                    event_id=update["event_id"],
                    event=entry["event"],
                    entity=entry["entity"],
                    operation=entry["operation"],
                    record=record,
                    previous=body.get("previous"),
                    occurred_at=entry["created_at"],
                )
            await box.resolve_staged(entry, happened, update)
        if stale:
            log.info("webhook recovery: %d staged entries resolved in workspace %s", len(stale), ws.name)
            self._wake.set()
        return len(stale)

    async def _decide(
        self, ws: WorkspaceStore, entry: dict[str, Any], body: dict[str, Any]
    ) -> tuple[bool, dict[str, Any] | None]:
        oid = parse_id(entry.get("record_id") or "")
        if oid is None:  # no id: the write cannot be checked (and a create without an id never reached post)
            return False, None
        current = await ws.records(entry["entity"]).get(oid)
        return write_happened(entry["operation"], body.get("record"), current), current
