"""The cross-attention router and every baseline, measured side by side on the same held-out queries."""
from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from router_core.data.labelled import LabelledSet
from router_core.errors import RouterInputError
from router_core.model.encoder import Encoder
from router_core.model.text import sentence_embeddings
from router_core.policy.curves import compare, curve_from_scores, default_lams
from router_core.policy.rule import CostScale, Policy
from router_core.router import Router

ROUTER_ROW = "cross-attention"


def featurise(data: LabelledSet, encoder: Encoder) -> LabelledSet:
    """The set with mean-pooled sentence embeddings attached: what the baselines route on."""
    return data.with_features(sentence_embeddings(encoder.token_states(data.queries)))


def default_lams_for_comparison() -> np.ndarray:
    """A fine grid (DESIGN asks for >= 41), so that every router's hull is traced closely however its λ is spread."""
    return default_lams(201)


def compare_router(router, train: LabelledSet, test: LabelledSet, lams=None, baselines: list[str] | None = None,
                   seed: int = 0, policy: str | Policy = "linear", catalog=None,
                   baseline_encoder: Encoder | None = None, progress=None,
                   predictions: dict | None = None) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """Fit the baselines on `train`, then measure the (already trained) router and them on `test`.

    Args:
        baseline_encoder: whose sentence embeddings the baselines route on (default: the router's encoder with its
            stock weights: a router with fine-tuned layers has an encoder of its own, the baselines' usual form is
            the stock one).
        progress: callable(fraction done in [0, 1], what is being done), told at each step.
        predictions: a dict to fill with the predictive baselines' price-free predictions (see repriced_baselines).
    Returns:
        (table, curves): one row per router with AIQ and friends (evaluate.compare), and each λ curve.
    """
    from router_core.evaluation.baselines import (
        run_baselines,  # scikit-learn and the MF net: imported on the first comparison, not at start
    )

    say = progress or (lambda fraction, stage: None)
    lams = default_lams_for_comparison() if lams is None else np.asarray(lams)
    features = baseline_encoder or router.encoder.stock()
    say(0.0, f"encoding {len(train) + len(test):,} queries for the baselines")
    train_data, test_data = featurise(train, features), featurise(test, features)
    say(0.5, "fitting the baselines")
    curves = run_baselines(train_data, test_data, lams, Policy(CostScale.from_costs(train.cost)), names=baselines, seed=seed,
                           progress=lambda done, total, name: say(0.5 + 0.45 * done / total, f"fitted {name}"),
                           predictions=predictions)
    say(0.95, "scoring the held-out queries with the router")
    scores = router.scores(test.queries, catalog=catalog).only(list(test.candidates))
    curves = {ROUTER_ROW: curve_from_scores(scores.quality, scores.cost, test_data, lams, router.policy(policy),
                                            weights=scores.weights), **curves}
    table = compare(curves, test_data)
    fit_seconds = {name: curve.attrs.get("fit_seconds", np.nan) for name, curve in curves.items()}
    fit_seconds[ROUTER_ROW] = router.training.seconds
    table["fit_seconds"] = pd.Series(fit_seconds)
    return table, curves


def train_and_compare(train: LabelledSet, test: LabelledSet, config, catalog=None, encoder: Encoder | None = None,
                      baselines: list[str] | None = None, show_bar: bool = False):
    """Train a fresh router on `train` and compare it with the baselines on `test` (benchmarks use this).

    Returns:
        (router, table, curves); the router's row reports its whole fit time.
    """
    started = time.perf_counter()
    router = Router(config).fit(train, catalog, encoder=encoder, show_bar=show_bar)
    router = router.with_parts(record=dataclasses.replace(router.training, seconds=round(time.perf_counter() - started, 2)))
    table, curves = compare_router(router, train, test, baselines=baselines, seed=config.training.seed)
    return router, table, curves


@dataclass
class Evaluation:
    """A router and the baselines measured on one held-out split, kept for interactive views."""

    table: pd.DataFrame
    curves: dict[str, pd.DataFrame]
    test: LabelledSet
    scores: object  # router Scores of the held-out queries, for the labelled set's models
    n_train: int
    unscored: tuple[str, ...] = ()  # the router's models the labelled set has no labels for: left out of every choice
    baseline_predictions: dict = dataclasses.field(default_factory=dict)  # for re-pricing without a refit


def evaluate_router(router, data: LabelledSet, catalog=None, test_fraction: float = 0.2, seed: int = 0,
                    baselines: list[str] | None = None, progress=None) -> Evaluation:
    """Split `data` by query (the split `train` and `evaluate` use), measure router and baselines on the held-out part.

    A set that lacks some of the router's models (one added from a few samples, say) measures the router choosing
    among the models it has labels for; Evaluation.unscored names the others.
    Args:
        catalog: re-price both the measured costs (from token counts) and the router's predictions.
        progress: as compare_router's.
    """
    unknown = [c for c in data.candidates if c not in router.candidates]
    if unknown:
        raise RouterInputError(f"{data.source}: has labels for {', '.join(unknown)}, which the router does not route to "
                               f"(its models: {', '.join(router.candidates)}); add the model to the router first")
    if catalog is not None and data.input_tokens is not None and data.output_tokens is not None:
        data = data.repriced(catalog)
    train, test = data.split(test_fraction, seed)
    predictions = {}
    table, curves = compare_router(router, train, test, baselines=baselines, seed=seed, catalog=catalog, progress=progress,
                                   predictions=predictions)
    unscored = tuple(c for c in router.candidates if c not in data.candidates)
    return Evaluation(table, curves, test, router.scores(test.queries, catalog=catalog).only(list(test.candidates)),
                      len(train), unscored, predictions)


def repriced_baselines(names, predictions: dict, train: LabelledSet, test: LabelledSet, catalog) -> dict[str, pd.DataFrame] | None:
    """Every named baseline's curve at `catalog`'s prices (train and test already re-priced at them), with no refit:
    the predictive ones from their cached `predictions`, the fixed ones (single models, random, oracle, call-every,
    which read only the labels) measured again in milliseconds. None when a predictive baseline has no cached
    predictions (then only a refit can re-price it)."""
    from router_core.evaluation.baselines import (
        PredictiveBaseline,
        make_baseline,
        repriced_curve,
        run_baselines,
    )

    lams = default_lams_for_comparison()
    policy = Policy(CostScale.from_costs(train.cost))
    fixed = [n for n in names if not isinstance(make_baseline(n), PredictiveBaseline)]
    if any(n not in predictions for n in names if n not in fixed):
        return None
    curves = run_baselines(train, test, lams, policy, names=fixed)
    curves.update({n: repriced_curve(n, predictions[n], test, catalog, lams, policy) for n in names if n not in fixed})
    return {n: curves[n] for n in names}
