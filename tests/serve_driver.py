"""Starts `qa serve` and sends it requests from several threads at once, for test_serve.py.
Run it inside a network namespace of its own (only loopback exists there):

    unshare -n sh -c 'ip link set lo up && exec python serve_driver.py SPEC.json OUT.json'

SPEC: {"index", "port", "requests": [{"method", "path", "body"?, "headers"?, "via"?}],
"threads": [4, 16], "max_requests", "max_seconds", "start_seconds", "env"?: variables set for
the server and the clients, "wait_headers"?: headers of the requests that wait for it to be up}. Each round sends at most max_requests
requests or runs for at most max_seconds, whichever ends first; request i of a round is
requests[i % len(requests)]. `"via": "remote"` sends a POST /ask through qa.search.remote's client
(urllib) instead of http.client. OUT: {"rounds": {threads: [[i, status, body], ...]},
"log": the server's output}.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict
from typing import Any


def wait_until_up(port: int, server: subprocess.Popen, seconds: float,
                  headers: dict[str, str] | None = None) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"qa serve exited with {server.returncode}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/health", headers=headers or {})
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"qa serve did not answer /health within {seconds} s")


def send(conn: http.client.HTTPConnection, request: dict[str, Any]) -> tuple[int, Any]:
    body = request.get("body")
    data = None if body is None else json.dumps(body).encode()
    headers = {"Content-Type": "application/json"} if data is not None else {}
    headers.update(request.get("headers", {}))
    conn.request(request["method"], request["path"], body=data, headers=headers)
    reply = conn.getresponse()
    return reply.status, json.loads(reply.read())


def send_remote(port: int, request: dict[str, Any]) -> tuple[int, Any]:
    from qa.errors import QAError, QueryError
    from qa.search.remote import RemoteAssistant, RemoteRetriever, answer_from_json
    from qa.types import DateRange

    body = request["body"]
    history = [t if isinstance(t, str) else answer_from_json(t) for t in body.get("history", [])]
    try:
        answer = RemoteAssistant(RemoteRetriever(f"http://127.0.0.1:{port}")).ask(
            body["question"], history, dates=DateRange(body.get("since"), body.get("until")))
    except QueryError as error:
        return 400, {"error": str(error)}
    except QAError as error:
        return 503, {"error": str(error)}
    return 200, json.loads(json.dumps(asdict(answer)))


def run_round(port: int, requests: list[dict[str, Any]], threads: int, max_requests: int,
              max_seconds: float) -> list[list[Any]]:
    results: list[list[Any]] = []
    lock = threading.Lock()
    counter = iter(range(max_requests))
    deadline = time.monotonic() + max_seconds

    def client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=max_seconds + 30)
        try:
            while time.monotonic() < deadline:
                with lock:
                    i = next(counter, None)
                if i is None:
                    return
                request = requests[i % len(requests)]
                if request.get("via") == "remote":
                    status, body = send_remote(port, request)
                else:
                    status, body = send(conn, request)
                with lock:
                    results.append([i, status, body])
        finally:
            conn.close()

    workers = [threading.Thread(target=client) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return results


def main() -> int:
    spec = json.loads(open(sys.argv[1], encoding="utf-8").read())
    port = int(spec.get("port", 8000))
    os.environ.update(spec.get("env", {}))  # the server's settings, and its clients'
    log = tempfile.TemporaryFile()
    server = subprocess.Popen(
        [sys.executable, "-m", "qa.cli", "serve", "--index", spec["index"], "--port", str(port)],
        stdout=log, stderr=subprocess.STDOUT, env=os.environ.copy())
    out: dict[str, Any] = {"rounds": {}}
    try:
        wait_until_up(port, server, spec.get("start_seconds", 180), spec.get("wait_headers"))
        for threads in spec["threads"]:
            out["rounds"][str(threads)] = run_round(
                port, spec["requests"], threads, spec["max_requests"], spec["max_seconds"])
    except RuntimeError as error:
        out["error"] = str(error)
    finally:
        stop_and_report(server, log, out, sys.argv[2])
    return 0


def stop_and_report(server: subprocess.Popen, log: Any, out: dict[str, Any], path: str) -> None:
    """Stop the server as Ctrl-C would (killed after 20 s), and write `out` with the end of
    its log and its exit code to `path` as JSON."""
    server.send_signal(signal.SIGINT)
    try:
        server.wait(20)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()
    log.seek(0)
    out["log"] = log.read().decode(errors="replace")[-4000:]
    out["returncode"] = server.returncode
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(out, fh)


if __name__ == "__main__":
    sys.exit(main())
