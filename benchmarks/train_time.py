"""Wall time of `crossroute train` on a real routing set, as a user runs it (a fresh process, cold caches).

    python benchmarks/train_time.py [--set llmrouter_train]

Run it alone on the machine: the figure is the whole command's wall time (loading, encoding, the cross-fitted
networks, the final fit, saving). Reads ../shared/data at run time.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
from results_io import Table, command_line, write_result

ROOT = Path(__file__).resolve().parent.parent
TARGET_SECONDS = 300


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default=str(ROOT.parent / "shared" / "data"))
    parser.add_argument("--set", default="llmrouter_train")
    args = parser.parse_args()
    path = Path(args.data_dir) / f"{args.set}.csv"
    if not path.is_file():
        print(f"no data at {path}: this benchmark reads the real routing sets there", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        cache = Path(tmp) / "cache"
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "router_core", "train", "--data", str(path), "--out", str(Path(tmp) / "router")],
                              capture_output=True, text=True, env={**__import__("os").environ, "CROSSROUTE_CACHE_DIR": str(cache)})
        seconds = time.perf_counter() - started
        if done.returncode != 0:
            print(done.stderr, file=sys.stderr)
            return done.returncode
        training = json.loads(done.stdout)["training"]
        training["history"] = json.loads((Path(tmp) / "router" / "router.json").read_text())["training"]["history"]
    row = {"set": args.set, "queries": training["n_queries"], "wall seconds": round(seconds, 1),
           "fit seconds": training["seconds"], "networks": training["quality_stage"]["folds"] + 1,
           "cross-fitted AIQ": training["validation"].get("aiq")}
    frame = pd.DataFrame([row]).set_index("set")
    print(frame.to_string())
    verdict = f"train on {row['queries']} queries: {seconds:.0f} s wall — target ≤ {TARGET_SECONDS} s: " + (
        "met" if seconds <= TARGET_SECONDS else "MISSED")
    print(f"- {verdict}")
    print(f"- seconds by stage: {training['history'].get('stage_seconds')}")
    print(f"- quality stage: {json.dumps({k: training['quality_stage'][k] for k in ('network_weight', 'neighbour_weight', 'linear_weight', 'task_type_weight', 'prior_weight')})}")
    write_result(f"train_time-{args.set}", command_line(), [Table(f"`crossroute train --data {args.set}.csv` in a fresh process", frame)],
                 notes=[verdict], seconds=seconds, summary=row)
    return 0


if __name__ == "__main__":
    sys.exit(main())
