"""`learn`: a router updated from partial labels, the feedback on what it routed (a query labelled for one model, or a
few), in seconds and without touching the encoder or the network.

What changes is the quality stage's evidence: each new query joins the neighbour memory with its labels (the other
models' cells stay unlabelled, so their evidence is the old one), each model's ridge fit is refitted on every query
labelled for it, and each model's prior becomes its mean over every label. The blend's weights stay as trained, so
where the new evidence is thin (no labelled neighbour near a query) the router decides as before. Task-type means
stay as trained.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from router_core.data.tables import read_table
from router_core.errors import RouterInputError
from router_core.feedback.store import scored_decisions
from router_core.quality.linear import RIDGE_ALPHA, LinearEvidence
from router_core.quality.neighbours import NeighbourEvidence, as_memory

REQUIRED = ("query_id", "query", "model", "quality")


@dataclass(frozen=True)
class PartialLabels:
    """Queries labelled for some of a router's models: quality (N, M) over `candidates`, NaN where unlabelled."""

    query_ids: list[str]
    queries: list[str]
    candidates: list[str]
    quality: np.ndarray
    source: str

    @property
    def counts(self) -> dict[str, int]:
        return {m: int(n) for m, n in zip(self.candidates, (~np.isnan(self.quality)).sum(axis=0))}

    def digest(self) -> str:
        text = json.dumps([self.query_ids, np.nan_to_num(self.quality, nan=-1).round(6).tolist()])
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _pivot(frame: pd.DataFrame, candidates: list[str], source: str) -> PartialLabels:
    unknown = sorted(set(frame["model"]) - set(candidates))
    if unknown:
        raise RouterInputError(f"{source}: model(s) {', '.join(unknown)[:200]} are not models of this router "
                               f"({', '.join(candidates)})")
    queries = frame.drop_duplicates("query_id")
    quality = (frame.pivot_table(index="query_id", columns="model", values="quality", aggfunc="mean")
               .reindex(index=queries["query_id"], columns=candidates).to_numpy(dtype=float))
    return PartialLabels(queries["query_id"].tolist(), queries["query"].tolist(), list(candidates), quality, source)


def read_partial(path: str | Path, candidates: list[str]) -> PartialLabels:
    """A feedback file in the long labelled format (query_id, query, model, quality; other columns ignored), where a
    query has rows for some models only. Raises RouterInputError naming the file, column or row at fault."""
    source = str(path)
    frame = read_table(path, source)
    absent = [c for c in REQUIRED if c not in frame.columns]
    if absent:
        raise RouterInputError(f"{source}: missing column(s) {', '.join(absent)}; feedback needs {', '.join(REQUIRED)} "
                               f"(found: {', '.join(map(str, frame.columns))[:300]})")
    if frame.empty:
        raise RouterInputError(f"{source}: no rows")
    frame = frame[list(REQUIRED)].copy()
    for column in ("query_id", "query", "model"):
        blank = frame[column].isna() | (frame[column].astype(str).str.strip() == "")
        if blank.any():
            raise RouterInputError(f"{source}: column {column!r} is empty on row {int(np.flatnonzero(blank)[0]) + 2}")
        frame[column] = frame[column].astype(str)
    quality = pd.to_numeric(frame["quality"], errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(quality) | (quality < 0) | (quality > 1)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise RouterInputError(f"{source}: column 'quality' must be a number in [0, 1]; row {row + 2} has "
                               f"{str(frame['quality'].iloc[row])[:40]!r}")
    frame["quality"] = quality
    return _pivot(frame, candidates, source)


def partial_from_log(log: str | Path, candidates: list[str], sources: tuple[str, ...] | None = None) -> PartialLabels:
    """The feedback in a decision log as partial labels: each scored request's prompt, labelled for the model that
    answered it. Needs the prompts, which the log keeps only when the server ran with --log-prompts."""
    rows = [r for r in scored_decisions(log, sources) if r["model"]]
    with_text = [r for r in rows if r["prompt"]]
    if not with_text:
        raise RouterInputError(f"{log}: {len(rows)} requests have feedback but none has its prompt; learning needs the "
                               "prompts, kept when the server runs with --log-prompts")
    frame = pd.DataFrame({"query_id": [r["request_id"] for r in with_text], "query": [r["prompt"] for r in with_text],
                          "model": [r["model"] for r in with_text], "quality": [float(r["score"]) for r in with_text]})
    return _pivot(frame, candidates, f"{log}")


def _refit_linear(memory: np.ndarray, quality: np.ndarray, old: LinearEvidence, new: np.ndarray) -> LinearEvidence:
    """The ridge fit of each model with new labels (`new`, (M,) bool), on every row labelled for it; the others, and a
    model with too few rows, keep their old fit."""
    from sklearn.linear_model import Ridge

    coef, intercept = old.coef.astype(float).copy(), old.intercept.astype(float).copy()
    for j in np.flatnonzero(new):
        rows = ~np.isnan(quality[:, j])
        if rows.sum() >= 10:
            model = Ridge(alpha=RIDGE_ALPHA).fit(memory[rows], quality[rows, j])
            coef[j], intercept[j] = model.coef_, model.intercept_
    return LinearEvidence(coef, intercept)


def learn(router, labels: PartialLabels):
    """A new router whose quality stage has learned from `labels` (the given router is left as it is)."""
    stage = router.parts.pipeline.quality
    if stage is None:
        raise RouterInputError("this router has no quality stage to learn into; train it with the quality stage on")
    if list(labels.candidates) != list(router.candidates):
        raise RouterInputError(f"{labels.source}: labels are over {', '.join(labels.candidates)}, the router's models are "
                               f"{', '.join(router.candidates)}")
    if not len(labels.queries):
        raise RouterInputError(f"{labels.source}: no labelled query to learn from")
    embeddings = np.stack([r.mean_state for r in router.parts.pipeline.raw(labels.queries)])
    memory = np.vstack([stage.neighbours.memory, as_memory(embeddings)])
    quality = np.vstack([stage.neighbours.memory_quality, labels.quality])
    new = ~np.isnan(labels.quality).all(axis=0)  # (M,) the models with new labels: only their evidence changes
    old_counts = (~np.isnan(stage.neighbours.memory_quality)).sum(axis=0)
    new_sums, new_counts = np.nansum(labels.quality, axis=0), (~np.isnan(labels.quality)).sum(axis=0)
    prior = np.where(new, (stage.prior * old_counts + new_sums) / np.maximum(old_counts + new_counts, 1), stage.prior)
    linear = _refit_linear(memory, quality, stage.linear, new) if stage.linear_weight > 0 else stage.linear
    learned = dataclasses.replace(stage, prior=prior, linear=linear,
                                  neighbours=NeighbourEvidence(memory, quality, stage.neighbours.n_neighbours))
    entry = {"source": labels.source, "digest": labels.digest(), "queries": len(labels.queries),
             "labels_per_model": labels.counts, "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    record = dataclasses.replace(router.training, learned=(*router.training.learned, entry))
    return router.with_parts(pipeline=router.parts.pipeline.replaced(quality=learned), record=record)
