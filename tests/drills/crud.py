"""Mixed CRUD clients for the drills, and the ledger of what the gateway acknowledged.

Each client works on its own records, so the expected final state of every record is known: an
acknowledged create must be readable, an acknowledged update visible, an acknowledged delete gone. A
request that got no answer (timeout, reset connection, 503) leaves its record "uncertain" and is not
checked: the server never promised anything about it.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import aiohttp

PENDING = object()


@dataclass
class Ledger:
    expected: dict[str, dict[str, Any] | None] = field(default_factory=dict)  # id -> fields, None = deleted
    uncertain: set[str] = field(default_factory=set)
    statuses: Counter[int] = field(default_factory=Counter)
    by_op: Counter[str] = field(default_factory=Counter)
    no_answer: Counter[str] = field(default_factory=Counter)  # exception class name -> count
    slowest: float = 0.0
    server_errors: list[tuple[str, int, str]] = field(default_factory=list)  # (op, status, body excerpt)
    stale_reads: list[str] = field(default_factory=list)
    timeline: list[tuple[float, str, int, float]] = field(default_factory=list)  # (start, op, status, seconds)

    @property
    def acknowledged_creates(self) -> int:
        return self.by_op["create:201"]

    def record(self, op: str, status: int, started: float, body: str = "") -> None:
        elapsed = time.monotonic() - started
        self.statuses[status] += 1
        self.by_op[f"{op}:{status}"] += 1
        self.slowest = max(self.slowest, elapsed)
        self.timeline.append((started, op, status, elapsed))
        if status >= 500 and status != 503:
            self.server_errors.append((op, status, body[:300]))


class Clients:
    """``count`` concurrent clients doing create/read/update/delete/list against ``base_url`` until stopped."""

    def __init__(self, base_url: str, token: str, count: int, *, timeout: float = 60.0, seed: int = 0) -> None:
        assert base_url.startswith("http://127.0.0.1:"), "drills target loopback only"
        self.base_url = base_url
        self.headers = {"Authorization": f"Bearer {token}"}
        self.count = count
        self.timeout = timeout
        self.ledger = Ledger()
        self.stopping = asyncio.Event()
        self.seed = seed
        self.tag = uuid.uuid4().hex[:8]

    async def run_for(self, seconds: float) -> Ledger:
        self.stopping.clear()
        # Idle connections are dropped before uvicorn's 5 s keep-alive ends, so a request never goes out on a
        # connection the server is closing at that moment (a client-side race, not a server fault).
        connector = aiohttp.TCPConnector(limit=self.count, keepalive_timeout=2)
        timeout = aiohttp.ClientTimeout(total=self.timeout)
        async with aiohttp.ClientSession(
            self.base_url, connector=connector, timeout=timeout, headers=self.headers
        ) as s:
            tasks = [asyncio.create_task(self._client(s, n)) for n in range(self.count)]
            await asyncio.sleep(seconds)
            self.stopping.set()
            await asyncio.gather(*tasks)
        return self.ledger

    async def _call(
        self, session: aiohttp.ClientSession, op: str, method: str, path: str, **kwargs: Any
    ) -> tuple[int, Any]:
        started = time.monotonic()
        try:
            async with session.request(method, path, **kwargs) as response:
                text = await response.text()
                self.ledger.record(op, response.status, started, text)
                if response.status >= 400 and '"error"' not in text:
                    self.ledger.server_errors.append((op, response.status, "outside the error envelope: " + text[:200]))
                return response.status, (await response.json(content_type=None) if text else None)
        except (aiohttp.ClientError, TimeoutError, ConnectionError) as exc:
            self.ledger.no_answer[f"{op} {type(exc).__name__}: {str(exc)[:120]}"] += 1
            self.ledger.timeline.append((started, op, 0, time.monotonic() - started))
            await asyncio.sleep(0.05)  # a refused connection fails at once: do not spin
            return 0, None

    async def _client(self, session: aiohttp.ClientSession, n: int) -> None:
        rng = random.Random(self.seed * 100_003 + n)
        mine: list[str] = []
        serial = 0
        ledger = self.ledger
        while not self.stopping.is_set():
            serial += 1
            roll = rng.random()
            if roll < 0.35 or not mine:
                fields = {
                    "first_name": f"Drill{n}",
                    "last_name": f"L{serial}",
                    "email_address": f"d{n}-{serial}-{self.tag}@drill.example",
                    "source": "event",
                }
                status, body = await self._call(session, "create", "POST", "/api/records/contact", json=fields)
                if status == 201:
                    ledger.expected[body["id"]] = fields
                    mine.append(body["id"])
            elif roll < 0.65:
                rid = rng.choice(mine)
                status, body = await self._call(session, "read", "GET", f"/api/records/contact/{rid}")
                state = ledger.expected.get(rid)
                fresh = status == 200 and rid not in ledger.uncertain and state is not None
                if fresh and body.get("last_name") != state["last_name"]:  # type: ignore[index]
                    ledger.stale_reads.append(
                        f"{rid}: read {body.get('last_name')!r}, acknowledged {state['last_name']!r}"
                    )
            elif roll < 0.90:
                rid = rng.choice(mine)
                change = {"last_name": f"U{serial}"}
                status, _ = await self._call(session, "update", "PUT", f"/api/records/contact/{rid}", json=change)
                if status == 200 and ledger.expected.get(rid) is not None:
                    ledger.expected[rid] = {**ledger.expected[rid], **change}  # type: ignore[dict-item]
                elif status != 200:
                    ledger.uncertain.add(rid)
            elif roll < 0.95:
                await self._call(session, "list", "GET", "/api/records/contact?page=1&page_size=10")
            else:
                rid = mine.pop(rng.randrange(len(mine)))
                status, _ = await self._call(session, "delete", "DELETE", f"/api/records/contact/{rid}")
                if status == 204:
                    ledger.expected[rid] = None
                else:
                    ledger.uncertain.add(rid)


async def lost_writes(base_url: str, token: str, ledger: Ledger, concurrency: int = 20) -> list[str]:
    """Every acknowledged write, read back: the problems found (empty = nothing lost)."""
    problems: list[str] = []
    sem = asyncio.Semaphore(concurrency)
    headers = {"Authorization": f"Bearer {token}"}
    timeout = aiohttp.ClientTimeout(total=120)

    async def check(session: aiohttp.ClientSession, rid: str, state: dict[str, Any] | None) -> None:
        async with sem, session.get(f"/api/records/contact/{rid}") as response:
            if state is None:
                if response.status != 404:
                    problems.append(f"{rid}: deleted (acknowledged 204) but answers {response.status}")
                return
            if response.status != 200:
                problems.append(f"{rid}: acknowledged create, now {response.status}")
                return
            body = await response.json()
            for key, value in state.items():
                if body.get(key) != value:
                    problems.append(f"{rid}: {key} is {body.get(key)!r}, acknowledged {value!r}")

    async with aiohttp.ClientSession(base_url, headers=headers, timeout=timeout) as session:
        await asyncio.gather(
            *(check(session, rid, state) for rid, state in ledger.expected.items() if rid not in ledger.uncertain)
        )
    return problems


async def login(base_url: str, email: str, password: str) -> str:
    async with (
        aiohttp.ClientSession(base_url) as session,
        session.post("/api/auth/login", json={"email": email, "password": password}) as response,
    ):
        assert response.status == 200, await response.text()
        return str((await response.json())["access_token"])
