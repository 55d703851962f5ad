"""The sample views shipped beside the default router: the same evaluation and scored log as computing them, used only
while the router, the prices and the sample files are the ones they were computed for."""
import dataclasses
import shutil

import numpy as np
import pandas as pd
import pytest
from conftest import CANDIDATES, make_tiny_table

from router_core import Router, RouterConfig
from router_core.data.catalog import Candidate, Catalog
from router_core.data.labelled import labelled_from_frame, load_labelled
from router_core.demo.views import load_evaluation, precompute, scored_log_path
from router_core.evaluation.comparison import evaluate_router
from router_core.model.encoder import Encoder
from router_core.traffic.simulate import prepare_log

BASELINES = ["knn", "linear", "random", "oracle", "single"]


@pytest.fixture(scope="module")
def sample(tiny_bert_path, tmp_path_factory):
    """A small sample folder (catalog-priced labelled set, a request log) with a router saved in it."""
    folder = tmp_path_factory.mktemp("sample")
    catalog = Catalog(tuple(Candidate(n, pid, pin, pout, 200) for n, (pid, pin, pout) in CANDIDATES.items()))
    table = make_tiny_table(30)
    table.to_csv(folder / "labelled.csv", index=False)
    texts = table.drop_duplicates("query_id")["query"].tolist()
    pd.DataFrame({"timestamp": pd.date_range("2026-10-05", periods=60, freq="37min", tz="UTC").strftime("%Y-%m-%dT%H:%M:%SZ"),
                  "prompt": [texts[i % len(texts)] for i in range(60)]}).to_csv(folder / "request_log.csv", index=False)
    config = RouterConfig.of(encoder=str(tiny_bert_path), max_tokens=32, epochs=5)
    router = Router(config).fit(labelled_from_frame(table, catalog), catalog, encoder=Encoder.load(str(tiny_bert_path), 32),
                                show_bar=False)
    router.save(folder / "router")
    return folder, Router.load(folder / "router", backend="torch")


def test_shipped_views_equal_a_fresh_evaluation_and_a_fresh_scoring(sample, monkeypatch):
    folder, router = sample
    monkeypatch.setattr("router_core.demo.views.evaluate_router",
                        lambda *a, **k: evaluate_router(*a, **{**k, "baselines": BASELINES}))
    precompute(router, folder)
    shipped = load_evaluation(router, router.catalog, folder)
    fresh = evaluate_router(router, load_labelled(folder / "labelled.csv", router.catalog), catalog=router.catalog,
                            baselines=BASELINES)
    assert shipped is not None and shipped.n_train == fresh.n_train
    timing = ["fit_seconds"]  # wall-clock time of each fit, measured anew by every run
    pd.testing.assert_frame_equal(shipped.table.drop(columns=timing), fresh.table.drop(columns=timing))
    assert list(shipped.curves) == list(fresh.curves)
    for name in fresh.curves:
        pd.testing.assert_frame_equal(shipped.curves[name], fresh.curves[name])
    assert list(shipped.test.query_ids) == list(fresh.test.query_ids)
    for field in ("weights", "quality", "cost", "input_tokens", "answer_tokens"):
        np.testing.assert_allclose(getattr(shipped.scores, field), getattr(fresh.scores, field), rtol=1e-6)
    assert [a.shape for a in shipped.scores.attention] == [a.shape for a in fresh.scores.attention]

    scored = scored_log_path(router, router.catalog, folder)
    from_views = prepare_log(router, scored, router.catalog)
    from_csv = prepare_log(router, folder / "request_log.csv", router.catalog)
    assert from_views.n_requests == from_csv.n_requests == 60
    np.testing.assert_allclose(from_views.scored.cost, from_csv.scored.cost, rtol=1e-5)


def test_edited_prices_reprice_the_views_to_a_fresh_evaluation_at_those_prices_without_a_refit(sample, monkeypatch):
    from router_core.evaluation.baselines import PredictiveBaseline

    folder, router = sample
    monkeypatch.setattr("router_core.demo.views.evaluate_router",
                        lambda *a, **k: evaluate_router(*a, **{**k, "baselines": BASELINES}))
    precompute(router, folder)
    # the premium model at a fifth of its price: choices along the curve change, so stale costs would not pass
    edited = Catalog(tuple(dataclasses.replace(c, input_usd_per_1m=c.input_usd_per_1m / 5, output_usd_per_1m=c.output_usd_per_1m / 5)
                           if c.name == "premium" else c for c in router.catalog.candidates))

    def refuse(*args, **kwargs):
        raise AssertionError("a predictive baseline was refitted")

    monkeypatch.setattr(PredictiveBaseline, "fit", refuse)
    monkeypatch.setattr("router_core.model.scoring.ScoringPipeline.raw", refuse)  # nor is anything encoded
    repriced = load_evaluation(router, edited, folder)
    monkeypatch.undo()
    fresh = evaluate_router(router, load_labelled(folder / "labelled.csv", router.catalog), catalog=edited,
                            baselines=BASELINES)
    assert repriced is not None and list(repriced.table.index) == list(fresh.table.index)
    assert not np.allclose(repriced.curves["knn"]["cost"], load_evaluation(router, router.catalog, folder).curves["knn"]["cost"])
    timing = ["fit_seconds"]
    pd.testing.assert_frame_equal(repriced.table.drop(columns=timing), fresh.table.drop(columns=timing), rtol=1e-6)
    for name in fresh.curves:
        pd.testing.assert_frame_equal(repriced.curves[name], fresh.curves[name], rtol=1e-6)
    np.testing.assert_allclose(repriced.scores.cost, fresh.scores.cost, rtol=1e-6)


def test_views_are_not_used_for_an_edited_sample(sample, tmp_path):
    folder, router = shutil.copytree(sample[0], tmp_path / "sample"), sample[1]  # this test edits the sample files
    precompute(router, folder)
    dearer = Catalog(tuple(dataclasses.replace(c, input_usd_per_1m=c.input_usd_per_1m * 2) for c in router.catalog.candidates))
    assert scored_log_path(router, dearer, folder) is not None  # a scored log is re-priced from its token counts
    with open(folder / "labelled.csv", "a") as f:
        f.write("q999,an extra query,hard,premium,0.5,1,1,0.001\n")
    assert load_evaluation(router, router.catalog, folder) is None
    (folder / "request_log.csv").write_text((folder / "request_log.csv").read_text() + "2026-10-07T10:00:00Z,one more\n")
    assert scored_log_path(router, router.catalog, folder) is None


def test_another_router_reuses_the_baselines_and_measures_only_itself(sample, tiny_bert_path, monkeypatch):
    folder, router = sample
    monkeypatch.setattr("router_core.demo.views.evaluate_router",
                        lambda *a, **k: evaluate_router(*a, **{**k, "baselines": BASELINES}))
    precompute(router, folder)
    data = load_labelled(folder / "labelled.csv", router.catalog)
    other = Router(RouterConfig.of(encoder=str(tiny_bert_path), max_tokens=32, epochs=2, seed=1)).fit(
        data, router.catalog, show_bar=False)
    assert other.id != router.id
    monkeypatch.setattr("router_core.evaluation.baselines.run_baselines", None)  # fitting a baseline now would fail the test
    reused = load_evaluation(other, router.catalog, folder)
    monkeypatch.undo()
    fresh = evaluate_router(other, data, catalog=router.catalog, baselines=BASELINES)
    assert list(reused.table.index) == list(fresh.table.index)
    timing = ["fit_seconds"]
    pd.testing.assert_frame_equal(reused.table.drop(columns=timing), fresh.table.drop(columns=timing), rtol=1e-6)
    pd.testing.assert_frame_equal(reused.curves["cross-attention"], fresh.curves["cross-attention"], rtol=1e-6)
    assert reused.unscored == ()


def test_an_evaluation_reports_its_progress_stage_by_stage(sample):
    folder, router = sample
    seen = []
    evaluate_router(router, load_labelled(folder / "labelled.csv", router.catalog), catalog=router.catalog,
                    baselines=BASELINES, progress=lambda fraction, stage: seen.append((fraction, stage)))
    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions) and fractions[0] == 0.0 and fractions[-1] == 0.95
    stages = [s for _, s in seen]
    assert stages[0].startswith("encoding 30 queries") and "fitted knn" in stages and "fitted single:budget" in stages
