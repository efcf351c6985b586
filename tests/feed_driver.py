"""Serves feeds from a small HTTP server thread and runs one build over a corpus that lists
them, for test_feeds.py. Run it inside a network namespace of its own (only loopback exists
there), as tests/conftest.py `netns_prefix` and `run_driver` do:

    unshare -rn sh -c 'ip link set lo up && exec python feed_driver.py SPEC.json OUT.json'

SPEC: {"corpus", "index", "feeds": [URL, ...] (``{port}`` is replaced by the server's port,
``{public}`` by an address the driver adds to loopback that counts as public), "env":
{NAME: VALUE} set before the build, "seconds": the longest the build may take}.
OUT: {"seconds": how long the build took, "skipped": [[path, reason], ...], "articles":
[ids], "requests": [paths the server was asked for]}. A build that outlasts "seconds" is
left running and reported as {"timed_out": true}: the test fails on that, not on a hang.

The server's paths: /feed (a small RSS feed), /trickle (a feed sent one byte every 0.2 s,
for a minute), /big (an endless body sent as fast as it goes), /to-loopback (a redirect to
http://127.0.0.1:{port}/feed), /to-file (a redirect to file:///etc/passwd).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from conftest import HashEmbedder  # noqa: E402

# An address outside every private, loopback and documentation range: inside the test's own
# network namespace it is only an alias of loopback, and nothing leaves the namespace.
PUBLIC = "198.51.99.7"
FEED = (b'<?xml version="1.0"?><rss version="2.0"><channel><title>Harbour Wire</title>'
        b"<item><guid>https://example.org/p/1</guid><title>Ferry timetable changes</title>"
        b"<description>The winter ferry timetable starts on Monday, the harbour office "
        b"said.</description><pubDate>Tue, 01 Mar 2022 08:00:00 GMT</pubDate></item>"
        b"</channel></rss>")
REQUESTS: list[str] = []


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args) -> None:  # quiet
        pass

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        REQUESTS.append(self.path)
        port = self.server.server_address[1]
        if self.path == "/feed":
            self._head(200, len(FEED))
            self.wfile.write(FEED)
        elif self.path == "/trickle":
            self._head(200, len(FEED))
            deadline = time.monotonic() + 60
            for byte in FEED:
                if time.monotonic() > deadline:
                    break
                try:
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                except OSError:
                    return
                time.sleep(0.2)
        elif self.path == "/big":
            self._head(200, None)
            block = b"<!-- " + b"x" * 65536 + b" -->"
            deadline = time.monotonic() + 60
            try:
                while time.monotonic() < deadline:
                    self.wfile.write(block)
            except OSError:
                return
        elif self.path in ("/to-loopback", "/to-file"):
            target = (f"http://127.0.0.1:{port}/feed" if self.path == "/to-loopback"
                      else "file:///etc/passwd")
            self.send_response(302)
            self.send_header("Location", target)
            self.send_header("Content-Length", "0")
            self.end_headers()
        else:
            self._head(404, 0)

    def _head(self, status: int, length: int | None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/rss+xml")
        if length is not None:
            self.send_header("Content-Length", str(length))
        self.end_headers()


def main() -> None:
    spec = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))
    out_path = Path(sys.argv[2])
    public = subprocess.run(["ip", "addr", "add", f"{PUBLIC}/32", "dev", "lo"],
                            capture_output=True).returncode == 0
    server = ThreadingHTTPServer(("0.0.0.0", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    corpus = Path(spec["corpus"])
    urls = [u.format(port=port, public=PUBLIC) for u in spec["feeds"]]
    (corpus / "news.feeds").write_text("\n".join(urls) + "\n", encoding="utf-8")
    os.environ.update(spec.get("env", {}))
    result: dict = {}

    def build() -> None:
        from qa import build_index

        t0 = time.monotonic()
        report = build_index(corpus, spec["index"], embedder=HashEmbedder())
        result.update(seconds=time.monotonic() - t0,
                      skipped=[[s.path, s.reason] for s in report.skipped],
                      articles=sorted(report.added + report.changed + report.unchanged))

    worker = threading.Thread(target=build, daemon=True)
    worker.start()
    worker.join(spec["seconds"])
    if worker.is_alive():
        result = {"timed_out": True}
    result.update(requests=list(REQUESTS), public=public)
    out_path.write_text(json.dumps(result), encoding="utf-8")
    os._exit(0)  # the build may still be stuck in a read: do not wait for it


if __name__ == "__main__":
    main()
