"""The embedded default database: a supervised FerretDB (SQLite backend) on a free loopback port.

The gateway and the test suite both start FerretDB through this module, so what the
tests exercise is what ``make run`` runs.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

FERRETDB_MODULE = "github.com/FerretDB/FerretDB"
FERRETDB_VERSION = "v1.24.2"

ENDPOINT_FILE = "endpoint.json"

log = logging.getLogger("hari.embedded_db")


class EmbeddedDatabaseError(RuntimeError):
    """FerretDB could not be found, built or started; the message says what to do."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _missing_go_message(binary: Path) -> str:
    return (
        f"FerretDB {FERRETDB_VERSION} is not installed at {binary} and Go is not on PATH to build it.\n"
        "Either install Go 1.22 or newer (Debian/Ubuntu: `apt-get install golang-go`; "
        "other systems: https://go.dev/dl/), after which the gateway builds FerretDB itself,\n"
        "or set HARI_FERRETDB_BIN to an existing ferretdb binary,\n"
        "or set HARI_MONGODB_URL=mongodb://HOST:27017 to use a MongoDB server you run yourself."
    )


def build_ferretdb(target: Path, go: str | None = None) -> Path:
    """Build FerretDB from the Go module proxy into ``target``.

    ``go install ...@v1.24.2`` produces a binary that panics at start (its
    ``build/version/version.txt`` is generated in FerretDB's own release pipeline and
    is empty in the module), so the module source is downloaded, that file written,
    and the same ``cmd/ferretdb`` package built with ``go build``.
    """
    go = go or shutil.which("go")
    if not go:
        raise EmbeddedDatabaseError(_missing_go_message(target))
    target.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "CGO_ENABLED": "0", "GOFLAGS": "-mod=mod"}
    log.info("building FerretDB %s into %s (first run only, about a minute)", FERRETDB_VERSION, target)
    try:
        out = subprocess.run(
            [go, "mod", "download", "-json", f"{FERRETDB_MODULE}@{FERRETDB_VERSION}"],
            check=True,
            capture_output=True,
            text=True,
            env=env,
            timeout=900,
        )
        source = Path(json.loads(out.stdout)["Dir"])
        with tempfile.TemporaryDirectory(prefix="ferretdb-build-") as tmp:
            work = Path(tmp) / "src"
            shutil.copytree(source, work, copy_function=shutil.copyfile)  # drop the cache's read-only modes
            version_dir = work / "build" / "version"
            version_dir.chmod(0o755)
            (version_dir / "version.txt").write_text(FERRETDB_VERSION + "\n")
            partial = target.with_suffix(".partial")
            subprocess.run(
                [go, "build", "-trimpath", "-o", str(partial), "./cmd/ferretdb"],
                check=True,
                capture_output=True,
                text=True,
                env=env,
                cwd=work,
                timeout=1800,
            )
            partial.replace(target)
    except subprocess.CalledProcessError as exc:
        raise EmbeddedDatabaseError(
            f"building FerretDB {FERRETDB_VERSION} with {go} failed:\n{exc.stderr[-4000:]}\n"
            "Set HARI_MONGODB_URL to use an existing MongoDB server instead."
        ) from exc
    return target


def find_or_build_ferretdb(cache_dir: Path, explicit: Path | None = None, go: str | None = None) -> Path:
    """The ferretdb binary to run: an explicit path, the project cache, or a fresh build."""
    if explicit is not None:
        if not explicit.is_file():
            raise EmbeddedDatabaseError(f"HARI_FERRETDB_BIN={explicit} does not exist.")
        return explicit
    target = cache_dir.resolve() / "bin" / "ferretdb"
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.parent / ".build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one build even when several processes start at once
        if target.is_file():
            return target
        return build_ferretdb(target, go=go)


class EmbeddedFerretDB:
    """One FerretDB process: start, wait until it answers, restart if it dies, stop."""

    def __init__(self, data_dir: Path, cache_dir: Path, binary: Path | None = None, port: int | None = None) -> None:
        self.data_dir = data_dir.resolve()
        self.cache_dir = cache_dir
        self.explicit_binary = binary
        self.port = port
        self.process: subprocess.Popen[bytes] | None = None
        self._log_path = self.data_dir / "ferretdb.log"

    @property
    def url(self) -> str:
        return f"mongodb://127.0.0.1:{self.port}/"

    def start(self, timeout: float = 30.0) -> str:
        binary = find_or_build_ferretdb(self.cache_dir, self.explicit_binary)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self.port is None:
            self.port = free_port()
        args = [
            str(binary),
            "--handler=sqlite",
            f"--sqlite-url=file:{self.data_dir}/",
            f"--state-dir={self.data_dir}",
            f"--listen-addr=127.0.0.1:{self.port}",
            "--debug-addr=-",
            "--telemetry=disable",
            "--log-level=warn",
        ]
        log_file = open(self._log_path, "ab")
        self.process = subprocess.Popen(args, stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        log_file.close()
        self._wait_until_answering(timeout)
        (self.data_dir / ENDPOINT_FILE).write_text(json.dumps({"pid": self.process.pid, "port": self.port}))
        log.info("embedded FerretDB %s answering at %s (data in %s)", FERRETDB_VERSION, self.url, self.data_dir)
        return self.url

    def _wait_until_answering(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise EmbeddedDatabaseError(
                    f"FerretDB exited with code {self.process.returncode} at start:\n{self.log_tail()}"
                )
            if _answers(self.port or 0):
                return
            time.sleep(0.05)
        self.stop()
        raise EmbeddedDatabaseError(f"FerretDB did not answer within {timeout:.0f}s:\n{self.log_tail()}")

    def log_tail(self, size: int = 3000) -> str:
        with contextlib.suppress(OSError):
            return self._log_path.read_bytes()[-size:].decode(errors="replace")
        return ""

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def ensure_running(self) -> bool:
        """Restart on the same port if the process died. True when a restart happened."""
        if self.process is None or self.alive():
            return False
        log.error("embedded FerretDB exited with code %s; restarting", self.process.returncode)
        self.start()
        return True

    def stop(self, timeout: float = 10.0) -> None:
        proc, self.process = self.process, None
        if proc is None or proc.poll() is not None:
            return
        with contextlib.suppress(OSError):
            (self.data_dir / ENDPOINT_FILE).unlink()
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def running_instance(data_dir: Path) -> str | None:
    """The URL of an embedded FerretDB already serving ``data_dir`` (a running gateway's), if any.

    CLI commands use it instead of starting a second server on the same SQLite files.
    """
    try:
        info = json.loads((data_dir.resolve() / ENDPOINT_FILE).read_text())
        os.kill(int(info["pid"]), 0)
    except (OSError, ValueError, KeyError):
        return None
    port = int(info["port"])
    return f"mongodb://127.0.0.1:{port}/" if _answers(port) else None


def _answers(port: int) -> bool:
    """True once the port accepts a connection and answers a ``ping`` over the wire protocol."""
    from pymongo import MongoClient
    from pymongo.errors import PyMongoError

    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            pass
    except OSError:
        return False
    client: MongoClient[dict[str, object]] = MongoClient(
        f"mongodb://127.0.0.1:{port}/", serverSelectionTimeoutMS=500, connectTimeoutMS=500
    )
    try:
        client.admin.command("ping")
        return True
    except PyMongoError:
        return False
    finally:
        client.close()
