"""The CLI: user errors are one line and exit 2; route and route-batch outputs follow the contracts."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from router_core.cli import main
from router_core.router import Router

ROOT = Path(__file__).resolve().parent.parent


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "router_core", *map(str, args)], cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_bad_labelled_file_is_one_line_and_exit_2(tmp_path):
    (tmp_path / "bad.csv").write_text("query_id,query,model,quality,cost_usd\nq1,hi,a,1.5,0.1\n")
    result = run_cli("train", "--data", tmp_path / "bad.csv", "--out", tmp_path / "r")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [f"error: {tmp_path / 'bad.csv'}: column 'quality' must be in [0, 1]; row 1 (line 2) has 1.5"]
    assert "Traceback" not in result.stderr and not (tmp_path / "r").exists()


def test_missing_router_is_one_line(tmp_path):
    result = run_cli("route", "--router", tmp_path / "none", "--lam", "0.5", "hello")
    assert result.returncode == 2 and result.stderr.startswith("error: ") and "not a router artifact" in result.stderr


def test_every_verb_has_help():
    for verb in ("train", "evaluate", "route", "route-batch", "score-log", "simulate", "export-onnx", "upgrade", "sample-data"):
        result = run_cli(verb, "--help")
        assert result.returncode == 0 and "usage:" in result.stdout


def test_route_prints_a_json_decision(tiny_router_dir, capsys):
    assert main(["route", "--router", str(tiny_router_dir), "--lam", "1", "prove theorem step by step"]) == 0
    decision = json.loads(capsys.readouterr().out)
    assert decision["candidates"] == ["budget"] and decision["routing"] == "hard"
    assert set(decision["per_candidate"]) == {"premium", "mid", "budget"}
    assert decision["per_candidate"]["budget"]["predicted_cost_usd"] == pytest.approx(decision["predicted_cost_usd"])
    assert main(["route", "--router", str(tiny_router_dir), "--lam", "0.2", "--top-k", "2", "prove theorem"]) == 0
    soft = json.loads(capsys.readouterr().out)
    assert soft["routing"] == "soft" and len(soft["candidates"]) == 2 and soft["aggregator"] == "premium"


def test_route_batch_writes_the_decisions_contract(tiny_router_dir, tmp_path, capsys):
    pd.DataFrame({"query_id": ["a", "b"], "query": ["hello how are you", "prove theorem step by step"]}).to_csv(tmp_path / "in.csv", index=False)
    assert main(["route-batch", "--router", str(tiny_router_dir), "--input", str(tmp_path / "in.csv"),
                 "--lams", "0,0.5,1", "--output", str(tmp_path / "out.csv")]) == 0
    out = pd.read_csv(tmp_path / "out.csv")
    assert list(out.columns[:3]) == ["query_id", "lambda", "model"]
    assert {"weight_premium", "predicted_quality_mid", "predicted_cost_usd_budget"} <= set(out.columns)
    assert len(out) == 6 and sorted(out["lambda"].unique()) == [0.0, 0.5, 1.0]
    assert (out[out["lambda"] == 1.0]["model"] == "budget").all()
    weights = out[[c for c in out.columns if c.startswith("weight_")]].to_numpy()
    np.testing.assert_allclose(weights.sum(axis=1), 1.0, atol=1e-5)


def test_route_batch_sets_unusable_rows_aside_with_every_reason(tiny_router_dir, tmp_path, capsys):
    pd.DataFrame({"query_id": ["a", " ", "c", "d"], "prompt": ["one", "two", None, "four"]}).to_csv(tmp_path / "in.csv", index=False)
    argv = ["route-batch", "--router", str(tiny_router_dir), "--input", str(tmp_path / "in.csv"), "--lams", "0,1",
            "--output", str(tmp_path / "o.csv"), "--rejected", str(tmp_path / "rejected.csv")]
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert "2 rows could not be used (1 × empty id (column 'query_id'); 1 × empty query (column 'prompt'))" in err
    assert pd.read_csv(tmp_path / "o.csv")["query_id"].unique().tolist() == ["a", "d"]
    rejected = pd.read_csv(tmp_path / "rejected.csv")
    assert rejected["row"].tolist() == [2, 3] and rejected["reason"].tolist() == ["empty id (column 'query_id')", "empty query (column 'prompt')"]


def test_route_batch_reads_a_litellm_spend_log_like_score_log(tiny_router_dir, tmp_path, capsys):
    messages = [json.dumps([{"role": "system", "content": "be brief"}, {"role": "user", "content": text}])
                for text in ("write a python function", "hello how are you")]
    pd.DataFrame({"request_id": ["r1", "r2", "r3"], "startTime": ["2026-10-05T10:00:00Z"] * 3,
                  "messages": messages + ['[{"role": "user", "content": "cut off']}).to_csv(tmp_path / "spend.csv", index=False)
    argv = ["route-batch", "--router", str(tiny_router_dir), "--input", str(tmp_path / "spend.csv"), "--lams", "0.5",
            "--output", str(tmp_path / "o.csv")]
    assert main(argv) == 0
    assert pd.read_csv(tmp_path / "o.csv")["query_id"].tolist() == ["r1", "r2"]
    assert "1 rows could not be used (1 × malformed messages JSON" in capsys.readouterr().err


def test_route_batch_with_no_usable_row_is_one_error_line(tiny_router_dir, tmp_path, capsys):
    pd.DataFrame({"prompt": [" ", None]}).to_csv(tmp_path / "in.csv", index=False)
    assert main(["route-batch", "--router", str(tiny_router_dir), "--input", str(tmp_path / "in.csv"),
                 "--output", str(tmp_path / "o.csv")]) == 2
    assert "in.csv: no usable query; every row was set aside (first, row 1: empty query (column 'prompt'))" in one_error_line(capsys)
    assert not (tmp_path / "o.csv").exists()


def test_router_core_never_imports_streamlit():
    code = "import sys, router_core, router_core.cli, router_core.evaluation.comparison; print('streamlit' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.stdout.strip() == "False", result.stderr
    offenders = [p.name for p in (ROOT / "router_core").rglob("*.py") if "import streamlit" in p.read_text()]
    assert offenders == []


def _two_day_log(path):
    times = pd.date_range("2026-10-05T00:30Z", periods=48, freq="h")  # Monday and Tuesday, one request an hour
    prompts = ["prove theorem step by step", "hello how are you"] * 24
    pd.DataFrame({"timestamp": times.astype(str), "prompt": prompts, "model": "premium", "spend": 0.002}).to_csv(path, index=False)
    return path


def test_simulate_replays_a_log_under_a_schedule_and_writes_the_decisions(tiny_router_dir, tmp_path, capsys):
    log = _two_day_log(tmp_path / "log.csv")
    assert main(["simulate", "--router", str(tiny_router_dir), "--log", str(log), "--schedule", "constant:1",
                 "--out", str(tmp_path / "report.csv"), "--no-cache"]) == 0
    printed = capsys.readouterr().out
    assert "predicted" in printed and "measured" in printed  # says which figures are the router's and which the log's
    report = pd.read_csv(tmp_path / "report.csv")
    assert len(report) == 48 and (report["lam"] == 1.0).all() and (report["model"] == "budget").all()
    assert main(["simulate", "--router", str(tiny_router_dir), "--log", str(log), "--schedule", "constant:0",
                 "--out", str(tmp_path / "quality.csv"), "--no-cache"]) == 0
    quality_first = pd.read_csv(tmp_path / "quality.csv")
    assert quality_first["predicted_cost_usd"].sum() > report["predicted_cost_usd"].sum()


def test_simulate_refuses_a_bad_schedule_in_one_line(tiny_router_dir, tmp_path):
    result = run_cli("simulate", "--router", tiny_router_dir, "--log", _two_day_log(tmp_path / "log.csv"), "--schedule", "weekly:3", "--no-cache")
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert result.stderr.startswith("error: policy 'weekly:3': not understood") and "business-hours" in result.stderr


def test_upgrade_says_when_an_artifact_is_already_current(tiny_router_dir, capsys):
    assert main(["upgrade", "--router", str(tiny_router_dir)]) == 0
    assert "already in the current artifact format" in capsys.readouterr().out


def test_the_console_script_is_the_same_cli():
    script = Path(sys.executable).with_name("crossroute")
    if not script.exists():
        pytest.skip(f"{script} is not installed: install the project with `pip install -e .` (requirements.txt does)")
    result = subprocess.run([str(script), "simulate", "--help"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and "--schedule" in result.stdout


def test_train_learns_from_every_query_unless_asked_to_hold_some_out(tiny_bert_path, tmp_path, capsys):
    sys.path.insert(0, str(Path(__file__).parent))
    from conftest import make_tiny_table

    make_tiny_table(24).to_csv(tmp_path / "labels.csv", index=False)
    common = ["train", "--data", str(tmp_path / "labels.csv"), "--epochs", "3", "--max-tokens", "32", "--encoder", str(tiny_bert_path)]
    assert main([*common, "--out", str(tmp_path / "all")]) == 0
    assert main([*common, "--out", str(tmp_path / "held"), "--holdout", "0.25"]) == 0
    assert main([*common, "--out", str(tmp_path / "bad"), "--holdout", "1.5"]) == 2 and not (tmp_path / "bad").exists()
    everything = json.loads((tmp_path / "all" / "router.json").read_text())["training"]
    held = json.loads((tmp_path / "held" / "router.json").read_text())["training"]
    assert everything["n_queries"] == everything["n_train"] == 24 and everything["held_out"]["test_fraction"] == 0
    assert held["n_queries"] == 18 and held["held_out"]["test_fraction"] == 0.25
    assert "aiq" in everything["validation"] and everything["quality_stage"]["folds"] == 3
    assert "holdout must be in [0, 1)" in capsys.readouterr().err


# ---------------------------------------------------------------- one `error:` line for every failure at the boundary

def one_error_line(capsys, after_progress_bars: bool = False) -> str:
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    if after_progress_bars:  # training draws tqdm bars on stderr first
        lines = [line.rpartition("\r")[2].rpartition(" " * 8)[2].strip() for line in lines[-1:]]
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err, err
    return lines[0]


def test_a_missing_catalog_is_one_line_naming_it(tmp_path, capsys):
    (tmp_path / "labels.csv").write_text("query_id,query,model,quality,cost_usd\nq1,hi,a,0.5,0.1\n")
    assert main(["train", "--data", str(tmp_path / "labels.csv"), "--catalog", str(tmp_path / "missing.yaml"),
                 "--out", str(tmp_path / "r")]) == 2
    assert "missing.yaml" in one_error_line(capsys) and not (tmp_path / "r").exists()


@pytest.mark.parametrize("lams, expected", [
    ("0:1:0", "the count must be 1 to 1001, got 0"),
    ("", "it gives no λ value"),
    ("0:1:x", "expected comma-separated numbers in [0, 1]"),
    ("0,nan", "nan is outside [0, 1]"),
    ("0:2:3", "2 is outside [0, 1]"),
    ("0:1:100000", "the count must be 1 to 1001, got 100000"),
    ("0,0.3,...,1", "steps of 0.3 from 0 do not reach 1"),
    ("0,...,1", "'...' goes between the first two values and the last, as 0,0.05,...,1"),
    ("0.5,0.4,...,1", "with '...' the values must rise (first < second <= last)"),
])
def test_route_batch_refuses_a_bad_lambda_grid_in_one_line(tmp_path, capsys, lams, expected):
    pd.DataFrame({"query": ["hello"]}).to_csv(tmp_path / "in.csv", index=False)
    assert main(["route-batch", "--router", str(tmp_path / "no-router"), "--input", str(tmp_path / "in.csv"),
                 "--lams", lams, "--output", str(tmp_path / "o.csv")]) == 2  # refused before the router is even looked for
    assert one_error_line(capsys) == f"error: --lams {lams!r}: expected comma-separated numbers in [0, 1] (0,0.5,1), a " \
                                     f"progression (0,0.05,...,1) or start:stop:count (0:1:21)" + \
                                     ("" if expected.startswith("expected") else f"; {expected}")


@pytest.mark.parametrize("lams, expected", [
    ("0,0.05,...,1", [i / 20 for i in range(21)]),
    ("0.2,0.4,...,1", [0.2, 0.4, 0.6, 0.8, 1.0]),
    ("0:1:3", [0.0, 0.5, 1.0]),
    ("1, 0, 0.5", [1.0, 0.0, 0.5]),
])
def test_lambda_grids_in_every_documented_form(lams, expected):
    from router_core.cli import _lams

    assert _lams(lams).tolist() == pytest.approx(expected)


@pytest.mark.parametrize("argv, expected", [
    (["score-log", "--log", "x.csv", "--out", "y.parquet", "--chunk-rows", "0"],
     "error: argument --chunk-rows: expected a whole number >= 1, got 0 (see python -m router_core score-log --help)"),
    (["route", "hi", "--lam", "0.5", "--top-k", "-1"],
     "error: argument --top-k: expected a whole number >= 1, got -1 (see python -m router_core route --help)"),
    (["train", "--data", "x.csv", "--out", "r", "--epochs", "many"],
     "error: argument --epochs: expected a whole number >= 1, got 'many' (see python -m router_core train --help)"),
    (["route", "hi"], "error: the following arguments are required: --lam (see python -m router_core route --help)"),
])
def test_argument_mistakes_are_one_line_too(argv, expected, capsys):
    with pytest.raises(SystemExit) as stopped:
        main(argv)
    assert stopped.value.code == 2 and one_error_line(capsys) == expected


def test_an_output_under_a_regular_file_is_one_line_naming_it(tiny_router_dir, tmp_path, capsys):
    pd.DataFrame({"query": ["hello"]}).to_csv(tmp_path / "in.csv", index=False)
    (tmp_path / "plain").write_text("a file, not a folder")
    assert main(["route-batch", "--router", str(tiny_router_dir), "--input", str(tmp_path / "in.csv"), "--no-cache",
                 "--output", str(tmp_path / "plain" / "out.csv")]) == 2
    assert one_error_line(capsys) == f"error: {tmp_path / 'plain'}: already exists and is not a folder"


def test_an_output_that_is_a_folder_is_one_line_naming_it(tiny_router_dir, tmp_path, capsys):
    pd.DataFrame({"query": ["hello"]}).to_csv(tmp_path / "in.csv", index=False)
    (tmp_path / "out").mkdir()
    assert main(["route-batch", "--router", str(tiny_router_dir), "--input", str(tmp_path / "in.csv"), "--no-cache",
                 "--output", str(tmp_path / "out")]) == 2
    assert one_error_line(capsys) == f"error: {tmp_path / 'out'}: is a folder, expected a file"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv", "out"]  # no temporary file left beside it


def test_disk_full_while_writing_is_one_line_naming_the_output(tiny_router_dir, tmp_path, capsys, monkeypatch):
    import errno
    import os

    import router_core.files

    pd.DataFrame({"query": ["hello"]}).to_csv(tmp_path / "in.csv", index=False)
    (tmp_path / "out.csv").write_text("previous decisions\n")

    def full_disk(handle, *args, **kwargs):
        os.close(handle)
        raise OSError(errno.ENOSPC, "No space left on device")  # as a write() on a full disk raises: no file name
    monkeypatch.setattr(router_core.files.os, "fdopen", full_disk)
    assert main(["route-batch", "--router", str(tiny_router_dir), "--input", str(tmp_path / "in.csv"), "--no-cache",
                 "--output", str(tmp_path / "out.csv")]) == 2
    assert one_error_line(capsys) == f"error: {tmp_path / 'out.csv'}: no space left on the device"
    assert (tmp_path / "out.csv").read_text() == "previous decisions\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv", "out.csv"]


def test_disk_full_during_save_is_one_line_naming_the_router_folder(tiny_bert_path, tmp_path, capsys, monkeypatch):
    import errno

    sys.path.insert(0, str(Path(__file__).parent))
    from conftest import make_tiny_table

    def full_disk(self, folder):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(Router, "save", full_disk)
    make_tiny_table(12).to_csv(tmp_path / "labels.csv", index=False)
    assert main(["train", "--data", str(tmp_path / "labels.csv"), "--epochs", "1", "--max-tokens", "32", "--validation-folds", "2",
                 "--encoder", str(tiny_bert_path), "--out", str(tmp_path / "router")]) == 2
    assert one_error_line(capsys, after_progress_bars=True) == f"error: {tmp_path / 'router'}: no space left on the device"


def test_deeply_nested_input_and_memory_exhaustion_are_one_line(tmp_path, capsys, monkeypatch):
    import router_core.cli as cli

    (tmp_path / "in.jsonl").write_text('{"query": "hi"}\n')

    def nested(args):
        raise RecursionError("maximum recursion depth exceeded")
    monkeypatch.setattr(cli, "cmd_route_batch", nested)
    assert main(["route-batch", "--input", str(tmp_path / "in.jsonl"), "--output", str(tmp_path / "o.csv")]) == 2
    line = one_error_line(capsys)
    assert f"{tmp_path / 'in.jsonl'}" in line and "nested too deeply" in line

    def hungry(args):
        raise MemoryError()
    monkeypatch.setattr(cli, "cmd_score_log", hungry)
    assert main(["score-log", "--log", str(tmp_path / "in.jsonl"), "--out", str(tmp_path / "o.parquet")]) == 2
    assert "ran out of memory" in one_error_line(capsys)


def test_control_characters_in_user_text_never_reach_the_terminal(tiny_router_dir, tmp_path, capsys):
    pd.DataFrame({"\x1b[31mquestion\x1b[0m": ["hello"]}).to_csv(tmp_path / "in.csv", index=False)
    assert main(["route-batch", "--router", str(tiny_router_dir), "--input", str(tmp_path / "in.csv"), "--no-cache",
                 "--output", str(tmp_path / "o.csv")]) == 2
    line = one_error_line(capsys)
    assert "\x1b" not in line and "\\x1b[31mquestion\\x1b[0m" in line


def test_a_damaged_score_cache_is_one_warning_line_and_routing_goes_on(tiny_router_dir, tmp_path):
    import os

    (tmp_path / "scores.sqlite").write_bytes(b"garbage" * 500)
    result = subprocess.run([sys.executable, "-m", "router_core", "route", "--router", str(tiny_router_dir), "--lam", "1",
                             "prove theorem step by step"], cwd=ROOT, capture_output=True, text=True, timeout=300,
                            env={**os.environ, "CROSSROUTE_CACHE_DIR": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["candidates"] == ["budget"]
    assert result.stderr.strip().splitlines() == [
        f"warning: {tmp_path / 'scores.sqlite'}: the file is damaged (file is not a database); delete it to start a fresh "
        f"cache; scoring without the score cache (same scores, just not kept)"]
