"""The cross-attention router and every baseline, measured side by side on the same held-out queries."""
from __future__ import annotations

import copy
import dataclasses
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .data import LabelledSet
from .errors import RouterInputError
from .encoder import Encoder, sentence_embeddings
from .policy import CostScale


def routing_data(data: LabelledSet, encoder: Encoder):
    """LabelledSet -> evaluate.RoutingData with mean-pooled sentence embeddings as baseline features."""
    from .evaluate import RoutingData

    features = sentence_embeddings(encoder.token_states(data.queries))
    return RoutingData(features, data.quality, data.cost, list(data.candidates), data.categories,
                       data.input_tokens, data.output_tokens)


def network_alone(router):
    """The same router without the quality blend: the cross-attention network's own predictions (an ablation)."""
    alone = copy.copy(router)
    alone.blend_ = None
    alone._reset_cache()
    alone.__dict__.pop("_router_id", None)
    return alone


def compare_router(router, train: LabelledSet, test: LabelledSet, lams=None, baselines: list[str] | None = None,
                   seed: int = 0, policy: str = "linear", catalog=None, ablation: bool = False,
                   baseline_encoder: Encoder | None = None) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """Fit the baselines on `train`, then measure the (already trained) router and them on `test`.

    Args:
        ablation: also measure the network alone, without the quality blend ("cross-attention, network alone").
        baseline_encoder: whose sentence embeddings the baselines route on (default: the router's encoder with its
            stock weights: a router with fine-tuned layers has an encoder of its own, the baselines' usual form is
            the stock one).

    Returns:
        (table, curves): one row per router with AIQ and friends (evaluate.compare), and each λ curve.
    """
    from .baselines import run_baselines
    from .evaluate import compare, curve_from_scores, default_lams

    # A fine grid (DESIGN asks for >= 41) so that every router's hull is traced closely, however its λ is spread.
    lams = default_lams_for_comparison() if lams is None else np.asarray(lams)
    features = baseline_encoder or router.encoder_.stock()
    train_data, test_data = routing_data(train, features), routing_data(test, features)
    cost_scale = CostScale.from_costs(train.cost)
    curves = run_baselines(train_data, test_data, lams, cost_scale, names=baselines, seed=seed)
    scores = router.scores(test.queries, catalog=catalog)
    # Router.utilities undoes the even-steps weight for the comparison policies; measure them the same way.
    scale = router.cost_scale_ if policy == "linear" else dataclasses.replace(router.cost_scale_, weight=1.0)
    curves = {"cross-attention": curve_from_scores(scores.quality, scores.cost, test_data, lams, scale,
                                                   policy=policy, weights=scores.weights), **curves}
    if ablation and getattr(router, "blend_", None) is not None:
        alone = network_alone(router).scores(test.queries, catalog=catalog)
        curves["cross-attention, network alone"] = curve_from_scores(alone.quality, alone.cost, test_data, lams, scale,
                                                                     policy=policy, weights=alone.weights)
    table = compare(curves, test_data)
    fit_seconds = {name: curve.attrs.get("fit_seconds", np.nan) for name, curve in curves.items()}
    fit_seconds["cross-attention"] = router.training_.get("seconds", np.nan)
    fit_seconds.pop("cross-attention, network alone", None)
    table["fit_seconds"] = pd.Series(fit_seconds)
    return table, curves


def train_and_compare(train: LabelledSet, test: LabelledSet, config, catalog=None, encoder: Encoder | None = None,
                      baselines: list[str] | None = None, show_bar: bool = False, ablation: bool = False,
                      tuned_baselines: bool = False):
    """Train a fresh router on `train` and compare it with the baselines on `test` (benchmarks use this).

    The baselines route on stock embeddings (`encoder`'s). With `tuned_baselines` and a router that fine-tuned
    encoder layers, they are also run on the tuned encoder's embeddings, as rows named "<baseline> (tuned encoder)":
    how much of the gain is the encoder rather than the router on top of it.
    """
    from .router import Router

    started = time.perf_counter()
    router = Router(config).fit(train, catalog, encoder=encoder, show_bar=show_bar)
    router.training_["seconds"] = round(time.perf_counter() - started, 2)
    table, curves = compare_router(router, train, test, baselines=baselines, seed=config.seed, ablation=ablation)
    if tuned_baselines and router.encoder_.tuned:
        from .baselines import LEARNED, SUPERVISED, run_baselines

        names = [n for n in (baselines or LEARNED + SUPERVISED) if n in LEARNED + SUPERVISED]
        tuned = run_baselines(routing_data(train, router.encoder_), routing_data(test, router.encoder_),
                              default_lams_for_comparison(), CostScale.from_costs(train.cost), names=names, seed=config.seed)
        tuned = {f"{name} (tuned encoder)": curve for name, curve in tuned.items()}
        if tuned:
            from .evaluate import compare

            extra = compare(tuned, routing_data(test, encoder))
            extra["fit_seconds"] = pd.Series({n: c.attrs.get("fit_seconds", np.nan) for n, c in tuned.items()})
            table = pd.concat([table, extra.loc[list(tuned)]])
            curves.update(tuned)
    return router, table, curves


def default_lams_for_comparison() -> np.ndarray:
    from .evaluate import default_lams

    return default_lams(201)


@dataclass
class Evaluation:
    """A router and the baselines measured on one held-out split, kept for interactive views."""

    table: pd.DataFrame
    curves: dict[str, pd.DataFrame]
    test: LabelledSet
    test_data: object  # evaluate.RoutingData of the held-out queries
    scores: object  # router Scores of the held-out queries
    n_train: int


def evaluate_router(router, data: LabelledSet, catalog=None, test_fraction: float = 0.2, seed: int = 0,
                    baselines: list[str] | None = None) -> Evaluation:
    """Split `data` by query (the split `train` and `evaluate` use), measure router and baselines on the held-out part.

    Args:
        catalog: re-price both the measured costs (from token counts) and the router's predictions.
    """
    if list(data.candidates) != list(router.candidates_):
        raise RouterInputError(f"{data.source}: models {', '.join(data.candidates)} differ from the router's "
                               f"({', '.join(router.candidates_)}); evaluate a router on the models it was trained for")
    if catalog is not None and data.input_tokens is not None and data.output_tokens is not None:
        data = data.repriced(catalog)
    train, test = data.split(test_fraction, seed)
    table, curves = compare_router(router, train, test, baselines=baselines, seed=seed, catalog=catalog)
    from .evaluate import RoutingData

    test_data = RoutingData(np.zeros((len(test), 1), np.float32), test.quality, test.cost, list(test.candidates),
                            test.categories, test.input_tokens, test.output_tokens)
    return Evaluation(table, curves, test, test_data, router.scores(test.queries, catalog=catalog), len(train))
