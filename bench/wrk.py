"""Run wrk (a C load generator, so the client does not compete with Python for the GIL) with a generated
Lua script, and read requests/s and p50/p95/p99 from the script's ``done`` hook."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MARKER = "BENCHJSON "

_DONE = r"""
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '%s{"requests":%d,"duration_us":%d,"p50_us":%d,"p95_us":%d,"p99_us":%d,"mean_us":%.1f,"max_us":%d,' ..
    '"status_errors":%d,"connect_errors":%d,"read_errors":%d,"write_errors":%d,"timeouts":%d}\n',
    "MARKER", summary.requests, summary.duration, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), latency.mean, latency.max, e.status, e.connect, e.read, e.write, e.timeout))
end
""".replace("MARKER", MARKER)

_PRELUDE = r"""
local threads = {}
function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end
local n = 0
local headers = HEADERS
local paths = PATHS
local bodies = BODIES
local method = METHOD
function init(args)
  n = 0
end
"""

_REQUEST = r"""
request = function()
  n = n + 1
  local i = n + tid * 7919  -- threads start apart, so two never write the same record at the same moment
  local path = paths[(i %% #paths) + 1]
  local body = nil
  if #bodies > 0 then
    body = bodies[(i %% #bodies) + 1]:gsub("{n}", tostring(tid) .. "-" .. tostring(n))
  end
  return wrk.format(method, path, headers, body)
end
"""


def _lua(value: Any) -> str:
    """A Lua literal for strings, lists of strings and string->string tables."""
    if isinstance(value, str):
        return json.dumps(value)  # JSON string escapes are valid Lua escapes for our ASCII payloads
    if isinstance(value, list):
        return "{" + ", ".join(_lua(v) for v in value) + "}"
    if isinstance(value, dict):
        return "{" + ", ".join(f"[{_lua(k)}] = {_lua(v)}" for k, v in value.items()) + "}"
    raise TypeError(type(value))


@dataclass
class Load:
    """One kind of request: a method, paths and bodies cycled per request.

    ``{n}`` in a body is unique per request within one wrk invocation, ``{run}`` unique per invocation."""

    method: str
    paths: list[str]
    headers: dict[str, str] = field(default_factory=dict)
    bodies: list[str] = field(default_factory=list)

    def script(self) -> str:
        nonce = uuid.uuid4().hex[:8]  # unique per wrk invocation: warm-up and measured runs never collide
        bodies = [b.replace("{run}", nonce) for b in self.bodies]
        prelude = (
            _PRELUDE.replace("HEADERS", _lua(self.headers))
            .replace("PATHS", _lua(self.paths))
            .replace("BODIES", _lua(bodies))
            .replace("METHOD", _lua(self.method))
        )
        return prelude + _REQUEST.replace("%%", "%") + _DONE


def wrk_binary() -> str:
    found = shutil.which("wrk")
    if not found:
        raise RuntimeError("wrk is not installed: `apt-get install -y wrk` (make bench does it)")
    return found


def run(
    base_url: str, load: Load, *, duration: float, connections: int, threads: int = 2, timeout: float = 30.0
) -> dict[str, Any]:
    """Run wrk once; the figures in ms and req/s, plus error counts (non-2xx/3xx are ``status_errors``)."""
    assert base_url.startswith("http://127.0.0.1:"), "load generators target loopback only"
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(load.script())
        script = handle.name
    try:
        out = subprocess.run(
            [
                wrk_binary(),
                f"-t{max(1, min(threads, connections))}",
                f"-c{connections}",
                f"-d{max(1, round(duration))}s",
                f"--timeout={timeout:g}s",
                "-s",
                script,
                base_url,
            ],
            capture_output=True,
            text=True,
            check=False,
            timeout=duration + timeout + 30,
        )
    finally:
        Path(script).unlink(missing_ok=True)
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith(MARKER)), None)
    if line is None:
        raise RuntimeError(f"wrk failed ({out.returncode}): {out.stderr or out.stdout}")
    raw = json.loads(line[len(MARKER) :])
    seconds = raw["duration_us"] / 1e6
    errors = sum(raw[k] for k in ("connect_errors", "read_errors", "write_errors", "timeouts"))
    return {
        "rps": round(raw["requests"] / seconds, 1) if seconds else 0.0,
        "requests": raw["requests"],
        "p50_ms": raw["p50_us"] / 1000,
        "p95_ms": raw["p95_us"] / 1000,
        "p99_ms": raw["p99_us"] / 1000,
        "mean_ms": round(raw["mean_us"] / 1000, 3),
        "non_2xx": raw["status_errors"],
        "socket_errors": errors,
    }
