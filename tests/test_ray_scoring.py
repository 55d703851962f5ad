"""score-log --engine ray on a local Ray: the same rows, scores and rejections as the local engine, across files,
through a killed scoring actor; the folder of parts replays as the single file does."""
import json
import os
import signal
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.dataset as pads
import pyarrow.parquet as pq
import pytest

from router_core.cli import main
from router_core.errors import RouterInputError
from router_core.live.policy import load_policy
from router_core.router import Router
from router_core.traffic.log_scoring import MANIFEST, read_scored_log, score_log
from router_core.traffic.replay import replay
from router_core.traffic.simulate import prepare_log, simulate

ray = pytest.importorskip("ray", reason="Ray is an optional extra: pip install -r requirements-ray.txt")
from router_core.traffic.ray_scoring import REJECTED_FOLDER, score_log_ray  # noqa: E402

pytestmark = [pytest.mark.ray, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[1]
ROUTER = ROOT / "sample_data" / "router"
SCORES = ("weight_", "predicted_quality_", "predicted_cost_usd_")


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def router():
    return Router.load(ROUTER)


def make_logs(folder: Path, distinct: int, rows: int, seed: int = 0) -> list[Path]:
    """A gateway log split over a CSV, a JSONL and a Parquet file: prompts repeat, and each file has unusable rows."""
    sample = pd.read_csv(ROOT / "sample_data" / "request_log.csv").drop_duplicates("prompt").head(distinct)
    rng = np.random.default_rng(seed)
    log = sample.iloc[rng.integers(0, len(sample), rows)].reset_index(drop=True)
    log["timestamp"] = pd.date_range("2026-10-05T00:00:00Z", periods=rows, freq="3min").strftime("%Y-%m-%dT%H:%M:%SZ")
    thirds = np.array_split(np.arange(rows), 3)
    for third, (bad_time, bad_prompt) in zip(thirds, [(4, 9), (2, 30), (11, 12)]):
        log.loc[third[bad_time], "timestamp"] = "sometime"
        log.loc[third[bad_prompt], "prompt"] = " "
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / "day1.csv", folder / "nested" / "day2.jsonl", folder / "day3.parquet"]
    paths[1].parent.mkdir(exist_ok=True)
    log.iloc[thirds[0]].to_csv(paths[0], index=False)
    log.iloc[thirds[1]].to_json(paths[1], orient="records", lines=True)
    log.iloc[thirds[2]].to_parquet(paths[2], index=False)
    return paths


def read_parts(folder: Path) -> pd.DataFrame:
    manifest = json.loads((folder / MANIFEST).read_text())
    return pads.dataset([str(folder / p) for p in manifest["parts"]], format="parquet").to_table().to_pandas()


def identity_columns(frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns if not c.startswith(SCORES + ("answer_tokens_",))]


def assert_same_requests(ray_rows: pd.DataFrame, local_rows: pd.DataFrame) -> None:
    """The same multiset of requests (parts come in no order), each with the local engine's scores."""
    assert list(ray_rows.columns) == list(local_rows.columns)
    key = identity_columns(local_rows)
    a = ray_rows.sort_values(key, kind="stable").reset_index(drop=True)
    b = local_rows.sort_values(key, kind="stable").reset_index(drop=True)
    assert len(a) == len(b)
    pd.testing.assert_frame_equal(a[key], b[key])
    for column in local_rows.columns:
        if column.startswith(SCORES):
            np.testing.assert_allclose(a[column], b[column], rtol=0, atol=1e-5, err_msg=column)
        elif column.startswith("answer_tokens_"):
            np.testing.assert_allclose(a[column], b[column], rtol=1e-5, err_msg=column)


def local_reference(paths: list[Path], router, folder: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Each file scored by the local engine: all scored rows, and all rejected rows as (source, row, reason)."""
    scored, rejected = [], []
    for i, path in enumerate(paths):
        result = score_log(path, router, folder / f"local{i}.parquet", rejected_out=folder / f"rejected{i}.csv")
        assert result.rejected == 2
        scored.append(pq.read_table(result.path).to_pandas())
        table = pd.read_csv(folder / f"rejected{i}.csv", dtype={"row": "int64"})
        rejected.append(table[["row", "reason"]].assign(source=str(path)))
    return pd.concat(scored, ignore_index=True), pd.concat(rejected, ignore_index=True)


def test_ray_engine_scores_every_file_as_the_local_engine_does(local_ray, router, tmp_path, capfd):
    paths = make_logs(tmp_path / "logs", distinct=60, rows=300)
    capfd.readouterr()
    result = score_log_ray(tmp_path / "logs", ROUTER, tmp_path / "scored", partitions=6)
    printed = capfd.readouterr()
    chatter = [line[:120] for line in (printed.out + printed.err).splitlines() if "\tINFO " in line or " INFO " in line]
    assert not chatter, chatter  # Ray Data's plan and progress every few seconds stay out of a user's terminal
    local_rows, local_rejected = local_reference(paths, router, tmp_path)

    assert (result.files, result.rows_in, result.requests, result.rejected) == (3, 300, 294, 6)
    assert result.rows_in == result.requests + result.rejected
    assert result.distinct_prompts == local_rows["prompt_key"].nunique() <= 60  # each distinct prompt scored once
    parts = sorted((tmp_path / "scored").glob("part-*.parquet"))
    assert len(parts) == result.parts and not list((tmp_path / "scored").glob(".*"))
    local_schema, part_schema = pq.read_schema(tmp_path / "local0.parquet"), pq.read_schema(parts[0])
    assert part_schema.remove_metadata() == local_schema.remove_metadata()
    local_meta = json.loads(local_schema.metadata[b"crossroute"])
    part_meta = json.loads(part_schema.metadata[b"crossroute"])
    for key in ("format", "version", "router_id", "backend", "candidates", "cost_mode", "catalog", "mapping"):
        assert part_meta[key] == local_meta[key], key
    assert_same_requests(read_parts(tmp_path / "scored"), local_rows)

    ray_rejected = pads.dataset(str(tmp_path / "scored" / REJECTED_FOLDER), format="parquet").to_table().to_pandas()
    key = ["source", "row"]
    pd.testing.assert_frame_equal(ray_rejected.sort_values(key).reset_index(drop=True)[["source", "row", "reason"]],
                                  local_rejected.sort_values(key).reset_index(drop=True)[["source", "row", "reason"]])
    cells = json.loads(ray_rejected.loc[ray_rejected["reason"].str.startswith("timestamp")].iloc[0]["cells"])
    assert cells["timestamp"] == "sometime" and "prompt" in cells  # the original cells, to fix and resubmit
    manifest = json.loads((tmp_path / "scored" / MANIFEST).read_text())
    assert [f["rows_in"] for f in manifest["per_file"]] == [100, 100, 100]


def _scoring_actors() -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if b"_ScoreBlocks" in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def test_a_scoring_actor_killed_mid_job_leaves_no_request_missing_or_doubled(local_ray, router, tmp_path):
    paths = make_logs(tmp_path / "logs", distinct=240, rows=600, seed=1)
    out = tmp_path / "scored"
    outcome = {}

    def run():
        try:
            outcome["result"] = score_log_ray(tmp_path / "logs", ROUTER, out, partitions=16)
        except BaseException as e:  # reported by the assertion below
            outcome["error"] = e

    job = threading.Thread(target=run)
    job.start()
    killed, deadline = None, time.monotonic() + 300
    while killed is None and job.is_alive() and time.monotonic() < deadline:
        staged = [p for stage in tmp_path.glob(".scored.stage-*") for p in stage.glob("part-*.parquet")]
        actors = _scoring_actors()
        if staged and actors:  # at least one block is scored and others are still to come
            os.kill(actors[0], signal.SIGKILL)
            killed = actors[0]
        time.sleep(0.05)
    job.join(600)
    assert killed is not None, "the job finished before a scoring actor could be killed; make the log bigger"
    assert "error" not in outcome, outcome.get("error")
    result = outcome["result"]
    assert (result.rows_in, result.requests, result.rejected) == (600, 594, 6)
    local_rows, _ = local_reference(paths, router, tmp_path)
    assert_same_requests(read_parts(out), local_rows)


@pytest.fixture(scope="module")
def folder_and_file(local_ray, router, tmp_path_factory):
    """One multi-file log scored twice: on Ray into a folder of parts, and locally (as one file) into one Parquet file."""
    tmp_path = tmp_path_factory.mktemp("pair")
    paths = make_logs(tmp_path / "logs", distinct=60, rows=300, seed=2)
    score_log_ray(tmp_path / "logs", ROUTER, tmp_path / "scored", partitions=5)
    whole = pd.concat([pd.read_csv(paths[0], dtype=str), pd.read_json(paths[1], lines=True, dtype=False).astype(str),
                       pd.read_parquet(paths[2]).astype(str)], ignore_index=True)
    whole.to_csv(tmp_path / "whole.csv", index=False)
    score_log(tmp_path / "whole.csv", router, tmp_path / "whole.parquet")
    return tmp_path


def test_a_folder_of_parts_replays_as_the_single_file(folder_and_file, router, tmp_path, capsys):
    pair = folder_and_file
    folder = simulate(router, pair / "scored", "business-hours")
    single = simulate(router, pair / "whole.parquet", "business-hours")
    pd.testing.assert_frame_equal(folder.by_hour, single.by_hour, rtol=1e-6)
    pd.testing.assert_frame_equal(folder.requests, single.requests, rtol=1e-6)  # request by request, in time order
    assert (folder.totals["requests"], folder.n_prompts, folder.n_rejected) == (294, single.n_prompts, 6)
    scored, summary = read_scored_log(pair / "scored", router)
    assert summary["requests"] == 294 and scored.timestamps.is_monotonic_increasing

    policy = tmp_path / "policy.yaml"
    policy.write_text("budget: {daily_usd: 0.4}\n", encoding="utf-8")  # the controller sees requests in time order
    replays = [replay(prepare_log(router, source).scored, load_policy(policy), router.policy("linear")).days()
               for source in (pair / "scored", pair / "whole.parquet")]
    pd.testing.assert_frame_equal(replays[0], replays[1], rtol=1e-6)
    assert main(["replay", "--log", str(pair / "scored"), "--policy", str(policy)]) == 0
    assert "294 requests under" in capsys.readouterr().out


def page_with_path(page: str, label_start: str, path: Path):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "dashboard_frame.py"), default_timeout=300).run()
    at.switch_page(f"app_pages/{page}.py").run()
    next(t for t in at.text_input if t.label.startswith(label_start)).set_value(str(path)).run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    return at


def test_the_dashboard_opens_a_folder_of_parts_by_path_as_the_single_file(folder_and_file, tmp_path, monkeypatch):
    monkeypatch.setenv("CROSSROUTE_CACHE_DIR", str(tmp_path / "cache"))
    sources = (folder_and_file / "scored", folder_and_file / "whole.parquet")
    schedule = [page_with_path("schedule", "…or the path of a scored log", s) for s in sources]
    figures = [{m.label: m.value for m in at.metric} for at in schedule]
    assert figures[0] == figures[1] and len(figures[0]) >= 3
    assert all(any(c.value.startswith("294 requests from") for c in at.caption) for at in schedule)

    monitoring = [page_with_path("monitoring", "Decision log folder", s) for s in sources]
    figures = [{m.label: m.value for m in at.metric} for at in monitoring]
    assert figures[0] == figures[1] and figures[0]["Requests"] == "294"  # one replayed decision per request
    assert all("replayed at a daily budget" in "\n".join(c.value for c in at.caption) for at in monitoring)
    assert len(list((tmp_path / "cache" / "replays").iterdir())) == 2  # kept, per scored log


def test_bad_inputs_fail_before_ray_work_with_the_file_named(local_ray, tmp_path, capsys):
    (tmp_path / "logs").mkdir()
    pd.DataFrame({"when": ["2026-10-05T00:00:00Z"], "body": ["hello"]}).to_csv(tmp_path / "logs" / "a.csv", index=False)
    pd.DataFrame({"timestamp": ["2026-10-05T00:00:00Z"], "text": ["hi"]}).to_csv(tmp_path / "logs" / "b.csv", index=False)
    with pytest.raises(RouterInputError, match=r"a\.csv: no column for timestamp, prompt"):
        score_log_ray(tmp_path / "logs", ROUTER, tmp_path / "scored")
    with pytest.raises(RouterInputError, match="no request-log file"):
        score_log_ray(tmp_path / "nothing-*.csv", ROUTER, tmp_path / "scored")
    assert not (tmp_path / "scored").exists()
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "notes.txt").write_text("mine")
    assert main(["score-log", "--engine", "ray", "--log", str(tmp_path / "logs"), "--out", str(tmp_path / "taken")]) == 2
    assert "is not a scored-log folder" in capsys.readouterr().err
    assert (tmp_path / "taken" / "notes.txt").read_text() == "mine"


def test_without_ray_the_engine_says_how_to_install_it(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "ray", None)
    assert main(["score-log", "--engine", "ray", "--log", str(ROOT / "sample_data" / "request_log.csv"),
                 "--out", str(tmp_path / "scored")]) == 2
    assert "pip install -r requirements-ray.txt" in capsys.readouterr().err
    assert main(["score-log", "--workers", "2", "--log", "x.csv", "--out", str(tmp_path / "x.parquet")]) == 2
    assert "--workers is for --engine ray" in capsys.readouterr().err
