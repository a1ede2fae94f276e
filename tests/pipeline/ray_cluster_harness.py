"""Run a job on a real multi-node Ray cluster on this machine and kill a worker node mid-job.

Started in a subprocess by ``test_ray_cluster.py`` (so it never meets the test session's own Ray):
builds a head and two worker nodes (``ray.cluster_utils.Cluster``, separate raylets and object
stores, 1 CPU each), submits ``axk1 run JOB --executor ray`` with ``RAY_ADDRESS`` set to the
cluster, and, with ``--kill``, removes one worker node (no graceful drain) as soon as three shards
are in flight: one actor per 1-CPU node, so the dead node was running one of them. Prints one JSON line: the job's exit code and what was running at the kill.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

NODE = {"num_cpus": 1, "object_store_memory": 200 << 20}


def _in_flight(run_dir: Path) -> tuple[int, int]:
    """(shards being written, shards finished) of the first map segment."""
    segs = sorted((run_dir / "stages").glob("00-*")) if (run_dir / "stages").exists() else []
    if not segs:
        return 0, 0
    seg = segs[0]
    return len(list(seg.glob(".part-*.tmp"))), len(list((seg / "_stats").glob("part-*.json")))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("job", type=Path)
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--kill", action="store_true")
    parser.add_argument("--timeout", type=float, default=300)
    args = parser.parse_args()

    import ray
    from ray.cluster_utils import Cluster

    cluster = Cluster(initialize_head=True, head_node_args={**NODE, "include_dashboard": False})
    workers = [cluster.add_node(**NODE) for _ in range(2)]
    ray.init(address=cluster.address, log_to_driver=False)
    cluster.wait_for_nodes()
    nodes = len([n for n in ray.nodes() if n["Alive"]])
    ray.shutdown()
    result: dict[str, object] = {"nodes": nodes, "address": cluster.address}
    env = {**os.environ, "RAY_ADDRESS": cluster.address, "RAY_ENABLE_UV_RUN_RUNTIME_ENV": "0"}
    proc = subprocess.Popen([sys.executable, "-m", "pipeline.cli", "run", str(args.job), "--executor", "ray",
                             "--workers", "0"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    t0 = time.monotonic()
    try:
        if args.kill:
            while proc.poll() is None and time.monotonic() - t0 < args.timeout:
                running, done = _in_flight(args.run_dir)
                if running >= 3:
                    cluster.remove_node(workers[0], allow_graceful=False)
                    result.update(killed=True, in_flight_at_kill=running, done_at_kill=done,
                                  kill_after_s=round(time.monotonic() - t0, 1))
                    break
                time.sleep(0.05)
        out, _ = proc.communicate(timeout=max(1.0, args.timeout - (time.monotonic() - t0)))
        result["rc"] = proc.returncode
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
        result["rc"] = "timeout"
    result["seconds"] = round(time.monotonic() - t0, 1)
    text = out.decode("utf-8", "replace")
    (args.run_dir.parent / "job.log").write_text(text, encoding="utf-8")
    result["log_tail"] = text[-3000:]
    cluster.shutdown()
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
