"""Every dashboard page through Streamlit's AppTest, with the real router and the bundled sample data."""
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from router_core.errors import RouterInputError
from router_core.units import usd

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "dashboard_frame.py")
TIMEOUT = 900  # seconds: a bound for a hung run; a run ends as soon as the page is done


def open_page(page: str | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    assert not at.exception, [e.value for e in at.exception]
    if page:
        at.switch_page(f"app_pages/{page}.py").run()
        assert not at.exception, [e.value for e in at.exception]
    return at


def metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label.startswith(label))


def captions(at: AppTest) -> str:
    return "\n".join(c.value for c in at.caption)


def slider(at: AppTest, label_start: str):
    return next(s for s in at.slider if s.label.startswith(label_start))


def log_csv(rows: list[tuple[str, str]]) -> bytes:
    return pd.DataFrame(rows, columns=["created_at", "prompt"]).to_csv(index=False).encode()


GOOD_LOG = log_csv([(f"2026-10-0{5 + i // 12}T{(i % 12) * 2:02d}:15:00Z", p) for i, p in enumerate(
    ["write a python function to reverse a linked list", "hi there!", "prove that 17 is prime",
     "summarise: the meeting is moved to friday", "translate 'good morning' into Spanish", "what is 12 * 13?"] * 4)])


def test_route_page_renders_a_decision_and_reacts_to_lam_policy_and_top_k():
    at = open_page()
    assert metric(at, "Chosen model") in ("gpt-4o", "claude-3.5-haiku", "gpt-4o-mini", "mistral-nemo")
    start_cost = metric(at, "Predicted cost of this request")
    slider(at, "λ").set_value(1.0).run()
    assert metric(at, "Chosen model") == "mistral-nemo"
    assert metric(at, "Predicted cost of this request") != start_cost
    at.radio[0].set_value("paper").run()
    assert any("paper policy" in m.value for m in at.markdown)
    at.number_input[0].set_value(2).run()
    assert metric(at, "Soft routing") == "2 + aggregator" and "–" in metric(at, "Predicted quality (estimated band)")
    assert not at.exception


def test_user_text_is_shown_as_text_not_html():
    at = open_page()
    at.text_area[0].set_value("<b>bold?</b> <script>alert(1)</script> write code").run()
    assert not at.exception
    assert not any("<script>" in m.value for m in at.markdown)  # the why-text names models, never echoes the query


def test_repricing_a_model_changes_costs_without_retraining():
    at = open_page()
    slider(at, "λ").set_value(0.0).run()
    chosen, cost = metric(at, "Chosen model"), metric(at, "Predicted cost of this request")
    catalog = at.session_state["catalog"]
    at.session_state["catalog"] = catalog.with_prices(chosen, output_usd_per_1m=catalog[chosen].output_usd_per_1m * 10)
    at.run()
    assert metric(at, "Chosen model") == chosen  # at λ=0 cost does not matter
    assert float(metric(at, "Predicted cost of this request").strip("$")) > 3 * float(cost.strip("$"))


def test_pareto_page_moves_the_operating_point_with_lam():
    at = open_page("pareto")
    assert "held-out labelled queries" in captions(at)
    for m in at.metric:  # a change that rounds to nothing is "same as", never "-0%" under an arrow
        assert not (m.delta or "").startswith(("-0% ", "+0% ", "-0.000 ", "+0.000 ")), m.delta
        if m.delta and not m.delta.startswith(("+", "-")):  # a neutral note ("same as …", the best model's figures)
            assert m.proto.direction == m.proto.MetricDirection.Value("NONE"), m.delta  # no arrow under it
    before = (metric(at, "Mean cost at this λ"), metric(at, "Mean quality at this λ"))
    slider(at, "λ").set_value(0.8).run()
    after = (metric(at, "Mean cost at this λ"), metric(at, "Mean quality at this λ"))
    per_thousand = [float(value.strip("$").replace(",", "")) for value in (before[0], after[0])]
    assert next(m.label for m in at.metric if m.label.startswith("Mean cost")).endswith("per 1,000 requests")
    assert per_thousand[1] < per_thousand[0]
    at.checkbox[0].check().run()
    assert not at.exception
    table = at.dataframe[0].value
    assert {"CrossRoute", "knn", "oracle", "random"} <= set(table.index) and "AIQ" in table.columns
    fixed = {"oracle", "random", "call-every", *at.session_state["router"].candidates}
    learned = table.drop(index=[r for r in table.index if r in fixed])
    assert all(learned[column].nunique() > 1 for column in learned.columns), learned  # no column the same in every row
    verdict = at.info[0].value
    assert "CrossRoute" in verdict and "learned routers" in verdict and "single model's own cost" in verdict


def test_pareto_page_reports_a_bad_labelled_upload():
    at = open_page("pareto")
    at.file_uploader[0].upload("labels.csv", b"query_id,query,model,quality,cost_usd\nq1,hi,gpt-4o,1.4,0.01\n", "text/csv").run()
    assert "column 'quality' must be in \\[0, 1\\]; row 1 (line 2) has 1.4" in at.error[0].value  # brackets shown literally


def test_schedule_page_presets_and_budget_solve():
    at = open_page("schedule")
    seed_cost = metric(at, "Projected monthly cost")
    at.selectbox[0].set_value("Constant λ").run()
    assert metric(at, "Projected monthly cost") != seed_cost
    at.selectbox[0].set_value("Fit a daily budget").run()
    at.number_input[0].set_value(0.5).run()
    assert not at.exception
    assert at.success[0].value.startswith("λ = ") and "within $0.5 per day" in at.success[0].value
    at.number_input[0].set_value(0.0001).run()
    assert "below the cheapest routing of this traffic" in at.error[0].value


def test_schedule_page_headlines_savings_against_what_the_log_spent():
    from router_core import Router
    from router_core.demo.views import scored_log_path
    from router_core.traffic.simulate import simulate

    at = open_page("schedule")
    router = Router.load(ROOT / "sample_data" / "router")
    log = scored_log_path(router, router.catalog, ROOT / "sample_data")  # the scores the page opens with
    totals = simulate(router, log, "business-hours", calibrate_costs=True).totals  # the page calibrates by default
    raw = simulate(router, log, "business-hours").totals
    assert metric(at, "Savings vs the logged spend") == usd(totals["logged_monthly_cost_usd"] - totals["monthly_cost_usd"])
    assert totals["monthly_cost_usd"] > raw["monthly_cost_usd"] * 1.2  # the router under-predicts this log's cost
    assert metric(at, "Savings vs everything to gpt-4o") == usd(totals["savings_vs_best_usd"])
    assert "Calibration multiplies each model's predicted cost by: gpt-4o ×1.35" in captions(at)
    saving = next(m for m in at.metric if m.label == "Savings vs everything to gpt-4o")
    assert totals["savings_vs_best_usd"] > 0 and saving.delta == f"-{totals['savings_vs_best_fraction']:.0%} spend"
    assert "color: GREEN" in str(saving.proto)  # a saving: arrow down, drawn green
    assert "measured ÷ predicted" in captions(at)
    teams = next(d.value for d in at.dataframe if "team" in d.value.columns)  # the sample log says who sent what
    assert teams["requests"].astype(int).sum() == totals["requests"] and "saving per month" in teams.columns
    next(t for t in at.toggle if t.label == "Calibrate predicted costs to this log").set_value(False).run()
    assert metric(at, "Savings vs the logged spend") == usd(raw["logged_monthly_cost_usd"] - raw["monthly_cost_usd"])
    assert "Calibration is off: savings against the logged spend include that gap" in captions(at)
    at.selectbox[0].set_value("Fit a daily budget").run()
    assert at.number_input[0].value == round(0.7 * totals["logged_cost_per_day_usd"], 2)  # below the log's own spend
    assert "70% of what this log spent per day" in at.number_input[0].help
    fitted = float(at.success[0].value.split("λ = ")[1].split(" ")[0])
    assert fitted > 0.0  # a budget below the log's spend moves λ


def test_schedule_page_accepts_a_good_uploaded_log():
    at = open_page("schedule")
    at.file_uploader[0].upload("log.csv", GOOD_LOG, "text/csv").run()
    assert not at.exception and not at.error
    assert "24 requests from log.csv" in captions(at)
    assert metric(at, "Projected monthly cost").startswith("$")


@pytest.mark.parametrize("name, content, expected", [
    ("wrong.csv", b"when,what\n2026-10-05,hello\n", "no column for timestamp, prompt"),
    ("times.csv", log_csv([("not a time", "hello"), ("also not", "hi")]), "no usable request; every row was rejected (first reason: timestamp not understood"),
    ("empty.csv", log_csv([("2026-10-05T10:00:00Z", ""), ("2026-10-05T11:00:00Z", "  ")]), "first reason: empty prompt"),
    ("latin1.csv", "created_at,prompt\n2026-10-05T10:00:00Z,caf\xe9\n".encode("latin-1"), "not UTF-8 text"),
    ("image.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(200), "looks like a binary file"),
])
def test_schedule_page_explains_bad_uploads(name, content, expected):
    at = open_page("schedule")
    at.file_uploader[0].upload(name, content, "text/csv").run()
    assert not at.exception
    assert expected in at.error[0].value
    progress = [p.proto.text for p in at.get("progress")]
    assert not any("Scoring the log" in text for text in progress), progress  # the error replaces the bar


def test_schedule_page_refuses_an_oversized_upload(monkeypatch):
    monkeypatch.setenv("CROSSROUTE_UPLOAD_MB", "0.001")
    at = open_page("schedule")
    at.file_uploader[0].upload("big.csv", GOOD_LOG + b"x" * 2000, "text/csv").run()
    assert "over the" in at.error[0].value and "score-log" in at.error[0].value


def test_schedule_page_counts_every_kind_of_unusable_row_and_offers_them():
    rows = [("2026-10-05T10:00:00Z", "hello there"), ("garbage", "hi"), ("2026-10-05T12:00:00Z", "write a haiku"),
            ("soon", "later"), ("2026-10-05T13:00:00Z", " ")]
    at = open_page("schedule")
    at.file_uploader[0].upload("mixed.csv", log_csv(rows), "text/csv").run()
    warning = at.warning[0].value
    assert warning.startswith("3 rows could not be used: 2 × timestamp not understood (column 'created_at'): '…' is not a date")
    assert warning.endswith("; 1 × empty prompt (column 'prompt').")
    assert "2 requests from mixed.csv" in captions(at)


def scored_parquet(tmp_path, router) -> bytes:
    from router_core.traffic.log_scoring import score_log

    (tmp_path / "log.csv").write_bytes(GOOD_LOG)
    score_log(tmp_path / "log.csv", router, tmp_path / "log.parquet")
    return (tmp_path / "log.parquet").read_bytes()


def test_schedule_page_opens_a_log_scored_by_score_log_like_the_log_itself(tmp_path):
    from router_core import Router

    at = open_page("schedule")
    at.file_uploader[0].upload("log.csv", GOOD_LOG, "text/csv").run()
    from_csv = metric(at, "Projected monthly cost")
    at = open_page("schedule")
    at.file_uploader[0].upload("log.parquet", scored_parquet(tmp_path, Router.load(ROOT / "sample_data" / "router")), "application/octet-stream").run()
    assert not at.exception and not at.error
    assert "24 requests from log.parquet (scored by score-log from log.csv)" in captions(at)
    assert metric(at, "Projected monthly cost") == from_csv


def test_schedule_page_says_when_a_file_was_scored_by_another_router(tmp_path):
    import copy

    from router_core import Router

    router = Router.load(ROOT / "sample_data" / "router")
    net = copy.deepcopy(router.parts.pipeline.net)
    net.candidate_bias.data += 0.5  # another router: same candidates, other weights (scored with torch, as the export has the old ones)
    other = router.with_parts(pipeline=router.parts.pipeline.replaced(net=net, scorer=None))
    assert other.id != router.id
    at = open_page("schedule")
    at.file_uploader[0].upload("log.parquet", scored_parquet(tmp_path, other), "application/octet-stream").run()
    assert not at.exception
    assert f"log.parquet: scored by another router (id {other.id}" in at.error[0].value


def test_models_page_adds_a_model_from_a_few_labelled_queries():
    at = open_page("models")
    labelled = pd.read_csv(Path(APP).parent / "sample_data" / "labelled.csv")
    rows = labelled[labelled.model == "gpt-4o-mini"].head(40).assign(model="newcomer")
    uploader = next(u for u in at.file_uploader if "new model" in u.label)
    uploader.upload("new.csv", rows.to_csv(index=False).encode(), "text/csv").run()
    next(b for b in at.button if b.label == "Add the model").click().run()
    assert "LiteLLM model id: give it with its provider" in at.error[0].value  # exports and the proxy need it
    next(t for t in at.text_input if t.label.startswith("LiteLLM model id")).input("openai/gpt-4.1-mini").run()
    assert any("LiteLLM's list price for openai/gpt-4.1-mini" in c.value for c in at.caption)
    next(b for b in at.button if b.label == "Add the model").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.success[0].value.startswith("newcomer added from 40 labelled queries")
    assert at.session_state["catalog"]["newcomer"].provider_model_id == "openai/gpt-4.1-mini"
    assert at.session_state["custom_router"].candidates[-1] == "newcomer"
    assert at.session_state["catalog"].names[-1] == "newcomer"  # priced on every page from now on
    assert any("Added since training: newcomer" in c.value for c in at.sidebar.caption)  # at once, no second visit
    assert at.session_state["custom_router"].backend == "onnx-fp32"  # scores as fast as the router it extends


    at.switch_page("app_pages/pareto.py").run()  # the sample set has no labels for the newcomer: measured without it
    assert not at.exception and not at.error, [e.value for e in at.exception] + [e.value for e in at.error]
    assert "has no labels for newcomer" in at.warning[0].value
    assert "CrossRoute" in at.info[0].value

    from router_core.router_zip import router_zip

    at.switch_page("app_pages/models.py").run()  # the extended router leaves as a zip and comes back the same
    assert "Download this router (zip)" in [b.proto.label for b in at.get("download_button")]
    packed = router_zip(at.session_state["custom_router"])
    extended_id = at.session_state["custom_router"].id
    next(b for b in at.sidebar.button if b.label == "Back to the default router").click().run()
    assert "custom_router" not in at.session_state
    uploader = next(u for u in at.file_uploader if "Load a router" in u.label)
    uploader.upload("router.zip", packed, "application/zip").run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert at.session_state["custom_router"].id == extended_id and at.session_state["catalog"].names[-1] == "newcomer"

    next(b for b in at.sidebar.button if b.label == "Back to the default router").click().run()
    assert "custom_router" not in at.session_state and "newcomer" not in at.session_state["catalog"].names


def test_models_page_trains_a_router_on_an_uploaded_set_and_says_the_encoder_stayed_frozen():
    at = open_page("models")
    labelled = pd.read_csv(Path(APP).parent / "sample_data" / "labelled.csv")
    rows = labelled[labelled.query_id.isin(labelled.query_id.unique()[:60])]
    uploader = next(u for u in at.file_uploader if "train on" in u.label)
    uploader.upload("mine.csv", rows.to_csv(index=False).encode(), "text/csv").run()
    next(n for n in at.number_input if n.label.startswith("Maximum epochs")).set_value(5).run()
    next(b for b in at.button if b.label == "Train").click().run()
    assert not at.exception, [e.value for e in at.exception]
    trained = at.session_state["custom_router"]
    # 48 of the 60 queries go to training (20% held out), far under finetune_min_queries: the encoder is not tuned
    assert trained.training.n_queries == 48 and trained.training.finetuned_layers == 0
    assert trained.config.training.epochs == 5
    assert set(trained.candidates) == set(labelled.model.unique())
    message = at.success[0].value
    assert message.startswith(f"Trained on {trained.training.n_train} queries in ") and "(encoder frozen)" in message


def test_sidebar_spells_out_the_task_type_term_only_for_a_router_that_uses_it():
    from dataclasses import replace

    import numpy as np

    from router_core import Router
    from router_core.quality import TaskTypeEvidence

    shipped = Router.load(ROOT / "sample_data" / "router")
    stage = shipped.parts.pipeline.quality
    untyped = AppTest.from_file(APP, default_timeout=TIMEOUT)
    untyped.session_state["custom_router"] = shipped.with_parts(pipeline=shipped.parts.pipeline.replaced(
        quality=replace(stage, task_type_weight=0.0, network_weight=stage.network_weight + stage.task_type_weight)))
    untyped.run()
    assert not untyped.exception and "task type" not in captions(untyped)  # a router giving it no weight
    # Any two types will do for the caption: split the training queries by one embedding coordinate.
    memory = stage.neighbours.memory
    types = np.where(memory[:, 0] > np.median(memory[:, 0]), "left", "right")
    typed_stage = replace(stage, task_type=TaskTypeEvidence.fit(memory, types, stage.neighbours.memory_quality),
                          task_type_weight=0.3, network_weight=0.2, neighbour_weight=0.3, linear_weight=0.1)
    router = shipped.with_parts(pipeline=shipped.parts.pipeline.replaced(quality=typed_stage))
    typed = AppTest.from_file(APP, default_timeout=TIMEOUT)
    typed.session_state["custom_router"] = router
    typed.run()
    assert not typed.exception, [e.value for e in typed.exception]
    text = captions(typed)
    assert ("0.3·model's average on the query's task type (one of 2, predicted from the text)" in text
            and "0.1·model's average (weights chosen" in text), text


def test_catalog_edits_keep_the_models_and_imported_prices_merge_by_name():
    from router_core import Catalog

    catalog = Catalog.from_frame(pd.read_csv(ROOT / "sample_data" / "catalog.csv"))
    table = catalog.to_frame()
    table.loc[0, "output_usd_per_1m"] = 99.0
    edited = catalog.with_edits(table)
    assert edited[catalog.names[0]].output_usd_per_1m == 99.0 and edited.names == catalog.names
    assert edited.aggregator == catalog.aggregator
    table = table.astype({"input_usd_per_1m": object})
    table.loc[1, "input_usd_per_1m"] = "free"
    with pytest.raises(RouterInputError, match="catalog table row 3: column input_usd_per_1m must be a decimal number, got 'free'"):
        catalog.with_edits(table)
    with pytest.raises(RouterInputError, match="models must stay"):
        catalog.with_edits(catalog.to_frame().iloc[::-1])
    imported = Catalog.from_frame(pd.DataFrame([{"name": catalog.names[1], "provider_model_id": "x", "input_usd_per_1m": 7.0,
                                                 "output_usd_per_1m": 8.0, "typical_output_tokens": 5},
                                                {"name": "unknown", "provider_model_id": "y", "input_usd_per_1m": 1.0,
                                                 "output_usd_per_1m": 1.0}]))
    merged, priced = catalog.with_prices_from(imported)
    assert priced == [catalog.names[1]]
    assert (merged[priced[0]].input_usd_per_1m, merged[priced[0]].output_usd_per_1m) == (7.0, 8.0)
    assert merged[priced[0]].typical_output_tokens == catalog[priced[0]].typical_output_tokens  # prices only
    assert merged.names == catalog.names and merged.digest != catalog.digest
    with pytest.raises(RouterInputError, match=r"prices.yaml: none of its models \(unknown\) is a candidate"):
        catalog.with_prices_from(imported.subset(["unknown"]), source="prices.yaml")


LITELLM_CONFIG = b"""model_list:
  - model_name: gpt-4o-mini
    litellm_params: {model: openai/gpt-4o-mini}
    model_info: {input_cost_per_token: 0.000002, output_cost_per_token: 0.000004}
"""


def test_models_page_imports_litellm_prices_for_the_models_it_knows():
    at = open_page("models")
    uploader = next(u for u in at.file_uploader if "LiteLLM" in u.label)
    uploader.upload("config.yaml", LITELLM_CONFIG, "application/x-yaml").run()
    assert not at.exception and not at.error
    next(b for b in at.button if b.label == "Apply prices for gpt-4o-mini").click().run()
    assert not at.exception, [e.value for e in at.exception]
    mini = at.session_state["catalog"]["gpt-4o-mini"]
    assert (mini.input_usd_per_1m, mini.output_usd_per_1m) == pytest.approx((2.0, 4.0))


def test_models_page_says_what_a_price_import_ignored_and_reads_its_own_csv_export_back():
    at = open_page("models")
    uploader = next(u for u in at.file_uploader if "LiteLLM" in u.label)
    uploader.upload("config.yaml", LITELLM_CONFIG, "application/x-yaml").run()
    notes = [i.value for i in at.info]
    assert any(n.startswith("Not in the file, so their prices stay: gpt-4o, claude-3.5-haiku, mistral-nemo") for n in notes), notes
    exported = at.session_state["catalog"].to_frame().assign(input_usd_per_1m=lambda t: t.input_usd_per_1m * 2)
    uploader = next(u for u in at.file_uploader if "LiteLLM" in u.label)
    uploader.upload("catalog.csv", exported.to_csv(index=False).encode(), "text/csv").run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    next(b for b in at.button if b.label.startswith("Apply prices for gpt-4o,")).click().run()
    assert at.session_state["catalog"]["gpt-4o"].input_usd_per_1m == pytest.approx(5.0)


PHISH = "[phish](https://evil.example)"


@pytest.fixture(scope="module")
def hostile_router(tiny_bert_path):
    """A router whose model names are Markdown links and images, as a labelled upload could name them."""
    import sys

    from router_core import Router, RouterConfig
    from router_core.data.labelled import labelled_from_frame

    sys.path.insert(0, str(Path(__file__).parent))
    from conftest import CANDIDATES, make_tiny_table

    from router_core.data.catalog import Candidate, Catalog

    names = {"premium": PHISH, "mid": "![img](https://evil.example/x.png)", "budget": "**cheap**"}
    catalog = Catalog(tuple(Candidate(names[n], pid, pin, pout, 200) for n, (pid, pin, pout) in CANDIDATES.items()))
    table = make_tiny_table(16).assign(model=lambda t: t.model.map(names))
    config = RouterConfig.of(encoder=str(tiny_bert_path), max_tokens=32, epochs=3)
    return Router(config).fit(labelled_from_frame(table, catalog), catalog, show_bar=False)


def test_route_page_shows_hostile_model_names_as_text_not_links(hostile_router):
    import re

    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.session_state["custom_router"] = hostile_router
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    at.number_input[0].set_value(2).run()  # soft routing: the aggregator note names models too
    for lam in (0.0, 1.0):
        slider(at, "λ").set_value(lam).run()
        assert not at.exception, [e.value for e in at.exception]
        shown = [m.value for m in at.markdown] + [i.value for i in at.info] + [m.label for m in at.metric] + \
                [m.value for m in at.metric] + [m.help or "" for m in at.metric]
        assert not at.error, [e.value for e in at.error]
        assert any("\\[phish\\]" in text or "\\*\\*cheap\\*\\*" in text for text in shown), shown
        assert not [t for t in shown if re.search(r"(?<!\\)\[|https?://|(?<!\\)\*\*cheap", t)], shown


def test_schedules_and_prices_export_and_import_again():
    from router_core.live.policy import LambdaPolicy, read_policy
    from router_core.live.schedule import Schedule

    at = open_page("schedule")
    assert "Export this policy (YAML)" in [b.proto.label for b in at.get("download_button")]
    at.selectbox[0].set_value("Custom (edit the table)").run()
    weekend = Schedule(tuple(tuple([0.1] * 24) if d < 5 else tuple([0.9] * 24) for d in range(7)), "weekend saver")
    uploader = next(u for u in at.file_uploader if "schedule" in u.label.lower())
    exported = LambdaPolicy(schedule=weekend, name="weekend saver").to_yaml()
    assert read_policy(exported).schedule.table.tolist() == weekend.table.tolist()  # what `serve --lambda-policy` reads
    uploader.upload("saver.yaml", exported.encode(), "application/yaml").run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert at.session_state["custom_schedule"].table.tolist() == weekend.table.tolist()

    at = open_page("models")  # the exports' contents are checked in test_schedule (they round-trip)
    labels = [b.proto.label for b in at.get("download_button")]
    assert "Export the prices (catalog CSV)" in labels and "Export as a LiteLLM config.yaml" in labels


def sample_router():
    from router_core import Router

    return Router.load(ROOT / "sample_data" / "router")


def test_monitoring_page_reads_the_sample_demo_log_and_filters_it():
    import sqlite3

    from router_core.demo.views import demo_decisions

    path, budget = demo_decisions(ROOT / "sample_data")
    with sqlite3.connect(path) as connection:
        total = connection.execute("SELECT COUNT(*) FROM decisions").fetchone()[0]
        support = connection.execute("SELECT COUNT(*) FROM decisions WHERE team = 'support'").fetchone()[0]
    at = open_page("monitoring")
    assert int(metric(at, "Requests").replace(",", "")) == total and metric(at, "Fell back") == "0"
    assert metric(at, "Routing p50 / p99") == "–"  # a replay timed no routing
    assert at.number_input[0].value == pytest.approx(budget)
    assert len(at.get("plotly_chart")) == 5 and "replay" in captions(at)
    next(s for s in at.selectbox if s.label == "Team").set_value("support").run()
    assert int(metric(at, "Requests").replace(",", "")) == support < total


def test_monitoring_page_shows_a_servers_degraded_decisions_fallbacks_failures_and_latency(tmp_path, monkeypatch):
    import time

    from router_core.decisionlog.store import DecisionLog

    log = DecisionLog(tmp_path)
    now = time.time()
    for i in range(30):
        log.append({"ts": now - 600 + i, "request_id": f"r{i}", "status": "ok", "model": "gpt-4o-mini", "lam": 0.2,
                    "lam_source": "fixed", "top_k": 1, "cost_usd": 0.001, "predicted_cost_usd": 0.0008, "routing_ms": 10.0 + i,
                    "fallback_reason": "gpt-4o failed (APIError: boom)" if i < 3 else "routing took over 100 ms" if i < 5 else None,
                    "degraded": "queue" if 10 <= i < 16 else "timeout" if 16 <= i < 18 else None})
    log.append({"ts": now - 10, "request_id": "bad", "status": "error", "error": "every model failed", "lam": 0.2, "top_k": 1})
    log.close()
    monkeypatch.setenv("CROSSROUTE_DECISIONS", str(tmp_path))
    at = open_page("monitoring")
    assert metric(at, "Requests") == "31" and metric(at, "Fell back") == "5" and metric(at, "Failed") == "1"
    assert metric(at, "Degraded") == f"{8 / 31:.1%}"
    p50, p99 = (float(x) for x in metric(at, "Routing p50 / p99").split(" / "))
    assert 24 <= p50 <= 27 * 1.06 and 38 <= p99 <= 39 * 1.06  # 10..39 ms, read from 5%-wide bins
    kinds = dict(zip(*[at.dataframe[1].value[c] for c in ("what happened", "requests")]))
    assert kinds == {"fallback: model failed": 3, "fallback: routing timeout": 2, "failed: every model": 1,
                     "degraded: scorer queue full": 6, "degraded: scoring past the time limit": 2}
    costs = at.dataframe[0].value
    assert costs["measured ÷ predicted"].iloc[0] == "1.25"


def test_monitoring_reads_the_servers_budget_and_its_counts_agree(tmp_path, monkeypatch):
    import time

    from router_core.decisionlog.store import DecisionLog
    from router_core.live.policy import Budget, LambdaPolicy
    from router_core.live.serving import LivePolicy

    LivePolicy(sample_router(), LambdaPolicy(budget=Budget(0.5)), log_dir=tmp_path)  # as `serve` does at start
    log = DecisionLog(tmp_path)
    now = time.time()
    for i in range(40):  # a server a few minutes old
        log.append({"ts": now - 200 + 5 * i, "request_id": f"r{i}", "status": "ok", "model": "gpt-4o-mini", "lam": 0.3,
                    "lam_source": "budget", "top_k": 1, "cost_usd": 0.002, "routing_ms": 5.0})
    log.close()
    monkeypatch.setenv("CROSSROUTE_DECISIONS", str(tmp_path))
    at = open_page("monitoring")
    assert at.number_input[0].value == pytest.approx(0.5)  # the budget the server runs, not 0
    assert metric(at, "Requests") == "40"
    assert "40 decisions in this range and these filters (of 40 in the log)" in captions(at)


def test_schedule_page_runs_the_budget_controller_as_a_preset():
    at = open_page("schedule")
    next(s for s in at.selectbox if s.label == "Preset").set_value("Budget controller (as the server runs it)").run()
    assert not at.exception, [e.value for e in at.exception]
    within, reachable = metric(at, "Days within ±5% of the budget").split(" of ")
    assert int(within) <= int(reachable) <= 14
    assert "controller" in captions(at) and len(at.get("plotly_chart")) == 1


def test_models_page_warns_about_a_free_model_and_shows_litellms_prices():
    import dataclasses

    at = open_page("models")
    assert not at.warning  # the sample catalog has no free model
    expander = next(e for e in at.expander if e.label.startswith("LiteLLM's list prices beside the catalog's"))
    table = expander.dataframe[0].value
    assert table.set_index("model").loc["mistral-nemo", "status"] == "differs (catalog wins)"
    haiku = table.set_index("model").loc["claude-3.5-haiku"]  # unknown to LiteLLM's map
    assert haiku["LiteLLM input $/1M"] == "–" and haiku["catalog input $/1M"] == "0.8"
    prices = [c for c in table.columns if "$/1M" in c]
    assert all(isinstance(v, str) for v in table[prices].to_numpy().ravel())  # one type per column, as Arrow needs
    catalog = at.session_state["catalog"]
    free = dataclasses.replace(catalog["gpt-4o-mini"], input_usd_per_1m=0.0)
    at.session_state["catalog"] = type(catalog)(tuple(free if c.name == "gpt-4o-mini" else c for c in catalog.candidates))
    at.run()
    assert "Priced at $0 per 1M tokens (input or output): gpt-4o-mini" in at.warning[0].value


def test_route_page_soft_routing_names_every_called_model_and_the_aggregator():
    at = open_page()
    at.number_input[0].set_value(2).run()
    assert not at.exception, [e.value for e in at.exception]
    router = at.session_state["router"]
    soft = next(m for m in at.metric if m.label.startswith("Soft routing"))
    assert soft.value == "2 + aggregator"  # short enough never to be cut off at 1440 px
    called = soft.help.split("Called: ")[1].split(";")[0].split(", ")
    aggregator = soft.help.split("merged by ")[1]
    assert len(called) == 2 and aggregator in router.candidates
    explanation = " ".join(m.value for m in at.markdown)
    assert f"then {aggregator} merges their answers" in explanation and all(c in explanation for c in called)
    table = next(d.value for d in at.dataframe if "called" in d.value.columns)
    roles = table["called"].to_dict()
    assert roles[aggregator] in ("merges", "answers and merges")
    assert all(roles[c].startswith("answers") for c in called)
    assert sum(bool(r) for r in roles.values()) == len(set(called) | {aggregator})
