"""score-log outputs: never half-written, never out of step with each other, leftovers of killed runs cleaned."""
import errno
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from router_core.errors import RouterInputError
from router_core.traffic.log_scoring import recover_outputs, score_log

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from reliability_score_log import output_pair as pair  # noqa: E402
from reliability_score_log import run_killed, write_log
from scoring_stub import StubRouter  # noqa: E402

pytestmark = [pytest.mark.slow]


def test_rejected_csv_keeps_one_column_set_when_jsonl_keys_differ_between_chunks(tmp_path):
    log = tmp_path / "log.jsonl"
    log.write_text("\n".join(json.dumps(r) for r in [
        {"timestamp": "now", "prompt": "a"}, {"timestamp": "2026-10-05T10:00:00Z", "prompt": "b"},
        {"timestamp": "today", "prompt": "c", "user": "u1", "team": "t"}]) + "\n")
    score_log(log, StubRouter(), tmp_path / "out.parquet", chunk_rows=2, rejected_out=tmp_path / "rejected.csv")
    rejected = pd.read_csv(tmp_path / "rejected.csv")
    assert list(rejected.columns) == ["row", "reason", "timestamp", "prompt", "other_fields"]
    assert rejected["prompt"].tolist() == ["a", "c"] and rejected["timestamp"].tolist() == ["now", "today"]
    assert json.loads(rejected["other_fields"][1]) == {"user": "u1", "team": "t"}


def test_a_run_without_rejections_replaces_the_previous_rejected_file(tmp_path):
    out, rejected = tmp_path / "out.parquet", tmp_path / "rejected.csv"
    score_log(write_log(tmp_path / "a.jsonl", 3, 2), StubRouter(), out, rejected_out=rejected)
    assert pair(out, rejected) == (3, 2)
    score_log(write_log(tmp_path / "b.jsonl", 4, 0), StubRouter(), out, rejected_out=rejected)
    assert pair(out, rejected) == (4, 0)


def test_disk_full_is_an_error_naming_the_output_and_keeps_the_old_pair(tmp_path, monkeypatch):
    out, rejected = tmp_path / "out.parquet", tmp_path / "rejected.csv"
    score_log(write_log(tmp_path / "a.jsonl", 3, 1), StubRouter(), out, rejected_out=rejected)

    def full(self, table, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(pq.ParquetWriter, "write_table", full)
    with pytest.raises(RouterInputError, match=r"out.parquet: could not write the scored log \(No space left on device\)"):
        score_log(write_log(tmp_path / "b.jsonl", 5, 0), StubRouter(), out, rejected_out=rejected)
    assert pair(out, rejected) == (3, 1)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.jsonl", "b.jsonl", "out.parquet", "rejected.csv"]


def test_leftover_temporary_files_of_dead_runs_are_removed(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = [tmp_path / f".out.parquet.{dead.stdout.strip()}.tmp", tmp_path / f".rejected.csv.{dead.stdout.strip()}.tmp"]
    for path in stale:
        path.write_text("half")
    live = tmp_path / f".out.parquet.{os.getpid()}.tmp"
    live.write_text("another run, still going")
    recover_outputs(tmp_path / "out.parquet", tmp_path / "rejected.csv")
    assert not any(p.exists() for p in stale) and live.exists()


# os.replace calls of one run: 1 the commit journal, 2 the rejected CSV, 3 the Parquet file.
KILL_POINTS = [("write", 1), ("write", 3), ("before-replace", 1), ("after-replace", 1), ("after-replace", 2),
               ("after-replace", 3)]


@pytest.mark.parametrize("where, n", KILL_POINTS)
def test_a_killed_run_leaves_the_old_pair_or_the_new_pair(tmp_path, where, n):
    run, out, rejected = run_killed(tmp_path, where, n)
    assert run.returncode == -signal.SIGKILL, run.stderr
    recover_outputs(out, rejected)
    assert pair(out, rejected) in [(4, 1), (9, 3)]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["new.jsonl", "old.jsonl", "out.parquet", "rejected.csv"]
    committed = where == "after-replace" or (where == "before-replace" and n > 1)
    assert pair(out, rejected) == ((9, 3) if committed else (4, 1))
