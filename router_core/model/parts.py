"""A fitted router's parts and what training did: plain containers, importable without torch."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from router_core.errors import RouterInputError
from router_core.model.scoring import ScoringPipeline
from router_core.policy.guard import GuardRange
from router_core.policy.rule import CostScale


@dataclass(frozen=True)
class TrainingRecord:
    """What training did, as router.json keeps it: data digest, split sizes, time, validation figures."""

    data_digest: str = ""
    data_source: str = ""
    n_queries: int = 0
    n_train: int = 0  # rows the shipped network and quality stage learned from
    n_validation: int = 0  # rows behind the validation figures (cross-fitted: every row, predicted out of fold)
    seconds: float = 0.0
    best_epoch: int = 0
    epochs_run: int = 0
    finetuned_layers: int = 0
    validation: dict = field(default_factory=dict)  # measured on the router's own validation split
    quality_stage: dict | None = None  # how the quality stage's weights were chosen (quality/fit.py)
    history: dict = field(default_factory=dict)  # per-epoch losses
    held_out: dict | None = None  # the split a shipped router kept out of training, when it did
    added: tuple = ()  # models added later (extend.py), each {candidate, n_queries, final_loss}
    learned: tuple = ()  # feedback learned from later (feedback/learn.py), each {source, digest, queries, labels_per_model, at}

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "TrainingRecord":
        if not isinstance(data, dict):
            raise RouterInputError(f"training record must be an object, got {type(data).__name__}")
        known = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values["added"] = tuple(values.get("added", ()))
        values["learned"] = tuple(values.get("learned", ()))
        return cls(**values)


@dataclass(frozen=True)
class RouterParts:
    """A fitted router's parts: how it scores (pipeline), how λ spreads over cost (κ), and what training did."""

    pipeline: ScoringPipeline
    cost_scale: CostScale
    record: TrainingRecord
    guard: tuple[GuardRange, ...] = ()  # λ ranges sent to one model (policy/guard.py)
