"""The synthetic data generator: deterministic, well-formed, and with the structure the README promises."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from router_core import demo as sample_data
from router_core.data.catalog import CATALOG_COLUMNS, Catalog
from router_core.demo import CATEGORIES, MODELS, generate, labelled_with_metadata

LABELLED_COLUMNS = ["query_id", "query", "category", "model", "quality", "input_tokens", "output_tokens", "cost_usd"]
LOG_COLUMNS = ["timestamp", "prompt", "model", "prompt_tokens", "completion_tokens", "cost_usd", "latency_ms", "user", "team"]
CHEAP = ["claude-3.5-haiku", "gpt-4o-mini", "mistral-nemo"]


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    """One full-size run (3,000 queries, 14 days), shared by the tests that only read it."""
    out = tmp_path_factory.mktemp("sample")
    paths = generate(out)
    return out, paths


@pytest.fixture(scope="module")
def labelled(written):
    _, paths = written
    return pd.read_csv(paths["labelled"])


@pytest.fixture(scope="module")
def with_metadata():
    return labelled_with_metadata(seed=7, n_queries=3000)


def read_all(out_dir) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(out_dir.iterdir())}


def test_same_seed_gives_identical_bytes_and_another_seed_differs(tmp_path):
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    generate(a, seed=11, n_queries=200, log_days=2)
    generate(b, seed=11, n_queries=200, log_days=2)
    generate(c, seed=12, n_queries=200, log_days=2)
    files_a, files_b, files_c = read_all(a), read_all(b), read_all(c)
    assert sorted(files_a) == ["README.md", "catalog.csv", "labelled.csv", "request_log.csv"]  # no temp files left
    assert files_a == files_b
    assert files_a["labelled.csv"] != files_c["labelled.csv"]
    assert files_a["request_log.csv"] != files_c["request_log.csv"]


def test_returns_the_three_data_files(written):
    out, paths = written
    assert set(paths) == {"catalog", "labelled", "request_log"}
    assert all(p.exists() and p.parent == out for p in paths.values())
    readme = (out / "README.md").read_text()
    for must in ("synthetic", "sigmoid", "python -m router_core sample-data", "router/", "seed 7"):
        assert must in readme


def test_catalog_columns_and_prices(written):
    _, paths = written
    frame = pd.read_csv(paths["catalog"])
    assert list(frame.columns) == CATALOG_COLUMNS
    catalog = Catalog.from_frame(frame)
    assert catalog.names == list(MODELS)
    assert (catalog["gpt-4o"].input_usd_per_1m, catalog["gpt-4o"].output_usd_per_1m) == (2.5, 10.0)
    assert (catalog["mistral-nemo"].input_usd_per_1m, catalog["mistral-nemo"].output_usd_per_1m) == (0.15, 0.15)


def test_labelled_shape_and_values(labelled):
    assert list(labelled.columns) == LABELLED_COLUMNS
    assert labelled["query_id"].nunique() == 3000
    assert labelled["query_id"].iloc[0] == "q00001"
    per_query = labelled.groupby("query_id")["model"].apply(lambda s: sorted(s))
    assert all(models == sorted(MODELS) for models in per_query)
    assert not labelled.duplicated(["query_id", "model"]).any()
    assert labelled["quality"].between(0, 1).all()
    assert (labelled["quality"].round(3) == labelled["quality"]).all()
    assert set(labelled["category"]) == set(CATEGORIES)
    assert (labelled["output_tokens"] >= 1).all() and (labelled["input_tokens"] > sample_data.SYSTEM_PROMPT_TOKENS).all()


def test_costs_are_catalog_price_times_tokens(written, labelled):
    _, paths = written
    catalog = Catalog.from_frame(pd.read_csv(paths["catalog"]))
    price_in = labelled["model"].map({c.name: c.input_usd_per_1m for c in catalog.candidates})
    price_out = labelled["model"].map({c.name: c.output_usd_per_1m for c in catalog.candidates})
    expected = (labelled["input_tokens"] * price_in + labelled["output_tokens"] * price_out) / 1e6
    assert np.allclose(labelled["cost_usd"], expected, rtol=0, atol=1e-8)


def test_input_tokens_follow_the_stated_rule(labelled):
    first = labelled.drop_duplicates("query_id")
    expected = np.ceil(first["query"].str.len() / 4).astype(int) + sample_data.SYSTEM_PROMPT_TOKENS
    assert (first["input_tokens"] == expected).all()


def test_cheap_models_lag_more_on_maths_coding_reasoning_than_on_writing_chitchat(labelled):
    mean = labelled.pivot_table(index="category", columns="model", values="quality", aggfunc="mean")
    gap = mean["gpt-4o"].to_numpy()[:, None] - mean[CHEAP].to_numpy()
    gap = pd.DataFrame(gap, index=mean.index, columns=CHEAP).mean(axis=1)  # mean gap of the three cheaper models
    hard_gap = gap[["maths", "coding", "reasoning"]].mean()
    easy_gap = gap[["writing", "chit-chat"]].mean()
    assert hard_gap > 0.12, gap
    assert easy_gap < 0.04, gap
    assert hard_gap > 3 * easy_gap
    assert mean.loc["maths", "mistral-nemo"] < mean.loc["maths", "gpt-4o"] - 0.2
    # gpt-4o is the best single model overall, mistral-nemo the weakest
    overall = labelled.groupby("model")["quality"].mean()
    assert overall.idxmax() == "gpt-4o" and overall.idxmin() == "mistral-nemo"


def test_cheap_models_are_close_on_easy_queries_and_far_on_hard_ones(with_metadata):
    per_query = with_metadata.drop_duplicates("query_id").set_index("query_id")["difficulty"]
    easy_ids = per_query[per_query <= per_query.median()].index
    mean = with_metadata.assign(easy=with_metadata["query_id"].isin(easy_ids)).pivot_table(
        index="easy", columns="model", values="quality", aggfunc="mean")
    easy_gap = mean.loc[True, "gpt-4o"] - mean.loc[True, "gpt-4o-mini"]
    hard_gap = mean.loc[False, "gpt-4o"] - mean.loc[False, "gpt-4o-mini"]
    assert easy_gap < 0.05 and hard_gap > 0.1 and hard_gap > 2.5 * easy_gap


def test_metadata_helper_matches_the_written_file(labelled, with_metadata):
    for column in ("query_id", "query", "category", "model", "input_tokens", "output_tokens"):
        assert (with_metadata[column].to_numpy() == labelled[column].to_numpy()).all(), column
    assert np.allclose(with_metadata["quality"], labelled["quality"], rtol=0, atol=1e-9)
    assert np.allclose(with_metadata["cost_usd"], labelled["cost_usd"], rtol=0, atol=1e-10)


def test_difficulty_modifiers_lower_quality(with_metadata):
    no_modifier = with_metadata[with_metadata["n_modifiers"] == 0]
    harder = with_metadata[(with_metadata["n_modifiers"] > 0) & (with_metadata["modifier_difficulty"] > 0)]
    assert len(no_modifier) > 1000 and len(harder) > 1000
    for model in MODELS:
        assert harder.loc[harder.model == model, "quality"].mean() < no_modifier.loc[no_modifier.model == model, "quality"].mean() - 0.05
    # and the difficulty is visible in the text: modified queries are longer
    assert harder["query"].str.len().mean() > no_modifier["query"].str.len().mean()


def test_labelled_queries_are_nearly_all_distinct(labelled):
    queries = labelled.drop_duplicates("query_id")["query"]
    assert queries.nunique() / len(queries) > 0.95


def test_every_template_and_modifier_composes():
    """Every slot a template or modifier names exists (fill raises KeyError otherwise), no [a|b] is left unresolved,
    and templates only allow modifier groups their category has."""
    rng = np.random.default_rng(0)
    for category, bank in sample_data.BANKS.items():
        pools = {**sample_data.SHARED_SLOTS, **bank.slots}
        groups = {m.group for m in bank.modifiers}
        assert len(bank.templates) >= 12, category
        for template in bank.templates:
            assert template.modifiers is None or (isinstance(template.modifiers, tuple) and set(template.modifiers) <= groups)
            for _ in range(5):
                resolved = sample_data.resolve_alternatives(rng, template.text)
                assert not sample_data.ALTERNATIVES.search(resolved), (category, resolved)
                assert sample_data.SlotFiller(rng, pools).fill(resolved).strip()
        for modifier in bank.modifiers:
            for phrasing in modifier.phrasings:
                assert sample_data.SlotFiller(rng, pools).fill(phrasing).strip()


def test_request_log_rhythm_and_content(written, labelled):
    _, paths = written
    log = pd.read_csv(paths["request_log"])
    assert list(log.columns) == LOG_COLUMNS
    assert 5000 < len(log) < 7000
    assert log["timestamp"].str.endswith("Z").all()
    ts = pd.to_datetime(log["timestamp"], utc=True)
    assert ts.is_monotonic_increasing
    assert ts.min() >= pd.Timestamp("2026-10-05T00:00:00Z") and ts.max() < pd.Timestamp("2026-10-19T00:00:00Z")
    by_hour = ts.dt.hour.value_counts()
    assert by_hour.get(14, 0) > 4 * by_hour.get(3, 0)
    weekend = ts.dt.day_of_week >= 5
    per_weekend_day, per_weekday = weekend.sum() / 4, (~weekend).sum() / 10
    assert per_weekend_day < 0.6 * per_weekday
    assert (log["model"] == "gpt-4o").all()
    gpt4o = sample_data.CATALOG["gpt-4o"]
    assert np.allclose(log["cost_usd"], gpt4o.cost_usd(log["prompt_tokens"], log["completion_tokens"]), atol=1e-8)
    # new prompts, not the labelled ones; some popular prompts repeat verbatim
    assert not log["prompt"].isin(set(labelled["query"])).any()
    assert 0.08 < log["prompt"].duplicated().mean() < 0.25


def test_category_mix_shifts_with_the_hour():
    business, evening = sample_data.hour_mix(11, weekend=False), sample_data.hour_mix(21, weekend=False)
    index = {c: i for i, c in enumerate(CATEGORIES)}
    assert business[index["coding"]] > evening[index["coding"]]
    assert business[index["extraction"]] > evening[index["extraction"]]
    assert evening[index["chit-chat"]] > business[index["chit-chat"]]
    assert evening[index["roleplay"]] > business[index["roleplay"]]


def test_no_heavy_imports():
    source = Path(sample_data.__file__).read_text(encoding="utf-8")
    assert "torch" not in source and "streamlit" not in source


def test_bad_sizes_are_reported(tmp_path):
    from router_core.errors import RouterInputError
    with pytest.raises(RouterInputError):
        generate(tmp_path, n_queries=0)
