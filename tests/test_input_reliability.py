"""Every file a user hands over ends in a right result or one `error:` line naming the file, row or column: dates whose
day/month order a column must settle once, catalogs whose prices cannot be right, wide files that miss a model's cost,
tiny sets, numbers too big for a float, text that is not text, empty tables, damaged or missing ONNX graphs, and names
that Streamlit would turn into emoji."""
from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from router_core.data.catalog import load_catalog
from router_core.data.labelled import wide_to_long
from router_core.data.request_log import load_request_log
from router_core.errors import RouterInputError

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_ROUTER = ROOT / "sample_data" / "router"


def cli(*args, cwd=ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "router_core", *map(str, args)], cwd=cwd, capture_output=True, text=True,
                          timeout=600)


def one_error_line(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_a_columns_day_and_month_order_is_decided_once_or_asked_for(tmp_path):
    settled = tmp_path / "settled.csv"
    settled.write_text("timestamp,prompt\n13/03/2024 10:00,hello\n05/03/2024 11:00,hi there\n")
    assert [t.day for t in load_request_log(settled).frame["timestamp"]] == [13, 5]  # both 2024-03: day first throughout
    dotted = tmp_path / "dotted.csv"
    dotted.write_text("timestamp,prompt\n05.03.2024,hello\n03.25.2024,hi there\n")  # month first, by the 25
    assert [(t.month, t.day) for t in load_request_log(dotted).frame["timestamp"]] == [(5, 3), (3, 25)]
    ambiguous = tmp_path / "ambiguous.csv"
    ambiguous.write_text("timestamp,prompt\n05/03/2024,hello\n06/03/2024,hi there\n")
    with pytest.raises(RouterInputError, match="ambiguous.csv: column 'timestamp': dates such as 05/03/2024 could be read"):
        load_request_log(ambiguous)
    assert load_request_log(ambiguous, {"date_order": "day-first"}).frame["timestamp"].iloc[0].month == 3
    mixed = tmp_path / "mixed.csv"
    mixed.write_text("timestamp,prompt\n13/03/2024,hello\n03/25/2024,hi there\n")
    with pytest.raises(RouterInputError, match="13/03/2024 .day first. and 03/25/2024 .month first. disagree"):
        load_request_log(mixed)
    assert "error: " in one_error_line(cli("score-log", "--log", ambiguous, "--out", tmp_path / "s.parquet", "--no-cache"))
    result = cli("score-log", "--log", ambiguous, "--out", tmp_path / "s.parquet", "--date-order", "day-first", "--no-cache")
    assert result.returncode == 0, result.stderr


def test_replay_names_the_rows_it_leaves_out_and_takes_a_blank_model_cell(tmp_path):
    log = tmp_path / "log.csv"
    log.write_text("timestamp,prompt,model,cost_usd\n2026-10-05T10:00:00Z,hello there,gpt-4o,0.01\n"
                   "2026-10-05T10:05:00Z,,gpt-4o,0.01\nnot a time,hi,gpt-4o,0.01\n2026-10-05T10:07:00Z,how are you,,0.002\n")
    result = cli("replay", "--log", log, "--policy", "budget:1", "--no-cache")
    assert result.returncode == 0, result.stderr
    assert "2 requests under budget" in result.stdout
    assert "Unusable rows left out: 2 (1 × empty prompt" in result.stdout and "timestamp not understood" in result.stdout


@pytest.mark.parametrize("config, says", [
    ("model_list:\n- model_name: a\n  litellm_params: {model: openai/a}\n  model_info: {input_cost_per_token: 2.5, "
     "output_cost_per_token: 10}\n", "more than any model costs"),
    ("model_list:\n- model_name: a\n  model_info: {input_cost_per_token: 1e300, output_cost_per_token: 1e-6}\n",
     "more than any model costs"),
    ("model_list:\n- model_name: a\n  model_info: {input_cost_per_token: 0x10, output_cost_per_token: 1e-6}\n",
     "must be a decimal number, got '0x10'"),
    ("model_list:\n- model_name: a\n  model_info: {input_cost_per_token: 1e-6, output_cost_per_token: 1e-6, "
     "typical_output_tokens: 10000000000000}\n", "typical_output_tokens must be a whole number from 0 to 10,000,000"),
    ("model_list:\n- model_name: a\n  model_info: {input_cost_per_token: 1e-6, output_cost_per_token: 1e-6, "
     "typical_output_tokens: 1_000}\n", "must be a decimal number, got '1_000'"),
])
def test_a_catalog_whose_prices_cannot_be_right_is_refused_before_training(tmp_path, config, says):
    path = tmp_path / "config.yaml"
    path.write_text(config)
    with pytest.raises(RouterInputError) as caught:
        load_catalog(path)
    assert str(caught.value).startswith("config.yaml") or says in str(caught.value)
    assert says in str(caught.value)
    labelled = tmp_path / "labels.csv"
    labelled.write_text("query_id,query,model,quality,input_tokens,output_tokens\n" +
                        "".join(f"q{i},question {i},a,0.5,10,20\n" for i in range(12)))
    error = one_error_line(cli("train", "--data", labelled, "--catalog", path, "--out", tmp_path / "router"))
    assert says in error and not (tmp_path / "router").exists()


def test_a_wide_file_that_misses_a_models_cost_column_says_so():
    frame = pd.DataFrame({"sample_id": ["a", "b"], "prompt": ["x", "y"], "m1": [1, 0], "m1|total_cost": [0.1, 0.1],
                          "m2": [0.5, 1.0], "m2|model_response": ["r", "s"]})
    with pytest.raises(RouterInputError, match=r"wide.csv: wide format has no m2\|total_cost column, so model 'm2'"):
        wide_to_long(frame, "wide.csv")


def test_small_sets_big_numbers_bad_text_and_empty_tables_are_one_error_line_or_a_result(tmp_path):
    rows = [{"query_id": f"q{i}", "query": f"question number {i} about things", "model": m, "quality": q if i % 2 else 1 - q,
             "cost_usd": 0.01 if m == "a" else 0.001} for i in range(12) for m, q in (("a", 0.9), ("b", 0.5))]
    pd.DataFrame(rows).to_csv(tmp_path / "small.csv", index=False)
    assert cli("train", "--data", tmp_path / "small.csv", "--out", tmp_path / "r", "--epochs", "2").returncode == 0
    evaluated = cli("evaluate", "--data", tmp_path / "small.csv", "--router", tmp_path / "r")
    assert evaluated.returncode == 0 and "call-every" in evaluated.stdout, evaluated.stderr
    (tmp_path / "big.csv").write_text("timestamp,prompt,cost_usd\n" + "1" * 400 + ",hello,1e400\n"
                                      "2026-10-05T10:00:00Z,hi," + "9" * 400 + "\nnot a time,x,1\n")
    error = one_error_line(cli("score-log", "--log", tmp_path / "big.csv", "--out", tmp_path / "s.parquet", "--no-cache"))
    assert "epoch time of 400 digits" in error
    (tmp_path / "surrogate.csv").write_text('timestamp,messages\n2026-10-05T10:00:00Z,"[{""role"": ""user"", ""content"": '
                                           '""hi \\ud800""}]"\n2026-10-05T10:00:00Z,"[{""role"": ""user"", ""content"": ""fine""}]"\n')
    scored = cli("score-log", "--log", tmp_path / "surrogate.csv", "--out", tmp_path / "s2.parquet", "--no-cache")
    assert scored.returncode == 0 and "1 × the last user message holds a lone UTF-16 surrogate" in scored.stderr, scored.stderr
    (tmp_path / "empty.csv").write_text("query_id,query\n")
    pd.DataFrame({"query_id": pd.Series([], dtype=str), "query": pd.Series([], dtype=str)}).to_parquet(tmp_path / "empty.parquet")
    for name in ("empty.csv", "empty.parquet"):
        error = one_error_line(cli("route-batch", "--input", tmp_path / name, "--lams", "0,1", "--output", tmp_path / "o.csv"))
        assert "holds no rows" in error


def resealed_with_a_damaged_head(folder: Path) -> Path:
    from router_core.artifact.schema import seal

    head = folder / "router_head.onnx"
    data = bytearray(head.read_bytes())
    data[100:140] = b"\xff" * 40
    head.write_bytes(bytes(data))
    meta = json.loads((folder / "router.json").read_text())
    meta["onnx"]["head"]["sha256"] = hashlib.sha256(bytes(data)).hexdigest()
    (folder / "router.json").write_text(json.dumps(seal(meta), indent=2))
    return folder


def test_a_damaged_onnx_graph_is_one_error_line_and_a_missing_one_a_warning(tmp_path):
    folder = resealed_with_a_damaged_head(shutil.copytree(SAMPLE_ROUTER, tmp_path / "router"))
    error = one_error_line(cli("route", "--router", folder, "--lam", "0.3", "--no-cache", "a question never asked before"))
    assert "router_head.onnx: ONNX Runtime cannot load this graph" in error
    error = one_error_line(cli("serve", "--router", folder, "--demo", "--port", "1", "--log", tmp_path / "log"))
    assert "router_head.onnx: ONNX Runtime cannot load this graph" in error
    for name in ("router_head.onnx", "router.json"):  # the export as shipped, then its encoder graphs gone
        shutil.copy2(SAMPLE_ROUTER / name, folder / name)
    for graph in folder.glob("encoder*.onnx"):
        graph.unlink()
    result = cli("route", "--router", folder, "--lam", "0.3", "--no-cache", "hello")
    assert result.returncode in (0, 2) and "warning:" in result.stderr and "lists an ONNX encoder (encoder" in result.stderr


def test_streamlit_shortcodes_in_a_name_stay_text():
    from router_core.dashboard_views.figures import INVISIBLE_BREAK, escape_markdown

    assert escape_markdown(":rocket:") == f":{INVISIBLE_BREAK}rocket:"
    assert escape_markdown("x:material/warning:") == f"x:{INVISIBLE_BREAK}material/warning:"
    assert escape_markdown("gpt-4o-mini") == "gpt-4o-mini" and escape_markdown("λ: 0.3") == "λ: 0.3"
