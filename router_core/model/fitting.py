"""Training a router from a labelled set: the network, the quality stage, then the cost scale κ. Returns fitted parts."""
from __future__ import annotations

import dataclasses
import hashlib
import time
from dataclasses import dataclass

import numpy as np
import torch

from router_core.config import RouterConfig
from router_core.data.catalog import Catalog
from router_core.data.labelled import LabelledSet
from router_core.errors import RouterInputError
from router_core.model.encoder import Encoder, pad_states
from router_core.model.net import RouterNet
from router_core.model.parts import RouterParts, TrainingRecord
from router_core.model.pricing import Pricing
from router_core.model.scoring import ScoringPipeline
from router_core.model.text import sentence_embeddings
from router_core.model.train import TrainingTargets, train_net
from router_core.model.validation_folds import cross_fit_folds, query_groups
from router_core.policy.curves import measure
from router_core.policy.guard import SWEEP as GUARD_SWEEP
from router_core.policy.guard import as_indices, fit_guard
from router_core.policy.rule import CostScale, Policy
from router_core.quality import fit_quality_stage


def labelled_digest(data: LabelledSet) -> str:
    h = hashlib.sha256()
    for qid, q in zip(data.query_ids, data.queries):
        h.update(f"{qid}\x1f{q}\x1e".encode())
    h.update(np.ascontiguousarray(data.quality, dtype=np.float64).tobytes())
    h.update(np.ascontiguousarray(data.cost, dtype=np.float64).tobytes())
    return h.hexdigest()


def validation_figures(quality: np.ndarray, cost: np.ndarray, cost_scale: CostScale, data: LabelledSet,
                       guard: tuple = ()) -> dict:
    """Measured routing figures of predicted (N, M) quality and cost on labelled rows the predictions never saw."""
    _, summary = measure(quality, cost, data, Policy(cost_scale, guard=as_indices(guard, data.candidates)))
    figures = {"quality_mae": float(np.abs(quality - data.quality).mean()),
               "cost_median_abs_log_error": float(np.median(np.abs(np.log(cost) - np.log(np.maximum(data.cost, 1e-12)))))}
    figures.update({k: summary[k] for k in ("aiq", "max_quality", "cost_at_best_single") if k in summary})
    return figures


@dataclass
class _Network:
    """One trained network with the encoder it reads (its own copy when it tuned layers)."""

    pipeline: ScoringPipeline
    history: dict


def _train_network(base: Encoder, tune: int, inputs: list[np.ndarray], data: LabelledSet, targets: TrainingTargets,
                   rows: np.ndarray, stop_rows: np.ndarray, config: RouterConfig, pricing: Pricing, progress=None,
                   show_bar: bool = True) -> _Network:
    """Train a network on `rows`, early-stopped on `stop_rows` (none: `config.training.epochs` epochs).

    Args:
        inputs: per-query token states (frozen encoder) or the frozen lower layers' states (when tuning `tune` layers).
    """
    model, training = config.model, config.training
    enc = base.copy() if tune else base  # tuning changes weights: never those of a shared encoder
    torch.manual_seed(training.seed)
    net = RouterNet(enc.dim, len(data.candidates), model.attention_dim, model.hidden_dim, model.dropout)
    encoder_params = enc.encoder_trainable(tune) if tune else []
    if tune:
        def batch_inputs(idx):  # the frozen layers' output is computed once; only the tuned layers run per step
            states, mask = pad_states([inputs[i] for i in idx])
            return enc.top_forward(states, mask, tune), mask
    else:
        batch_inputs = lambda idx: pad_states([inputs[i] for i in idx])  # noqa: E731
    history = train_net(net, batch_inputs, targets, rows, stop_rows, training, extra_params=encoder_params,
                        progress=progress, show_bar=show_bar,
                        lengths=np.array([s.shape[0] for s in inputs]) if tune else None,
                        extra_modules=[enc.model] if tune else [])
    state = {}
    if tune:
        enc.model.eval()
        enc.encoder_trainable(0)
        state = enc.top_layer_state(tune)
        enc.tuned = True
        enc.clear_cache()  # cached states came from the untuned encoder
        enc.prime(data.queries, inputs, tune)  # the quality stage needs them all: one layer, not six
    return _Network(ScoringPipeline(enc, net, None, pricing, state), history)


def fit_parts(data: LabelledSet, config: RouterConfig, catalog: Catalog | None = None, encoder: Encoder | None = None,
              progress=None, show_bar: bool = True) -> RouterParts:
    """Train a new router. See Router.fit for the arguments.

    K networks are cross-fitted (validation_folds.py): their out-of-fold predictions choose the quality stage's
    weights and give the honest validation figures. The shipped network then trains on every row for the median
    of the folds' early-stopped epoch counts, and the stage remembers every row.
    """
    model, training = config.model, config.training
    started = time.perf_counter()
    if len(data) < 10:
        raise RouterInputError(f"{data.source}: {len(data)} queries is too few to train on; at least 10 are needed")
    if catalog is not None:
        missing = [c for c in data.candidates if c not in catalog.names]
        if missing:
            raise RouterInputError(f"{data.source}: model(s) {', '.join(missing)} are not in the catalog ({', '.join(catalog.names)})")
    enc = encoder.stock() if encoder is not None else Encoder.load(model.encoder, model.max_tokens)
    # Tuning needs data (training.finetune_min_queries): with fewer queries the encoder stays frozen.
    tune = training.finetune_layers if len(data) >= training.finetune_min_queries else 0
    # A shared encoder takes the config's limit, never more tokens than it has positions for (router.json records it).
    enc.max_tokens = min(model.max_tokens, enc.position_limit or model.max_tokens)
    pricing, cost_target = Pricing.fit(data.candidates, catalog.subset(list(data.candidates)) if catalog is not None else None,
                                       data.cost, data.output_tokens)
    base_scale = CostScale.from_costs(data.cost)
    targets = TrainingTargets(data.quality.astype(np.float32), cost_target.astype(np.float32),
                              base_scale.normalise(data.cost).astype(np.float32))
    bar = (lambda done, total: progress("encoding", done, total)) if progress else None
    inputs = enc.lower_states(data.queries, tune, progress=bar) if tune else enc.token_states(data.queries, progress=bar)
    seconds = {"encoding": time.perf_counter() - started}
    stock_embeddings = sentence_embeddings(enc.token_states(data.queries)) if not tune else None

    groups = query_groups(data.categories, lambda: stock_embeddings if stock_embeddings is not None else
                          sentence_embeddings(enc.token_states(data.queries)), training.seed)
    folds = cross_fit_folds(groups, training.validation_folds, training.seed)
    rng = np.random.default_rng(training.seed)
    n, m = data.quality.shape
    oof_quality, oof_cost, fold_embeddings, fold_epochs = np.zeros((n, m)), np.zeros((n, m)), [], []
    n_fits = len(folds) + 1

    def stage_bar(k):
        return (lambda epoch, total, record: progress(f"training network {k + 1}/{n_fits}", epoch, total)) if progress else None

    for k, (rows, held) in enumerate(folds):
        stop = rng.random(len(rows)) < training.validation_fraction
        if stop.sum() < 2:
            stop[:2] = True
        fold = _train_network(enc, tune, inputs, data, targets, rows[~stop], rows[stop], config, pricing, stage_bar(k), show_bar)
        scores = fold.pipeline.scores([data.queries[i] for i in held])
        oof_quality[held], oof_cost[held] = scores.quality, scores.cost
        fold_embeddings.append(fold.pipeline.sentence_embeddings(data.queries) if tune else stock_embeddings)
        fold_epochs.append(int(fold.history["best_epoch"]))
    seconds["cross_fitted_networks"] = time.perf_counter() - started - sum(seconds.values())
    epochs = max(1, int(np.median(fold_epochs)))
    final = _train_network(enc, tune, inputs, data, targets, np.arange(n), np.array([], dtype=int),
                           dataclasses.replace(config, training=dataclasses.replace(training, epochs=epochs)), pricing,
                           stage_bar(len(folds)), show_bar)
    network_only = final.pipeline
    seconds["final_network"] = time.perf_counter() - started - sum(seconds.values())
    stage, stage_record, chosen = None, None, oof_quality
    if training.quality_stage:
        def fold_aiq(quality: np.ndarray, rows: np.ndarray) -> float:
            return measure(quality, oof_cost[rows], data.subset(rows), Policy(base_scale))[1].get("aiq", float("nan"))

        embeddings = network_only.sentence_embeddings(data.queries) if tune else stock_embeddings
        stage, chosen, stage_record = fit_quality_stage(oof_quality, embeddings, data.quality, folds, fold_aiq,
                                                        categories=data.categories,
                                                        fold_embeddings=fold_embeddings if tune else None)
    # κ and the validation figures come from out-of-fold predictions: honest, never seen by the model that made them.
    cost_scale = base_scale.with_even_steps(chosen, oof_cost)
    guard, guard_record = fit_guard(Policy(cost_scale).choose_each(chosen, oof_cost, GUARD_SWEEP), data.quality, data.cost,
                                    list(data.candidates))
    figures = validation_figures(chosen, oof_cost, cost_scale, data, guard)  # the guard's ranges were chosen on these too
    seconds["quality_stage"] = time.perf_counter() - started - sum(seconds.values())
    history = dict(final.history, fold_best_epochs=fold_epochs, stage_seconds={k: round(v, 1) for k, v in seconds.items()}, grouped_by="category" if data.categories is not None
                   and not str(groups[0]).startswith("cluster") else "embedding clusters")
    history["hull_guard"] = guard_record
    record = TrainingRecord(labelled_digest(data), str(data.source), n, n, n, round(time.perf_counter() - started, 2),
                            epochs, len(final.history["epochs"]), tune, figures, stage_record, history)
    return RouterParts(network_only.replaced(quality=stage), cost_scale, record, guard)
