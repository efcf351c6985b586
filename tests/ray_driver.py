"""Starts a real 2-node Ray cluster and runs `qa index --executor ray` against it, for
test_distributed.py and bench/bench_ray.py. Run it inside a network namespace of its own
(only loopback exists there; Ray would otherwise advertise the machine's routable address):

    unshare -n sh -c 'ip link set lo up && exec python ray_driver.py SPEC.json OUT.json'

The cluster is `ray.cluster_utils.Cluster`: a head node and a second node, each its own
raylet (and the head its GCS), each with one CPU. SPEC: {"builds": [{"corpus", "index",
"args": [...], "add_files": {name: text}, "kill_worker": bool}], "nodes": 2, "max_seconds"}.
Builds run one after another as `qa index --corpus C --index I --executor ray --ray-address
ADDR ARGS...`, each after writing its "add_files" into its corpus. With
"kill_worker", the second node's worker processes and raylet are SIGKILLed as soon as one of
its workers is running a batch (its process title names the `submit` of Ray Data's map
worker); that node is gone for the builds after it.

OUT: {"head", "worker": node ids, "address", "cluster_seconds", "builds": [{"returncode",
"stdout", "stderr", "stderr_times": [[seconds, line]], "seconds", "executor": what the
manifest records, "killed": {"after_seconds", "pids", "titles", "build_running"} or null}],
"error"?}.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import Any

QA = "import sys; from qa.cli import main; sys.exit(main(sys.argv[1:]))"


class QaRun:
    """`qa ARGS...` in a child process; each line it writes on stderr (its progress) is kept
    with the seconds since the start, as it arrives."""

    def __init__(self, args: list[str]) -> None:
        self.t0 = time.monotonic()
        self.proc = subprocess.Popen([sys.executable, "-c", QA, *args], stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, bufsize=1)
        self.lines: list[tuple[float, str]] = []
        self.out: list[str] = []
        self.readers = [threading.Thread(target=self._read_err, daemon=True),
                        threading.Thread(target=lambda: self.out.append(self.proc.stdout.read()),
                                         daemon=True)]
        for reader in self.readers:
            reader.start()

    def _read_err(self) -> None:
        for line in self.proc.stderr:
            self.lines.append((round(time.monotonic() - self.t0, 3), line.rstrip("\n")))

    def finish(self, deadline: float) -> dict[str, Any]:
        """Wait for the end (killing it at `deadline`); returncode, stdout, stderr, seconds
        and the timed stderr lines."""
        note = ""
        try:
            self.proc.wait(timeout=max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            note = "\n[ray_driver: qa did not finish in time and was killed]"
        seconds = round(time.monotonic() - self.t0, 2)
        for reader in self.readers:
            reader.join(timeout=30)
        return {"returncode": self.proc.returncode, "stdout": "".join(self.out),
                "stderr": "\n".join(line for _, line in self.lines) + note,
                "stderr_times": self.lines, "seconds": seconds}


def children_of(pid: int) -> list[int]:
    """The processes whose parent is `pid` (Ray's workers are the raylet's children)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # the command name is in parentheses and may hold spaces: the ppid follows it
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry.name))
    return found


def title(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(
            "utf-8", "replace")
    except OSError:
        return ""


def kill_node(node: Any, raylet_pid: int) -> list[int]:
    """SIGKILL a node's workers, then its raylet and the rest of its processes."""
    pids = children_of(raylet_pid)
    for pid in pids:
        sigkill(pid)
    node.kill_all_processes(check_alive=False, allow_graceful=False)
    return pids + [raylet_pid]


def sigkill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def run_build(build: dict[str, Any], address: str, worker: Any, raylet_pid: int | None,
              deadline: float) -> dict[str, Any]:
    run = QaRun(["index", "--corpus", build["corpus"], "--index", build["index"],
                 "--executor", "ray", "--ray-address", address, *build.get("args", [])])
    killed = None
    if build.get("kill_worker") and raylet_pid is not None:
        while run.proc.poll() is None and time.monotonic() < deadline:
            busy = [p for p in children_of(raylet_pid) if ".submit" in title(p)
                    and "MapWorker" in title(p)]
            if busy:
                titles = [title(p) for p in busy]
                running = run.proc.poll() is None
                pids = kill_node(worker, raylet_pid)
                killed = {"after_seconds": round(time.monotonic() - run.t0, 2), "pids": pids,
                          "titles": titles, "build_running": running}
                break
            time.sleep(0.02)
    return dict(run.finish(deadline), killed=killed)


def main(spec_path: str, out_path: str) -> int:
    spec = json.loads(Path(spec_path).read_text(encoding="utf-8"))
    deadline = time.monotonic() + float(spec.get("max_seconds", 240))
    result: dict[str, Any] = {"builds": []}
    cluster = None
    try:
        from ray.cluster_utils import Cluster

        t0 = time.monotonic()
        cluster = Cluster(initialize_head=True, head_node_args={
            "num_cpus": 1, "include_dashboard": False,
            # A node that stops answering is declared dead after ~2 s instead of ~15 s.
            "_system_config": {"health_check_period_ms": 500,
                               "health_check_failure_threshold": 4}})
        worker = cluster.add_node(num_cpus=1) if int(spec.get("nodes", 2)) > 1 else None
        cluster.wait_for_nodes(timeout=60)
        result.update(address=cluster.address, head=cluster.head_node.node_id,
                      worker=worker.node_id if worker else None,
                      cluster_seconds=round(time.monotonic() - t0, 2))
        raylet = worker.all_processes["raylet"][0].process.pid if worker else None
        for build in spec["builds"]:
            for name, text in build.get("add_files", {}).items():
                (Path(build["corpus"]) / name).write_text(text, encoding="utf-8")
            done = run_build(build, cluster.address, worker, raylet, deadline)
            if done["returncode"] == 0:
                from qa.index import read_manifest

                done["executor"] = read_manifest(Path(build["index"])).executor
            result["builds"].append(done)
            if build.get("kill_worker"):
                raylet = None  # that node is gone
    except Exception:
        result["error"] = traceback.format_exc()
    finally:
        if cluster is not None:
            try:
                cluster.shutdown()
            except Exception:
                result.setdefault("teardown", traceback.format_exc())
        # Anything the cluster left behind in this namespace (its GCS, raylets, workers).
        ray_cli = Path(sys.executable).with_name("ray")
        if ray_cli.exists():
            subprocess.run([str(ray_cli), "stop", "--force"], capture_output=True, timeout=60)
        Path(out_path).write_text(json.dumps(result), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
