"""score-log: a log scored chunk by chunk into Parquet replays exactly as the same log scored in memory."""
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from router_core.cli import main
from router_core.config import RouterConfig
from router_core.data.labelled import labelled_from_frame
from router_core.data.request_log import load_request_log
from router_core.errors import RouterInputError
from router_core.live.schedule import Schedule
from router_core.router import Router
from router_core.traffic.log_scoring import is_scored_log, read_scored_log, score_log
from router_core.traffic.replay import replay
from router_core.traffic.scored_log import scored_log

sys.path.insert(0, str(Path(__file__).parent))
from conftest import make_tiny_table  # noqa: E402

PROMPTS = ["hello how are you", "prove theorem step by step", "write a python function that sorts list",
           "thanks", "summarise this article in one sentence"]


@pytest.fixture(scope="module")
def routers(tiny_bert_path, tiny_catalog_module, tmp_path_factory):
    data = labelled_from_frame(make_tiny_table(20), tiny_catalog_module)
    folder = tmp_path_factory.mktemp("logs")
    config = RouterConfig.of(encoder=str(tiny_bert_path), max_tokens=32, epochs=8)
    Router(config).fit(data, tiny_catalog_module, show_bar=False).save(folder / "a")
    Router(RouterConfig.of(encoder=str(tiny_bert_path), max_tokens=32, epochs=8, seed=5)).fit(data, tiny_catalog_module, show_bar=False).save(folder / "b")
    return Router.load(folder / "a"), Router.load(folder / "b"), folder


@pytest.fixture(scope="module")
def tiny_catalog_module():
    from conftest import CANDIDATES

    from router_core.data.catalog import Candidate, Catalog

    return Catalog(tuple(Candidate(n, pid, pin, pout, 200) for n, (pid, pin, pout) in CANDIDATES.items()))


def log_frame() -> pd.DataFrame:
    """30 requests over two days, prompts repeating, a bad timestamp at row 7 and an empty prompt at row 23."""
    times = pd.date_range("2026-10-05T00:10:00Z", periods=30, freq="97min").strftime("%Y-%m-%dT%H:%M:%SZ").tolist()
    prompts = [PROMPTS[i % len(PROMPTS)] for i in range(30)]
    times[6] = "yesterday-ish"
    prompts[22] = "  "
    return pd.DataFrame({"created_at": times, "prompt": prompts, "model": ["premium"] * 30, "spend": np.linspace(0.001, 0.003, 30)})


def write(frame: pd.DataFrame, path: Path) -> Path:
    if path.suffix == ".csv":
        frame.to_csv(path, index=False)
    elif path.suffix == ".jsonl":
        frame.to_json(path, orient="records", lines=True)
    else:
        frame.to_parquet(path, index=False)
    return path


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".parquet"])
def test_a_log_scored_in_chunks_replays_like_one_scored_in_memory(routers, tmp_path, suffix):
    router, _, _ = routers
    source = write(log_frame(), tmp_path / f"log{suffix}")
    seen = []
    result = score_log(source, router, tmp_path / "scored.parquet", chunk_rows=4, rejected_out=tmp_path / "rejected.csv",
                       progress=lambda done, total: seen.append((done, total)))
    assert (result.requests, result.rejected) == (28, 2)
    assert result.first_rejection.startswith("row 7: timestamp not understood (column 'created_at'): 'yesterday")
    rejected = pd.read_csv(tmp_path / "rejected.csv")
    assert rejected["row"].tolist() == [7, 23] and rejected["reason"].tolist()[1] == "empty prompt (column 'prompt')"
    assert seen[-1] == (30, 30) and all(a[0] <= b[0] for a, b in zip(seen, seen[1:]))

    from_file, summary = read_scored_log(tmp_path / "scored.parquet", router)
    in_memory = scored_log(load_request_log(source).frame, router)
    assert summary["requests"] == 28 and summary["rejected"] == 2 and summary["distinct_prompts"] == len(PROMPTS)
    assert len(from_file.quality) == len(PROMPTS)  # each distinct prompt once
    for schedule in (Schedule.business_hours(), Schedule.constant(0.4)):
        a, b = replay(from_file, schedule, router.policy()).requests, replay(in_memory, schedule, router.policy()).requests
        assert a["model"].tolist() == b["model"].tolist()
        np.testing.assert_allclose(a["predicted_cost_usd"], b["predicted_cost_usd"], rtol=1e-9)
        np.testing.assert_allclose(a["predicted_quality"], b["predicted_quality"], rtol=1e-6)
    assert from_file.logged_model.tolist() == in_memory.logged_model.tolist()
    np.testing.assert_allclose(from_file.logged_cost, in_memory.logged_cost)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp files left


def test_the_file_holds_per_request_predictions_and_names_its_router(routers, tmp_path):
    router, _, _ = routers
    score_log(write(log_frame(), tmp_path / "log.csv"), router, tmp_path / "scored.parquet")
    file = pq.ParquetFile(tmp_path / "scored.parquet")
    metadata = json.loads(file.metadata.metadata[b"crossroute"])
    assert metadata["router_id"] == router.id and metadata["candidates"] == ["premium", "mid", "budget"]
    table = file.read().to_pandas()
    assert {"timestamp", "prompt_key", "predicted_quality_premium", "predicted_cost_usd_budget", "weight_mid",
            "logged_model", "logged_cost_usd"} <= set(table.columns)
    assert len(table) == 28 and str(table["timestamp"].dt.tz) == "UTC"
    assert is_scored_log(tmp_path / "scored.parquet") and is_scored_log((tmp_path / "scored.parquet").read_bytes())


def test_another_routers_file_is_refused_by_name(routers, tmp_path):
    router, other, _ = routers
    score_log(write(log_frame(), tmp_path / "log.csv"), other, tmp_path / "scored.parquet")
    with pytest.raises(RouterInputError, match=r"scored\.parquet: scored by another router \(id " + other.id):
        read_scored_log(tmp_path / "scored.parquet", router)


def test_a_plain_parquet_log_is_not_a_scored_log(routers, tmp_path):
    router, _, _ = routers
    plain = write(log_frame(), tmp_path / "plain.parquet")
    assert not is_scored_log(plain) and not is_scored_log(b"not parquet at all")
    with pytest.raises(RouterInputError, match="plain.parquet: not a file written by `python -m router_core score-log`"):
        read_scored_log(plain, router)


def test_edited_prices_reprice_the_file_without_rescoring(routers, tmp_path, tiny_catalog_module):
    router, _, _ = routers
    source = write(log_frame(), tmp_path / "log.csv")
    score_log(source, router, tmp_path / "scored.parquet")
    cheaper = tiny_catalog_module.with_prices("premium", output_usd_per_1m=1.5)
    from_file, _ = read_scored_log(tmp_path / "scored.parquet", router, catalog=cheaper)
    in_memory = scored_log(load_request_log(source).frame, router, catalog=cheaper)
    np.testing.assert_allclose(from_file.cost, in_memory.cost, rtol=1e-9)
    unchanged, _ = read_scored_log(tmp_path / "scored.parquet", router)
    assert (from_file.cost[:, 0] < unchanged.cost[:, 0]).all() and np.allclose(from_file.cost[:, 1:], unchanged.cost[:, 1:])


def test_a_log_without_one_usable_row_writes_nothing(routers, tmp_path):
    router, _, _ = routers
    frame = log_frame().assign(created_at="not a time")
    with pytest.raises(RouterInputError, match=r"log.csv: no usable request; every row was rejected \(first reason: row 1: timestamp"):
        score_log(write(frame, tmp_path / "log.csv"), router, tmp_path / "scored.parquet", chunk_rows=7)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["log.csv"]
    with pytest.raises(RouterInputError, match=r"no column for prompt \(prompt: one of prompt, query"):
        score_log(write(log_frame().rename(columns={"prompt": "body"}), tmp_path / "log.csv"), router, tmp_path / "s.parquet")


def test_cli_score_log_maps_columns_and_reports_rejections(routers, tmp_path, capsys):
    _, _, folder = routers
    write(log_frame().rename(columns={"prompt": "body"}), tmp_path / "log.csv")
    args = ["score-log", "--router", str(folder / "a"), "--log", str(tmp_path / "log.csv"), "--out", str(tmp_path / "out.parquet")]
    assert main(args) == 2
    assert capsys.readouterr().err.strip().startswith("error: ")
    assert main(args + ["--map", "prompt=body", "--no-cache"]) == 0
    out, err = capsys.readouterr()
    assert "wrote 28 scored requests" in out and "2 rows could not be used (1 × timestamp not understood (column 'created_at'): '…' is not a date with a year" in err
    assert "1 × empty prompt (column 'body')" in err
    assert pq.ParquetFile(tmp_path / "out.parquet").metadata.num_rows == 28
    assert main(args + ["--map", "prompt"]) == 2
    assert "expected FIELD=COLUMN" in capsys.readouterr().err


def test_a_scored_log_keeps_who_sent_each_request(routers, tmp_path):
    router = routers[0]
    frame = log_frame().assign(team=["search", "ads", None] * 10, user=[f"u{i % 4}" for i in range(30)])
    source = write(frame, tmp_path / "log.csv")
    score_log(source, router, tmp_path / "scored.parquet", chunk_rows=7)
    from_file, _ = read_scored_log(tmp_path / "scored.parquet", router)
    in_memory = scored_log(load_request_log(source).frame, router)
    def cells(series):
        return [None if pd.isna(v) else v for v in series]
    for group in ("team", "user"):
        assert cells(from_file.groups[group]) == cells(in_memory.groups[group])
    assert cells(from_file.groups["team"])[:3] == ["search", "ads", None]
