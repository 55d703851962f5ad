"""Where a router stands on one evaluation, in words: against the best learned baseline by AIQ, and against each single
model at that model's own cost. The Pareto page shows it above the chart, so nobody has to read the table to know."""
from __future__ import annotations

import numpy as np
import pandas as pd

ROUTER_NAME = "CrossRoute"  # how the dashboard names the router under evaluation, in text, legend and table
NOT_ROUTERS = ("oracle", "random", "call-every")  # bounds and references, not routers a user could deploy instead


def display_name(name: str) -> str:
    """A curve's name as the dashboard shows it ("cross-attention" is the evaluation's key for the router)."""
    from router_core.evaluation.comparison import ROUTER_ROW

    return ROUTER_NAME if name == ROUTER_ROW else name.removeprefix("single:")


def quality_at_cost(curve: pd.DataFrame, cost: float) -> float:
    """The curve's quality at `cost` on its upper hull (mixing two neighbouring λ points reaches any point between),
    as the AIQ table reads it; NaN if even its cheapest point costs more."""
    from router_core.policy.metrics import upper_hull

    hull_cost, hull_quality = upper_hull(curve["cost"].to_numpy(float), curve["quality"].to_numpy(float))
    if cost < hull_cost[0] * (1 - 1e-9):
        return float("nan")
    return float(np.interp(cost, hull_cost, hull_quality))


def learned_by_aiq(table: pd.DataFrame) -> pd.Series:
    """AIQ of every learned router in an evaluation table (no single models, bounds or references), best first."""
    return table[[not (n.startswith("single:") or n in NOT_ROUTERS) for n in table.index]]["aiq"].dropna().sort_values(ascending=False)


def best_baseline(table: pd.DataFrame, router_key: str) -> str | None:
    """The learned baseline with the highest AIQ, other than the router itself."""
    others = learned_by_aiq(table).drop(router_key, errors="ignore")
    return None if others.empty else str(others.index[0])


def standing_sentence(table: pd.DataFrame, curves: dict[str, pd.DataFrame], router_key: str) -> str:
    """One or two sentences: the router's AIQ rank among the learned routers and the gap to the best of the others;
    then the single models it falls below at their own cost, or that it is at or above every one of them."""
    ranked = learned_by_aiq(table)
    mine = float(ranked[router_key])
    others = ranked.drop(router_key)
    rank = int(np.flatnonzero(ranked.index == router_key)[0]) + 1
    if others.empty:
        first = f"{ROUTER_NAME}'s AIQ is {mine:.3f}."
    elif rank == 1:
        first = (f"{ROUTER_NAME} has the highest AIQ of {len(ranked)} learned routers ({mine:.3f}; next, "
                 f"{display_name(others.index[0])}, {others.iloc[0]:.3f}).")
    else:
        first = (f"{ROUTER_NAME} is {_ordinal(rank)} of {len(ranked)} learned routers by AIQ ({mine:.3f}); the best, "
                 f"{display_name(others.index[0])}, reaches {others.iloc[0]:.3f}.")
    router_curve = curves[router_key]
    below = []
    for name, curve in curves.items():
        if not name.startswith("single:"):
            continue
        cost, quality = float(curve["cost"].iloc[0]), float(curve["quality"].iloc[0])
        reached = quality_at_cost(router_curve, cost)
        if not reached >= quality - 5e-4:  # NaN (nothing that cheap) counts as below
            below.append(f"{display_name(name)} ({quality:.3f} vs {reached:.3f})" if np.isfinite(reached)
                         else f"{display_name(name)} (no λ reaches its cost)")
    if below:
        second = f"At a single model's own cost it falls below {', '.join(below)}."
    else:
        second = "At each single model's own cost it matches or beats that model's quality."
    return f"{first} {second} All measured on the held-out labelled queries."


def _ordinal(n: int) -> str:
    return f"{n}{'th' if 10 <= n % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"
