"""`score-log` killed at every write and every rename: the output pair must end as the old pair or the new one.

A harness shared by the tests and `benchmarks/reliability.py` (which reports its counts).

A child process scores a log over a previous run's outputs (scored Parquet file + rejected-rows CSV) and SIGKILLs
itself at the n-th Parquet write or just before / just after the n-th os.replace. The parent then runs
`recover_outputs` (as the next score-log does) and checks that the pair is whole and consistent (the Parquet file
names the rejected file's digest) and is either the old run's or the new run's, with no temporary file left behind.
"""
from __future__ import annotations

import json
import signal
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for folder in (ROOT, ROOT / "tests"):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

import pandas as pd  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

KILLER = textwrap.dedent("""
    import json, os, signal, sys
    sys.path.insert(0, {tests!r})
    from scoring_stub import StubRouter
    from router_core.traffic import log_scoring
    import pyarrow.parquet as pq
    where, n = sys.argv[1], int(sys.argv[2])
    calls = {{"replace": 0, "write": 0}}
    real_replace, real_write = os.replace, pq.ParquetWriter.write_table

    def die():
        os.kill(os.getpid(), signal.SIGKILL)

    def replace(a, b):
        calls["replace"] += 1
        if where == "before-replace" and calls["replace"] == n:
            die()
        real_replace(a, b)
        if where == "after-replace" and calls["replace"] == n:
            die()

    def write(self, table, *args, **kwargs):
        calls["write"] += 1
        if where == "write" and calls["write"] == n:
            die()
        return real_write(self, table, *args, **kwargs)

    os.replace = replace
    pq.ParquetWriter.write_table = write
    log_scoring.score_log(sys.argv[3], StubRouter(), sys.argv[4], chunk_rows=3, rejected_out=sys.argv[5])
    print(json.dumps(calls))
""")


def write_log(path: Path, n_good: int, n_bad: int) -> Path:
    """A JSONL request log of `n_good` usable rows and `n_bad` rows with an unreadable timestamp."""
    rows = [{"timestamp": f"2026-10-05T10:{i:02d}:00Z", "prompt": f"prompt number {i}"} for i in range(n_good)]
    rows += [{"timestamp": "now", "prompt": f"bad {i}", "extra": i} for i in range(n_bad)]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return path


def output_pair(out: Path, rejected: Path) -> tuple[int, int]:
    """(scored requests, rejected rows) of a consistent pair; AssertionError if the two files are out of step."""
    from router_core.files import file_sha256
    from router_core.traffic.log_scoring import SUMMARY_KEY

    summary = json.loads(pq.ParquetFile(out).metadata.metadata[SUMMARY_KEY])
    assert summary["rejected_sha256"] == file_sha256(rejected), "rejected CSV is not the one this Parquet file was written with"
    assert len(pd.read_csv(rejected)) == summary["rejected"]
    assert pq.ParquetFile(out).metadata.num_rows == summary["requests"]
    return summary["requests"], summary["rejected"]


def run_killed(folder: Path, where: str, n: int) -> tuple[subprocess.CompletedProcess, Path, Path]:
    """Score an old log (4 good, 1 bad) into `folder`, then a new one (9 good, 3 bad) in a child killed at (where, n).

    where: "write" (n-th Parquet write), "before-replace" / "after-replace" (n-th os.replace), or "none".
    """
    from scoring_stub import StubRouter

    from router_core.traffic.log_scoring import score_log

    out, rejected = folder / "out.parquet", folder / "rejected.csv"
    score_log(write_log(folder / "old.jsonl", 4, 1), StubRouter(), out, rejected_out=rejected)
    new_log = write_log(folder / "new.jsonl", 9, 3)
    script = KILLER.format(tests=str(ROOT / "tests"))
    run = subprocess.run([sys.executable, "-c", script, where, str(n), str(new_log), str(out), str(rejected)],
                         capture_output=True, text=True, timeout=120, cwd=ROOT)
    return run, out, rejected


def kill_points() -> dict:
    """Every Parquet write and every rename of one run, killed before and after.

    Returns:
        {"tried", "artifacts_lost", "leftovers_kept"}: kills made; runs whose output pair was neither the old nor the
        new one (or out of step); runs that left a temporary file beside the outputs after recovery.
    """
    from router_core.traffic.log_scoring import recover_outputs

    with tempfile.TemporaryDirectory(prefix="crossroute-score-log-kill-") as tmp:
        run, _, _ = run_killed(Path(tmp), "none", 0)
        if run.returncode != 0:
            raise RuntimeError(f"the unkilled run failed: {run.stderr[-2000:]}")
        calls = json.loads(run.stdout.strip().splitlines()[-1])
    points = [("write", n) for n in range(1, calls["write"] + 1)]
    points += [(where, n) for where in ("before-replace", "after-replace") for n in range(1, calls["replace"] + 1)]
    counts = {"tried": 0, "artifacts_lost": 0, "leftovers_kept": 0}
    for where, n in points:
        with tempfile.TemporaryDirectory(prefix="crossroute-score-log-kill-") as tmp:
            folder = Path(tmp)
            run, out, rejected = run_killed(folder, where, n)
            counts["tried"] += 1
            if run.returncode != -signal.SIGKILL:
                raise RuntimeError(f"the run meant to die at {where} {n} ended with {run.returncode}: {run.stderr[-2000:]}")
            recover_outputs(out, rejected)
            try:
                whole = output_pair(out, rejected) in [(4, 1), (9, 3)]
            except (AssertionError, OSError, KeyError, ValueError):
                whole = False
            counts["artifacts_lost"] += not whole
            counts["leftovers_kept"] += sorted(p.name for p in folder.iterdir()) != ["new.jsonl", "old.jsonl", "out.parquet", "rejected.csv"]
    return counts
