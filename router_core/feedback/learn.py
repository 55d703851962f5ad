"""`learn`: a router updated from partial labels, the feedback on what it routed (a query labelled for one model, or a
few), in seconds and without touching the encoder, the network or the blend trained on full labels.

Each labelled query is kept with the residual of each labelled model: its label minus what the router predicted for
it. The quality stage then corrects a query's predicted quality of each model by the kernel-weighted mean residual of
the nearest feedback for that model (quality/feedback.py), so where feedback is close and consistent the router
learns that it over- or under-rates a model on such queries, and where it is thin it decides as before.
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
from router_core.quality.feedback import FeedbackEvidence

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
    raw = router.parts.pipeline.raw(labels.queries)
    embeddings = np.stack([r.mean_state for r in raw])
    predicted = np.stack([r.quality for r in raw]).astype(float)  # what the router believes now, corrections included
    residual = (labels.quality - predicted).astype(np.float32)  # NaN where unlabelled
    feedback = stage.feedback if stage.feedback is not None else FeedbackEvidence.empty(embeddings.shape[1], len(labels.candidates))
    learned = dataclasses.replace(stage, feedback=feedback.with_rows(embeddings, residual))
    entry = {"source": labels.source, "digest": labels.digest(), "queries": len(labels.queries),
             "labels_per_model": labels.counts, "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    record = dataclasses.replace(router.training, learned=(*router.training.learned, entry))
    return router.with_parts(pipeline=router.parts.pipeline.replaced(quality=learned), record=record)
