"""The Router facade on a tiny random BERT: λ properties, soft routing, caching, artifact round trip and damage."""
import json

import numpy as np
import pytest

from router_core.config import RouterConfig
from router_core.data.labelled import labelled_from_frame
from router_core.errors import RouterInputError
from router_core.router import Router


@pytest.fixture(scope="module")
def trained(tiny_encoder, tmp_path_factory):
    import sys

    sys.path.insert(0, str(__import__("pathlib").Path(__file__).parent))
    from conftest import CANDIDATES, make_tiny_table

    from router_core.data.catalog import Candidate, Catalog

    catalog = Catalog(tuple(Candidate(n, pid, pin, pout, 200) for n, (pid, pin, pout) in CANDIDATES.items()))
    data = labelled_from_frame(make_tiny_table(40), catalog)
    router = Router(RouterConfig.of(epochs=40, seed=3)).fit(data, catalog, encoder=tiny_encoder, show_bar=False)
    return router, data, catalog


QUERIES = ["prove theorem step by step", "hello how are you", "write a python function that sorts list", "thanks"]


def test_lam_zero_picks_highest_predicted_quality_and_lam_one_the_cheapest(trained):
    router, _, _ = trained
    scores = router.scores(QUERIES)
    at_zero = [d.candidate for d in router.route(QUERIES, 0.0)]
    at_one = [d.candidate for d in router.route(QUERIES, 1.0)]
    assert at_zero == [router.candidates[j] for j in scores.quality.argmax(axis=1)]
    assert at_one == [router.candidates[j] for j in scores.cost.argmin(axis=1)]
    assert set(at_one) == {"budget"}


def test_predicted_cost_of_the_routed_candidate_never_rises_with_lam(trained):
    router, _, _ = trained
    sweep = router.sweep(QUERIES * 3, np.linspace(0, 1, 41))
    rows = np.arange(len(QUERIES) * 3)
    chosen_cost = np.stack([sweep.scores.cost[rows, c] for c in sweep.choices])
    assert (np.diff(chosen_cost, axis=0) <= 1e-15).all()


def test_the_router_learned_that_hard_queries_need_the_premium_model(trained):
    router, data, _ = trained
    quality = router.scores(data.queries).quality
    hard = np.array([c == "hard" for c in data.categories])
    budget = router.candidates.index("budget")
    assert quality[hard, budget].mean() < quality[~hard, budget].mean() - 0.2


def test_soft_routing_calls_k_models_and_reports_an_estimated_band(trained):
    router, _, catalog = trained
    hard = router.route(QUERIES[0], 0.3)[0]
    soft = router.route(QUERIES[0], 0.3, k=2)[0]
    assert len(soft.candidates) == 2 and soft.aggregator == "premium"
    calls = sum(soft.per_candidate[c]["predicted_cost_usd"] for c in soft.candidates)
    assert soft.predicted_cost_usd > calls  # plus the aggregator call
    assert soft.predicted_quality_low <= soft.predicted_quality_high
    assert "estimated band" in soft.to_dict()["predicted_quality"]["note"]
    assert hard.predicted_quality_low == hard.predicted_quality_high


def test_scores_are_cached_and_repricing_needs_no_retraining(trained):
    router, _, catalog = trained
    first = router.scores(QUERIES)
    calls = []
    original = router.encoder.token_states
    router.encoder.token_states = lambda *a, **k: calls.append(a) or original(*a, **k)
    try:
        again = router.scores(list(reversed(QUERIES)))
        cheaper = router.scores(QUERIES, catalog=catalog.with_prices("premium", output_usd_per_1m=1.5))
    finally:
        router.encoder.token_states = original
    assert calls == []  # every text was already scored
    np.testing.assert_allclose(again.quality[::-1], first.quality)
    np.testing.assert_array_less(cheaper.cost[:, 0], first.cost[:, 0])
    np.testing.assert_allclose(cheaper.cost[:, 1:], first.cost[:, 1:])


def test_empty_query_and_bad_lam_are_input_errors(trained):
    router, _, _ = trained
    with pytest.raises(RouterInputError, match="query 2 is empty"):
        router.route(["ok", "  "], 0.5)
    with pytest.raises(RouterInputError, match=r"must be in \[0, 1\]"):
        router.route("ok", -0.1)


def test_save_and_load_give_identical_decisions(trained, tiny_encoder, tmp_path):
    router, data, _ = trained
    router.save(tmp_path / "artifact")
    assert sorted(p.name for p in (tmp_path / "artifact").iterdir()) == ["quality.safetensors", "router.json", "router.safetensors"]
    loaded = Router.load(tmp_path / "artifact", encoder=tiny_encoder)
    before, after = router.scores(data.queries), loaded.scores(data.queries)
    np.testing.assert_allclose(before.quality, after.quality, atol=1e-6)
    np.testing.assert_allclose(before.cost, after.cost, rtol=1e-5)
    for lam in (0.0, 0.3, 1.0):
        assert [d.candidate for d in router.route(data.queries, lam)] == [d.candidate for d in loaded.route(data.queries, lam)]
    meta = json.loads((tmp_path / "artifact" / "router.json").read_text())
    assert meta["format_version"] == 2 and meta["pricing"]["candidates"] == ["premium", "mid", "budget"]
    assert meta["training"]["n_queries"] == 40 and meta["training"]["best_epoch"] >= 1


def test_saving_over_an_existing_artifact_replaces_it_whole(trained, tmp_path):
    router, _, _ = trained
    (tmp_path / "artifact").mkdir()
    (tmp_path / "artifact" / "stale.txt").write_text("old")
    router.save(tmp_path / "artifact")
    assert sorted(p.name for p in (tmp_path / "artifact").iterdir()) == ["quality.safetensors", "router.json", "router.safetensors"]
    assert [p.name for p in tmp_path.iterdir()] == ["artifact"]  # no temp folder left behind


def test_damaged_artifacts_are_refused_with_the_reason(trained, tiny_encoder, tmp_path):
    router, _, _ = trained
    folder = router.save(tmp_path / "artifact")
    weights = folder / "router.safetensors"
    data = bytearray(weights.read_bytes())
    data[-10] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(RouterInputError, match="digest does not match"):
        Router.load(folder, encoder=tiny_encoder)
    router.save(folder)
    meta = json.loads((folder / "router.json").read_text())
    meta["format_version"] = 99
    (folder / "router.json").write_text(json.dumps(meta))
    with pytest.raises(RouterInputError, match="format_version 99"):
        Router.load(folder, encoder=tiny_encoder)
    (folder / "router.json").write_text("{not json")
    with pytest.raises(RouterInputError, match="not valid JSON"):
        Router.load(folder, encoder=tiny_encoder)
    router.save(folder)
    quality = folder / "quality.safetensors"
    damaged = bytearray(quality.read_bytes())
    damaged[-10] ^= 0xFF
    quality.write_bytes(bytes(damaged))
    with pytest.raises(RouterInputError, match="quality.safetensors: digest does not match"):
        Router.load(folder, encoder=tiny_encoder)
    with pytest.raises(RouterInputError, match="not a router artifact"):
        Router.load(tmp_path / "nowhere", encoder=tiny_encoder)


def test_fine_tuning_top_layers_changes_them_and_round_trips(tiny_bert_path, tmp_path):
    import sys

    sys.path.insert(0, str(__import__("pathlib").Path(__file__).parent))
    from conftest import make_tiny_table

    from router_core.model.encoder import Encoder

    encoder = Encoder.load(str(tiny_bert_path), max_tokens=32)
    before = {k: v.clone() for k, v in encoder.model.state_dict().items()}
    data = labelled_from_frame(make_tiny_table(20))
    router = Router(RouterConfig.of(encoder=str(tiny_bert_path), epochs=3, finetune_layers=1, finetune_min_queries=0)).fit(data, encoder=encoder, show_bar=False)
    after = router.encoder.model.state_dict()
    changed = {k for k in before if not np.allclose(before[k].numpy(), after[k].numpy())}
    assert changed and all(k.startswith("encoder.layer.1.") for k in changed)  # top layer only
    shared = encoder.model.state_dict()
    assert all(np.allclose(before[k].numpy(), shared[k].numpy()) for k in before)  # the shared encoder is untouched
    router.save(tmp_path / "tuned")
    loaded = Router.load(tmp_path / "tuned", encoder=Encoder.load(str(tiny_bert_path), max_tokens=32))
    np.testing.assert_allclose(router.scores(data.queries).quality, loaded.scores(data.queries).quality, atol=1e-5)
    assert router.training.finetuned_layers == 1


def test_too_few_queries_keep_the_encoder_frozen(tiny_bert_path):
    """Tuning (opt-in: the default keeps the encoder frozen) needs enough data (finetune_min_queries)."""
    import sys

    sys.path.insert(0, str(__import__("pathlib").Path(__file__).parent))
    from conftest import make_tiny_table

    from router_core.model.encoder import Encoder

    encoder = Encoder.load(str(tiny_bert_path), max_tokens=32)
    data = labelled_from_frame(make_tiny_table(20))
    assert RouterConfig().training.finetune_layers == 0 and RouterConfig().training.finetune_min_queries > len(data)
    router = Router(RouterConfig.of(encoder=str(tiny_bert_path), epochs=3, finetune_layers=1)).fit(data, encoder=encoder, show_bar=False)
    assert router.training.finetuned_layers == 0 and router.encoder is encoder and not router.parts.pipeline.encoder_state
    edge = Router(RouterConfig.of(encoder=str(tiny_bert_path), epochs=3, finetune_layers=1, finetune_min_queries=len(data))).fit(
        data, encoder=encoder, show_bar=False)
    assert edge.training.finetuned_layers == 1 and edge.encoder.tuned and not encoder.tuned
    with pytest.raises(RouterInputError, match="finetune_min_queries"):
        RouterConfig.of(finetune_min_queries=-1)


def test_tuned_layers_on_cached_lower_states_match_the_full_encoder(tiny_bert_path):
    """Fine-tuning runs only the top layers on states computed once; that must be the encoder's own output,
    whatever queries share a batch (padding differs from the batch the lower states were computed in)."""
    import torch

    from router_core.model.encoder import Encoder, pad_states

    encoder = Encoder.load(str(tiny_bert_path), max_tokens=32)
    texts = ["easy question", "a hard question about the cost of models and routing", "routing", "cost of a question"]
    full = encoder.token_states(texts)
    for top in (1, 2):
        lower = encoder.lower_states(texts, top)
        assert [s.shape for s in lower] == [s.shape for s in full]
        for idx in ([0, 1, 2, 3], [2], [3, 0]):
            states, mask = pad_states([lower[i] for i in idx])
            with torch.no_grad():
                out = encoder.top_forward(states, mask, top).numpy()
            for row, i in enumerate(idx):
                np.testing.assert_allclose(out[row, : len(full[i])], full[i], atol=1e-5)
    if top == 2:  # both layers of the tiny BERT re-run: the input is the embedding output, not a layer's
        assert not np.allclose(lower[1], full[1], atol=1e-3)


def test_adding_a_candidate_trains_only_its_own_rows(trained, tmp_path):
    import pandas as pd

    from router_core.data.catalog import Candidate
    router, data, _ = trained
    # "newbie": good on easy queries only, priced like the budget model
    hard = np.array([c == "hard" for c in data.categories])
    rows = pd.DataFrame({"query_id": data.query_ids, "query": data.queries, "model": "newbie",
                         "quality": np.where(hard, 0.1, 0.9), "input_tokens": data.input_tokens, "output_tokens": 150})
    entry = Candidate("newbie", "x/newbie", 0.1, 0.2, 150)
    samples = labelled_from_frame(rows, __import__("router_core.data.catalog", fromlist=["Catalog"]).Catalog((entry,)))
    before = {k: v.clone() for k, v in router.parts.pipeline.net.state_dict().items()}
    extended = router.with_candidate(samples, entry, epochs=200)
    assert extended.candidates == ["premium", "mid", "budget", "newbie"]
    for key, value in router.parts.pipeline.net.state_dict().items():  # the original router is untouched
        assert torch_equal(value, before[key])
    per_candidate = ("candidate_embeddings", "candidate_readout", "candidate_bias")
    new_net = extended.parts.pipeline.net
    shared = {k: v for k, v in new_net.state_dict().items() if k not in per_candidate}
    assert all(torch_equal(v, before[k]) for k, v in shared.items())
    for name in per_candidate:  # existing candidates' rows untouched, one new row each
        assert torch_equal(getattr(new_net, name)[:3], before[name]) and getattr(new_net, name).shape[0] == 4
    quality = extended.scores(data.queries).quality[:, 3]
    assert quality[~hard].mean() > quality[hard].mean() + 0.25  # learned from 40 rows through one embedding row
    assert extended.catalog["newbie"].output_usd_per_1m == 0.2
    assert extended.training.added[-1]["candidate"] == "newbie" and not router.training.added
    if extended.parts.pipeline.quality is not None:  # its peer evidence survives a save and load
        assert extended.parts.pipeline.quality.peer.columns.tolist() == [3]
        extended.save(tmp_path / "extended")
        loaded = Router.load(tmp_path / "extended", encoder=router.encoder)
        np.testing.assert_allclose(loaded.scores(data.queries[:8]).quality, extended.scores(data.queries[:8]).quality, atol=1e-5)
    with pytest.raises(RouterInputError, match="already a candidate"):
        extended.with_candidate(samples, entry)


def torch_equal(a, b):
    import torch

    return torch.equal(a.detach(), b.detach())


def test_tuning_reuses_lower_states_and_primes_the_tuned_states(tiny_bert_path):
    """Lower states are shared across the copies folds or seeds tune, and the states cached after tuning are the
    tuned encoder's own output, not the frozen one's."""
    import sys

    sys.path.insert(0, str(__import__("pathlib").Path(__file__).parent))
    from conftest import make_tiny_table

    from router_core.model.encoder import Encoder

    encoder = Encoder.load(str(tiny_bert_path), max_tokens=32)
    data = labelled_from_frame(make_tiny_table(20))
    config = RouterConfig.of(encoder=str(tiny_bert_path), epochs=3, finetune_layers=1, finetune_min_queries=0, learning_rate=1e-2)
    router = Router(config).fit(data, encoder=encoder, show_bar=False)
    shared = len(encoder._lower_cache)
    assert shared == len(set(data.queries))
    second = Router(config).fit(data, encoder=encoder, show_bar=False)  # its copy shares the lower states
    assert len(encoder._lower_cache) == shared and second.encoder._lower_cache is encoder._lower_cache
    primed = [router.encoder._cache[__import__("router_core.model.encoder", fromlist=["text_key"]).text_key(q)] for q in data.queries[:5]]
    router.encoder.clear_cache()
    fresh = router.encoder.token_states(data.queries[:5])  # a full forward through the tuned encoder
    for a, b in zip(primed, fresh):
        np.testing.assert_allclose(a, b, atol=1e-5)
    frozen = encoder.token_states(data.queries[:5])
    assert not all(np.allclose(a, b, atol=1e-4) for a, b in zip(fresh, frozen))  # tuning did change the states


def test_a_tuned_encoder_is_never_the_base_of_a_new_router_nor_the_baselines_features(tiny_bert_path, tmp_path):
    """A new router's artifact stores only the layers it tunes, so it must start from stock weights even when handed
    the encoder of a tuned router (the dashboard trains with the bundled router's encoder)."""
    import sys

    sys.path.insert(0, str(__import__("pathlib").Path(__file__).parent))
    from conftest import make_tiny_table

    from router_core.evaluation.comparison import compare_router
    from router_core.model.encoder import Encoder

    stock = Encoder.load(str(tiny_bert_path), max_tokens=32)
    data = labelled_from_frame(make_tiny_table(20))
    train, test = data.split(0.3, 0)
    tuned = Router(RouterConfig.of(encoder=str(tiny_bert_path), epochs=3, finetune_layers=1, finetune_min_queries=0, learning_rate=1e-2)).fit(
        train, encoder=stock, show_bar=False)
    assert tuned.encoder.tuned and not stock.tuned and tuned.encoder.stock() is stock
    frozen = Router(RouterConfig.of(encoder=str(tiny_bert_path), epochs=3)).fit(train, encoder=tuned.encoder, show_bar=False)
    assert frozen.encoder is stock
    tuned.save(tmp_path / "tuned")
    loaded = Router.load(tmp_path / "tuned")
    assert loaded.encoder.tuned and not loaded.encoder.stock().tuned
    np.testing.assert_allclose(loaded.encoder.stock().token_states(test.queries[:3])[0], stock.token_states(test.queries[:3])[0], atol=1e-5)
    again = Router(RouterConfig.of(encoder=str(tiny_bert_path), epochs=3)).fit(train, encoder=loaded.encoder, show_bar=False)
    np.testing.assert_allclose(again.encoder.token_states(test.queries[:2])[1], stock.token_states(test.queries[:2])[1], atol=1e-5)
    table, _ = compare_router(tuned, train, test, baselines=["knn"])
    features_from = {}
    import router_core.evaluation.comparison as comparison

    original = comparison.featurise
    comparison.featurise = lambda data, encoder: features_from.setdefault(id(encoder), encoder) and original(data, encoder)
    try:
        compare_router(tuned, train, test, baselines=["knn"])
    finally:
        comparison.featurise = original
    assert list(features_from) == [id(stock)]  # the baselines' features: stock embeddings
    assert "knn" in table.index


def test_task_type_evidence_is_saved_loaded_and_shown_in_the_quality_weights(trained, tiny_encoder, tmp_path):
    from dataclasses import replace

    from router_core.quality import TaskTypeEvidence

    router, data, _ = trained
    stage = router.parts.pipeline.quality
    types = TaskTypeEvidence.fit(stage.neighbours.memory, data.categories, data.quality)
    typed_stage = replace(stage, task_type=types, task_type_weight=1.0, network_weight=0.0, neighbour_weight=0.0, linear_weight=0.0)
    typed = router.with_parts(pipeline=router.parts.pipeline.replaced(quality=typed_stage))
    weights = typed.parts.pipeline.quality.weights()
    assert weights["task_types"] == ["easy", "hard"] and weights["task_type_weight"] == 1.0
    assert typed.id != router.id and router.parts.pipeline.quality is stage  # the original is untouched
    # easy queries: the budget model's type mean is high; hard ones: low (make_tiny_table's rates 0.85 and 0.3)
    hard = [q for q, c in zip(data.queries, data.categories) if c == "hard"][:3]
    easy = [q for q, c in zip(data.queries, data.categories) if c == "easy"][:3]
    budget = router.candidates.index("budget")
    assert typed.scores(easy).quality[:, budget].min() > typed.scores(hard).quality[:, budget].max() + 0.1
    typed.save(tmp_path / "typed")
    loaded = Router.load(tmp_path / "typed", encoder=tiny_encoder)
    np.testing.assert_allclose(loaded.scores(data.queries).quality, typed.scores(data.queries).quality, atol=1e-6)
    assert loaded.parts.pipeline.quality.weights() == weights and loaded.id == typed.id
    recorded = json.loads((tmp_path / "typed" / "router.json").read_text())["quality"]
    assert recorded["task_types"] == ["easy", "hard"]


def test_a_version_1_artifact_is_refused_with_the_way_to_convert_it(trained, tmp_path):
    router, _, _ = trained
    router.save(tmp_path / "r")
    meta_path = tmp_path / "r" / "router.json"
    meta = json.loads(meta_path.read_text())
    meta["format_version"] = 1
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(RouterInputError, match="upgrade --router"):
        Router.load(tmp_path / "r")


def test_the_bundled_sample_router_loads_in_the_current_format():
    from pathlib import Path

    from router_core.artifact.store import FORMAT_VERSION, read_meta

    folder = Path(__file__).resolve().parent.parent / "sample_data" / "router"
    meta = read_meta(folder)
    assert meta["format_version"] == FORMAT_VERSION and meta["quality"]["sha256"]


def _as_version_1(router, folder):
    """Write `router` the way version 1 did: one weights file with blend.* arrays, a flat config, a "blend" section."""
    import dataclasses
    import hashlib

    from safetensors.numpy import save_file

    from router_core.artifact.store import network_tensors

    folder.mkdir(parents=True)
    pipeline, stage = router.parts.pipeline, router.parts.pipeline.quality
    tensors = network_tensors(pipeline)
    arrays = {"memory": stage.neighbours.memory.astype(np.float16), "memory_quality": stage.neighbours.memory_quality.astype(np.float16),
              "prior": stage.prior.astype(np.float32), "linear_coef": stage.linear.coef, "linear_intercept": stage.linear.intercept}
    tensors.update({f"blend.{k}": np.ascontiguousarray(v) for k, v in arrays.items()})
    save_file(tensors, str(folder / "router.safetensors"))
    config = {**dataclasses.asdict(router.config.model), **dataclasses.asdict(router.config.training),
              **dataclasses.asdict(router.config.policy), "pooled_feature": False, "early_stop_on": "quality", "ranking_loss_weight": 0.0}
    config["blend"] = config.pop("quality_stage")
    training = {k: v for k, v in router.training.to_dict().items() if k not in ("history", "quality_stage")}
    meta = {"format_version": 1, "config": config, "candidates": router.candidates, "catalog": router.catalog.to_dict(),
            "cost_scale": dataclasses.asdict(router.cost_scale), "cost_mode": router.pricing.cost_mode,
            "cost_standardise": list(router.pricing.cost_standardise),
            "blend": {"net_weight": stage.network_weight, "neighbour_weight": stage.neighbour_weight,
                      "linear_weight": stage.linear_weight, "prior_weight": stage.prior_weight, "n_neighbours": stage.neighbours.n_neighbours},
            "training": {**training, "blend": {"net_weight": stage.network_weight}}, "history": router.training.history,
            "weights_sha256": hashlib.sha256((folder / "router.safetensors").read_bytes()).hexdigest()}
    (folder / "router.json").write_text(json.dumps(meta, default=float))


def test_upgrade_converts_a_version_1_artifact_to_the_same_decisions(trained, tiny_encoder, tmp_path):
    import dataclasses

    from router_core.artifact.upgrade import upgrade
    from router_core.quality import TaskTypeEvidence

    router, data, _ = trained
    stage = router.parts.pipeline.quality
    if stage.task_type_weight:  # version 1 had no task types: the same router with that weight moved to the prior
        m = len(router.candidates)
        stage = dataclasses.replace(stage, task_type_weight=0.0, task_type=TaskTypeEvidence.empty(stage.linear.coef.shape[1], m))
        router = Router.from_parts(router.config, dataclasses.replace(
            router.parts, pipeline=router.parts.pipeline.replaced(quality=stage), guard=()))
    assert router.parts.pipeline.quality is not None and not router.parts.pipeline.quality.task_type
    _as_version_1(router, tmp_path / "old")
    with pytest.raises(RouterInputError, match="format_version 1"):
        Router.load(tmp_path / "old", encoder=tiny_encoder)
    assert upgrade(tmp_path / "old") is True and upgrade(tmp_path / "old") is False
    converted = Router.load(tmp_path / "old", encoder=tiny_encoder)
    np.testing.assert_array_equal(converted.scores(data.queries).quality, router.scores(data.queries).quality)
    assert converted.cost_scale == router.cost_scale and converted.candidates == router.candidates
    assert converted.training.quality_stage == {"network_weight": router.parts.pipeline.quality.network_weight}
    for lam in (0.0, 0.4, 1.0):
        assert [d.candidate for d in converted.route(data.queries, lam)] == [d.candidate for d in router.route(data.queries, lam)]


def test_training_cross_fits_the_stage_and_ships_a_network_trained_on_every_query(tiny_bert_path):
    import sys

    sys.path.insert(0, str(__import__("pathlib").Path(__file__).parent))
    from conftest import make_tiny_table

    from router_core.model.encoder import Encoder

    encoder = Encoder.load(str(tiny_bert_path), max_tokens=32)
    data = labelled_from_frame(make_tiny_table(30))
    router = Router(RouterConfig.of(encoder=str(tiny_bert_path), epochs=6, patience=2, validation_folds=3)).fit(
        data, encoder=encoder, show_bar=False)
    record = router.training
    assert record.n_train == record.n_validation == len(data) == 30
    folds = record.history["fold_best_epochs"]
    assert len(folds) == 3 and all(1 <= e <= 6 for e in folds)
    # The shipped network ran exactly the folds' median epoch count, on every row, without early stopping.
    assert record.best_epoch == record.epochs_run == int(np.median(folds)) and len(record.history["epochs"]) == record.epochs_run
    assert record.quality_stage["folds"] == 3 and 0 <= record.validation["aiq"] <= 1
    assert len(router.parts.pipeline.quality.neighbours.memory) == 30  # the stage remembers every row
