"""Starts `qa mcp --http` and asks it, for test_mcp.py: raw HTTP requests the server must
refuse, then the MCP SDK's own client over the streamable HTTP transport. Run it inside a
network namespace of its own (only loopback exists there):

    unshare -n sh -c 'ip link set lo up && exec python mcp_driver.py SPEC.json OUT.json'

SPEC: {"index", "port", "env": variables for the server (QA_SERVE_TOKEN...), "token": what the
client sends, "refused": [{"headers": {...}}] (POSTed to /mcp as they are), "calls":
[[tool, arguments], ...], "start_seconds", "call_seconds"}. OUT: {"refused": [[status, headers,
body]], "tools": [names], "calls": [[is_error, structured or text]], "log": the server's
output, "error"?: what went wrong}.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import subprocess
import sys
import tempfile
import time
from typing import Any

from serve_driver import stop_and_report  # beside this file: the same stop and report


def wait_until_up(port: int, server: subprocess.Popen, seconds: float) -> None:
    """Until the server answers HTTP at all (401 without a token is an answer)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"qa mcp exited with {server.returncode}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/mcp")
            conn.getresponse().read()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"qa mcp --http did not answer within {seconds} s")


def raw_post(port: int, headers: dict[str, str]) -> list[Any]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}})
    conn.request("POST", "/mcp", body=body.encode(),
                 headers={"Content-Type": "application/json",
                          "Accept": "application/json, text/event-stream", **headers})
    reply = conn.getresponse()
    data = reply.read()
    try:
        parsed: Any = json.loads(data)
    except ValueError:
        parsed = data.decode(errors="replace")
    return [reply.status, {k.lower(): v for k, v in reply.getheaders()}, parsed]


async def with_sdk(port: int, token: str | None, calls: list[list[Any]]) -> dict[str, Any]:
    import httpx2
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client

    headers = {"Authorization": f"Bearer {token}"} if token else {}
    out: dict[str, Any] = {"calls": []}
    async with httpx2.AsyncClient(headers=headers, timeout=60) as http:
        transport = streamable_http_client(f"http://127.0.0.1:{port}/mcp", http_client=http)
        async with Client(transport) as client:
            out["tools"] = sorted(t.name for t in (await client.list_tools()).tools)
            for name, arguments in calls:
                result = await client.call_tool(name, arguments)
                out["calls"].append([result.is_error, result.structured_content
                                     if not result.is_error else result.content[0].text])
    return out


def main() -> int:
    spec = json.loads(open(sys.argv[1], encoding="utf-8").read())
    port = int(spec["port"])
    log = tempfile.TemporaryFile()
    server = subprocess.Popen(
        [sys.executable, "-m", "qa.cli", "mcp", "--http", "--index", spec["index"],
         "--port", str(port)],
        stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **spec.get("env", {})})
    out: dict[str, Any] = {}
    try:
        wait_until_up(port, server, spec.get("start_seconds", 120))
        out["refused"] = [raw_post(port, r["headers"]) for r in spec["refused"]]
        out.update(asyncio.run(asyncio.wait_for(
            with_sdk(port, spec.get("token"), spec["calls"]), spec.get("call_seconds", 120))))
    except Exception as error:  # noqa: BLE001 - reported to the test, with the server log
        out["error"] = f"{type(error).__name__}: {error}"
    finally:
        stop_and_report(server, log, out, sys.argv[2])
    return 0


if __name__ == "__main__":
    sys.exit(main())
