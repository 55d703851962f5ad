"""Research rows beside a comparison: the network without the quality stage, and baselines on the tuned encoder.

Not part of the library: users never run these, they tell us where a router's quality comes from.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from router_core.evaluation.baselines import LEARNED, SUPERVISED, run_baselines
from router_core.evaluation.comparison import (
    ROUTER_ROW,
    default_lams_for_comparison,
    featurise,
    train_and_compare,
)
from router_core.policy.curves import compare, curve_from_scores
from router_core.policy.rule import CostScale, Policy

NETWORK_ALONE = "cross-attention, network alone"


def network_alone(router):
    """The same router without the quality stage: the cross-attention network's own predictions."""
    return router.with_parts(pipeline=router.parts.pipeline.replaced(quality=None))


def train_and_compare_with_ablations(train, test, config, encoder, tuned_baselines: bool = False):
    """train_and_compare plus the network-alone row and, with `tuned_baselines` and a tuned encoder, the learned
    baselines re-run on the tuned encoder's embeddings (rows "<baseline> (tuned encoder)")."""
    router, table, curves = train_and_compare(train, test, config, encoder=encoder)
    lams = default_lams_for_comparison()
    test_data = featurise(test, encoder)
    extra = {}
    if router.parts.pipeline.quality is not None:
        alone = network_alone(router).scores(test.queries)
        extra[NETWORK_ALONE] = curve_from_scores(alone.quality, alone.cost, test_data, lams, router.policy(), alone.weights)
    if tuned_baselines and router.encoder.tuned:
        tuned = run_baselines(featurise(train, router.encoder), featurise(test, router.encoder), lams,
                              Policy(CostScale.from_costs(train.cost)), names=LEARNED + SUPERVISED, seed=config.training.seed)
        extra.update({f"{name} (tuned encoder)": curve for name, curve in tuned.items()})
    if extra:
        rows = compare(extra, test_data)
        rows["fit_seconds"] = pd.Series({n: c.attrs.get("fit_seconds", np.nan) for n, c in extra.items()})
        table = pd.concat([table, rows])
        curves.update(extra)
    assert ROUTER_ROW in table.index
    return router, table, curves
