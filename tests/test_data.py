"""Loaders accept the contract's formats and name the file, row and column of every problem."""
import io
import json

import numpy as np
import pandas as pd
import pytest

from router_core.data.catalog import load_catalog
from router_core.data.labelled import labelled_from_frame, load_labelled
from router_core.data.messages import prompt_text
from router_core.data.request_log import load_request_log, match_log_columns
from router_core.data.tables import read_table
from router_core.errors import RouterInputError


def write(tmp_path, name, frame):
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return path


def test_long_csv_pivots_to_query_by_candidate_arrays(tmp_path, tiny_table, tiny_catalog):
    data = load_labelled(write(tmp_path, "set.csv", tiny_table), tiny_catalog)
    assert data.candidates == ["premium", "mid", "budget"]  # catalog order
    assert data.quality.shape == (20, 3) and data.cost.shape == (20, 3)
    row = tiny_table[(tiny_table.query_id == "q003") & (tiny_table.model == "mid")].iloc[0]
    i = list(data.query_ids).index("q003")
    assert data.quality[i, 1] == pytest.approx(row.quality)
    assert data.cost[i, 1] == pytest.approx(row.cost_usd)
    assert list(data.categories[:2]) == ["hard", "easy"]


def test_cost_from_tokens_uses_catalog_prices(tiny_table, tiny_catalog):
    frame = tiny_table.drop(columns="cost_usd")
    data = labelled_from_frame(frame, tiny_catalog)
    row = frame.iloc[0]  # premium: $5 in, $15 out per 1M
    assert data.cost[0, 0] == pytest.approx((row.input_tokens * 5 + row.output_tokens * 15) / 1e6)


def test_jsonl_and_parquet_read_the_same(tmp_path, tiny_table):
    tiny_table.to_json(tmp_path / "set.jsonl", orient="records", lines=True)
    tiny_table.to_parquet(tmp_path / "set.parquet")
    a, b = load_labelled(tmp_path / "set.jsonl"), load_labelled(tmp_path / "set.parquet")
    np.testing.assert_allclose(a.quality, b.quality)
    assert list(a.query_ids) == list(b.query_ids)


def test_wide_routerbench_layout_is_accepted():
    wide = pd.DataFrame({"sample_id": ["a", "b"], "prompt": ["x y", "z"], "eval_name": ["mmlu", "gsm8k"],
                         "m1": [1.0, 0.0], "m1|total_cost": [0.01, 0.02], "m1|model_response": ["..", ".."],
                         "m2": [0.0, 1.0], "m2|total_cost": [0.001, 0.002]})
    data = labelled_from_frame(wide)
    assert data.candidates == ["m1", "m2"]
    np.testing.assert_allclose(data.quality, [[1, 0], [0, 1]])
    np.testing.assert_allclose(data.cost, [[0.01, 0.001], [0.02, 0.002]])
    assert list(data.categories) == ["mmlu", "gsm8k"]


def test_quality_outside_unit_interval_is_reported_by_row(tiny_table):
    tiny_table.loc[7, "quality"] = 1.7
    with pytest.raises(RouterInputError, match=r"'quality' must be in \[0, 1\]; row 8 \(line 9\) has 1.7"):
        labelled_from_frame(tiny_table, source="set.csv")


def test_duplicated_query_model_pair_is_reported(tiny_table):
    frame = pd.concat([tiny_table, tiny_table.iloc[[4]]], ignore_index=True)
    with pytest.raises(RouterInputError, match=r"\(q001, mid\) appears twice; second time at row 61"):
        labelled_from_frame(frame, source="set.csv")


def test_query_missing_a_model_is_an_error_or_listed_when_dropped(tiny_table):
    frame = tiny_table.drop(index=5).reset_index(drop=True)  # q001 / budget
    with pytest.raises(RouterInputError, match=r"query_id q001 .* has no row for model\(s\) budget"):
        labelled_from_frame(frame)
    data = labelled_from_frame(frame, missing="drop")
    assert len(data) == 19 and "q001" not in data.query_ids
    assert data.dropped.to_dict("records") == [{"query_id": "q001", "reason": "no row for budget"}]


def test_missing_columns_and_non_numbers_name_the_column(tiny_table):
    with pytest.raises(RouterInputError, match="missing column.*quality"):
        labelled_from_frame(tiny_table.drop(columns="quality"))
    tiny_table["quality"] = tiny_table["quality"].astype(object)
    tiny_table.loc[2, "quality"] = "good"
    with pytest.raises(RouterInputError, match=r"'quality' must be a number; not a number at row 3 \(line 4\)"):
        labelled_from_frame(tiny_table)


def test_bad_files_get_specific_messages(tmp_path):
    (tmp_path / "latin1.csv").write_bytes("query_id,query\n1,caf\xe9\n".encode("latin-1"))
    with pytest.raises(RouterInputError, match=r"latin1.csv: not UTF-8 text \(byte 20, line 2\)"):
        read_table(tmp_path / "latin1.csv")
    (tmp_path / "image.csv").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00")
    with pytest.raises(RouterInputError, match="image.csv: looks like a binary file"):
        read_table(tmp_path / "image.csv")
    (tmp_path / "empty.csv").write_bytes(b"")
    with pytest.raises(RouterInputError, match="empty.csv: the file is empty"):
        read_table(tmp_path / "empty.csv")
    with pytest.raises(RouterInputError, match=r"notes.txt: unknown file type .txt"):
        read_table(io.BytesIO(b"x"), name="notes.txt")
    with pytest.raises(RouterInputError, match="no such file"):
        read_table(tmp_path / "absent.csv")


def test_litellm_config_prices_become_usd_per_million(tmp_path):
    (tmp_path / "config.yaml").write_text(
        "model_list:\n"
        "  - model_name: big\n    litellm_params: {model: openai/gpt-4o}\n"
        "    model_info: {input_cost_per_token: 0.0000025, output_cost_per_token: 0.00001}\n"
        "  - model_name: small\n    litellm_params: {model: openai/gpt-4o-mini}\n"
        "    model_info: {input_cost_per_token: 1.5e-7, output_cost_per_token: 6.0e-7}\n")
    catalog = load_catalog(tmp_path / "config.yaml")
    assert catalog.names == ["big", "small"]
    assert catalog["big"].provider_model_id == "openai/gpt-4o"
    assert catalog["big"].input_usd_per_1m == pytest.approx(2.5)
    assert catalog["small"].output_usd_per_1m == pytest.approx(0.6)
    assert catalog["small"].cost_usd(1000, 500) == pytest.approx((1000 * 0.15 + 500 * 0.6) / 1e6)


def test_log_columns_matched_by_alias():
    mapping = match_log_columns(["startTime", "messages", "model", "prompt_tokens", "completion_tokens", "spend", "user"])
    assert mapping == {"timestamp": "startTime", "prompt": "messages", "model": "model", "input_tokens": "prompt_tokens",
                       "output_tokens": "completion_tokens", "cost_usd": "spend", "user": "user"}


def test_openai_messages_give_the_last_user_message():
    messages = json.dumps([{"role": "system", "content": "be brief"}, {"role": "user", "content": "first"},
                           {"role": "assistant", "content": "ok"}, {"role": "user", "content": "second question"}])
    assert prompt_text(messages) == "second question"
    assert prompt_text("[draft] plain text") == "[draft] plain text"
    assert prompt_text("   ") is None


def test_request_log_sets_aside_unusable_rows_with_reasons(tmp_path):
    log = pd.DataFrame({"created_at": ["2026-10-05T09:00:00Z", "yesterday-ish", "2026-10-05T10:00:00Z", "2026-10-05T11:00:00Z"],
                        "query": ["hello", "hi", "", "write code"], "spend": [0.01, 0.02, 0.03, "n/a"]})
    result = load_request_log(write(tmp_path, "log.csv", log))
    assert result.frame["prompt"].tolist() == ["hello", "write code"]
    assert result.frame["timestamp"].iloc[0] == pd.Timestamp("2026-10-05T09:00:00Z")
    assert np.isnan(result.frame["cost_usd"].iloc[1])
    assert result.rejected["row"].tolist() == [2, 3]
    assert result.rejected["reason"].tolist() == [
        "timestamp not understood (column 'created_at'): 'yesterday-ish' is not a date with a year (relative times such "
        "as 'now' are not accepted)", "empty prompt (column 'query')"]


def test_request_log_without_a_prompt_column_says_what_was_expected(tmp_path):
    log = pd.DataFrame({"time": ["2026-10-05T09:00:00Z"], "body": ["hello"]})
    with pytest.raises(RouterInputError, match=r"no column for prompt \(prompt: one of prompt, query, messages"):
        load_request_log(write(tmp_path, "log.csv", log))
    result = load_request_log(write(tmp_path, "log.csv", log), mapping={"prompt": "body"})
    assert result.frame["prompt"].tolist() == ["hello"]


def test_a_conversation_is_routed_on_its_last_user_turn_then_a_bounded_summary_of_its_context():
    from router_core.data.messages import CONTEXT_CHARS, conversation

    single = conversation([{"role": "user", "content": "  Prove that 2 is prime  "}])
    assert single.routing_text == "Prove that 2 is prime" and single.single_turn and single.turns == 1
    messages = [{"role": "system", "content": "You are a careful SQL tutor. " * 200},
                {"role": "user", "content": "Explain window functions " + "in detail " * 100},
                {"role": "assistant", "content": "Sure."},
                {"role": "user", "content": [{"type": "text", "text": "now an example"},
                                             {"type": "image_url", "image_url": {"url": "data:image/png;base64,AA"}}]},
                {"role": "assistant", "content": None, "tool_calls": [{"id": "c1", "type": "function"}]},
                {"role": "tool", "tool_call_id": "c1", "content": "rows"}]
    read = conversation(messages, tools=[{"type": "function", "function": {"name": "run_sql"}}])
    assert read.last_user == "now an example" and read.routing_text.startswith("now an example\n\nTools: run_sql | Before: …")
    assert "System: You are a careful SQL tutor." in read.routing_text
    assert len(read.routing_text) <= len(read.last_user) + 2 + CONTEXT_CHARS
    assert (read.turns, read.tool_names, read.has_images, read.single_turn) == (4, ("run_sql",), True, False)
