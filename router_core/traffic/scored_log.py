"""A request log joined to the router's scores of its distinct prompts."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from router_core.data.catalog import catalog_names


@dataclass(frozen=True)
class ScoredLog:
    """A request log joined to the router's scores of its distinct prompts (each prompt scored once)."""

    timestamps: pd.Series  # (R,) UTC
    prompt_index: np.ndarray  # (R,) row of each request in the score arrays
    candidates: list[str]
    quality: np.ndarray  # (P, M) predicted, P distinct prompts
    cost: np.ndarray  # (P, M) predicted USD
    weights: np.ndarray  # (P, M) routing weights, for the `paper` policy
    logged_model: pd.Series | None = None  # (R,) what the naive setup called, where the log says
    logged_cost: pd.Series | None = None  # (R,) USD the log recorded
    groups: dict[str, pd.Series] | None = None  # (R,) per request, "user" and/or "team" where the log says

    def __post_init__(self):
        if self.logged_model is not None:  # a blank cell is None, never pandas' NA (whose truth is ambiguous)
            model = self.logged_model.astype(object)
            object.__setattr__(self, "logged_model", model.where(model.notna(), None))

    @property
    def n_days(self) -> float:
        """Days the log covers, counting whole calendar days (a two-week log is 14, not 13.96)."""
        days = pd.DatetimeIndex(self.timestamps).normalize()
        return float(max(1, days.nunique()))


def scored_log(log_frame: pd.DataFrame, router, catalog=None, progress=None) -> ScoredLog:
    """Score each distinct prompt of a request log once.

    Args:
        log_frame: data.RequestLog.frame (timestamp, prompt, optional model and cost_usd).
        progress: callable(done, total) while encoding.
    """
    codes, distinct = pd.factorize(log_frame["prompt"], sort=False)
    scores = router.scores(list(distinct), catalog=catalog, progress=progress)
    return ScoredLog(log_frame["timestamp"].reset_index(drop=True), codes, list(scores.candidates), scores.quality,
                     scores.cost, scores.weights,
                     catalog_names(log_frame["model"], catalog or router.catalog).reset_index(drop=True)
                     if "model" in log_frame else None,
                     log_frame["cost_usd"].reset_index(drop=True) if "cost_usd" in log_frame else None,
                     {g: log_frame[g].reset_index(drop=True) for g in ("user", "team") if g in log_frame} or None)
