"""Profile the gateway's hot paths in-process with pyinstrument: GET one, list with filter+sort, create.

    .venv-bench/bin/python -m bench.profile [--requests 300] [--path get_one]

The app runs under its real lifespan on a throwaway embedded FerretDB; requests go through the whole ASGI
stack (middleware, routing, auth, services, storage) via httpx's ASGI transport, one at a time, so the
profile shows where the gateway's own time goes. Prints requests/s per path and the profile text.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

import httpx
from asgi_lifespan import LifespanManager
from pyinstrument import Profiler

from bench.seed import ADMIN_EMAIL, ADMIN_PASSWORD, seed, settings_for
from gateway.app import create_app
from gateway.embedded_db import EmbeddedFerretDB

ROOT = Path(__file__).resolve().parents[1]
PATHS = {
    "get_one": ("GET", "/api/records/contact/{id}", None),
    "list": ("GET", "/api/records/contact?filter=source,eq,website&sort=last_name,asc&page_size=25", None),
    "create": ("POST", "/api/records/contact", {"first_name": "P", "email_address": "p{n}@profile.example"}),
}


async def profile(url: str, names: list[str], requests: int, show: bool) -> dict[str, float]:
    await seed(url, "prof", "default", 300, fresh=True, progress=False)
    settings = settings_for(url, "prof")
    settings.rate_limit_authenticated = "1000000000/minute"
    settings.log_level = "WARNING"
    app = create_app(settings)
    rates: dict[str, float] = {}
    async with LifespanManager(app, startup_timeout=60) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            login = await http.post("/api/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
            http.headers["Authorization"] = f"Bearer {login.json()['access_token']}"
            some = (await http.get("/api/records/contact?page_size=1")).json()["data"][0]["id"]
            for name in names:
                method, path, body = PATHS[name]
                profiler = Profiler(async_mode="enabled")
                count = requests if name != "list" else max(10, requests // 10)
                started = time.perf_counter()
                with profiler:
                    for n in range(count):
                        payload = {k: v.replace("{n}", f"{n}-{started}") for k, v in body.items()} if body else None
                        response = await http.request(method, path.replace("{id}", some), json=payload)
                        assert response.status_code < 300, response.text
                rates[name] = round(count / (time.perf_counter() - started), 1)
                print(f"{name}: {rates[name]} req/s in-process, one at a time")
                if show:
                    print(profiler.output_text(unicode=True, color=False, show_all=False, time="percent_of_total"))
    return rates


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--path", action="append", choices=sorted(PATHS), help="repeatable; default all")
    parser.add_argument("--quiet", action="store_true", help="rates only, no profile text")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="hari-profile-") as tmp:
        db = EmbeddedFerretDB(Path(tmp), ROOT / ".cache")
        try:
            asyncio.run(profile(db.start(), args.path or list(PATHS), args.requests, not args.quiet))
        finally:
            db.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
