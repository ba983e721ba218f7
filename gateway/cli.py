"""``hari-gateway``: serve the API, and the admin commands that run beside it."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import signal
import sys
import threading
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager

from gateway.config import Settings
from gateway.embedded_db import EmbeddedDatabaseError, EmbeddedFerretDB, running_instance
from gateway.errors import ApiError
from gateway.logs import configure_logging


@contextmanager
def _database(settings: Settings, supervise: bool = False) -> Iterator[str]:
    """The MongoDB URL to use: HARI_MONGODB_URL, a running embedded FerretDB, or a new one for this command."""
    if settings.mongodb_url:
        yield settings.mongodb_url
        return
    data_dir = settings.data_dir / "ferretdb"
    existing = running_instance(data_dir)
    if existing:
        yield existing
        return
    db = EmbeddedFerretDB(data_dir, settings.cache_dir, settings.ferretdb_bin)
    url = db.start()
    stop = threading.Event()
    if supervise:
        threading.Thread(
            target=lambda: [db.ensure_running() for _ in iter(lambda: stop.wait(1.0), True)], daemon=True
        ).start()
    try:
        yield url
    finally:
        stop.set()
        db.stop()


def _exit_cleanly(signum: int, frame: object) -> None:
    raise SystemExit(0)


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    host = args.host or settings.host
    port = args.port or settings.port
    workers = args.workers or settings.workers
    # uvicorn finishes in-flight requests on SIGTERM/SIGINT, restores the previous handlers and re-raises the
    # signal; these handlers turn that into a normal exit so the embedded database below is stopped too.
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, _exit_cleanly)
    with _database(settings, supervise=True) as url:
        os.environ["HARI_MONGODB_URL"] = url  # workers connect to the server started here
        uvicorn.run(
            "gateway.app:create_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_config=None,
            access_log=False,
            timeout_graceful_shutdown=settings.graceful_shutdown_seconds,
            proxy_headers=True,
        )
    return 0


def _with_runtime(settings: Settings, work: Callable[..., Awaitable[None]]) -> int:
    from gateway.passwords import Passwords
    from gateway.runtime import Runtime
    from storage.mongo import Storage

    async def run(url: str) -> None:
        storage = Storage(url, settings.db_prefix, timeout_ms=settings.mongodb_timeout_ms)
        try:
            await storage.init()
            await work(Runtime(settings=settings, storage=storage, passwords=Passwords(settings)))
        finally:
            await storage.close()

    with _database(settings) as url:
        asyncio.run(run(url))
    return 0


def _create_user(args: argparse.Namespace, settings: Settings) -> int:
    from gateway.services.users import create_user_in
    from gateway.services.workspaces import create_workspace, open_workspace
    from storage.documents import Role

    password = args.password or os.environ.get("HARI_NEW_USER_PASSWORD") or getpass.getpass("Password: ")
    workspace = args.workspace or settings.default_workspace

    async def work(runtime):  # type: ignore[no-untyped-def]
        if workspace == settings.default_workspace:
            await create_workspace(runtime, workspace)
        ws = await open_workspace(runtime, workspace)
        user = await create_user_in(
            ws, runtime.passwords, email=args.email, password=password, role=Role(args.role), name=args.name
        )
        print(f"created {user.role.value} {user.email} (id {user.id}) in workspace '{workspace}'")

    return _with_runtime(settings, work)


def _create_workspace(args: argparse.Namespace, settings: Settings) -> int:
    from gateway.services.users import create_user_in
    from gateway.services.workspaces import create_workspace
    from storage.documents import Role, User

    password = None
    if args.admin_email:
        password = (
            args.admin_password or os.environ.get("HARI_NEW_USER_PASSWORD") or getpass.getpass("Admin password: ")
        )

    async def work(runtime):  # type: ignore[no-untyped-def]
        # With --admin-email, that user is the workspace's admin, not HARI_ADMIN_EMAIL.
        ws = await create_workspace(runtime, args.name, bootstrap_admin=not args.admin_email)
        print(f"workspace '{ws.name}' ready (database {ws.db.name})")
        if args.admin_email:
            user = await create_user_in(
                ws, runtime.passwords, email=args.admin_email, password=password, role=Role.admin
            )
            print(f"created admin {user.email} in workspace '{ws.name}'")
        elif await ws.model(User).find_one() is None:
            print(f"no user yet: hari-gateway create-user --workspace {ws.name} --email E --role admin")

    return _with_runtime(settings, work)


def _list_workspaces(args: argparse.Namespace, settings: Settings) -> int:
    async def work(runtime):  # type: ignore[no-untyped-def]
        for name in await runtime.storage.workspace_names():
            print(name)

    return _with_runtime(settings, work)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hari-gateway", description="The HARi REST + GraphQL gateway.")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="serve the API (embedded FerretDB unless HARI_MONGODB_URL is set)")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--workers", type=int)
    serve.set_defaults(handler=_serve)

    user = sub.add_parser("create-user", help="create a user in a workspace")
    user.add_argument("--email", required=True)
    user.add_argument("--password", help="omit to be prompted (or set HARI_NEW_USER_PASSWORD)")
    user.add_argument("--role", choices=["admin", "editor", "viewer"], default="admin")
    user.add_argument("--name")
    user.add_argument("--workspace", help="defaults to HARI_DEFAULT_WORKSPACE")
    user.set_defaults(handler=_create_user)

    ws = sub.add_parser("create-workspace", help="create a workspace (its database and CRM schema)")
    ws.add_argument("name")
    ws.add_argument("--admin-email")
    ws.add_argument("--admin-password")
    ws.set_defaults(handler=_create_workspace)

    lw = sub.add_parser("list-workspaces", help="list workspaces")
    lw.set_defaults(handler=_list_workspaces)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings = Settings()
    configure_logging(settings.log_level)
    try:
        return int(args.handler(args, settings))
    except EmbeddedDatabaseError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except ApiError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        for detail in exc.details:
            print(f"  {detail.get('field')}: {detail.get('message')}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
