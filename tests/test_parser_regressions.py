"""Each input that once crashed a parser or was read wrongly: now one clear RouterInputError, or the right values."""
import io
import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from router_core.data.catalog import catalog_from_litellm_config, load_catalog
from router_core.data.labelled import labelled_from_frame, load_labelled
from router_core.data.request_log import (
    iter_request_log,
    load_request_log,
    request_log_from_frame,
)
from router_core.data.tables import read_table
from router_core.errors import RouterInputError


def labelled(**changes):
    frame = pd.DataFrame({"query_id": ["q1", "q1", "q2", "q2"], "query": ["a", "a", "b", "b"], "model": ["m", "n", "m", "n"],
                          "quality": [1.0, 0.5, 0.0, 0.25], "cost_usd": [0.1, 0.2, 0.3, 0.4]})
    return frame.assign(**changes)


def yaml_catalog(text: str):
    return load_catalog(io.BytesIO(text.encode()), name="config.yaml")


@pytest.mark.parametrize("text, expected", [
    ("model_list: [gpt-4o]", r"model_list\[0\] must be a mapping"),
    ("model_list: [[1, 2]]", r"model_list\[0\] must be a mapping"),
    ("model_list: gpt-4o", "model_list must be a list"),
    ("- a\n- b", "got a list"),
    ("model_list:\n- model_name: a\n  litellm_params: openai/x", r"model_list\[0\].litellm_params must be a mapping"),
    ("model_list:\n- model_name: a\n  model_info: [1]", r"model_list\[0\].model_info must be a mapping"),
    ("model_list:\n- model_name: a\n  litellm_params: {model: [1]}", r"litellm_params.model must be text"),
    ("model_list:\n- model_name: a\n  model_info: {input_cost_per_token: 1e-6}", "has no output_cost_per_token"),
    ("model_list:\n- model_name: a\n  model_info: {input_cost_per_token: true, output_cost_per_token: 1e-6}",
     "must be a decimal number, got True"),
    ("model_list:\n- model_name: a\n  model_info: {input_cost_per_token: cheap, output_cost_per_token: 1e-6}",
     "must be a decimal number, got 'cheap'"),
    ("model_list:\n- model_name: ''\n  model_info: {input_cost_per_token: 1, output_cost_per_token: 1}", "has no model_name"),
    ("model_list:\n- model_name: a\n  model_info: {input_cost_per_token: 1e-6, output_cost_per_token: 1e-6, "
     "typical_output_tokens: 1.5}", "whole number"),
    ("a: " + "[" * 50_000, "nested too deeply|not a readable YAML"),
])
def test_litellm_config_structure_errors_name_the_entry(text, expected):
    with pytest.raises(RouterInputError, match=expected):
        yaml_catalog(text)


def test_litellm_deployments_of_one_model_merge_only_when_prices_agree():
    entry = "- model_name: a\n  model_info: {{input_cost_per_token: {}, output_cost_per_token: 2e-6}}\n"
    assert yaml_catalog("model_list:\n" + entry.format("1e-6") * 2).names == ["a"]
    with pytest.raises(RouterInputError, match=r"model_list\[1\] \(a\): priced differently"):
        yaml_catalog("model_list:\n" + entry.format("1e-6") + entry.format("3e-6"))


def test_non_mapping_config_is_refused():
    with pytest.raises(RouterInputError, match="got a str"):
        catalog_from_litellm_config("model_list")


def test_missing_catalog_file_is_named(tmp_path):
    with pytest.raises(RouterInputError, match="missing.yaml: no such file"):
        load_catalog(tmp_path / "missing.yaml")


@pytest.mark.parametrize("name, price", [("", 1.0), (None, 1.0), ("a", True), ("a", "abc")])
def test_catalog_table_refuses_empty_names_and_non_number_prices(name, price):
    frame = pd.DataFrame({"name": [name], "provider_model_id": ["x/a"], "input_usd_per_1m": [price], "output_usd_per_1m": [1.0]})
    with pytest.raises(RouterInputError, match="row 2"):
        load_catalog(io.BytesIO(frame.to_json(orient="records").encode()), name="catalog.json")


def test_jsonl_line_that_is_not_an_object_names_the_line():
    with pytest.raises(RouterInputError, match="line 2 is a JSON list"):
        read_table(io.BytesIO(b'{"a": 1}\n[1, 2]\n'), "log.jsonl")


@pytest.mark.parametrize("name, data", [("set.json", b"[" * 100_000), ("set.jsonl", b'{"a": ' + b"[" * 100_000 + b"}")])
def test_deeply_nested_json_is_an_error_naming_the_file(name, data):
    with pytest.raises(RouterInputError, match=f"{name}: .*nested too deeply"):
        read_table(io.BytesIO(data), name)


def test_parquet_with_repeated_column_names_is_refused(tmp_path):
    table = pa.Table.from_arrays([pa.array(["a"]), pa.array(["b"])], names=["prompt", "prompt"])
    pq.write_table(table, tmp_path / "dup.parquet")
    with pytest.raises(RouterInputError, match="'prompt' appear more than once"):
        read_table(tmp_path / "dup.parquet")
    with pytest.raises(RouterInputError, match="'prompt' appear more than once"):
        list(iter_request_log(tmp_path / "dup.parquet"))


def test_one_empty_query_id_is_an_error_and_never_truncates_the_others(tmp_path):
    frame = labelled(query_id=["query-one", "query-one", "query-two", "query-two"])
    assert list(labelled_from_frame(frame).query_ids) == ["query-one", "query-two"]
    path = tmp_path / "set.csv"
    frame.assign(query_id=["query-one", "", "query-two", "query-two"]).to_csv(path, index=False)
    with pytest.raises(RouterInputError, match=r"'query_id' is empty at row 2 \(line 3\)"):
        load_labelled(path)


def test_ids_and_texts_read_exactly_as_written(tmp_path):
    frame = labelled(query_id=["007", "007", "NA", "NA"], query=["1.50", "1.50", "null", "null"])
    for suffix in (".csv", ".jsonl"):
        path = tmp_path / f"set{suffix}"
        frame.to_csv(path, index=False) if suffix == ".csv" else frame.to_json(path, orient="records", lines=True)
        data = load_labelled(path)
        assert list(data.query_ids) == ["007", "NA"] and data.queries == ["1.50", "null"]


def test_integer_ids_in_jsonl_stay_integers_as_text(tmp_path):
    path = tmp_path / "set.jsonl"
    rows = [{"query_id": 1, "query": "a", "model": "m", "quality": 1, "cost_usd": 0.1},
            {"query_id": None, "query": "b", "model": "m", "quality": 1, "cost_usd": 0.1}]
    path.write_text("\n".join(json.dumps(r) for r in rows[:1]))
    assert list(load_labelled(path).query_ids) == ["1"]
    path.write_text("\n".join(json.dumps(r) for r in rows))
    with pytest.raises(RouterInputError, match="'query_id' is empty at row 2"):
        load_labelled(path)


def test_one_query_id_with_two_texts_names_both_rows():
    with pytest.raises(RouterInputError, match=r"query_id 'q1' has two different query texts, at row 1 \(line 2\) and row 2"):
        labelled_from_frame(labelled(query=["a", "other", "b", "b"]))


def test_empty_model_cell_is_an_error_even_when_dropping_incomplete_queries():
    with pytest.raises(RouterInputError, match=r"'model' is empty at row 2"):
        labelled_from_frame(labelled(model=["m", None, "m", "n"]), missing="drop")


@pytest.mark.parametrize("tokens, expected", [(["x", 1, 1, 1], "'output_tokens' must be a number"),
                                              ([-1, 1, 1, 1], "'output_tokens' must be >= 0"),
                                              ([np.nan, 1, 1, 1], "'output_tokens' must be a number"),
                                              ([np.inf, 1, 1, 1], "'output_tokens' must be a number")])
def test_bad_token_counts_beside_cost_are_errors(tokens, expected):
    with pytest.raises(RouterInputError, match=expected):
        labelled_from_frame(labelled(input_tokens=[10, 10, 20, 20], output_tokens=tokens))


def test_boolean_quality_is_not_a_number():
    with pytest.raises(RouterInputError, match="'quality' must be a number"):
        labelled_from_frame(labelled(quality=[True, False, True, False]))


def log_frame(times, prompts=None, **columns):
    return pd.DataFrame({"timestamp": pd.Series(times, dtype=object),
                         "prompt": prompts or [f"prompt {i}" for i in range(len(times))], **columns})


def test_epoch_units_are_chosen_per_value_and_outliers_are_rejected():
    seconds, millis = 1_790_000_000, 1_790_000_000_500
    log = request_log_from_frame(log_frame([seconds, millis, 5, -86_400 * 365 * 55, seconds * 10**9 + 123_456_789]))
    assert log.frame["timestamp"].tolist() == [pd.Timestamp(seconds, unit="s", tz="UTC"),
                                               pd.Timestamp(millis, unit="ms", tz="UTC"),
                                               pd.Timestamp(seconds * 10**6 + 123_456, unit="us", tz="UTC")]
    assert log.rejected["row"].tolist() == [3, 4]
    assert all("not a date between 1990 and 2100" in r for r in log.rejected["reason"])


@pytest.mark.parametrize("word", ["now", "today", "12:00", "yesterday"])
def test_relative_times_are_rejected_not_read_as_the_parse_time(word):
    log = request_log_from_frame(log_frame(["2026-10-05T10:00:00Z", word]))
    assert log.rejected["row"].tolist() == [2] and "not a date with a year" in log.rejected["reason"][0]


def test_numbers_mixed_with_iso_strings_are_epoch_seconds_not_nanoseconds():
    log = request_log_from_frame(log_frame(["2026-10-05T10:00:00Z", "1790000000", 1790000000]))
    assert log.frame["timestamp"].tolist() == [pd.Timestamp("2026-10-05T10:00:00Z")] + [pd.Timestamp(1790000000, unit="s", tz="UTC")] * 2


def test_bad_logged_costs_are_rejected_with_a_reason_and_a_dollar_sign_is_read():
    log = request_log_from_frame(log_frame(["2026-10-05T10:00:00Z"] * 6, cost=["$0.01", "abc", -5, np.inf, None, "0.5"]))
    assert log.frame["cost_usd"].tolist()[:1] == [0.01] and np.isnan(log.frame["cost_usd"][1]) and log.frame["cost_usd"][2] == 0.5
    assert log.rejected["row"].tolist() == [2, 3, 4]
    assert [r.split(" (column")[0] for r in log.rejected["reason"]] == [
        "cost_usd 'abc' is not a number", "cost_usd -5 is negative", "cost_usd inf is not a finite number"]


def test_malformed_messages_json_is_rejected_not_scored_as_text():
    good = json.dumps([{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}])
    log = request_log_from_frame(pd.DataFrame({"timestamp": ["2026-10-05T10:00:00Z"] * 4,
                                               "messages": [good, good[:-3], '[{"role": "assistant"}]', '{"content": 5}']}))
    assert log.frame["prompt"].tolist() == ["hi"]
    assert [r.split(" (")[0] for r in log.rejected["reason"]] == ["malformed messages JSON", "messages hold no user message",
                                                                  "the last user message's content is a int, not text"]


def test_binary_prompts_are_decoded_or_rejected(tmp_path):
    table = pa.table({"timestamp": ["2026-10-05T10:00:00Z"] * 2, "prompt": pa.array([b"hello", b"\xff\xfe"], pa.binary())})
    pq.write_table(table, tmp_path / "log.parquet")
    log = load_request_log(tmp_path / "log.parquet")
    assert log.frame["prompt"].tolist() == ["hello"]
    assert log.rejected["reason"][0].startswith("binary data that is not UTF-8 text")


def test_sub_microsecond_times_read_the_same_whole_and_in_chunks(tmp_path):
    times = pd.to_datetime(["2026-10-05T10:00:00.123456789Z", "2026-10-05T11:00:00.000000001Z", "now"], utc=True, errors="coerce")
    frame = pd.DataFrame({"timestamp": ["2026-10-05T10:00:00.123456789Z", "2026-10-05T11:00:00.000000001Z", "now"],
                          "prompt": ["a", "b", "c"]})
    frame.to_csv(tmp_path / "log.csv", index=False)
    pq.write_table(pa.table({"timestamp": pa.array(times.as_unit("ns"), pa.timestamp("ns", tz="UTC")), "prompt": ["a", "b", "c"]}),
                   tmp_path / "log.parquet")
    for path in (tmp_path / "log.csv", tmp_path / "log.parquet"):
        whole = load_request_log(path)
        assert whole.frame["timestamp"].tolist() == [pd.Timestamp("2026-10-05T10:00:00.123456Z"), pd.Timestamp("2026-10-05T11:00:00Z")]
        for chunk_rows in (1, 2, 5):
            chunks = list(iter_request_log(path, chunk_rows=chunk_rows))
            assert pd.concat([c.frame for c in chunks])["timestamp"].tolist() == whole.frame["timestamp"].tolist()
            assert pd.concat([c.rejected for c in chunks])["reason"].tolist() == whole.rejected["reason"].tolist()


def test_zero_chunk_rows_is_an_error(tmp_path):
    log_frame(["2026-10-05T10:00:00Z"]).to_csv(tmp_path / "log.csv", index=False)
    with pytest.raises(RouterInputError, match="chunk_rows must be a whole number >= 1"):
        list(iter_request_log(tmp_path / "log.csv", chunk_rows=0))


def test_the_upload_limit_is_the_dashboards_and_the_library_reads_what_it_is_given(monkeypatch, tmp_path):
    from router_core.dashboard_views.uploads import check_upload_size

    monkeypatch.setenv("CROSSROUTE_UPLOAD_MB", "0.001")
    with pytest.raises(RouterInputError, match="big.csv: .*over the dashboard's 0.001 MB upload limit"):
        check_upload_size("big.csv", 2000)  # what every upload on a page goes through before it is read
    assert len(read_table(io.BytesIO(b"a\n" * 1000), "big.csv")) == 999  # the library itself applies no page's limit
    (tmp_path / "big.csv").write_bytes(b"a\n" * 1000)
    assert len(read_table(tmp_path / "big.csv")) == 999