"""Run `hari-gateway` admin commands as a separate process against the test database."""

from __future__ import annotations

import os
import subprocess
import sys

from gateway.embedded_db import EmbeddedFerretDB
from tests.conftest import ROOT


def run_cli(
    ferretdb: EmbeddedFerretDB, db_prefix: str, *args: str, **extra_env: str
) -> subprocess.CompletedProcess[str]:
    """The CLI with only this test's settings (the caller's own HARI_ variables are dropped)."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("HARI_")},
        "HARI_MONGODB_URL": ferretdb.url,
        "HARI_DB_PREFIX": db_prefix,
        "HARI_ARGON2_TIME_COST": "1",
        "HARI_ARGON2_MEMORY_COST": "8192",
        **extra_env,
    }
    return subprocess.run(
        [sys.executable, "-m", "gateway.cli", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
