"""Seed a workspace with N contacts, fast: bulk ``insert_many`` straight into the record collection.

The workspace itself (database, CRM schema, bootstrap admin, and whatever indexes the gateway creates with
them) is made by the gateway's own service, so the bench measures the collections the gateway would have
made; only the records bypass the API, in the gateway's stored shape (``storage.records``).

    python -m bench.seed --url mongodb://127.0.0.1:27017/ --prefix bench --workspace s100k --count 100000
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from tqdm import tqdm

from gateway.config import Settings
from gateway.passwords import Passwords
from gateway.runtime import Runtime
from gateway.services.workspaces import create_workspace
from storage.mongo import Storage

ADMIN_EMAIL = "bench@example.com"
ADMIN_PASSWORD = "bench-password-1"
SOURCES = ("website", "referral", "event", "outbound", "import", "other")
FIRST = ("Ada", "Alan", "Grace", "Linus", "Barbara", "Ken", "Margaret", "Dennis", "Frances", "Edsger", "Radia", "Tim")
LAST = tuple(
    f"{stem}{suffix}"
    for stem in ("Lovelace", "Turing", "Hopper", "Liskov", "Thompson")
    for suffix in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
)
BATCH = 5000
SEEDED_COLLECTION = "bench_seeded"


def contact(i: int, rng: random.Random, when: datetime, actor: str) -> dict[str, Any]:
    """Contact number ``i`` as the gateway stores it (see storage.records: fields at top level)."""
    source = SOURCES[rng.randrange(len(SOURCES))]
    has_phone = rng.random() < 0.6
    score = 10 + (5 if has_phone else 0) + {"referral": 15, "website": 5}.get(source, 0)
    doc: dict[str, Any] = {
        "first_name": FIRST[rng.randrange(len(FIRST))],
        "last_name": LAST[rng.randrange(len(LAST))],
        "email_address": f"c{i}@seed.example",
        "source": source,
        "created_at": when,
        "updated_at": when,
        "created_by": actor,
        "updated_by": actor,
        "_score": score,
        "_version": 1,
    }
    if has_phone:
        doc["phone"] = f"+3361{i:07d}"
    return doc


def settings_for(url: str, prefix: str) -> Settings:
    return Settings(  # type: ignore[call-arg]
        _env_file=None,
        mongodb_url=url,
        db_prefix=prefix,
        admin_email=ADMIN_EMAIL,
        admin_password=ADMIN_PASSWORD,
    )


async def seed(
    url: str, prefix: str, workspace: str, count: int, *, fresh: bool = False, progress: bool = True
) -> dict[str, Any]:
    """Make ``workspace`` hold at least ``count`` contacts (topping up); ``fresh`` empties it first."""
    settings = settings_for(url, prefix)
    storage = Storage(url, prefix, timeout_ms=10000)
    try:
        await storage.init()
        runtime = Runtime(settings=settings, storage=storage, passwords=Passwords(settings))
        ws = await create_workspace(runtime, workspace)
        collection = ws.records("contact").collection
        # How many this command seeded before: counting a big collection takes minutes on FerretDB.
        marker = ws.db[SEEDED_COLLECTION]
        if fresh:
            await collection.delete_many({})
            await marker.delete_many({})
        seeded = await marker.find_one({"_id": "contact"})
        have = int(seeded["count"]) if seeded else await collection.count_documents({})
        started = time.perf_counter()
        rng = random.Random(f"{workspace}-{have}")
        base = datetime(2025, 1, 1, tzinfo=UTC)
        with tqdm(
            total=count, initial=min(have, count), unit="rec", desc=f"seed {workspace}", disable=not progress
        ) as bar:
            i = have
            while i < count:
                n = min(BATCH, count - i)
                docs = [contact(j, rng, base + timedelta(seconds=j), "seed") for j in range(i, i + n)]
                await collection.insert_many(docs, ordered=False)
                i += n
                await marker.update_one({"_id": "contact"}, {"$set": {"count": i}}, upsert=True)
                bar.update(n)
        seconds = time.perf_counter() - started
        return {
            "workspace": workspace,
            "count": max(have, count),
            "inserted": max(0, count - have),
            "seconds": round(seconds, 2),
            "indexes": sorted(idx["name"] for idx in await (await collection.list_indexes()).to_list()),
        }
    finally:
        await storage.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.seed", description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="MongoDB URL (the gateway's HARI_MONGODB_URL)")
    parser.add_argument("--prefix", default="hari", help="the gateway's HARI_DB_PREFIX")
    parser.add_argument("--workspace", default="default")
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--fresh", action="store_true", help="delete the workspace's contacts first")
    args = parser.parse_args(argv)
    print(asyncio.run(seed(args.url, args.prefix, args.workspace, args.count, fresh=args.fresh)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
